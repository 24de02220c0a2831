"""The report writer and the run comparison on a small fake run (hand-made answers, no models)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from eval.cases import parse_cases
from eval.compare import changed_outcomes, render_comparison, run_compare_cli
from eval.report import read_jsonl, write_report
from eval.runner import evaluate_case
from rag.errors import EvalDataError
from rag.types import Answer, Citation

DOC = "Саммит прошёл в Токио. Асо говорил о технологиях. Про Осаку ничего нет."
CORPUS = {"a.txt": DOC}
SET = "\n".join(
    json.dumps(r, ensure_ascii=False)
    for r in [
        {"id": "f1", "question": "Где саммит?", "language": "ru", "type": "fact",
         "answerable": True, "answer": "В Токио.", "evidence": ["Саммит прошёл в Токио."],
         "keywords": ["токи"]},
        {"id": "w1", "question": "Who spoke about <b>technology</b>?", "language": "en",
         "type": "who-said", "answerable": True, "answer": "Aso.",
         "evidence": ["Асо говорил о технологиях."], "keywords": ["aso"]},
        {"id": "u1", "question": "Сколько денег?", "language": "ru", "type": "unanswerable",
         "answerable": False, "answer": "", "evidence": [], "keywords": []},
    ]
)  # fmt: skip


def quote(text: str, n: int = 1) -> Citation:
    i = DOC.index(text)
    return Citation(n, "a.txt", i, i + len(text), text)


def fake_run(answers: dict[str, Answer]) -> list[dict[str, Any]]:
    cases = parse_cases(SET, CORPUS)
    return [
        evaluate_case(c, answers[c.id], wall_ms=1000.0 + i * 500, document_text=CORPUS.__getitem__)
        for i, c in enumerate(cases)
    ]


GOOD = {
    "f1": Answer("В Токио [1].", False, "ru", (quote("Саммит прошёл в Токио."),),
                 timings_ms={"retrieve": 5.0, "generate": 900.0}),
    "w1": Answer("The article does not say.", True, "en", timings_ms={"retrieve": 6.0}),
    "u1": Answer("В статье нет ответа.", True, "ru"),
}  # fmt: skip


def write(tmp_path: Path, name: str, answers: dict[str, Answer]) -> Path:
    out = tmp_path / name
    write_report(out, fake_run(answers), meta={"set": "s.jsonl", "config": name, "seconds": 1})
    return out


def test_write_report__writes_rows_summary_and_both_reports(tmp_path: Path) -> None:
    out = write(tmp_path, "run", GOOD)
    rows = read_jsonl(out / "results.jsonl")
    assert [r["outcome"] for r in rows] == ["ok", "wrong", "ok"]
    assert (
        rows[0]["citations"][0]["quote"] == "Саммит прошёл в Токио." and rows[0]["passages"] == []
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failures"] == ["w1"]
    overall = summary["metrics"]["overall"]
    assert overall["keyword_acc"] == 0.5 and overall["over_refusal"] == 0.5
    assert overall["latency_ms"]["wall"]["p50"] == 1500.0
    assert summary["metrics"]["type"]["unanswerable"]["correct_refusal"] == 1.0
    md = (out / "report.md").read_text()
    assert "| overall | 3 |" in md and "### w1 (en, who-said, line 2)" in md
    assert "missing keywords: aso" in md


def test_write_report__html_is_self_contained_and_shows_failures_side_by_side(
    tmp_path: Path,
) -> None:
    page = (write(tmp_path, "run", GOOD) / "report.html").read_text()
    assert page.count("<svg") == 3  # by type, by language, latency
    assert not re.search(r"<script|<link|src=|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    assert 'class="fail" id="w1"' in page and 'id="f1"' not in page  # failures only
    assert "Who spoke about &lt;b&gt;technology&lt;/b&gt;?" in page  # escaped, not markup
    assert "Асо говорил о технологиях." in page  # the evidence beside the answer
    assert "missing keywords: aso" in page


def test_compare__lists_metric_deltas_and_changed_questions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path, "a", GOOD)
    fixed = dict(GOOD, w1=Answer("Aso [1].", False, "en", (quote("Асо говорил о технологиях."),)))
    b = write(tmp_path, "b", fixed)
    text = render_comparison(a, b)
    assert "| overall | kw acc | 0.500 | 1.000 | +0.500 |" in text
    assert "1 fixed, 0 broken" in text and "**w1** (en, who-said): wrong → ok" in text
    assert run_compare_cli(a, b) == 0 and "w1" in capsys.readouterr().out
    pairs = changed_outcomes(read_jsonl(a / "results.jsonl"), read_jsonl(b / "results.jsonl"))
    assert [p[1]["id"] for p in pairs] == ["w1"]


def test_compare__a_folder_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="not an evaluation run"):
        render_comparison(tmp_path, tmp_path)
