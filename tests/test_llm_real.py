"""The local model and an OpenAI-compatible server answering through the real pipeline.

Loads Qwen2.5-Coder-1.5B (llama.cpp) over the article indexed with the real embedder. Checks
behaviour, never speed. Questions are dev items of different kinds; answers must carry the gold
keywords and cite a span that overlaps the gold evidence.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from real_index import real_embedder, real_rag_settings

from rag.pipeline import answer, condense
from rag.prompts import REFUSAL_RU
from rag.settings import DEFAULT_CORPUS_DIR, PROJECT_ROOT
from rag.types import Answer, Turn

pytestmark = pytest.mark.real

DEV_SET = PROJECT_ROOT / "data" / "eval" / "dev.jsonl"
ARTICLE = (DEFAULT_CORPUS_DIR / "tokyo-summit-2025.ru.txt").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _dev() -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in map(json.loads, DEV_SET.read_text().splitlines())}


@lru_cache(maxsize=1)
def _rag() -> Any:
    from rag.wiring import build_rag

    return build_rag(real_rag_settings(), embedder=real_embedder())


def _fold(s: str) -> str:
    return s.lower().replace("ё", "е")


def _cites_evidence(a: Answer, evidence: list[str]) -> bool:
    spans = [(ARTICLE.find(e), ARTICLE.find(e) + len(e)) for e in evidence]
    return any(c.start < e and s < c.end for c in a.citations for s, e in spans)


@pytest.mark.parametrize("case_id", ["dev-003", "dev-006", "dev-010", "dev-029"])
def test_local_llm__answers_with_keywords_and_cites_the_evidence(case_id: str) -> None:
    case = _dev()[case_id]
    a = _rag().ask(case["question"])
    assert not a.refused, a.raw
    assert a.language == case["language"]
    assert all(_fold(k) in _fold(a.text) for k in case["keywords"]), a.text
    assert _cites_evidence(a, case["evidence"]), a.citations
    assert all(ARTICLE[c.start : c.end] == c.quote for c in a.citations)


def test_local_llm__refuses_what_the_article_does_not_say() -> None:
    a = _rag().ask(_dev()["dev-039"]["question"])
    assert a.refused and a.text == REFUSAL_RU and a.citations == ()


def test_follow_up__condensed_query_retrieves_the_papava_uranium_passage() -> None:
    history = [
        Turn("user", "Какие ресурсы, включая уран, интересуют Японию в регионе?"),
        Turn("assistant", "Уран, редкоземельные металлы и медь [1]."),
    ]
    query, _ = condense("а что сказал о нём Папава?", history)
    passages = _rag().search(query, top_k=5).passages
    assert any("уран, медь" in p.text for p in passages)


def test_prompt_states__a_kept_first_passage_gives_the_answer_read_from_scratch() -> None:
    """PromptStates: a question whose first passage was read before (then another prompt ran)
    starts from the kept state, and generates exactly what a model without the cache does
    (the same checkpoint, so the same batches: LocalLLM._read)."""
    from rag.llm import LocalLLM
    from rag.pipeline import prefill_messages
    from rag.prompts import first_passage_end, qa_messages

    path = real_rag_settings().llm_model_path
    cached = LocalLLM(path, checkpoint=first_passage_end, cache_size=4)
    plain = LocalLLM(path, checkpoint=first_passage_end, cache_size=0)
    assert cached.states is not None and plain.states is None
    p1, p2, p3 = _rag().retriever.retrieve("Какие ресурсы интересуют Японию?", top_k=3)
    settings = real_rag_settings()
    question = "Какие ресурсы интересуют Японию в Центральной Азии?"
    assert cached.prefill(prefill_messages(p1, settings))
    assert not cached.prefill(prefill_messages(p1, settings))  # kept already
    assert len(cached.states) == 1 and cached.states.nbytes > 0
    assert cached.prefill(prefill_messages(p3, settings))  # the context now holds another passage
    messages = qa_messages(question, [p1, p2])
    got = "".join(cached.stream(messages, max_tokens=40))
    assert cached.states.hits == 1
    # nor does an answer depend on the prompt before, here one sharing both passages (llama.cpp
    # alone would read from where they part, in the question)
    "".join(plain.stream(qa_messages("Кто такой Папава?", [p1, p2]), max_tokens=4))
    assert got == "".join(plain.stream(messages, max_tokens=40))
    assert got.strip()


def test_splice__a_later_passage_read_from_its_state_answers_the_same_kept_or_not() -> None:
    """LocalLLM(passages=...): a second passage is not read but spliced from the state of the
    prompt showing it alone, numbered [2]. Whether that state was kept before (a warm-up) or is
    computed for the question, the answer is the same; the context then holds the prompt's own
    tokens."""
    from rag.llm import LocalLLM
    from rag.pipeline import prefill_messages
    from rag.prompts import first_passage_end, passage_texts, qa_messages

    path = real_rag_settings().llm_model_path
    settings = real_rag_settings()
    p1, p2 = _rag().retriever.retrieve("Какие ресурсы интересуют Японию?", top_k=2)
    messages = qa_messages("Какие ресурсы интересуют Японию в Центральной Азии?", [p1, p2])

    def model() -> LocalLLM:
        return LocalLLM(
            path, checkpoint=first_passage_end, cache_size=4, passages=passage_texts, shown=2
        )

    warmed, cold = model(), model()
    try:
        for p in (p2, p1):
            assert warmed.prefill(prefill_messages(p, settings))
        assert warmed.states is not None and len(warmed.states) == 4  # each as [1] and as [2]
        tokens, _, prefix, _ = warmed.plan(messages)
        ((at, key2, start, count),) = warmed._later(messages, tokens, prefix)
        assert key2 in warmed.states and tokens[at : at + count] == list(key2[start:])[:count]
        got = warmed.complete(messages, max_tokens=40)
        assert got.strip()
        assert warmed._llama.input_ids[: len(tokens)].tolist() == tokens
        assert cold.complete(messages, max_tokens=40) == got
        assert cold.states is not None and len(cold.states) == 2  # p2 as [2], then p1 as [1]
    finally:
        warmed.close()
        cold.close()


def test_draft__replies_are_those_of_one_token_at_a_time(tmp_path: Path) -> None:
    """LocalLLM(draft=4): tokens looked up in the prompt and checked in one batch give the
    reply that create_completion gives one token at a time, drafts are kept on an answer that
    copies its passage, a short max_tokens cuts both alike, and the context then holds the
    prompt and the reply's tokens (what the next prompt is compared with)."""
    from rag.llm import LocalLLM
    from rag.prompts import first_passage_end, qa_messages

    path = real_rag_settings().llm_model_path
    plain = LocalLLM(path, checkpoint=first_passage_end, cache_size=4, prefix_dir=tmp_path)
    drafting = LocalLLM(
        path, checkpoint=first_passage_end, cache_size=4, prefix_dir=tmp_path, draft=4
    )
    try:
        for case_id in ("dev-003", "dev-010", "dev-029"):
            question = _dev()[case_id]["question"]
            messages = qa_messages(question, _rag().retriever.retrieve(question, top_k=2))
            want = plain.complete(messages, max_tokens=80)
            assert drafting.complete(messages, max_tokens=80) == want, case_id
            assert drafting.complete(messages, max_tokens=3) == plain.complete(
                messages, max_tokens=3
            )
        assert drafting.kept > 0 and drafting.drafted >= drafting.kept
        tokens, _, _, _ = drafting.plan(messages)
        reply = drafting._tokens(want, add_bos=False)
        held = drafting._llama.input_ids[: drafting._llama.n_tokens].tolist()
        assert held[: len(tokens)] == tokens and len(held) <= len(tokens) + len(reply) + 4
    finally:
        plain.close()
        drafting.close()


