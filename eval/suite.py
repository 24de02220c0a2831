"""`rag eval-all`: every question set against its own corpus, one report with the sets side by side.

A change is judged on the sets it was not written against: dev (the shipped article), the team's
set (the same article, written by the people who wrote the rules), other-docs (two articles nobody
tuned to), and fresh, fresh2, ... (two more documents each, their questions written before the
changes they judge).
Each set's corpus is indexed into a folder of its own under the data folder, once; the embedder
and the LLM are loaded once for all. Each set also gets its usual `rag eval` folder (results.jsonl,
report.md, ...) under the output folder; `summary.json` and `report.md` there hold the comparison.

Does not score anything itself (`eval.metrics`) and decides nothing about answers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.cases import load_cases
from eval.report import write_json, write_report
from eval.tables import SHORT, fmt
from eval.targets import InProcess
from rag.errors import EvalDataError
from rag.settings import DEFAULT_CORPUS_DIR, PROJECT_ROOT, Settings
from rag.types import LLM

if TYPE_CHECKING:
    from index.embed import Embedder

EVAL_DIR = PROJECT_ROOT / "data" / "eval"


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: Path
    corpus: Path  # the folder indexed for it


def _folder_set(name: str) -> QuestionSet:
    """A set kept as a folder: questions.jsonl beside the corpus/ it asks about."""
    return QuestionSet(name, EVAL_DIR / name / "questions.jsonl", EVAL_DIR / name / "corpus")


SETS = (
    QuestionSet("dev", EVAL_DIR / "dev.jsonl", DEFAULT_CORPUS_DIR),
    QuestionSet("team", EVAL_DIR / "team.jsonl", DEFAULT_CORPUS_DIR),
    _folder_set("other-docs"),
    _folder_set("fresh"),
    _folder_set("fresh2"),
    _folder_set("fresh3"),
    _folder_set("fresh4"),
)

# the columns of the side-by-side table, in the order
COLUMNS = (
    "keyword_acc", "over_refusal", "correct_refusal", "citation_precision", "cites_evidence",
    "broken_spans", "shown_recall", "recall_at_k", "language_ok",
)  # fmt: skip


def pick(names: str | None) -> list[QuestionSet]:
    """The sets named (comma-separated), all of them for None."""
    if not names:
        return list(SETS)
    known = {s.name: s for s in SETS}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise EvalDataError(f"unknown question set(s) {unknown}: use some of {sorted(known)}")
    return [known[n] for n in wanted]


def settings_for(base: Settings, qs: QuestionSet) -> Settings:
    """`base` pointed at the set's corpus; a corpus other than the configured one is indexed
    into a folder of its own, so no set's index replaces another's."""
    if qs.corpus.resolve() == Path(base.corpus_dir).resolve():
        return base
    return base.model_copy(
        update={"corpus_dir": qs.corpus, "data_dir": Path(base.data_dir) / "eval" / qs.name}
    )


def side_by_side(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One markdown table: a row per set (pooled) and per document of a set that names them."""
    head = ["set", "n", *(SHORT.get(c, c) for c in COLUMNS), "answer p50 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, res in results.items():
        m = res["metrics"]
        groups = [(name, m["overall"])]
        groups += [(f"{name} · {d}", g) for d, g in m.get("doc", {}).items() if len(m["doc"]) > 1]
        for label, g in groups:
            p50 = (g.get("latency_ms") or {}).get("total", {}).get("p50")
            cells = [label, fmt(g.get("n")), *(fmt(g.get(c)) for c in COLUMNS), fmt(p50)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def dropped_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One markdown table: per set, how many answer sentences each citation check dropped."""
    checks = sorted({c for res in results.values() for c in res.get("dropped_by", {})})
    lines = ["| set | " + " | ".join(checks) + " |", "|---|" + "---|" * len(checks)]
    for name, res in results.items():
        counts = res.get("dropped_by", {})
        lines.append(f"| {name} | " + " | ".join(str(counts.get(c, 0)) for c in checks) + " |")
    return "\n".join(lines)


def shown_rows(cases: Sequence[Any], rag: Any, settings: Settings) -> list[dict[str, Any]]:
    """Per answerable case: evidence within the passages the model would be shown (the first
    `llm_passages`, before their cut to `passage_chars`) and within the `top_k` retrieved."""
    from eval.metrics import retrieval_scores
    from rag.pipeline import to_show

    rows = []
    for case in cases:
        if not case.answerable or not case.evidence:
            continue
        passages = rag.search(case.question, top_k=settings.top_k).passages
        read = to_show(passages, settings)
        shown = retrieval_scores(case, read, k=len(read))["recall_at_k"]
        at_k = retrieval_scores(case, passages, k=settings.top_k)["recall_at_k"]
        rows.append({"id": case.id, "doc": case.doc, "language": case.language,
                     "type": case.type, "shown_recall": shown, "recall_at_k": at_k})  # fmt: skip
    return rows


def _retrieval_report(out: Path, retrieval: Mapping[str, list[dict[str, Any]]]) -> int:
    """`--retrieval-only`: evidence shown and recall@k per set, language and type, no LLM."""
    lines = ["| set | group | n | shown | recall@k |", "|---|---|---|---|---|"]
    for name, rows in retrieval.items():
        groups: dict[str, list[dict[str, Any]]] = {"all": rows}
        for key in ("language", "type"):
            for r in rows:
                groups.setdefault(f"{key}={r[key]}", []).append(r)
        for label, rs in groups.items():
            shown = sum(r["shown_recall"] for r in rs) / len(rs)
            at_k = sum(r["recall_at_k"] for r in rs) / len(rs)
            lines.append(f"| {name} | {label} | {len(rs)} | {shown:.3f} | {at_k:.3f} |")
    write_json(out / "retrieval.json", retrieval)
    (out / "retrieval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


def run_suite_cli(
    settings: Settings,
    args: argparse.Namespace,
    *,
    sets: Sequence[QuestionSet] | None = None,
    embedder: Embedder | None = None,
    llm: LLM | None = None,
) -> int:
    """`rag eval-all [--sets a,b] [--out DIR] [--limit N] [--replies FILE]`; `sets`,
    `embedder` and `llm` replace what the arguments and settings name (tests pass fakes)."""
    from eval.runner import describe_settings, run
    from index.build import build_index
    from rag.wiring import build_rag, load_embedder

    sets = sets or pick(args.sets)
    out = Path(args.out or "eval-results/all")
    embedder = embedder or load_embedder(settings)
    if getattr(args, "replies", None):
        from eval.replay import ReplayLLM
        from rag.llm import describe_llm, load_llm

        inner = llm
        # the refusal bias changes what the local model writes for the same prompt
        name = f"{describe_llm(settings)}, refusal bias {settings.refusal_bias}"
        llm = ReplayLLM(Path(args.replies), lambda: inner or load_llm(settings), name=name)
    results: dict[str, dict[str, Any]] = {}
    retrieval: dict[str, list[dict[str, Any]]] = {}
    for qs in sets:
        s = settings_for(settings, qs)
        # incremental, not only when missing: a set is judged on today's cutting of its corpus
        built = build_index(s, embedder=embedder)
        if built.added or built.changed or built.removed:
            print(f"{qs.name}: indexed {qs.corpus} ({built.summary()})", file=sys.stderr)
        rag = build_rag(s, embedder=embedder, llm=llm)
        target = InProcess(rag, name=qs.name)
        cases = load_cases(qs.questions, target.corpus())
        if args.limit:
            cases = cases[: args.limit]
        if getattr(args, "retrieval_only", False):
            retrieval[qs.name] = shown_rows(cases, rag, s)
            continue
        rag.warm()
        llm = rag.llm
        t0 = time.time()
        rows = run(cases, target)
        summary = write_report(
            out / qs.name,
            rows,
            meta={
                "set": str(qs.questions),
                "config": qs.name,
                "settings": describe_settings(s, target),
                "seconds": round(time.time() - t0, 1),
            },
        )
        dropped = Counter(reason for r in rows for reason in r.get("dropped_by", ()))
        results[qs.name] = {"metrics": summary["metrics"], "dropped_by": dict(dropped)}
        print(
            f"{qs.name}: {len(rows)} questions, {len(summary['failures'])} failed", file=sys.stderr
        )
    if retrieval:
        return _retrieval_report(out, retrieval)
    write_json(out / "summary.json", results)
    report = "\n\n".join(
        [
            "# Every question set, side by side",
            "Pooled over each set; a set about several documents also has a row per document.",
            side_by_side(results),
            "Answer sentences the citation check dropped, by the check that dropped them "
            "(`rag.cite`; `unsupported`: no passage holds enough of it):",
            dropped_table(results),
        ]
    )
    (out / "report.md").write_text(report + "\n", encoding="utf-8")
    print(report)
    return 0
