"""`rag eval-all` on fakes: each set against its own corpus, one side-by-side report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder, FakeLLM

from eval.suite import QuestionSet, pick, run_suite_cli, settings_for
from rag.errors import EvalDataError
from rag.settings import Settings

RU = "Саммит прошёл в Токио в декабре 2025 года.\nЯпония предлагает технологии.\n"
EN = "The earthquake struck at midnight.\nIt had a magnitude of 7.8.\n"


def question(i: str, doc: str, q: str, evidence: str, keyword: str) -> str:
    row = {"id": i, "doc": doc, "question": q, "language": "ru", "type": "fact",
           "answerable": True, "answer": keyword, "evidence": [evidence],
           "keywords": [keyword]}  # fmt: skip
    return json.dumps(row, ensure_ascii=False)


def test_run_suite_cli__reports_each_set_and_each_document(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "ru.txt").write_text(RU, encoding="utf-8")
    (two / "ru.txt").write_text(RU, encoding="utf-8")
    (two / "en.txt").write_text(EN, encoding="utf-8")
    (tmp_path / "one.jsonl").write_text(
        question("a1", "ru.txt", "Где прошёл саммит?", "Саммит прошёл в Токио", "токио"),
        encoding="utf-8",
    )
    (tmp_path / "two.jsonl").write_text(
        question("b1", "ru.txt", "Где прошёл саммит?", "Саммит прошёл в Токио", "токио")
        + "\n"
        + question("b2", "en.txt", "Какая магнитуда?", "magnitude of 7.8", "7.8"),
        encoding="utf-8",
    )
    sets = [
        QuestionSet("one", tmp_path / "one.jsonl", one),
        QuestionSet("two", tmp_path / "two.jsonl", two),
    ]
    settings = Settings(corpus_dir=one, data_dir=tmp_path / "data", llm_warm=False)
    llm = FakeLLM(lambda messages: "Саммит прошёл в Токио [1].")
    out = tmp_path / "out"
    args = argparse.Namespace(sets=None, out=str(out), limit=None, replies=None)
    assert run_suite_cli(settings, args, sets=sets, embedder=FakeEmbedder(), llm=llm) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == ["one", "two"]
    assert summary["one"]["metrics"]["overall"]["keyword_acc"] == 1.0
    by_doc = summary["two"]["metrics"]["doc"]
    assert by_doc["ru.txt"]["keyword_acc"] == 1.0 and by_doc["en.txt"]["keyword_acc"] == 0.0
    report = (out / "report.md").read_text()
    assert "| two · en.txt | 1 |" in report and "| one | 1 |" in report
    assert (out / "two" / "results.jsonl").is_file()
    assert (tmp_path / "data" / "eval" / "two").is_dir()  # its own index, beside the default


def test_settings_for__keeps_the_configured_corpus_and_separates_others(tmp_path: Path) -> None:
    base = Settings(corpus_dir=tmp_path / "a", data_dir=tmp_path / "d")
    assert settings_for(base, QuestionSet("x", tmp_path / "q", tmp_path / "a")) is base
    other = settings_for(base, QuestionSet("y", tmp_path / "q", tmp_path / "b"))
    assert other.data_dir == tmp_path / "d" / "eval" / "y" and other.corpus_dir == tmp_path / "b"


def test_pick__names_the_unknown_set() -> None:
    assert [s.name for s in pick("dev,fresh")] == ["dev", "fresh"]
    with pytest.raises(EvalDataError, match="nope"):
        pick("dev,nope")


def test_shipped_sets__every_line_is_valid_against_its_corpus() -> None:
    from eval.cases import load_cases
    from index.load import load_corpus

    for qs in pick(None):
        corpus = {d.doc_id: d.text for d in load_corpus(qs.corpus).documents}
        assert load_cases(qs.questions, corpus), qs.name


def test_replay_llm__asks_the_model_once_per_prompt(tmp_path: Path) -> None:
    from eval.replay import ReplayLLM

    loads: list[int] = []

    def load() -> FakeLLM:
        loads.append(1)
        return FakeLLM(lambda messages: "Ответ [1].")

    msgs = [{"role": "user", "content": "Где?"}]
    first = ReplayLLM(tmp_path / "r.jsonl", load, name="m")
    assert first.complete(msgs, max_tokens=9) == "Ответ [1]."
    again = ReplayLLM(tmp_path / "r.jsonl", load, name="m")
    assert again.complete(msgs, max_tokens=9) == "Ответ [1]." and again.hits == 1
    assert len(loads) == 1  # the second never loaded the model
    other = ReplayLLM(tmp_path / "r.jsonl", load, name="another model")
    assert other.complete(msgs, max_tokens=9) == "Ответ [1]." and other.hits == 0
