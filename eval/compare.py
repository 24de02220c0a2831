"""`rag eval --compare DIR_A DIR_B`: what changed between two evaluation runs.

Reads each folder's summary.json and results.jsonl (as written by `eval.report`) and prints a
markdown table of every metric, overall, per language and per type (A, B, B − A), the latency
percentiles, and the questions whose outcome changed (ok ↔ wrong/error), with both answers.
Does not re-score anything: the runs' own scores are compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.report import read_jsonl
from eval.tables import ANSWER_COLUMNS, RETRIEVAL_COLUMNS, SHORT, fmt
from rag.errors import EvalDataError

LOWER_IS_BETTER = {"over_refusal", "broken_spans", "wrong"}


def load_run(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, rows) of one run folder; EvalDataError when it is not one."""
    import json

    summary_path, rows_path = folder / "summary.json", folder / "results.jsonl"
    if not summary_path.is_file() or not rows_path.is_file():
        raise EvalDataError(f"{folder} is not an evaluation run (no summary.json/results.jsonl)")
    return json.loads(summary_path.read_text(encoding="utf-8")), read_jsonl(rows_path)


def _delta(a: Any, b: Any) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return "–"
    d = b - a
    return f"{d:+.3f}" if isinstance(d, float) else f"{d:+d}"


def metric_diffs(ma: Mapping[str, Any], mb: Mapping[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(group, metric, A, B) for every metric present in either run, overall first."""
    out: list[tuple[str, str, Any, Any]] = []
    groups: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = [
        ("overall", ma["overall"], mb["overall"])
    ]
    for key in ("doc", "language", "type"):
        for g in sorted(set(ma.get(key, {})) | set(mb.get(key, {}))):
            groups.append((f"{key}={g}", ma.get(key, {}).get(g, {}), mb.get(key, {}).get(g, {})))
    for label, a, b in groups:
        for m in (*ANSWER_COLUMNS, *RETRIEVAL_COLUMNS):
            if a.get(m) is not None or b.get(m) is not None:
                out.append((label, m, a.get(m), b.get(m)))
        if label == "overall":
            lat_a, lat_b = a.get("latency_ms", {}), b.get("latency_ms", {})
            for stage in sorted(set(lat_a) | set(lat_b)):
                for p in ("p50", "p95"):
                    va, vb = lat_a.get(stage, {}).get(p), lat_b.get(stage, {}).get(p)
                    out.append((label, f"{stage} {p} ms", va, vb))
    return out


def changed_outcomes(
    rows_a: Sequence[Mapping[str, Any]], rows_b: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Pairs (row A, row B) of the questions in both runs whose outcome differs."""
    by_id = {r["id"]: r for r in rows_a}
    return [
        (by_id[r["id"]], r)
        for r in rows_b
        if r["id"] in by_id and by_id[r["id"]].get("outcome") != r.get("outcome")
    ]


def render_comparison(dir_a: Path, dir_b: Path) -> str:
    (sa, rows_a), (sb, rows_b) = load_run(dir_a), load_run(dir_b)
    lines = [f"# {dir_a} (A) vs {dir_b} (B)", "", "| group | metric | A | B | B − A |",
             "|---|---|---|---|---|"]  # fmt: skip
    for group, m, a, b in metric_diffs(sa["metrics"], sb["metrics"]):
        lines.append(f"| {group} | {SHORT.get(m, m)} | {fmt(a)} | {fmt(b)} | {_delta(a, b)} |")
    changed = changed_outcomes(rows_a, rows_b)
    better = sum(1 for _, b in changed if b.get("outcome") == "ok")
    lines += ["", f"## Changed outcomes: {better} fixed, {len(changed) - better} broken", ""]
    for a, b in changed:
        lines += [
            f"- **{b['id']}** ({b['language']}, {b['type']}): {a.get('outcome')} → "
            f"{b.get('outcome')} — {b['question']}",
            f"  - A{' (refused)' if a.get('refused') else ''}: {a.get('answer', '')}",
            f"  - B{' (refused)' if b.get('refused') else ''}: {b.get('answer', '')}",
        ]
    only = sorted({r["id"] for r in rows_a} ^ {r["id"] for r in rows_b})
    if only:
        lines += ["", f"Questions in only one run: {', '.join(only)}"]
    return "\n".join(lines)


def run_compare_cli(dir_a: Path, dir_b: Path) -> int:
    print(render_comparison(dir_a, dir_b))
    return 0
