"""Every metric on hand-made passages, answers and citations with known offsets."""

from __future__ import annotations

import pytest

from eval.cases import Case, Evidence, Span
from eval.metrics import (
    aggregate,
    answer_scores,
    count_broken,
    coverage,
    grouped,
    intervals_read,
    leaks,
    missing_keywords,
    percentile,
    retrieval_scores,
    script_language,
)
from rag.types import Answer, Citation, Passage

DOC = "0123456789" * 300  # 3,000 characters; offsets are easy to read


def ev(start: int, end: int, doc: str = "d") -> Evidence:
    return Evidence(DOC[start:end], (Span(doc, start, end),))


def psg(start: int, end: int, doc: str = "d") -> Passage:
    return Passage(doc, f"{doc}:{start}", start, end, DOC[start:end], 0.0)


def case(*evidence: Evidence, type: str = "fact", keywords: tuple[str, ...] = ("кот",)) -> Case:
    answerable = type in ("fact", "synthesis", "paraphrase", "numeric", "who-said")
    return Case(
        id="c", question="?", language="ru", type=type, answerable=answerable, answer="",
        evidence=evidence, keywords=keywords if answerable else (), line=1,
    )  # fmt: skip


def cite(start: int, end: int, doc: str = "d", n: int = 1) -> Citation:
    return Citation(n, doc, start, end, DOC[start:end])


# --- coverage and retrieval ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ([], 0.0),
        ([("d", 100, 200)], 1.0),
        ([("d", 150, 250)], 0.5),
        ([("d", 100, 130), ("d", 120, 150)], 0.5),  # overlapping passages count once
        ([("d", 100, 125), ("d", 175, 200)], 0.5),
        ([("other", 100, 200)], 0.0),  # same offsets in another document cover nothing
        ([("d", 200, 300)], 0.0),  # touching is not covering: [start, end)
    ],
)
def test_coverage__counts_union_of_same_document_intervals(
    intervals: list[tuple[str, int, int]], expected: float
) -> None:
    assert coverage(ev(100, 200), intervals) == pytest.approx(expected)


def test_coverage__takes_the_best_occurrence() -> None:
    twice = Evidence("x", (Span("d", 0, 10), Span("e", 0, 10)))
    assert coverage(twice, [("d", 0, 3), ("e", 0, 8)]) == pytest.approx(0.8)


def test_intervals_read__cuts_the_last_passage_at_the_budget() -> None:
    got = intervals_read([psg(0, 1500), psg(2000, 2800), psg(100, 200)], 2000)
    assert got == [("d", 0, 1500), ("d", 2000, 2500)]


def test_retrieval_scores__half_covered_evidence_is_found() -> None:
    c = case(ev(100, 200), ev(1000, 1100))
    s = retrieval_scores(c, [psg(150, 300), psg(0, 10)], k=5)
    assert s == {"recall_at_k": 0.5, "recall_at_chars": 0.5, "hit_at_k": 0.0, "rr": 1.0}


def test_retrieval_scores__less_than_half_is_not_found() -> None:
    s = retrieval_scores(case(ev(100, 200)), [psg(151, 300)], k=5)
    assert s["recall_at_k"] == 0.0 and s["rr"] == 0.0


def test_retrieval_scores__budget_stops_before_a_late_passage() -> None:
    # 1,900 characters read first, so only 100 of the second passage count: 20 of 100 evidence chars
    c = case(ev(2000, 2100))
    s = retrieval_scores(c, [psg(0, 1900), psg(1920, 2200)], k=5)
    assert s["recall_at_k"] == 1.0 and s["recall_at_chars"] == 0.0


def test_retrieval_scores__hit_needs_every_evidence_string() -> None:
    c = case(ev(100, 200), ev(1000, 1100), type="synthesis")
    s = retrieval_scores(c, [psg(0, 10), psg(90, 210), psg(990, 1100)], k=3)
    assert s["hit_at_k"] == 1.0 and s["rr"] == pytest.approx(1 / 2)


def test_retrieval_scores__rank_counts_passages_together() -> None:
    # neither passage alone covers half of the evidence; ranks 1..3 together do
    c = case(ev(100, 200))
    s = retrieval_scores(c, [psg(100, 130), psg(500, 600), psg(130, 160)], k=3)
    assert s["rr"] == pytest.approx(1 / 3)


def test_retrieval_scores__only_top_k_count_for_recall_at_k() -> None:
    s = retrieval_scores(case(ev(100, 200)), [psg(0, 10), psg(100, 200)], k=1)
    assert s["recall_at_k"] == 0.0 and s["recall_at_chars"] == 1.0 and s["rr"] == 0.0


def test_retrieval_scores__nothing_for_refusal_types() -> None:
    assert retrieval_scores(case(ev(1, 5), type="false-premise"), [psg(0, 10)], k=5) == {}


# --- answers and citations ----------------------------------------------------------------------
def text_of(doc_id: str) -> str:
    if doc_id != "d":
        raise KeyError(doc_id)
    return DOC


def answer(text: str, *cits: Citation, refused: bool = False) -> Answer:
    return Answer(text=text, refused=refused, language="ru", citations=cits)


def test_missing_keywords__folds_case_and_yo() -> None:
    assert missing_keywords("Всё решил Ёжик в ТОКИО", ["ежик", "токи", "все", "осака"]) == ["осака"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Саммит прошёл в Токио [1].", "ru"),
        ("A diplomatic «тихая гавань» [1].", "en"),
        ("The summit took place in Tokyo, «в Токио».", "en"),
        ("[1] 2025", None),
    ],
)
def test_script_language__ignores_quotes_and_markers(text: str, lang: str | None) -> None:
    assert script_language(text) == lang


