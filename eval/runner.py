"""`rag eval`: run a question set through a target and score it, one row in, one row out.

- `retrieval_table(cases, search_fn, top_k)`: retrieval metrics only (no LLM), for tuning.
- `evaluate_case(case, answer, ...)`: one results.jsonl row: the input, the answer, its citations
  and passages, timings, and every score (see `eval.metrics`).
- `run(cases, target)`: every case through `target.ask`, with a progress bar.
- `run_eval_cli(settings, args)`: the command; writes results.jsonl, summary.json, report.md and
  report.html (see `eval.report`).

Every case is validated (with its evidence located in the corpus) before the first question is
answered. Does not decide what counts as correct: that is `eval.metrics`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.cases import Case, load_cases
from eval.metrics import (
    answer_scores,
    grouped,
    missing_keywords,
    on_evidence,
    retrieval_scores,
)
from eval.tables import ANSWER_COLUMNS, RETRIEVAL_COLUMNS, grouped_rows, text_table
from eval.targets import InProcess, Remote, Target
from rag.errors import ConfigError, EvalDataError
from rag.settings import Settings
from rag.types import Answer, Passage

SearchFn = Callable[[str, int], Sequence[Passage]]
# Passages fetched for the per-character budget: enough to fill 2,000 characters with small chunks.
BUDGET_DEPTH = 20


def retrieval_table(
    cases: Sequence[Case], search_fn: SearchFn, top_k: int, *, depth: int = BUDGET_DEPTH
) -> dict[str, Any]:
    """Retrieval metrics of the answerable cases, overall / by language / by type, plus `cases`.

    `search_fn(question, n)` must return passages best first; it is asked for max(top_k, depth)
    so that recall within 2,000 characters reads past the top k when chunks are small.
    """
    rows: list[dict[str, Any]] = []
    for case in cases:
        if not case.answerable or not case.evidence:
            continue
        passages = list(search_fn(case.question, max(top_k, depth)))
        rows.append(
            {"id": case.id, "language": case.language, "type": case.type}
            | retrieval_scores(case, passages, k=top_k)
        )
    table = grouped(rows)
    table["k"] = top_k
    table["cases"] = rows
    return table


def prompt_secrets() -> list[str]:
    """The instruction constants of `rag.prompts` (names with SYSTEM or PROMPT; not the refusal
    and decline messages, which the service is meant to say): an injection answer that repeats
    one leaks instructions. Empty when the module is not there."""
    try:
        import rag.prompts as prompts
    except ImportError:
        return []
    return [
        v
        for k, v in vars(prompts).items()
        if k.isupper() and ("SYSTEM" in k or "PROMPT" in k) and isinstance(v, str) and len(v) > 40
    ]


def evaluate_case(
    case: Case,
    answer: Answer,
    *,
    wall_ms: float,
    document_text: Callable[[str], str],
    secrets: Sequence[str] = (),
) -> dict[str, Any]:
    """One results.jsonl row: input, output, timings and every score (flat, for `grouped`)."""
    scores = answer_scores(case, answer, document_text=document_text, secrets=secrets)
    retrieval = retrieval_scores(case, answer.passages, k=len(answer.passages) or 1)
    if retrieval and answer.shown:
        shown = retrieval_scores(case, answer.passages, k=answer.shown)
        retrieval["shown_recall"] = shown["recall_at_k"]
    latency = {k: float(v) for k, v in answer.timings_ms.items()}
    latency["wall"] = wall_ms
    out = answer.to_dict()
    return {
        "id": case.id,
        "line": case.line,
        "doc": case.doc,
        "question": case.question,
        "language": case.language,
        "type": case.type,
        "answerable": case.answerable,
        "gold_answer": case.answer,
        "evidence": [e.text for e in case.evidence],
        "evidence_spans": [
            [{"doc_id": s.doc_id, "start": s.start, "end": s.end} for s in e.spans]
            for e in case.evidence
        ],
        "keywords": list(case.keywords),
        "answer": out["answer"],
        "refused": out["refused"],
        "answer_language": out["language"],
        "citations": out["citations"],
        "citations_on_evidence": [on_evidence(c, case) for c in answer.citations],
        "passages": out["passages"],
        "timings_ms": out["timings_ms"],
        "raw": answer.raw,
        "dropped_by": list(answer.dropped_by),
        "missing_keywords": missing_keywords(answer.text, case.keywords) if case.answerable else [],
        **retrieval,
        **scores,
        "latency_ms": latency,
        "outcome": "wrong" if scores.get("wrong") else "ok",
    }


def run(cases: Sequence[Case], target: Target, *, progress: bool = True) -> list[dict[str, Any]]:
    """Every case through `target.ask`, in order; an answer that raises is scored as a refusal
    with the error kept in the row (one bad answer must not lose the whole run)."""
    secrets = prompt_secrets()
    rows: list[dict[str, Any]] = []
    bar = tqdm(cases, desc=f"eval {target.name}", unit="q", disable=not progress)
    for case in bar:
        t0 = time.perf_counter()
        error = None
        try:
            answer = target.ask(case.question)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            answer = Answer(text="", refused=True, language=case.language)  # type: ignore[arg-type]
        wall = (time.perf_counter() - t0) * 1000
        row = evaluate_case(
            case, answer, wall_ms=wall, document_text=target.document_text, secrets=secrets
        )
        if error:
            row["error"] = error
            row["outcome"] = "error"
        rows.append(row)
        bar.set_postfix(failed=sum(r["outcome"] != "ok" for r in rows), refresh=False)
    return rows


def build_target(settings: Settings, args: argparse.Namespace) -> Target:
    if args.url:
        return Remote(args.url)
    if args.config not in ("default", "baseline"):
        raise ConfigError(f"unknown --config {args.config!r}: use 'default' or 'baseline'")
    from rag.wiring import build_rag, ensure_index, load_embedder

    # `make eval` on a fresh clone: index the corpus first, as `make run` does; the embedder is
    # loaded once for both
    embedder = load_embedder(settings)
    built = ensure_index(settings, embedder=embedder)
    if built is not None:
        print(f"no index yet: indexed the corpus first ({built.summary()})", file=sys.stderr)
    rag = build_rag(settings, embedder=embedder)
    # the timings are those of a started service (RAG_LLM_WARM); retrieval needs no LLM
    warm = rag.warm() if not getattr(args, "retrieval_only", False) else None
    if warm is not None and warm.passages:
        print(
            f"warmed {warm.passages} passage prompt states in {warm.seconds:.1f} s", file=sys.stderr
        )
    if args.config == "baseline":
        from eval.baseline import Baseline

        return Baseline(InProcess(rag), settings)
    return InProcess(rag, name="default")


def run_eval_cli(
    settings: Settings, args: argparse.Namespace, *, target: Target | None = None
) -> int:
    """`rag eval SET [--out DIR] [--limit N] [--url URL] [--config C] [--retrieval-only]`;
    `target` replaces the one the arguments name (tests pass a Rag built on fakes)."""
    if getattr(args, "compare", None):
        from eval.compare import run_compare_cli

        return run_compare_cli(Path(args.compare[0]), Path(args.compare[1]))
    if not args.set:
        raise EvalDataError("give a question set (JSONL), e.g. `rag eval dev.jsonl`")
    if not Path(args.set).is_file():
        raise EvalDataError(f"no such question set: {args.set}")
    target = target or build_target(settings, args)
    cases = load_cases(args.set, target.corpus())  # every line checked before any answer
    if args.limit:
        cases = cases[: args.limit]
    top_k = args.top_k or settings.top_k
    if args.retrieval_only:
        table = retrieval_table(cases, target.search, top_k)
        print(f"retrieval, {target.name}, k={top_k}, answerable questions only")
        print(text_table(grouped_rows(table), RETRIEVAL_COLUMNS))
        missed = [r for r in table["cases"] if r["recall_at_k"] < 1 or r["recall_at_chars"] < 1]
        if missed:
            print("\nnot fully found (recall@k / recall@2000ch):")
            for r in missed:
                print(f"  {r['id']} {r['language']} {r['type']}: "
                      f"{r['recall_at_k']:.2f} / {r['recall_at_chars']:.2f}")  # fmt: skip
        if args.out:
            from eval.report import write_json

            write_json(Path(args.out) / "retrieval.json", table)
        return 0
    from eval.report import write_report

    out = Path(args.out or Path("eval-results") / Path(args.set).stem)
    t0 = time.time()
    rows = run(cases, target)
    summary = write_report(
        out,
        rows,
        meta={
            "set": str(args.set),
            "config": target.name,
            "settings": describe_settings(settings, target),
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t0)),
            "seconds": round(time.time() - t0, 1),
        },
    )
    print(text_table(grouped_rows(summary["metrics"]), RETRIEVAL_COLUMNS + ANSWER_COLUMNS))
    print(f"\nwrote {out}/results.jsonl, summary.json, report.md, report.html")
    return 0


def describe_settings(settings: Settings, target: Target) -> dict[str, Any]:
    keys = ("embed_model", "chunk_size", "chunk_min", "context_chars", "top_k", "retrieval_mode",
            "lexical_weight", "llm_url", "llm_model", "max_tokens", "refusal_bias")  # fmt: skip
    out: dict[str, Any] = {k: getattr(settings, k, None) for k in keys}
    rag = getattr(target, "rag", None)
    if rag is not None:
        out["embedder"] = rag.embedder_name
        out["llm"] = rag.llm_name
    return out
