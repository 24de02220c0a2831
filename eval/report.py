"""Write an evaluation run to a folder: results.jsonl, summary.json, report.md and report.html.

`write_report(out, rows, meta)` is the one entry point; rows come from `eval.runner.evaluate_case`.
The HTML page is drawn by `eval.html` (self-contained, inline SVG). Scores are computed by
`eval.metrics.grouped`; nothing is scored here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.html import render_html
from eval.metrics import grouped
from eval.tables import ANSWER_COLUMNS, RETRIEVAL_COLUMNS, fmt, grouped_rows, markdown_table


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "meta": dict(meta),
        "metrics": grouped(rows),
        "failures": [r["id"] for r in rows if r.get("outcome") != "ok"],
    }


def latency_rows(metrics: Mapping[str, Any]) -> list[tuple[str, float | None, float | None]]:
    """(stage, p50, p95) of the overall group, wall time last."""
    lat = metrics["overall"].get("latency_ms") or {}
    stages = sorted(lat, key=lambda s: (s in ("total", "wall"), s))
    return [(s, lat[s]["p50"], lat[s]["p95"]) for s in stages]


def render_markdown(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    meta, metrics = summary["meta"], summary["metrics"]
    groups = grouped_rows(metrics)
    lines = [
        f"# Evaluation: {meta.get('set', '?')} ({meta.get('config', '?')})",
        "",
        f"{len(rows)} questions, started {meta.get('started', '?')}, "
        f"{meta.get('seconds', '?')} s. Settings: "
        + ", ".join(f"{k}={v}" for k, v in (meta.get("settings") or {}).items()),
        "",
        "## Answers and citations",
        "",
        markdown_table(groups, ANSWER_COLUMNS),
        "",
        "## Retrieval (passages the LLM read; answerable questions)",
        "",
        markdown_table(groups, RETRIEVAL_COLUMNS),
        "",
        "## Latency, ms",
        "",
        "| stage | p50 | p95 |",
        "|---|---|---|",
        *(f"| {s} | {fmt(a)} | {fmt(b)} |" for s, a, b in latency_rows(metrics)),
        "",
        f"## Failures ({len(summary['failures'])})",
        "",
    ]
    for r in rows:
        if r.get("outcome") == "ok":
            continue
        lines += [
            f"### {r['id']} ({r['language']}, {r['type']}, line {r.get('line', '?')})",
            "",
            f"- question: {r['question']}",
            f"- answer{' (refused)' if r.get('refused') else ''}: {r.get('answer', '')}",
            f"- gold: {r.get('gold_answer') or '(refuse)'}",
        ]
        if r.get("missing_keywords"):
            lines.append(f"- missing keywords: {', '.join(r['missing_keywords'])}")
        if r.get("error"):
            lines.append(f"- error: {r['error']}")
        for c, hit in zip(r.get("citations", []), r.get("citations_on_evidence", []), strict=False):
            lines.append(f"- [{c['n']}] {'on' if hit else 'off'} evidence: «{c['quote']}»")
        lines += [f"- evidence: «{e}»" for e in r.get("evidence", [])]
        lines.append("")
    return "\n".join(lines)


def write_report(
    out: Path, rows: Sequence[Mapping[str, Any]], *, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """Write all four files into `out` (created) and return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows, meta)
    write_jsonl(out / "results.jsonl", rows)
    write_json(out / "summary.json", summary)
    (out / "report.md").write_text(render_markdown(summary, rows) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render_html(summary, rows), encoding="utf-8")
    return summary
