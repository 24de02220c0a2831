"""`rag index|search|ask|serve|eval|eval-all|bench`: the command line; parses and delegates.

Each subcommand hands its parsed arguments to one function in the layer that owns the work; this
module only turns `RagError`s into a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings, get_settings


def _settings(args: argparse.Namespace) -> Settings:
    base = get_settings()
    updates: dict[str, object] = {}
    if getattr(args, "corpus", None):
        updates["corpus_dir"] = Path(args.corpus)
    return base.model_copy(update=updates) if updates else base


def cmd_index(args: argparse.Namespace) -> int:
    from index.build import run_index_cli

    return run_index_cli(_settings(args), progress=not args.quiet, repair=args.repair)


def cmd_search(args: argparse.Namespace) -> int:
    from rag.wiring import build_rag

    rag = build_rag(_settings(args))
    result = rag.search(args.query, top_k=args.top_k)
    if args.json:
        print(json.dumps({"passages": [p.to_dict() for p in result.passages]}, ensure_ascii=False))
        return 0
    for i, p in enumerate(result.passages, 1):
        print(f"[{i}] {p.doc_id} {p.start}-{p.end} score={p.score:.4f}")
        print(f"    {p.text}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.wiring import build_rag

    rag = build_rag(_settings(args))
    answer = rag.ask(args.question, top_k=args.top_k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
        return 0
    print(answer.text)
    if answer.citations:
        print()
        for c in answer.citations:
            print(f"[{c.n}] {c.doc_id} {c.start}-{c.end}: «{c.quote}»")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from api.app import serve

    settings = _settings(args)
    return serve(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
    )


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.runner import run_eval_cli

    return run_eval_cli(_settings(args), args)


def cmd_eval_all(args: argparse.Namespace) -> int:
    from eval.suite import run_suite_cli

    return run_suite_cli(_settings(args), args)


def cmd_bench(args: argparse.Namespace) -> int:
    from eval.bench import run_bench_cli

    return run_bench_cli(_settings(args), args)


def cmd_reliability(args: argparse.Namespace) -> int:
    from eval.reliability import run_reliability

    return 0 if run_reliability(_settings(args), args)["ok"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index the corpus (incremental, idempotent)")
    p.add_argument(
        "--corpus", help="corpus folder (default: RAG_CORPUS_DIR or the shipped article)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--repair",
        action="store_true",
        help="cut and embed every stored document again from its stored text (a vector index "
        "that fails to load)",
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="retrieve passages for a query")
    p.add_argument("query")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API and the chat page")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="evaluate a question set (JSONL)")
    p.add_argument("set", nargs="?", help="question set, JSONL")
    p.add_argument("--out", default=None, help="output folder")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--url", default=None, help="evaluate a running server instead of in process")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only, no LLM")
    p.add_argument("--config", default="default", help="'default' or 'baseline'")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"), default=None)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("eval-all", help="evaluate every question set, side by side")
    p.add_argument("--sets", default=None, help="comma-separated set names (default: all)")
    p.add_argument("--retrieval-only", action="store_true", help="evidence shown, no LLM")
    p.add_argument("--out", default=None, help="output folder (default eval-results/all)")
    p.add_argument("--limit", type=int, default=None, help="first N questions of each set")
    p.add_argument(
        "--replies", default=None, help="JSONL of model replies by prompt, read and extended"
    )
    p.set_defaults(func=cmd_eval_all)

    p = sub.add_parser("bench", help="benchmarks: indexing, search latency, answers")
    p.add_argument("--out", default="bench-results")
    p.add_argument("--quick", action="store_true", help="smaller corpora and fewer questions")
    p.add_argument(
        "--sizes",
        default=None,
        help="synthetic corpus sizes in chunks, joined by commas (default 10000; 0: none)",
    )
    p.add_argument(
        "--stores",
        default="embedded,server",
        help="where each synthetic corpus is searched: 'embedded', 'server' (a Chroma server "
        "started for the run), or both joined by a comma",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("reliability", help="load, faults, hostile input and auth -> JSON report")
    p.add_argument("--out", default="reliability-results")
    p.add_argument("--quick", action="store_true", help="the short version the tests run")
    p.add_argument(
        "--parts", default=None, help="startup,load,auth,schema,faults,hostile (default: all)"
    )
    p.add_argument("--clients", type=int, default=32, help="load: concurrent clients")
    p.add_argument("--seconds", type=float, default=60, help="load: how long")
    p.set_defaults(func=cmd_reliability)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
