"""report.html: one self-contained page (inline CSS and SVG, no JavaScript, nothing fetched).

Shows the summary tables, bar charts of scores by question type and by language, a latency
histogram, every failure side by side (question, gold answer and evidence | answer and cited quotes,
each marked on or off the evidence), and all questions in one table. Draws; does not score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from eval.tables import ANSWER_COLUMNS, RETRIEVAL_COLUMNS, SHORT, fmt, grouped_rows

COLORS = ("#2f6fb0", "#e08a2c", "#3a9a5b", "#b8453a", "#7a5bb0")

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1150px;color:#222;
padding:0 12px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:16px}.fail{display:grid;grid-template-columns:1fr 1fr;
gap:12px;border:1px solid #ccc;border-radius:6px;padding:10px;margin:12px 0}
.fail h3{grid-column:1/3;margin:0;font-size:15px}.side{background:#fafafa;padding:8px;
border-radius:4px}.label{font-size:12px;color:#666;text-transform:uppercase}
.meta{font-size:12px}.q{font-weight:600}
.on{border-left:4px solid #3a9a5b;padding-left:6px;margin:4px 0}
.off{border-left:4px solid #b8453a;padding-left:6px;margin:4px 0}.ev{border-left:4px solid #2f6fb0;
padding-left:6px;margin:4px 0}.refused{color:#8a5a00}.miss{color:#b8453a}.ok{color:#3a9a5b}
details{margin-top:6px;font-size:12px}.meta{color:#555}
"""


def _svg_open(w: int, h: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">'
            f'<text x="36" y="16" font-size="14" font-weight="600">'
            f"{escape(title)}</text>")  # fmt: skip


def _bar_chart(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> str:
    """Grouped vertical bars on a 0..1 scale; a missing value draws no bar."""
    left, bottom, top = 36, 30, 28
    h = 230 + 16 * len(series)  # the legend is one line per series, under the plot
    w = max(360, left + 10 + len(categories) * (len(series) * 22 + 18))
    plot_w, plot_h = w - left - 10, 230 - bottom - top
    group_w = plot_w / max(1, len(categories))
    bar_w = min(28.0, (group_w - 10) / max(1, len(series)))
    parts = [_svg_open(w, h, title)]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(
            f'<line x1="{left}" x2="{w - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
        )
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f"{tick:g}</text>")  # fmt: skip
    for i, cat in enumerate(categories):
        x0 = left + i * group_w + (group_w - bar_w * len(series)) / 2
        for j, (name, values) in enumerate(series):
            v = values[i]
            if v is None:
                continue
            bh = plot_h * max(0.0, min(1.0, v))
            x, y = x0 + j * bar_w, top + plot_h - bh
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{bh:.1f}" '
                         f'fill="{COLORS[j % len(COLORS)]}"><title>{escape(name)} {cat}: {v:.2f}'
                         "</title></rect>")  # fmt: skip
            # the value over the bar, so a zero is visibly a zero and not a missing bar
            parts.append(f'<text x="{x + bar_w / 2 - 1:.1f}" y="{y - 2:.1f}" font-size="8" '
                         f'text-anchor="middle">{v:.2f}</text>')  # fmt: skip
        cx = left + (i + 0.5) * group_w
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14}" font-size="11" '
                     f'text-anchor="middle">{escape(cat)}</text>')  # fmt: skip
    for j, (name, _) in enumerate(series):
        ly = 236 + 16 * j
        parts.append(f'<rect x="{left}" y="{ly}" width="10" height="10" fill="{COLORS[j % 5]}"/>'
                     f'<text x="{left + 14}" y="{ly + 9}" font-size="11">'
                     f"{escape(name)}</text>")  # fmt: skip
    return "".join(parts) + "</svg>"


