"""`rag bench [--out DIR] [--quick] [--sizes N,...]`: indexing, search and answer benchmarks ->
JSON + markdown.

Phases, in one process, each on its own index in a temporary folder (the service's index is never
touched): the embedding rate; indexing the article cold and warm (nothing changed); search p50/p95
on the article, then on synthetic corpora of `--sizes` chunks (default ~10,000; see
`eval.bench_corpus`: their vectors are derived from cached sentence vectors, said so in the
report), each measured in the same run through our retriever and through a plain llama-index
`VectorStoreIndex` retriever on the same Chroma collection and embedder; answers over the dev
questions (time to first token and total, through `ask_stream`); peak RSS after the answers (the
service's footprint: article index, embedder, LLM) and at the end. The machine is printed with
the figures.

Times are measured, never asserted. `--quick` is a smoke run: small corpora, few questions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eval.bench_corpus import DerivedEmbedder, article_sentences, synthetic_corpus
from eval.bench_report import render_markdown
from eval.metrics import percentile
from eval.served import ChromaServer
from rag.errors import EvalDataError, InvalidInputError
from rag.settings import PROJECT_ROOT, Settings
from rag.types import LLM, DoneEvent, TokenEvent

DEV_SETS = (PROJECT_ROOT / "data" / "eval" / "dev.jsonl",)
# Synthetic corpus sizes, in chunks. ~100,000 is opt-in (`--sizes 1000,10000,100000`): about
# 4 minutes to write into each store here.
DEFAULT_SIZES = (10_000,)
QUICK_SIZES = (2_000,)
STORES = ("embedded", "server")
FALLBACK_QUESTIONS = ("Где прошёл саммит?", "Who is Papava?", "Что Япония предлагает региону?")


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform()}  # fmt: skip


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def dev_questions() -> list[str]:
    for path in DEV_SETS:
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            return [json.loads(line)["question"] for line in lines if line.strip()]
    return list(FALLBACK_QUESTIONS)


def stats(ms: Sequence[float]) -> dict[str, float | int | None]:
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95)}


def _time_each(fn: Callable[[str], object], queries: Sequence[str]) -> list[float]:
    for q in queries[:3]:  # warm caches and lazy loads; not counted
        fn(q)
    out = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def sub_settings(
    settings: Settings, root: Path, name: str, corpus: Path, chroma_url: str | None = None
) -> Settings:
    return settings.model_copy(
        update={
            "corpus_dir": corpus,
            "data_dir": root / name,
            "chroma_url": chroma_url,
            "collection": f"bench-{name}" if chroma_url else "bench",
        }
    )


def bench_search(s: Settings, embedder: Any, queries: Sequence[str], top_k: int) -> dict[str, Any]:
    """Our retriever vs a plain llama-index retriever on the same collection and embedder."""
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embed import as_llama_embedding
    from rag.wiring import build_rag

    rag = build_rag(s, embedder=embedder)
    ours = _time_each(lambda q: rag.search(q, top_k=top_k), queries)
    store = ChromaVectorStore(chroma_collection=rag.store.chunks_collection)
    retriever = VectorStoreIndex.from_vector_store(
        store, embed_model=as_llama_embedding(embedder)
    ).as_retriever(similarity_top_k=top_k)
    theirs = _time_each(retriever.retrieve, queries)
    a, b = stats(ours), stats(theirs)
    return {
        "chunks": rag.stats()["chunks"],
        "documents": rag.stats()["documents"],
        "ours_ms": a,
        "llama_index_ms": b,
        "ratio_p50": (a["p50"] or 0) / (b["p50"] or 1),
        "ratio_p95": (a["p95"] or 0) / (b["p95"] or 1),
    }


def bench_answers(rag: Any, questions: Sequence[str]) -> dict[str, Any]:
    """Time to first token and total through `ask_stream`; with the dev set's cases at hand, the
    same answers scored as `rag eval` scores them, so no speed gain hides a quality loss."""
    ttft, total, answers = [], [], []
    for q in questions:
        t0 = time.perf_counter()
        first = None
        for event in rag.ask_stream(q):
            if isinstance(event, TokenEvent) and first is None:
                first = time.perf_counter()
            elif isinstance(event, DoneEvent):
                answers.append((q, event.answer, (time.perf_counter() - t0) * 1000))
                break
        t1 = time.perf_counter()
        ttft.append(((first or t1) - t0) * 1000)
        total.append((t1 - t0) * 1000)
    out = {"first_token_ms": stats(ttft), "total_ms": stats(total), "llm": rag.llm_name}
    quality = _quality(rag, answers)
    if quality:
        out["quality"] = quality
    return out


QUALITY = ("keyword_acc", "over_refusal", "correct_refusal", "citation_precision",
           "cites_evidence")  # fmt: skip


def _quality(rag: Any, answers: Sequence[tuple[str, Any, float]]) -> dict[str, Any]:
    """The dev metrics of these answers (empty when the dev set is not there)."""
    from eval.cases import load_cases
    from eval.metrics import grouped
    from eval.runner import evaluate_case, prompt_secrets
    from eval.targets import InProcess

    path = next((p for p in DEV_SETS if p.is_file()), None)
    if path is None:
        return {}
    target = InProcess(rag)
    try:
        by_question = {c.question: c for c in load_cases(path, target.corpus())}
    except EvalDataError:  # another corpus than the article: its evidence is not there
        return {}
    rows = [
        evaluate_case(
            by_question[q],
            a,
            wall_ms=ms,
            document_text=target.document_text,
            secrets=prompt_secrets(),
        )
        for q, a, ms in answers
        if q in by_question
    ]
    overall = grouped(rows)["overall"] if rows else {}
    return {k: overall.get(k) for k in QUALITY} | {"n": len(rows)}


def run_bench(
    settings: Settings,
    *,
    quick: bool = False,
    embedder: Any = None,
    llm: LLM | None = None,
    sizes: Sequence[int] | None = None,
    n_answers: int | None = None,
    stores: Sequence[str] = STORES,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """All phases; returns the JSON-ready result. `embedder`/`llm` replace the configured ones;
    `sizes` the synthetic corpus sizes, each searched in every one of `stores` ("embedded",
    "server": a `chroma run` started here); `n_answers` the dev questions answered (0: skip)."""
    from index.build import build_index
    from index.embed import load_embedder
    from rag.wiring import build_rag

    result: dict[str, Any] = {"machine": machine(), "quick": quick,
                              "started": time.strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
    emb = embedder or load_embedder(settings)
    result["embedder"] = emb.name
    article_dir = settings.corpus_dir
    article = "\n".join(p.read_text(encoding="utf-8") for p in sorted(article_dir.glob("*.txt")))
    sample = article_sentences(article)[:64]
    t0 = time.perf_counter()
    emb.embed_passages(sample)
    rate = len(sample) / (time.perf_counter() - t0)
    result["embedding"] = {"sentences_per_s": rate, "sample": len(sample)}
    log(f"embedding: {rate:.1f} sentences/s")
    questions = dev_questions()
    queries = questions[:10] if quick else questions
    top_k = settings.top_k
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        root = Path(tmp)
        s = sub_settings(settings, root, "article", article_dir)
        cold = build_index(s, embedder=emb)
        warm = build_index(s, embedder=emb)
        result["indexing"] = {
            run: {
                "seconds": r.seconds,
                "documents": r.documents,
                "chunks": r.chunks,
                "docs_per_s": r.documents / r.seconds,
                "chunks_per_s": r.chunks / r.seconds,
                "added": r.added,
                "changed": r.changed,
            }
            for run, r in (("cold", cold), ("warm", warm))
        }
        log(
            f"indexing: cold {cold.seconds:.2f} s, warm {warm.seconds:.2f} s ({cold.chunks} chunks)"
        )
        result["search"] = {"article": bench_search(s, emb, queries, top_k)}
        log(f"search article: {result['search']['article']['ours_ms']}")
        n = (3 if quick else len(questions)) if n_answers is None else n_answers
        if n:
            if llm is None:
                from rag.llm import load_llm

                llm = load_llm(settings)  # the service's own settings: its model file, not a copy
            rag = build_rag(s, embedder=emb, llm=llm)
            w = rag.warm()  # as `rag serve` does before its first questions (RAG_LLM_WARM)
            result["warm_up"] = {"passages": w.passages, "seconds": w.seconds}
            log(f"warm-up: {w.passages} passage prompt states in {w.seconds:.1f} s")
            states = getattr(llm, "states", None)
            before = (states.hits, states.misses) if states is not None else (0, 0)
            result["answers"] = bench_answers(rag, questions[:n])
            if states is not None:  # the questions' own lookups, not the warm-up's
                result["answers"]["prompt_states"] = {
                    "kept": len(states),
                    "mb": states.nbytes / 2**20,
                    "hits": states.hits - before[0],
                    "misses": states.misses - before[1],
                }
            log(f"answers: {result['answers']}")
        result["peak_rss_mb_service"] = peak_rss_mb()  # before the synthetic corpora
        derived = DerivedEmbedder(emb)
        if sizes is None:
            sizes = QUICK_SIZES if quick else DEFAULT_SIZES
        server: ChromaServer | None = None  # one for every size, started when first needed
        with contextlib.ExitStack() as stack:
            for target in sizes:
                corpus = root / f"corpus-{target}"
                docs, _ = synthetic_corpus(
                    article, target, corpus, chunk_size=s.chunk_size, chunk_min=s.chunk_min
                )
                for store in stores:
                    url = None
                    if store == "server":
                        if server is None:
                            server = stack.enter_context(ChromaServer(root / "chroma-server"))
                        url = server.url
                    sz = sub_settings(settings, root, f"size-{target}-{store}", corpus, url)
                    loaded = bulk_index(sz, derived)
                    log(f"indexed {loaded['chunks']} chunks ({store}) in {loaded['seconds']:.0f} s")
                    entry = bench_search(sz, emb, queries, top_k)
                    entry |= {
                        "store": store,
                        "index_seconds": loaded["seconds"],
                        "vectors": "derived",
                        "real_embeddings": derived.real_calls,
                    }
                    name = f"{loaded['chunks']} chunks" + (", Chroma server" if url else "")
                    result["search"][name] = entry
                    log(f"search {name} ({docs} docs): {entry['ours_ms']}")
    result["peak_rss_mb_total"] = peak_rss_mb()
    return result


def bulk_index(settings: Settings, embedder: Any, *, batch: int = 4096) -> dict[str, Any]:
    """Index a synthetic corpus in large batches: every document chunked, its chunks' vectors
    made (`DerivedEmbedder`: generated, not embedded) and written `batch` at a time, then every
    document committed, one generation bump. The service's `build_index` goes a document at a
    time, with look-ups per document that a corpus of 100,000 chunks makes slow; here only the
    search over the result is measured, so the one-by-one path is not what counts."""
    from index.build import chunks_for, version
    from index.load import load_corpus
    from index.store import CommitItem, Store

    t0 = time.perf_counter()
    docs = load_corpus(settings.corpus_dir).documents
    store = Store.open(settings, embedding_name=embedder.name, create=True)
    pending: list[tuple[str, Any]] = []
    counts: dict[str, int] = {}

    def flush() -> None:
        if not pending:
            return
        for v in {v for v, _ in pending}:
            part = [c for pv, c in pending if pv == v]
            store.stage_chunks(v, part, embedder.embed_passages([c.text for c in part]))
        pending.clear()

    for doc in docs:
        v = version(settings, doc)
        cut = chunks_for(settings, doc)
        pending.extend((v, c) for c in cut)
        counts[doc.doc_id] = len(cut)
        if len(pending) >= batch:
            flush()
    flush()
    write_s = time.perf_counter() - t0
    store.commit_documents([
        CommitItem(doc.doc_id, doc.text, doc.sha256, version(settings, doc), counts[doc.doc_id],
                   "corpus")
        for doc in docs
    ])  # fmt: skip
    store.bump_generation(embedder.name)
    return {"documents": len(docs), "chunks": sum(counts.values()), "write_seconds": write_s,
            "seconds": time.perf_counter() - t0}  # fmt: skip


def parse_sizes(text: str | None) -> tuple[int, ...] | None:
    """`--sizes 10000,100000` -> (10000, 100000); "0" or "" -> () (no synthetic corpora); None
    -> None (the default)."""
    if text is None:
        return None
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise InvalidInputError(f"--sizes takes chunk counts joined by commas: {text!r}") from exc
    if any(n < 0 for n in sizes):
        raise InvalidInputError(f"--sizes must not be negative: {text!r}")
    return tuple(n for n in sizes if n > 0)


def parse_stores(text: str | None) -> tuple[str, ...]:
    """`--stores embedded,server` -> ("embedded", "server"); None -> both."""
    if text is None:
        return STORES
    stores = tuple(part.strip() for part in text.split(",") if part.strip())
    if not stores or any(x not in STORES for x in stores):
        raise InvalidInputError(
            f"--stores takes {' and/or '.join(STORES)}, joined by commas: {text!r}"
        )
    return stores


def run_bench_cli(settings: Settings, args: argparse.Namespace) -> int:
    """`rag bench`: run, then write bench.json and bench.md into --out and print the markdown."""
    out = Path(args.out or "bench-results")
    result = run_bench(
        settings,
        quick=bool(args.quick),
        sizes=parse_sizes(getattr(args, "sizes", None)),
        stores=parse_stores(getattr(args, "stores", None)),
    )
    out.mkdir(parents=True, exist_ok=True)
    name = "bench-quick" if args.quick else "bench"
    (out / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    md = render_markdown(result)
    (out / f"{name}.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    print(f"\nwrote {out}/{name}.json and {name}.md")
    return 0
