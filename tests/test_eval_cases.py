"""Question-set validation: every problem is found up front and named by its line number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cases import load_cases, locate, parse_cases
from eval.suite import SETS
from rag.errors import EvalDataError
from rag.settings import DEFAULT_CORPUS_DIR

CORPUS = {
    "a.txt": "Саммит прошёл в Токио. Япония предлагает технологии.\nТокио.",
    "b.txt": "Second doc about Tokyo.",
}


def row(**over: object) -> str:
    base = {
        "id": "q1",
        "question": "Где прошёл саммит?",
        "language": "ru",
        "type": "fact",
        "answerable": True,
        "answer": "В Токио.",
        "evidence": ["Саммит прошёл в Токио."],
        "keywords": ["токи"],
    }
    base.update(over)
    return json.dumps(base, ensure_ascii=False)


def test_parse_cases__locates_every_occurrence_of_the_evidence() -> None:
    (case,) = parse_cases(row(evidence=["Токио"]), CORPUS)
    spans = case.evidence[0].spans
    assert [(s.doc_id, s.start) for s in spans] == [("a.txt", 16), ("a.txt", 53)]
    assert all(CORPUS[s.doc_id][s.start : s.end] == "Токио" for s in spans)
    assert case.line == 1


def test_parse_cases__skips_blank_lines_and_keeps_line_numbers() -> None:
    cases = parse_cases("\n" + row() + "\n\n" + row(id="q2") + "\n", CORPUS)
    assert [(c.id, c.line) for c in cases] == [("q1", 2), ("q2", 4)]


@pytest.mark.parametrize(
    ("bad_line", "needle"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "JSON object"),
        (row(question=None), "'question' must be str"),
        (json.dumps({"id": "x"}), "missing field 'question'"),
        (row(answerable="yes"), "'answerable' must be bool"),
        (row(language="de"), "unknown language 'de'"),
        (row(type="opinion"), "unknown type 'opinion'"),
        (row(type="unanswerable"), "contradicts type"),
        (row(evidence=["Саммит прошел в Токио."]), "not an exact substring"),
        (row(evidence=[1]), "list of non-empty strings"),
        (row(keywords=[]), "needs keywords"),
        (row(id="q0"), "duplicate id"),
    ],
)
def test_parse_cases__names_the_line_of_each_problem(bad_line: str, needle: str) -> None:
    good = row(id="q0")
    with pytest.raises(EvalDataError) as info:
        parse_cases("\n".join([good, good.replace('"q0"', '"q9"'), bad_line]), CORPUS)
    assert info.value.line == 3
    assert "line 3" in str(info.value)
    assert needle in str(info.value)


def test_parse_cases__reports_all_bad_lines_at_once() -> None:
    text = "\n".join(["{", row(), row(id="q2", language="fr")])
    with pytest.raises(EvalDataError) as info:
        parse_cases(text, CORPUS)
    assert info.value.line == 1
    assert "line 1" in str(info.value) and "line 3" in str(info.value)
    assert "line 2" not in str(info.value)


def test_parse_cases__refusal_types_need_no_keywords_or_evidence() -> None:
    (case,) = parse_cases(
        row(type="injection", answerable=False, answer="", evidence=[], keywords=[]), CORPUS
    )
    assert not case.answerable and not case.evidence_is_target


def test_parse_cases__unanswerable_evidence_is_not_a_target() -> None:
    (case,) = parse_cases(row(type="unanswerable", answerable=False, keywords=[]), CORPUS)
    assert case.evidence and not case.evidence_is_target


def test_parse_cases__empty_set_is_an_error() -> None:
    with pytest.raises(EvalDataError, match="empty"):
        parse_cases("\n\n", CORPUS)


def test_load_cases__missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="no such question set"):
        load_cases(tmp_path / "nope.jsonl", CORPUS)


@pytest.mark.parametrize(("name", "count"), [("dev.jsonl", 40), ("team.jsonl", 303)])
def test_load_cases__the_shipped_sets_are_valid_against_the_shipped_article(
    name: str, count: int
) -> None:
    root = Path(__file__).resolve().parent.parent
    article = root / "data" / "corpus" / "tokyo-summit-2025.ru.txt"
    cases = load_cases(root / "data" / "eval" / name, {article.name: article.read_text("utf-8")})
    assert len(cases) == count
    assert all(s for c in cases for e in c.evidence for s in e.spans)


@pytest.mark.parametrize("name", [s.name for s in SETS if s.corpus != DEFAULT_CORPUS_DIR])
def test_load_cases__each_folder_set_is_valid_against_its_own_corpus(name: str) -> None:
    """Every set kept as a folder loads against its corpus, and every evidence string of an
    answerable question is found in the document its question names."""
    (qs,) = [s for s in SETS if s.name == name]
    docs = {p.name: p.read_text("utf-8") for p in sorted(qs.corpus.iterdir()) if p.is_file()}
    cases = load_cases(qs.questions, docs)
    assert len(cases) >= 36 and len({c.id for c in cases}) == len(cases)
    answerable = [c for c in cases if c.answerable]
    assert answerable and all(c.evidence for c in answerable)
    assert all(s.doc_id == c.doc for c in answerable for e in c.evidence for s in e.spans)


def test_locate__finds_nothing_for_absent_text() -> None:
    assert locate("Осака", CORPUS) == ()


def test_parse_cases__a_named_document_scopes_the_evidence() -> None:
    (case,) = parse_cases(row(evidence=["Tokyo"], doc="b.txt"), {**CORPUS, "c.txt": "Tokyo."})
    assert case.doc == "b.txt"
    assert [s.doc_id for s in case.evidence[0].spans] == ["b.txt"]
    assert case.to_dict()["doc"] == "b.txt"


def test_parse_cases__an_unknown_document_is_named() -> None:
    with pytest.raises(EvalDataError, match=r"'z\.txt' is not in the corpus"):
        parse_cases(row(doc="z.txt"), CORPUS)
