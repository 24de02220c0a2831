"""The runner on a real index built with the fake embedder and a scripted FakeLLM, and the
baseline's mapping of llama-index responses into our Answer."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import serve_in_thread
from fakes import FakeEmbedder, FakeLLM

from eval.baseline import Baseline, make_llama_llm, map_response
from eval.cases import load_cases
from eval.runner import retrieval_table, run, run_eval_cli
from eval.targets import InProcess, answer_from_dict
from rag.errors import EvalDataError
from rag.settings import Settings
from rag.types import Answer, Passage

DOC = (
    "Саммит «Центральная Азия + Япония» прошёл в Токио в декабре 2025 года.\n"
    "Министр Асо заявил, что Япония предлагает технологии и прямые инвестиции.\n"
    "Уран и литий интересуют японские компании больше всего.\n"
)
S1 = "Саммит «Центральная Азия + Япония» прошёл в Токио в декабре 2025 года."
S2 = "Министр Асо заявил, что Япония предлагает технологии и прямые инвестиции."


def case_line(**over: Any) -> str:
    row = {"id": "q1", "question": "Где прошёл саммит «Центральная Азия + Япония»?",
           "language": "ru", "type": "fact", "answerable": True, "answer": "В Токио.",
           "evidence": [S1], "keywords": ["токио"]}  # fmt: skip
    row.update(over)
    return json.dumps(row, ensure_ascii=False)


SET = "\n".join([
    case_line(),
    case_line(id="q2", question="Что предлагает Япония, по словам Асо?", evidence=[S2],
              keywords=["технолог"]),
    case_line(id="q3", question="Кто представлял Туркменистан?", type="unanswerable",
              answerable=False, answer="", evidence=[], keywords=[]),
])  # fmt: skip


@pytest.fixture
def small_rag(tmp_path: Path) -> Any:
    from index.build import build_index
    from rag.wiring import build_rag

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(DOC, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data")
    build_index(settings, embedder=FakeEmbedder())

    def make(replies: Any) -> Any:
        return build_rag(settings, embedder=FakeEmbedder(), llm=FakeLLM(replies))

    make.settings = settings  # type: ignore[attr-defined]
    return make


def args(**over: Any) -> argparse.Namespace:
    base = {"set": None, "out": None, "limit": None, "url": None, "retrieval_only": False,
            "config": "default", "top_k": None, "compare": None}  # fmt: skip
    return argparse.Namespace(**(base | over))


def test_retrieval_table__scores_answerable_cases_by_group(tmp_path: Path) -> None:
    (tmp_path / "s.jsonl").write_text(SET, encoding="utf-8")
    cases = load_cases(tmp_path / "s.jsonl", {"a.txt": DOC})
    first = Passage("a.txt", "c1", 0, len(S1), S1, 1.0)
    asked: list[int] = []

    def search(question: str, n: int) -> list[Passage]:
        asked.append(n)
        return [first]  # finds S1 for every question, never S2

    table = retrieval_table(cases, search, top_k=3)
    assert asked == [20, 20]  # unanswerable q3 is not searched; depth fills the char budget
    assert table["overall"]["n"] == 2 and table["overall"]["recall_at_k"] == 0.5
    assert table["overall"]["mrr"] == 0.5 and table["type"]["fact"]["hit_at_k"] == 0.5
    assert [r["id"] for r in table["cases"]] == ["q1", "q2"]


def test_run__scores_a_scripted_cited_answer(small_rag: Any) -> None:
    rag = small_rag(lambda messages: "Саммит прошёл в Токио [1].")
    target = InProcess(rag)
    cases = load_cases_text(SET, target)
    row = run(cases[:1], target, progress=False)[0]
    assert row["id"] == "q1" and row["gold_answer"] == "В Токио."
    assert row["answer"] == "Саммит прошёл в Токио [1]." and not row["refused"]
    assert row["citations"][0]["quote"] == S1 and row["citations_on_evidence"] == [True]
    assert row["keyword_acc"] == 1.0 and row["cites_evidence"] == 1.0 and row["outcome"] == "ok"
    assert row["broken_spans"] == 0 and row["recall_at_k"] == 1.0
    assert row["latency_ms"]["wall"] > 0 and "retrieve" in row["latency_ms"]


def load_cases_text(text: str, target: Any) -> list[Any]:
    from eval.cases import parse_cases

    return parse_cases(text, target.corpus())


class Exploding(InProcess):
    def ask(self, question: str) -> Answer:
        raise RuntimeError("model crashed")


def test_run__a_failing_answer_is_kept_as_an_error_row(small_rag: Any) -> None:
    target = Exploding(small_rag("x"))
    row = run(load_cases_text(SET, target)[:1], target, progress=False)[0]
    assert row["outcome"] == "error" and "model crashed" in row["error"]
    assert row["refused"] and row["over_refusal"] == 1.0


def test_run_eval_cli__writes_results_summary_and_reports(
    small_rag: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rag = small_rag(["Саммит прошёл в Токио [1].", "В статье нет ответа на этот вопрос."])
    (tmp_path / "s.jsonl").write_text(SET, encoding="utf-8")
    out = tmp_path / "out"
    code = run_eval_cli(
        small_rag.settings, args(set=str(tmp_path / "s.jsonl"), out=str(out), limit=2),
        target=InProcess(rag),
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html", "report.md", "results.jsonl", "summary.json"
    ]  # fmt: skip
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"]  # --limit 2
    assert len(rag.llm.calls) >= 2
    assert "kw acc" in capsys.readouterr().out


def test_run_eval_cli__a_bad_line_stops_before_any_answer(small_rag: Any, tmp_path: Path) -> None:
    rag = small_rag("Ответ [1].")
    bad = SET + "\n" + case_line(id="q4", evidence=["этого нет в статье"])
    (tmp_path / "s.jsonl").write_text(bad, encoding="utf-8")
    with pytest.raises(EvalDataError) as info:
        run_eval_cli(small_rag.settings, args(set=str(tmp_path / "s.jsonl")), target=InProcess(rag))
    assert info.value.line == 4
    assert rag.llm.calls == []


def test_run_eval_cli__retrieval_only_prints_the_table(
    small_rag: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rag = small_rag("unused")
    (tmp_path / "s.jsonl").write_text(SET, encoding="utf-8")
    code = run_eval_cli(
        small_rag.settings,
        args(set=str(tmp_path / "s.jsonl"), retrieval_only=True, top_k=2, out=str(tmp_path / "r")),
        target=InProcess(rag),
    )
    printed = capsys.readouterr().out
    assert code == 0 and "recall@2000ch" in printed and "language=ru" in printed
    assert json.loads((tmp_path / "r" / "retrieval.json").read_text())["k"] == 2
    assert rag.llm.calls == []


def test_answer_from_dict__round_trips_the_wire_shape() -> None:
    d = {"answer": "Да [1].", "refused": False, "language": "ru",
         "citations": [{"n": 1, "doc_id": "a", "start": 0, "end": 2, "quote": "Да"}],
         "passages": [{"doc_id": "a", "chunk_id": "c", "start": 0, "end": 2, "text": "Да",
                       "score": 0.5}], "timings_ms": {"total": 3}, "shown": 1}  # fmt: skip
    a = answer_from_dict(d)
    assert a.to_dict() == d | {"timings_ms": {"total": 3.0}}


# --- baseline -----------------------------------------------------------------------------------
def test_map_response__renumbers_markers_and_locates_sources() -> None:
    docs = {"a.txt": DOC}
    sources = [("a.txt", f"Source 1:\n{S2}\n", 0.9), ("a.txt", f"Source 2:\n{S1}\n", 0.8)]
    a = map_response("В Токио [2]. Асо [1] [7].", sources, docs, language="ru")
    assert a.text == "В Токио [1]. Асо [2] ." and not a.refused
    assert [(c.n, c.quote) for c in a.citations] == [(1, S1), (2, S2)]
    assert all(DOC[c.start : c.end] == c.quote for c in a.citations)


def test_map_response__cannot_inside_a_claim_is_not_a_refusal() -> None:
    sources = [("a.txt", f"Source 1:\n{S1}\n", 0.9)]
    a = map_response("Tokyo cannot ignore the region [1].", sources, {"a.txt": DOC}, language="en")
    assert not a.refused


def test_map_response__source_n_in_the_text_counts_as_a_citation() -> None:
    sources = [("a.txt", f"Source 1:\n{S2}\n", 0.9), ("a.txt", f"Source 2:\n{S1}\n", 0.8)]
    a = map_response("According to Source 2, it was Tokyo.", sources, {"a.txt": DOC}, language="en")
    assert a.text == "According to [1], it was Tokyo." and not a.refused
    assert [c.quote for c in a.citations] == [S1]


@pytest.mark.parametrize(
    "text", ["The article does not mention it [1].", "Нет информации об этом.", "Токио."]
)
def test_map_response__no_citation_or_cannot_answer_is_a_refusal(text: str) -> None:
    a = map_response(text, [("a.txt", f"Source 1:\n{S1}\n", 0.9)], {"a.txt": DOC}, language="en")
    assert a.refused


def test_make_llama_llm__calls_our_llm_with_the_prompt_as_a_user_message() -> None:
    llm = FakeLLM("ответ")
    wrapped = make_llama_llm(llm, context_window=2048, max_tokens=64)
    assert wrapped.complete("вопрос").text == "ответ"
    assert llm.calls == [[{"role": "user", "content": "вопрос"}]]
    assert "".join(r.delta for r in wrapped.stream_complete("q")) == "ответ"


def test_baseline__answers_through_citation_query_engine_on_fakes(small_rag: Any) -> None:
    rag = small_rag("Саммит прошёл в Токио [1].")
    llm = rag.llm
    base = Baseline(InProcess(rag), small_rag.settings, llm=llm)
    a = base.ask("Где прошёл саммит?")
    assert not a.refused and a.citations and a.passages
    assert all(DOC[c.start : c.end] == c.quote for c in a.citations)
    assert "Source 1" in llm.calls[-1][0]["content"]
    again = Baseline(InProcess(rag), small_rag.settings, llm=llm)  # reuses the built collection
    assert again.search("Токио", 1) == base.search("Токио", 1)


# --- --url: the same run against a real HTTP server ---------------------------------------------
@pytest.fixture
def served_url(small_rag: Any) -> Any:
    from api.app import create_app

    rag = small_rag("Саммит прошёл в Токио [1].")
    with serve_in_thread(create_app(small_rag.settings, rag=rag)) as url:
        yield url


def test_remote__runs_the_set_over_http(served_url: str) -> None:
    from eval.targets import Remote

    target = Remote(served_url)
    assert target.corpus() == {"a.txt": DOC}
    assert target.search("Токио", 1)[0].doc_id == "a.txt"
    row = run(load_cases_text(SET, target)[:1], target, progress=False)[0]
    assert row["answer"] == "Саммит прошёл в Токио [1]." and row["broken_spans"] == 0
    assert row["keyword_acc"] == 1.0 and row["citations_on_evidence"] == [True]
