"""The benchmark result as markdown: machine first, then indexing, search and answer tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _ms(v: Any) -> str:
    return "–" if v is None else f"{v:.1f}"


def render_markdown(r: Mapping[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# Benchmarks" + (" (quick)" if r.get("quick") else ""),
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}; Python {m['python']}; {m['platform']}.",
        f"Started {r.get('started', '?')}. Embedder {r.get('embedder', '?')}: "
        f"{r['embedding']['sentences_per_s']:.1f} sentences/s.",
        "",
        "## Indexing the article",
        "",
        "| run | seconds | documents | chunks | docs/s | chunks/s |",
        "|---|---|---|---|---|---|",
    ]
    for run, x in r["indexing"].items():
        lines.append(
            f"| {run} | {x['seconds']:.2f} | {x['documents']} | {x['chunks']} | "
            f"{x['docs_per_s']:.2f} | {x['chunks_per_s']:.1f} |"
        )
    lines += [
        "",
        "## Search, in process (ms)",
        "",
        "| corpus | chunks | ours p50 | ours p95 | llama-index p50 | llama-index p95 | "
        "ratio p50 | ratio p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, x in r["search"].items():
        a, b = x["ours_ms"], x["llama_index_ms"]
        lines.append(
            f"| {name} | {x['chunks']} | {_ms(a['p50'])} | {_ms(a['p95'])} | {_ms(b['p50'])} | "
            f"{_ms(b['p95'])} | {x['ratio_p50']:.2f} | {x['ratio_p95']:.2f} |"
        )
    derived = [x for x in r["search"].values() if x.get("vectors") == "derived"]
    lines += [
        "",
        "Ratio = ours / llama-index (hybrid dense + lexical vs dense only, same Chroma collection "
        "and embedder, same queries: the dev questions, top_k as configured).",
    ]
    for store in ("embedded", "server"):
        sized = sorted((x for x in derived if x.get("store", "embedded") == store),
                       key=lambda x: x["chunks"])  # fmt: skip
        if len(sized) > 1:
            a, b = sized[0], sized[-1]
            lines.append(
                f"Growth ({store} store), {a['chunks']} to {b['chunks']} chunks "
                f"({b['chunks'] / a['chunks']:.0f}x): ours p50 {_ms(a['ours_ms']['p50'])} to "
                f"{_ms(b['ours_ms']['p50'])} ms, llama-index {_ms(a['llama_index_ms']['p50'])} to "
                f"{_ms(b['llama_index_ms']['p50'])} ms; indexing {a['index_seconds']:.0f} to "
                f"{b['index_seconds']:.0f} s."
            )
    if derived:
        lines.append(
            "The synthetic corpora are the article's sentences shuffled and recombined (fixed "
            "seed); their vectors are derived (mean of cached real sentence vectors, "
            f"{max(x['real_embeddings'] for x in derived)} real embeddings in all) so that "
            "indexing them stays short on this machine; queries use the real model."
        )
    a = r.get("answers")
    if a:
        lines += [
            "",
            f"## Answers ({a['total_ms']['n']} dev questions, ask_stream, {a['llm']})",
            "",
            "| measure | p50 ms | p95 ms |",
            "|---|---|---|",
            f"| time to first token | {_ms(a['first_token_ms']['p50'])} | "
            f"{_ms(a['first_token_ms']['p95'])} |",
            f"| total | {_ms(a['total_ms']['p50'])} | {_ms(a['total_ms']['p95'])} |",
        ]
        q = a.get("quality")
        if q:
            cells = ", ".join(
                f"{k.replace('_', ' ')} {v:.3f}" for k, v in q.items() if k != "n" and v is not None
            )
            lines.append(f"\nThe same {q['n']} answers, scored as `rag eval` scores them: {cells}.")
        w, ps = r.get("warm_up"), a.get("prompt_states")
        if w and w["passages"]:
            lines.append(
                f"\nAfter a warm-up of {w['seconds']:.1f} s ({w['passages']} passage prompt "
                "states computed, as `rag serve` does when it starts; RAG_LLM_WARM)."
            )
        if ps:
            lines.append(
                f"\nPrompt states: {ps['hits']} questions started from a kept state, "
                f"{ps['misses']} read their first passage (a new one); the others went "
                f"without the model, or held their first passage from the question before. "
                f"{ps['kept']} kept ({ps['mb']:.0f} MB)."
            )
    what = "the answers (article index, embedder, LLM" if a else "the article (index, embedder"
    lines += [
        "",
        f"Peak RSS of the benchmark process: {r['peak_rss_mb_service']:.0f} MB after {what}: "
        f"the service's footprint); {r['peak_rss_mb_total']:.0f} MB at the end (with the "
        "synthetic corpora loaded).",
    ]
    return "\n".join(lines)