def test_kept_prefix__a_new_model_reads_it_from_disk_and_answers_the_same(tmp_path: Path) -> None:
    """LocalLLM(prefix_dir=...): the fixed prefix's cells are written once, read back by the
    next process instead of computed, and give the same answer; a damaged file is computed
    and written again."""
    from rag.llm import LocalLLM
    from rag.prompts import first_passage_end

    path = real_rag_settings().llm_model_path
    messages = [
        {"role": "system", "content": "Отвечай кратко, по фрагментам."},
        {"role": "user", "content": "Фрагменты:\n[1] Мост длиной 312 метров открыли в мае.\n"},
        {"role": "assistant", "content": "Понятно."},
        {
            "role": "user",
            "content": "Фрагменты:\n[1] Паром ходит по вторникам.\n\nВопрос: Когда ходит паром?",
        },
    ]

    def answer() -> str:
        llm = LocalLLM(path, checkpoint=first_passage_end, prefix_dir=tmp_path)
        try:
            return llm.complete(messages, max_tokens=12)
        finally:
            llm.close()

    first = answer()
    (kept,) = tmp_path.glob("prefix-*.state")
    written = kept.stat().st_mtime_ns
    assert answer() == first and kept.stat().st_mtime_ns == written  # read, not rewritten
    kept.write_bytes(b"damaged")
    assert answer() == first and kept.stat().st_size > 1000
    plain = LocalLLM(path, checkpoint=first_passage_end)
    assert "".join(plain.stream(messages, max_tokens=12)) == first


# --- an OpenAI-compatible server on loopback -----------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    model = real_rag_settings().llm_model_path
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    # The server logs plenty to stderr while loading: a file, not an unread pipe that fills up.
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("llama_cpp.server never answered /v1/models: " + log.read_text())
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_openai_server__answers_through_the_same_pipeline(llm_server: str) -> None:
    from rag.llm import OpenAICompatLLM, load_llm

    settings = real_rag_settings().model_copy(update={"llm_url": llm_server, "llm_model": "q"})
    llm = load_llm(settings)
    assert isinstance(llm, OpenAICompatLLM)
    case = _dev()["dev-029"]
    a = answer(case["question"], retriever=_rag().retriever, llm=llm, settings=settings)
    assert not a.refused, a.raw
    assert all(_fold(k) in _fold(a.text) for k in case["keywords"]), a.text
    assert _cites_evidence(a, case["evidence"])


def test_local_llm__a_prompt_past_the_context_is_a_clear_input_error() -> None:
    # 2,000 characters are within the question's limit, but a rare character is 3-4 tokens:
    # found by schema fuzzing as a 502 from llama.cpp
    from rag.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="too long for the model"):
        _rag().ask("\U000f43cb" * 2000)