def _histogram(title: str, values_s: Sequence[float], p50: float | None, p95: float | None) -> str:
    """Counts of answer wall times in 12 bins, with p50 and p95 marked."""
    w, h, left, bottom, top = 480, 260, 36, 40, 28
    if not values_s:
        return ""
    lo, hi = 0.0, max(values_s) * 1.05 or 1.0
    bins = [0] * 12
    for v in values_s:
        bins[min(11, int((v - lo) / (hi - lo) * 12))] += 1
    plot_w, plot_h, peak = w - left - 10, h - bottom - top, max(bins)
    parts = [_svg_open(w, h, title)]
    bw = plot_w / 12
    for i, n in enumerate(bins):
        bh = plot_h * n / peak
        x, y = left + i * bw, top + plot_h - bh
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw - 1:.1f}" height="{bh:.1f}" '
                     f'fill="{COLORS[0]}"><title>{n}</title></rect>')  # fmt: skip

    def label(sec: float) -> str:
        return f"{sec:.1f} s" if hi >= 2 else f"{sec * 1000:.0f} ms"

    for i in range(0, 13, 3):
        x = left + i * bw
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" font-size="10" '
                     f'text-anchor="middle">{label(lo + (hi - lo) * i / 12)}</text>')  # fmt: skip
    for k, (name, p, color) in enumerate((("p50", p50, "#3a9a5b"), ("p95", p95, "#b8453a"))):
        if p is not None:
            x = left + plot_w * (p / 1000 - lo) / (hi - lo)
            # the label sits left of a line in the right half, so the plot's edge never cuts it
            tx, anchor = (x - 3, "end") if x > left + plot_w / 2 else (x + 3, "start")
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" '
                         f'stroke="{color}" stroke-width="2"/><text x="{tx:.1f}" '
                         f'y="{top + 10 + 14 * k}" font-size="11" fill="{color}" '
                         f'text-anchor="{anchor}" stroke="white" stroke-width="3" '
                         f'paint-order="stroke">{name} {label(p / 1000)}</text>')  # fmt: skip
    parts.append(f'<text x="{left}" y="{h - 6}" font-size="11">{len(values_s)} answers, '
                 f"max count {peak} per bin</text>")  # fmt: skip
    return "".join(parts) + "</svg>"


