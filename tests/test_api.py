"""The HTTP API's happy paths through TestClient, on a Rag built with the fakes: every endpoint,
the streamed answer, document writes, the queue, and /search staying fast during an answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import ARTICLE_ID, ARTICLE_PATH
from fakes import FakeEmbedder, FakeLLM, PrefillLLM
from fastapi.testclient import TestClient

from api.app import create_app
from rag.settings import Settings

ANSWER = "Саммит «Центральная Азия + Япония» пройдёт в Токио [1]."
KEY = "s3cret-key"


@pytest.fixture
def client(fake_rag: Any) -> Iterator[TestClient]:
    with TestClient(create_app(fake_rag.settings, rag=fake_rag)) as c:
        yield c


def parse_sse(body: str) -> list[tuple[str, Any]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_page__is_served_with_its_assets(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<label for="question">' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200


def test_page__loads_nothing_from_outside() -> None:
    from api.routes import STATIC_DIR

    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, path.name
        assert "//cdn" not in text, path.name


def test_health__reports_counts_and_models(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "documents": 1,
        "chunks": r.json()["chunks"],
        "embedder": "fake-bow-256",
        "llm": "fake-llm",
    }
    assert r.json()["chunks"] > 10


def test_search__returns_passages_with_exact_offsets(client: TestClient) -> None:
    r = client.post("/search", json={"query": "Таро Асо саммит", "top_k": 3})
    assert r.status_code == 200
    body = r.json()
    assert len(body["passages"]) == 3
    assert "retrieve" in body["timings_ms"]
    article = ARTICLE_PATH.read_text(encoding="utf-8")
    for p in body["passages"]:
        assert set(p) == {"doc_id", "chunk_id", "start", "end", "text", "score"}
        assert article[p["start"] : p["end"]] == p["text"]
    assert "Асо" in body["passages"][0]["text"]


def test_search__top_k_defaults_to_five(client: TestClient) -> None:
    r = client.post("/search", json={"query": "  Япония  "})
    assert len(r.json()["passages"]) == 5


def test_ask__returns_a_cited_answer(client: TestClient) -> None:
    r = client.post("/ask", json={"question": "Где пройдёт саммит?"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"answer", "refused", "language", "citations", "passages", "timings_ms"}
    assert body["refused"] is False
    assert body["language"] == "ru"
    assert "[1]" in body["answer"]
    article = ARTICLE_PATH.read_text(encoding="utf-8")
    (citation,) = body["citations"]
    assert citation["n"] == 1 and citation["doc_id"] == ARTICLE_ID
    assert article[citation["start"] : citation["end"]] == citation["quote"]


def test_ask__refusal_is_a_200_with_refused_true(make_fake_rag: Callable[..., Any]) -> None:
    rag = make_fake_rag(FakeLLM("В статье нет ответа на этот вопрос."))
    with TestClient(create_app(rag.settings, rag=rag)) as c:
        r = c.post("/ask", json={"question": "Какая погода будет в Токио?"})
    assert r.status_code == 200
    assert r.json()["refused"] is True
    assert r.json()["citations"] == []


def test_ask__sends_history_to_the_pipeline(make_fake_rag: Callable[..., Any]) -> None:
    llm = FakeLLM(ANSWER)
    rag = make_fake_rag(llm)
    history = [
        {"role": "user", "content": "Что говорил Таро Асо?"},
        {"role": "assistant", "content": "Он говорил о саммите [1]."},
    ]
    with TestClient(create_app(rag.settings, rag=rag)) as c:
        r = c.post("/ask", json={"question": "А что ещё он сказал?", "history": history})
    assert r.status_code == 200
    prompt = json.dumps(llm.calls[-1], ensure_ascii=False)
    assert "Что говорил Таро Асо?" in prompt


def test_ask_stream__streams_tokens_then_the_full_answer(client: TestClient) -> None:
    with client.stream("POST", "/ask/stream", json={"question": "Где пройдёт саммит?"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode("utf-8"))
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"token"} and len(names) > 3
    assert "".join(data["text"] for name, data in events if name == "token") == ANSWER
    done = events[-1][1]
    assert done == client.post("/ask", json={"question": "Где пройдёт саммит?"}).json() | {
        "timings_ms": done["timings_ms"]
    }


def test_documents__list_and_text(client: TestClient) -> None:
    listed = client.get("/documents").json()["documents"]
    assert [d["doc_id"] for d in listed] == [ARTICLE_ID]
    assert listed[0]["source"] == "corpus" and listed[0]["chunks"] > 10
    r = client.get(f"/documents/{ARTICLE_ID}")
    assert r.status_code == 200
    assert r.json() == {"doc_id": ARTICLE_ID, "text": ARTICLE_PATH.read_text(encoding="utf-8")}


def writer(settings: Settings, **overrides: Any) -> TestClient:
    from fakes import FakeEmbedder

    from rag.wiring import build_rag

    settings = settings.model_copy(update={"api_key": KEY, **overrides})
    rag = build_rag(settings, embedder=FakeEmbedder(), llm=FakeLLM(ANSWER))
    return TestClient(create_app(settings, rag=rag))


AUTH = {"Authorization": f"Bearer {KEY}"}
NOTE = "Ботанический сад Кокоро выращивает синие хризантемы круглый год.\nВторой абзац заметки."


def test_documents__json_write_is_searchable_then_deleted(writable_index: Settings) -> None:
    with writer(writable_index) as c:
        r = c.post("/documents", json={"doc_id": "notes/garden.txt", "text": NOTE}, headers=AUTH)
        assert r.status_code == 200
        assert r.json() | {"chunks": 0} == {
            "doc_id": "notes/garden.txt", "added": 1, "changed": 0, "unchanged": 0,
            "removed": 0, "chunks": 0, "documents": 2,
        }  # fmt: skip
        hits = c.post("/search", json={"query": "синие хризантемы Кокоро", "top_k": 1}).json()
        assert hits["passages"][0]["doc_id"] == "notes/garden.txt"
        assert c.get("/documents/notes/garden.txt").json()["text"] == NOTE
        assert c.get("/health").json()["documents"] == 2

        again = c.post(
            "/documents", json={"doc_id": "notes/garden.txt", "text": NOTE}, headers=AUTH
        )
        assert (again.json()["added"], again.json()["unchanged"]) == (0, 1)

        gone = c.delete("/documents/notes/garden.txt", headers=AUTH)
        assert gone.status_code == 200 and gone.json()["removed"] == 1
        assert c.get("/documents/notes/garden.txt").status_code == 404
        hits = c.post("/search", json={"query": "синие хризантемы Кокоро", "top_k": 3}).json()
        assert all(p["doc_id"] != "notes/garden.txt" for p in hits["passages"])


def test_documents__upload_uses_the_filename_as_doc_id(writable_index: Settings) -> None:
    with writer(writable_index) as c:
        files = {"file": ("garden.md", NOTE.encode("utf-8"), "text/markdown")}
        r = c.post("/documents", files=files, headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json()["doc_id"] == "garden.md" and r.json()["added"] == 1
        changed = {"file": ("garden.md", (NOTE + "\nТретий абзац.").encode(), "text/plain")}
        assert c.post("/documents", files=changed, headers=AUTH).json()["changed"] == 1
        assert {d["doc_id"] for d in c.get("/documents").json()["documents"]} == {
            ARTICLE_ID,
            "garden.md",
        }


def test_openapi__documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/search", "/ask", "/ask/stream", "/documents"} <= set(paths)
    assert "multipart/form-data" in paths["/documents"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200


class GatedLLM(FakeLLM):
    """Blocks inside generation until `gate` is set, so tests can hold the LLM busy."""

    def __init__(self) -> None:
        super().__init__(ANSWER)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int = 200) -> Iterator[str]:
        self.entered.set()
        if not self.gate.wait(timeout=30):
            raise TimeoutError("the test never opened the gate")
        yield from super().stream(messages, max_tokens=max_tokens)


def test_search_and_health__answer_while_an_answer_is_generated(
    make_fake_rag: Callable[..., Any],
) -> None:
    llm = GatedLLM()
    rag = make_fake_rag(llm)
    with TestClient(create_app(rag.settings, rag=rag)) as c:
        results: dict[str, int] = {}
        asking = threading.Thread(
            target=lambda: results.update(ask=c.post("/ask", json={"question": "Где?"}).status_code)
        )
        asking.start()
        assert llm.entered.wait(timeout=10)
        t0 = time.monotonic()
        assert c.post("/search", json={"query": "Токио"}).status_code == 200
        assert c.get("/health").status_code == 200
        assert time.monotonic() - t0 < 5
        assert asking.is_alive()  # the answer was still being generated meanwhile
        llm.gate.set()
        asking.join(timeout=10)
    assert results == {"ask": 200}


def test_queue__full_queue_answers_503_with_retry_after(make_fake_rag: Callable[..., Any]) -> None:
    llm = GatedLLM()
    rag = make_fake_rag(llm, queue_size=1)
    app = create_app(rag.settings, rag=rag)
    statuses: list[int] = []
    with TestClient(app) as c:

        def ask() -> None:
            statuses.append(c.post("/ask", json={"question": "Где?"}).status_code)

        first, second = threading.Thread(target=ask), threading.Thread(target=ask)
        first.start()
        assert llm.entered.wait(timeout=10)
        second.start()
        deadline = time.monotonic() + 10
        while app.state.queue.admitted < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        full = c.post("/ask", json={"question": "Где?"})
        streamed = c.post("/ask/stream", json={"question": "Где?"})
        llm.gate.set()
        first.join(timeout=10)
        second.join(timeout=10)
        assert app.state.queue.admitted == 0
    for r in (full, streamed):
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "busy"
        assert int(r.headers["Retry-After"]) >= 1
    assert statuses == [200, 200]


def test_serve__refuses_two_workers_without_a_chroma_server(
    fake_index: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.app import serve

    assert serve(fake_index, host="127.0.0.1", port=1, workers=2) == 2
    err = capsys.readouterr().err
    assert "not safe across processes" in err  # why
    assert "chroma run" in err and "RAG_CHROMA_URL" in err  # what to do


def test_serve__refuses_a_port_in_use_before_indexing(
    fake_index: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from api.app import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve(fake_index, host="127.0.0.1", port=port, workers=1) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# --- warming up the LLM's prompt states (Rag.warm, RAG_LLM_WARM) ---------------------------------
def test_warm__prefills_every_passage_once(make_fake_rag: Callable[..., Any]) -> None:
    llm = PrefillLLM()
    rag = make_fake_rag(llm)
    chunks = rag.stats()["chunks"]
    assert rag.warm().passages == chunks == len(llm.prefilled)
    firsts = {m[-1]["content"].split("\n")[1] for m in llm.prefilled}
    assert len(firsts) == chunks  # each passage shown first once
    assert rag.warm().passages == 0  # all kept already


@pytest.mark.parametrize(
    "overrides", [{"llm_warm": False}, {"llm_cache": 0}, {"llm_cache": 3}, {"llm_url": "http://x"}]
)
def test_warm__skipped_when_off_too_many_passages_or_a_server(
    make_fake_rag: Callable[..., Any], overrides: dict[str, Any]
) -> None:
    llm = PrefillLLM()
    assert make_fake_rag(llm, **overrides).warm().passages == 0
    assert llm.prefilled == []


def test_warm__runs_in_the_background_while_questions_are_answered(fake_index: Settings) -> None:
    from rag.wiring import build_rag

    llm = PrefillLLM("Саммит прошёл в Токио [1].", delay=0.05)
    app = create_app(
        fake_index, build=lambda s: build_rag(s, embedder=FakeEmbedder(), llm=llm), warm=True
    )
    with TestClient(app) as c:
        deadline = time.monotonic() + 20
        while c.get("/health").status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        r = c.post("/ask", json={"question": "Где прошёл саммит?"})
        assert r.status_code == 200 and r.json()["answer"] and llm.calls
        chunks = app.state.rag.stats()["chunks"]
        assert len(llm.prefilled) < chunks  # answered before the warm-up ended
        while len(llm.prefilled) < chunks and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(llm.prefilled) == chunks


def test_warm__stops_when_the_app_stops(fake_index: Settings) -> None:
    """The model is freed at exit: the warm-up must not be inside it then (it crashed there)."""
    from rag.wiring import build_rag

    llm = PrefillLLM(delay=0.05)
    app = create_app(
        fake_index, build=lambda s: build_rag(s, embedder=FakeEmbedder(), llm=llm), warm=True
    )
    with TestClient(app) as c:
        deadline = time.monotonic() + 20
        while not llm.prefilled and time.monotonic() < deadline:
            c.get("/health")
            time.sleep(0.01)
    assert not app.state.warming.is_alive()
    assert 0 < len(llm.prefilled) < app.state.rag.stats()["chunks"]
