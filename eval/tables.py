"""Plain-text and markdown tables of grouped metrics (overall, per language, per type).

Shared by the terminal output of `rag eval`, report.md and the comparison; knows nothing of HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

RETRIEVAL_COLUMNS = ("shown_recall", "recall_at_k", "recall_at_chars", "hit_at_k", "mrr")
ANSWER_COLUMNS = (
    "keyword_acc", "over_refusal", "correct_refusal", "premise_cites_evidence",
    "citation_precision", "cites_evidence", "broken_spans", "language_ok",
)  # fmt: skip

SHORT = {
    "shown_recall": "evidence shown",
    "recall_at_k": "recall@k",
    "recall_at_chars": "recall@2000ch",
    "hit_at_k": "hit@k",
    "mrr": "MRR",
    "keyword_acc": "kw acc",
    "over_refusal": "over-refusal",
    "correct_refusal": "correct refusal",
    "premise_cites_evidence": "premise cited",
    "citation_precision": "cit. precision",
    "cites_evidence": "cites evidence",
    "broken_spans": "broken spans",
    "language_ok": "language ok",
}


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def grouped_rows(grouped: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, metrics) for overall, then each language, then each type."""
    rows: list[tuple[str, Mapping[str, Any]]] = [("overall", grouped["overall"])]
    for key in ("doc", "language", "type"):
        rows.extend((f"{key}={g}", m) for g, m in grouped.get(key, {}).items())
    return rows


def markdown_table(
    rows: Sequence[tuple[str, Mapping[str, Any]]], columns: Sequence[str], *, first: str = "group"
) -> str:
    """A GitHub markdown table with `n` after the label; missing values print as '–'."""
    head = [first, "n", *(SHORT.get(c, c) for c in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, m in rows:
        cells = [label, fmt(m.get("n")), *(fmt(m.get(c)) for c in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def text_table(
    rows: Sequence[tuple[str, Mapping[str, Any]]], columns: Sequence[str], *, first: str = "group"
) -> str:
    """The same table aligned for a terminal."""
    head = [first, "n", *(SHORT.get(c, c) for c in columns)]
    body = [[label, fmt(m.get("n")), *(fmt(m.get(c)) for c in columns)] for label, m in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body)
    return "\n".join(out)