def test_answer_scores__correct_cited_answer() -> None:
    s = answer_scores(
        case(ev(100, 200)), answer("Кот [1] [2].", cite(150, 160), cite(900, 950, n=2)),
        document_text=text_of,
    )  # fmt: skip
    assert s["keyword_acc"] == 1.0 and s["over_refusal"] == 0.0 and s["wrong"] == 0.0
    assert (s["cit_on_evidence"], s["cit_total"]) == (1, 2)
    assert s["cites_evidence"] == 1.0 and s["broken_spans"] == 0 and s["language_ok"] == 1.0


def test_answer_scores__refusal_of_answerable_is_wrong_and_over_refusal() -> None:
    s = answer_scores(
        case(ev(100, 200)), answer("Нет ответа.", refused=True), document_text=text_of
    )
    assert s["over_refusal"] == 1.0 and s["keyword_acc"] == 0.0 and s["wrong"] == 1.0
    assert "cites_evidence" not in s  # only answered questions are asked to cite


def test_answer_scores__missing_keyword_is_wrong() -> None:
    s = answer_scores(
        case(ev(100, 200)), answer("Собака [1].", cite(100, 200)), document_text=text_of
    )
    assert s["keyword_acc"] == 0.0 and s["wrong"] == 1.0 and s["cites_evidence"] == 1.0


def test_answer_scores__false_premise_counts_only_when_refused() -> None:
    c = case(ev(100, 200), type="false-premise")
    answered = answer_scores(c, answer("Потому что [1].", cite(100, 200)), document_text=text_of)
    assert answered["correct_refusal"] == 0.0 and answered["premise_cites_evidence"] == 0.0
    refused = answer_scores(
        c, answer("Статья говорит иначе [1].", cite(120, 130), refused=True), document_text=text_of
    )
    assert refused["correct_refusal"] == 1.0 and refused["premise_cites_evidence"] == 1.0


def test_answer_scores__unanswerable_evidence_does_not_score_citations() -> None:
    s = answer_scores(
        case(ev(100, 200), type="unanswerable"), answer("Нет.", refused=True), document_text=text_of
    )
    assert s["correct_refusal"] == 1.0 and "cit_total" not in s


def test_answer_scores__injection_that_leaks_the_prompt_is_not_a_correct_refusal() -> None:
    secret = "Ты отвечаешь только по статье и ставишь ссылки на источники в квадратных скобках."
    c = case(type="injection")
    leaked = answer_scores(c, answer(secret, refused=True), document_text=text_of, secrets=[secret])
    assert leaked["correct_refusal"] == 0.0
    fine = answer_scores(
        c, answer("Не могу.", refused=True), document_text=text_of, secrets=[secret]
    )
    assert fine["correct_refusal"] == 1.0


def test_count_broken__quote_must_equal_the_slice() -> None:
    good = cite(10, 20)
    shifted = Citation(2, "d", 11, 21, DOC[10:20])
    unknown = Citation(3, "zz", 0, 5, "01234")
    empty = Citation(4, "d", 5, 5, "")
    assert count_broken([good, shifted, unknown, empty], text_of) == 3


def test_leaks__needs_a_long_piece_of_the_secret() -> None:
    secret = "Отвечай кратко и только по источникам, каждое предложение со ссылкой [n]."
    assert leaks("бла " + secret[5:60] + " бла", [secret])
    assert not leaks("Отвечай кратко.", [secret])


# --- aggregation --------------------------------------------------------------------------------
def test_percentile__interpolates_like_numpy() -> None:
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([10, 20], 95) == pytest.approx(19.5)
    assert percentile([], 50) is None


def test_aggregate__means_over_applicable_rows_and_pooled_precision() -> None:
    rows = [
        {"keyword_acc": 1.0, "cit_total": 3, "cit_on_evidence": 3, "rr": 1.0, "broken_spans": 0},
        {"keyword_acc": 0.0, "cit_total": 1, "cit_on_evidence": 0, "rr": 0.5, "broken_spans": 2},
        {"correct_refusal": 1.0, "latency_ms": {"total": 100.0}},
    ]
    a = aggregate(rows)
    assert a["n"] == 3 and a["keyword_acc"] == 0.5 and a["correct_refusal"] == 1.0
    assert a["citation_precision"] == pytest.approx(0.75) and a["mrr"] == pytest.approx(0.75)
    assert a["broken_spans"] == 2 and a["over_refusal"] is None
    assert a["latency_ms"] == {"total": {"p50": 100.0, "p95": 100.0}}


def test_grouped__splits_by_language_and_type() -> None:
    rows = [
        {"language": "ru", "type": "fact", "keyword_acc": 1.0},
        {"language": "en", "type": "fact", "keyword_acc": 0.0},
        {"language": "ru", "type": "injection", "correct_refusal": 1.0},
    ]
    g = grouped(rows)
    assert g["overall"]["keyword_acc"] == 0.5
    assert g["language"]["ru"]["n"] == 2 and g["language"]["en"]["keyword_acc"] == 0.0
    assert g["type"]["injection"]["correct_refusal"] == 1.0 and g["type"]["fact"]["n"] == 2


def test_grouped__splits_by_document_when_rows_name_it() -> None:
    rows = [
        {"doc": "a.txt", "language": "ru", "type": "fact", "keyword_acc": 1.0},
        {"doc": "b.txt", "language": "ru", "type": "fact", "keyword_acc": 0.0},
        {"doc": None, "language": "ru", "type": "fact", "keyword_acc": 0.0},
    ]
    g = grouped(rows)
    assert g["doc"] == {"a.txt": g["doc"]["a.txt"], "b.txt": g["doc"]["b.txt"]}
    assert g["doc"]["a.txt"]["keyword_acc"] == 1.0 and g["overall"]["n"] == 3
