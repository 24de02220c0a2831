"""build_index(settings) -> BuildReport: idempotent, incremental, crash-safe.

For each document of the corpus: unchanged (same version as the committed one: same text and
chunking settings) -> left alone; new or changed -> chunk, embed (reusing stored vectors of chunks
that did not change), stage the chunks, bump the generation, commit the document record, delete
the old version's chunks. Documents
gone from the corpus folder are uncommitted, then their chunks deleted. Documents written over HTTP
(source "api") are never removed by a folder build.

Why a kill -9 is safe: search only shows chunks whose doc_hash is the committed version of their
document, and the commit is one upsert made only after every chunk of the new version is stored.
Killed before it, the old version is still what search sees; killed after it, the new one is. Either
way the next build finds a document whose version differs from its committed one (or chunks with no
committed document) and completes or cleans up the work.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from index.chunk import RULES, Chunk, chunk_text
from index.embed import Embedder, load_embedder
from index.load import Document, load_corpus
from index.store import Store, claim_folder, write_lock
from rag.errors import ConfigError, DocumentNotFoundError, InvalidInputError
from rag.settings import Settings


@dataclass(frozen=True)
class BuildReport:
    documents: int
    chunks: int
    added: int
    changed: int
    removed: int
    unchanged: int
    skipped: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"documents {self.documents}, chunks {self.chunks}, added {self.added}, "
            f"changed {self.changed}, removed {self.removed}, {self.seconds:.1f} s"
        )


def _embed_new(
    store: Store, embedder: Embedder, doc_id: str, chunks: list[Chunk], bar: tqdm[Any] | None
) -> np.ndarray:
    known = store.stored_vectors(doc_id)
    todo = [i for i, c in enumerate(chunks) if c.chunk_id not in known]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for i, c in enumerate(chunks):
        if c.chunk_id in known and known[c.chunk_id].shape == (embedder.dim,):
            vectors[i] = known[c.chunk_id]
        elif i not in todo:
            todo.append(i)
    for b in range(0, len(todo), 32):
        idx = todo[b : b + 32]
        vectors[idx] = embedder.embed_passages([chunks[i].text for i in idx])
        if bar is not None:
            bar.update(len(idx))
    if bar is not None:
        bar.update(len(chunks) - len(todo))
    return vectors


def version(settings: Settings, doc: Document) -> str:
    """A document version: its text and every setting that changes how it is cut and indexed.
    Changing `chunk_size` re-chunks every document through the same crash-safe path as an edit
    (unchanged chunks keep their vectors); so does a new version of the cutting rules."""
    recipe = f"{settings.chunk_size}:{settings.chunk_min}:{settings.context_chars}:{RULES}"
    return hashlib.sha256(f"{doc.sha256}\x00{recipe}".encode()).hexdigest()


def chunks_for(settings: Settings, doc: Document) -> list[Chunk]:
    return chunk_text(
        doc.doc_id,
        doc.text,
        size=settings.chunk_size,
        min_size=settings.chunk_min,
        context_chars=settings.context_chars,
    )


def _write(
    store: Store,
    embedder: Embedder,
    settings: Settings,
    doc: Document,
    chunks: list[Chunk],
    source: str,
    bar: tqdm[Any] | None = None,
) -> int:
    """Stage, commit and clean one document version; returns its chunk count."""
    v = version(settings, doc)
    store.stage_chunks(v, chunks, _embed_new(store, embedder, doc.doc_id, chunks, bar))
    store.bump_generation(embedder.name)
    store.commit_document(
        doc.doc_id, doc.text, sha256=doc.sha256, version=v, chunks=len(chunks), source=source
    )
    store.delete_stale_chunks(doc.doc_id, v)
    return len(chunks)


def build_index(
    settings: Settings, *, embedder: Embedder | None = None, progress: bool = False
) -> BuildReport:
    """Bring the index in line with `settings.corpus_dir`; see the module docstring."""
    t0 = time.perf_counter()
    if not settings.corpus_dir.is_dir():
        raise ConfigError(f"corpus folder not found: {settings.corpus_dir}")
    loaded = load_corpus(settings.corpus_dir)
    emb = embedder or load_embedder(settings)
    with write_lock(settings):
        store = Store.open(settings, embedding_name=emb.name, create=True)
        if store.embedder_name() not in (None, emb.name):
            store = store.reset()  # vectors of another model are useless: start over
        committed = {d.doc_id: d for d in store.documents()}
        todo = [d for d in loaded.documents if committed.get(d.doc_id) is None
                or committed[d.doc_id].version != version(settings, d)]  # fmt: skip
        # chunked once: for the bar's total and for the writes
        chunked = [(doc, chunks_for(settings, doc)) for doc in todo]
        bar = tqdm(
            total=sum(len(c) for _, c in chunked),
            unit="chunk",
            desc="indexing",
            disable=not progress,
            file=sys.stderr,
        )
        added = changed = removed = 0
        for doc, chunks in chunked:
            _write(store, emb, settings, doc, chunks, "corpus", bar)
            if doc.doc_id in committed:
                changed += 1
            else:
                added += 1
        bar.close()
        present = {d.doc_id for d in loaded.documents}
        for doc_id, info in committed.items():
            if info.source == "corpus" and doc_id not in present:
                store.uncommit_document(doc_id)
                store.delete_stale_chunks(doc_id, None)
                removed += 1
        # chunks left by a build killed before its commit, of documents never committed
        visible = {d.doc_id for d in store.documents()}
        for doc_id in store.chunk_doc_ids() - visible:
            store.delete_stale_chunks(doc_id, None)
        if added or changed or removed or store.embedder_name() is None:
            store.bump_generation(emb.name)
        docs = store.documents()
    return BuildReport(
        documents=len(docs),
        chunks=sum(d.chunks for d in docs),
        added=added,
        changed=changed,
        removed=removed,
        unchanged=len(loaded.documents) - added - changed,
        skipped=tuple(loaded.skipped),
        seconds=time.perf_counter() - t0,
    )


def put_document(
    store: Store, embedder: Embedder, settings: Settings, *, doc_id: str, text: str
) -> BuildReport:
    """Add or replace one document outside the corpus folder (the HTTP write path)."""
    t0 = time.perf_counter()
    doc_id = doc_id.strip()
    if not doc_id or len(doc_id) > 512 or doc_id.startswith("/") or ".." in doc_id.split("/"):
        raise InvalidInputError("doc_id must be a non-empty relative path without '..'")
    if not text.strip():
        raise InvalidInputError(f"document {doc_id!r} has no text")
    doc = Document(doc_id, text)
    with write_lock(settings):
        before = {d.doc_id: d for d in store.documents()}
        old = before.get(doc_id)
        if old is not None and old.version == version(settings, doc):
            n, added, changed = old.chunks, 0, 0
        else:
            n = _write(store, embedder, settings, doc, chunks_for(settings, doc), "api")
            added, changed = (0, 1) if old else (1, 0)
            store.bump_generation(embedder.name)
    return BuildReport(
        documents=len(before) + added,
        chunks=n,
        added=added,
        changed=changed,
        removed=0,
        unchanged=int(not (added or changed)),
        seconds=time.perf_counter() - t0,
    )


def remove_document(
    store: Store, settings: Settings, doc_id: str, embedder_name: str
) -> BuildReport:
    """Delete one document (any source); raises DocumentNotFoundError."""
    t0 = time.perf_counter()
    with write_lock(settings):
        docs = {d.doc_id for d in store.documents()}
        if doc_id not in docs:
            raise DocumentNotFoundError(f"no document {doc_id!r}")
        store.uncommit_document(doc_id)
        store.delete_stale_chunks(doc_id, None)
        store.bump_generation(embedder_name)
    return BuildReport(len(docs) - 1, 0, 0, 0, 1, 0, seconds=time.perf_counter() - t0)


def repair_index(
    settings: Settings, *, embedder: Embedder | None = None, progress: bool = False
) -> BuildReport:
    """Cut and embed every stored document again from the text the store keeps (from the folder
    or the API alike, each keeping its source), into a new chunk collection: for a vector index
    that fails to load (`Store.check`). The documents' records are not touched."""
    t0 = time.perf_counter()
    emb = embedder or load_embedder(settings)
    with write_lock(settings):
        store = Store.open(settings, embedding_name=emb.name, create=True)
        texts = store.document_texts()
        docs = [(info, Document(info.doc_id, texts[info.doc_id])) for info in store.documents()]
        store = store.drop_chunks()
        chunked = [(info, doc, chunks_for(settings, doc)) for info, doc in docs]
        bar = tqdm(total=sum(len(c) for *_, c in chunked), unit="chunk", desc="repairing",
                   disable=not progress, file=sys.stderr)  # fmt: skip
        for info, doc, chunks in chunked:
            _write(store, emb, settings, doc, chunks, info.source, bar)
        bar.close()
        store.bump_generation(emb.name)
    return BuildReport(
        documents=len(docs),
        chunks=sum(len(c) for *_, c in chunked),
        added=0,
        changed=len(docs),
        removed=0,
        unchanged=0,
        seconds=time.perf_counter() - t0,
    )


def run_index_cli(settings: Settings, *, progress: bool = True, repair: bool = False) -> int:
    """`rag index [--repair]`: build (or repair), name skipped files, print the summary."""
    claim_folder(settings)
    if repair:
        print(repair_index(settings, progress=progress).summary())
        return 0
    report = build_index(settings, progress=progress)
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0