def _table(groups: Sequence[tuple[str, Mapping[str, Any]]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{escape(SHORT.get(c, c))}</th>" for c in ["group", "n", *columns])
    body = "".join(
        f"<tr><td>{escape(label)}</td><td>{fmt(m.get('n'))}</td>"
        + "".join(f"<td>{fmt(m.get(c))}</td>" for c in columns)
        + "</tr>"
        for label, m in groups
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _failure(r: Mapping[str, Any]) -> str:
    refused = ' <span class="refused">(refused)</span>' if r.get("refused") else ""
    missing = r.get("missing_keywords") or []
    cited = (
        "".join(
            f'<div class="{"on" if hit else "off"}">[{c["n"]}] {escape(c["quote"])}'
            f' <span class="meta">{escape(c["doc_id"])} {c["start"]}-{c["end"]}'
            f" {'on' if hit else 'off'} evidence</span></div>"
            for c, hit in zip(
                r.get("citations", []), r.get("citations_on_evidence", []), strict=False
            )
        )
        or "<div class='meta'>no citations</div>"
    )
    evidence = "".join(f'<div class="ev">{escape(e)}</div>' for e in r.get("evidence", []))
    passages = "".join(
        f"<li>{escape(p['doc_id'])} {p['start']}-{p['end']}: {escape(p['text'])}</li>"
        for p in r.get("passages", [])
    )
    error = f'<div class="miss">error: {escape(r["error"])}</div>' if r.get("error") else ""
    return f"""<div class="fail" id="{escape(r["id"])}">
<h3>{escape(r["id"])} · {r["language"]} · {r["type"]} · line {r.get("line", "?")}</h3>
<div class="side"><div class="label">question</div><div class="q">{escape(r["question"])}</div>
<div class="label">gold answer</div><div>{escape(r.get("gold_answer") or "(should refuse)")}</div>
<div class="label">keywords</div><div>{escape(", ".join(r.get("keywords", [])) or "–")}</div>
<div class="label">evidence</div>{evidence or "<div class='meta'>none</div>"}</div>
<div class="side"><div class="label">answer{refused}</div><div>{escape(r.get("answer", ""))}</div>
{f'<div class="miss">missing keywords: {escape(", ".join(missing))}</div>' if missing else ""}
{error}<div class="label">cited quotes</div>{cited}
<details><summary>passages shown to the LLM ({len(r.get("passages", []))})</summary>
<ol>{passages}</ol></details></div></div>"""


def render_html(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    meta, metrics = summary["meta"], summary["metrics"]
    groups = grouped_rows(metrics)
    types, langs = metrics.get("type", {}), metrics.get("language", {})
    type_names = list(types)
    by_type = _bar_chart(
        "Score by question type",
        type_names,
        [
            ("correct (kw acc / refusal)", [1 - (types[t].get("wrong") or 0) for t in type_names]),
            ("citation precision", [types[t].get("citation_precision") for t in type_names]),
            ("recall@k", [types[t].get("recall_at_k") for t in type_names]),
        ],
    )
    lang_names = list(langs)
    by_lang = _bar_chart(
        "Score by language",
        lang_names,
        [(SHORT[k], [langs[g].get(k) for g in lang_names])
         for k in ("keyword_acc", "correct_refusal", "citation_precision", "recall_at_k")],
    )  # fmt: skip
    lat = metrics["overall"].get("latency_ms", {}).get("wall", {})
    walls = [r["latency_ms"]["wall"] / 1000 for r in rows if "wall" in r.get("latency_ms", {})]
    hist = _histogram("Answer latency (wall)", walls, lat.get("p50"), lat.get("p95"))
    stages = metrics["overall"].get("latency_ms", {})
    stage_rows = "".join(
        f"<tr><td>{escape(s)}</td><td>{fmt(v['p50'])}</td><td>{fmt(v['p95'])}</td></tr>"
        for s, v in stages.items()
    )
    failures = [r for r in rows if r.get("outcome") != "ok"]
    all_rows = "".join(
        f"<tr><td><a href='#{escape(r['id'])}'>{escape(r['id'])}</a></td><td>{r['language']}</td>"
        f"<td>{r['type']}</td><td class='{'ok' if r.get('outcome') == 'ok' else 'miss'}'>"
        f"{r.get('outcome')}</td><td>{'yes' if r.get('refused') else ''}</td>"
        f"<td>{len(r.get('citations', []))}</td><td>{fmt(r.get('latency_ms', {}).get('wall'))}</td>"
        f"<td style='text-align:left'>{escape(r['question'][:90])}</td></tr>"
        for r in rows
    )
    settings = ", ".join(f"{k}={v}" for k, v in (meta.get("settings") or {}).items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Evaluation {escape(str(meta.get("set", "")))}</title><style>{CSS}</style></head><body>
<h1>Evaluation: {escape(str(meta.get("set", "?")))} — {escape(str(meta.get("config", "?")))}</h1>
<p class="meta">{len(rows)} questions, {len(failures)} failures; started {meta.get("started", "?")},
{meta.get("seconds", "?")} s. {escape(settings)}</p>
<h2>Answers and citations</h2>{_table(groups, ANSWER_COLUMNS)}
<h2>Retrieval <span class="meta">(passages the LLM read; answerable questions)</span></h2>
{_table(groups, RETRIEVAL_COLUMNS)}
<h2>Plots</h2><div class="charts">{by_type}{by_lang}{hist}</div>
<h2>Latency per stage, ms</h2><table><tr><th>stage</th><th>p50</th><th>p95</th></tr>{stage_rows}
</table>
<h2>Failures ({len(failures)})</h2>{"".join(_failure(r) for r in failures) or "<p>None.</p>"}
<h2>All questions</h2><table><tr><th>id</th><th>lang</th><th>type</th><th>outcome</th>
<th>refused</th><th>citations</th><th>wall ms</th><th>question</th></tr>{all_rows}</table>
</body></html>
"""
