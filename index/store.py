"""Chroma (embedded or server) holding chunks, documents and a build generation.

Three collections, all named after `settings.collection`:
  <name>_chunks  one record per chunk and document version: our vector, the text, and metadata
                 doc_id, chunk_id, start, end, doc_hash (the version), context. Record id =
                 chunk_id + version, so a new version of a document never overwrites the chunks
                 the committed version uses.
  <name>_docs    one record per document: the full text (offsets point into it), its sha256, and
                 its version (a hash of the sha256 and the chunking settings: see index.build).
                 A document is *committed* when this record exists; only chunks whose doc_hash
                 equals the committed version are visible to search. Writing it is the commit.
  <name>_meta    one record: the build generation (bumped by every commit) and the embedder name.

Chroma never embeds anything itself (its default embedder downloads a model): every add carries our
vectors. Does not chunk, embed or rank; `index.build` and `rag.retrieve` do.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import chromadb
import chromadb.errors
import numpy as np
from chromadb.config import Settings as ChromaSettings

from index.chunk import Chunk, index_text
from rag.errors import ConfigError, DocumentNotFoundError, IndexDamagedError, IndexMissingError
from rag.settings import Settings

_META_ID = "state"
_BATCH = 1000


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    sha256: str
    chars: int
    chunks: int
    source: str  # "corpus" (from the corpus folder) or "api" (written over HTTP)
    version: str  # what the visible chunks' doc_hash must equal


@dataclass(frozen=True)
class CommitItem:
    """One document version to make visible (`Store.commit_documents`)."""

    doc_id: str
    text: str
    sha256: str
    version: str
    chunks: int
    source: str


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    doc_hash: str
    context: str = ""  # names the chunk is indexed with (see index.chunk)

    @property
    def index_text(self) -> str:
        return index_text(self.text, self.context)


def _client(settings: Settings) -> Any:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise ConfigError(f"RAG_CHROMA_URL is not a URL: {settings.chroma_url!r}")
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    return chromadb.PersistentClient(
        path=str(settings.data_dir / "chroma"), settings=chroma_settings
    )


class Store:
    """The three collections of one index. Thread-safe for reads; one writer at a time."""

    def __init__(self, settings: Settings, client: Any) -> None:
        self.settings = settings
        self._client = client
        name = settings.collection
        # cosine space: distance = 1 - cosine; our vectors are normalised anyway
        self.chunks_collection = client.get_or_create_collection(
            f"{name}_chunks", embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        self._docs = client.get_or_create_collection(f"{name}_docs", embedding_function=None)
        self._meta = client.get_or_create_collection(f"{name}_meta", embedding_function=None)

    @classmethod
    def open(cls, settings: Settings, *, embedding_name: str, create: bool = False) -> Store:
        """Open the index; without `create`, a missing or foreign index is an error to act on."""
        if not create and not settings.chroma_url and not (settings.data_dir / "chroma").exists():
            raise IndexMissingError(
                f"no index in {settings.data_dir}: run `rag index` first (or `make run`)"
            )
        try:
            store = cls(settings, _client(settings))
        except (ConfigError, IndexMissingError):
            raise
        except Exception as exc:  # a server that is down, a corrupt folder
            where = settings.chroma_url or settings.data_dir
            raise IndexMissingError(f"cannot open the Chroma store at {where}: {exc}") from exc
        if not create:
            built_with = store.embedder_name()
            if built_with is None:
                raise IndexMissingError("the index is empty: run `rag index` first")
            if built_with != embedding_name:
                raise ConfigError(
                    f"the index was built with {built_with!r} but the embedder is "
                    f"{embedding_name!r}: run `rag index` to rebuild it"
                )
            store.check()
        return store

    def check(self) -> None:
        """Search one stored vector, which loads the vector index: a segment that fails to load
        (chromadb issue 7238: a file cut short or garbled) is an IndexDamagedError naming the
        repair here, at start, not a 500 at every search after."""
        try:
            got = self.chunks_collection.get(limit=1, include=["embeddings"])
        except chromadb.errors.InternalError as exc:
            raise self._damaged(exc) from exc
        vectors = got.get("embeddings")
        if vectors is not None and len(vectors):
            self.dense_query(np.asarray(vectors[0]), 1)

    def _damaged(self, exc: Exception) -> IndexDamagedError:
        where = self.settings.chroma_url or self.settings.data_dir
        return IndexDamagedError(
            f"the vector index at {where} fails to load ({str(exc)[:200]}); rebuild it from "
            "the stored texts with `rag index --repair`"
        )

    def drop_chunks(self) -> Store:
        """Drop the chunks and their vectors, keep the documents; a store with no chunks."""
        self._client.delete_collection(f"{self.settings.collection}_chunks")
        return Store(self.settings, self._client)

    def reset(self) -> Store:
        """Drop every collection of this index and return a fresh, empty store."""
        name = self.settings.collection
        for suffix in ("chunks", "docs", "meta"):
            with suppress(Exception):  # already gone is fine
                self._client.delete_collection(f"{name}_{suffix}")
        return Store(self.settings, self._client)

    # --- state ----------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        got = self._meta.get(ids=[_META_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        return dict(metas[0]) if metas and metas[0] else {}

    def generation(self) -> int:
        return int(self._state().get("generation", 0))

    def embedder_name(self) -> str | None:
        name = self._state().get("embedder")
        return str(name) if name is not None else None

    def _set_state(self, **updates: Any) -> None:
        state = self._state() | updates
        self._meta.upsert(ids=[_META_ID], embeddings=[[1.0]], metadatas=[state], documents=[""])

    def bump_generation(self, embedder: str) -> None:
        self._set_state(generation=self.generation() + 1, embedder=embedder)

    # --- documents ------------------------------------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        docs = [
            DocumentInfo(
                doc_id=i,
                sha256=str(m["sha256"]),
                chars=int(m["chars"]),
                chunks=int(m["chunks"]),
                source=str(m.get("source", "corpus")),
                version=str(m.get("version", m["sha256"])),
            )
            for i, m, _ in _paged(self._docs, ["metadatas"])
        ]
        return sorted(docs, key=lambda d: d.doc_id)

    def document_count(self) -> int:
        return int(self._docs.count())

    def chunk_count(self) -> int:
        return sum(d.chunks for d in self.documents())

    def document_texts(self) -> dict[str, str]:
        """doc_id -> text of every committed document, read in pages."""
        return {i: str(text or "") for i, _, text in _paged(self._docs, ["metadatas", "documents"])}

    def document_text(self, doc_id: str) -> str:
        got = self._docs.get(ids=[doc_id], include=["documents"])
        if not got["ids"]:
            raise DocumentNotFoundError(f"no document {doc_id!r}")
        return str((got["documents"] or [""])[0])

    def commit_document(
        self, doc_id: str, text: str, *, sha256: str, version: str, chunks: int, source: str
    ) -> None:
        """Make this version of the document the visible one (one atomic upsert)."""
        self.commit_documents([CommitItem(doc_id, text, sha256, version, chunks, source)])

    def commit_documents(self, items: Sequence[CommitItem]) -> None:
        """`commit_document` for many, in upserts of up to 1,000 documents and about 4 MB of
        text (a Chroma server refuses larger bodies): one by one, the 1,200 commits after
        100,000 staged chunks took over ten minutes of the bench here."""
        part: list[CommitItem] = []
        chars = 0
        for x in items:
            if part and (len(part) >= _BATCH or chars + len(x.text) > 4_000_000):
                self._upsert_documents(part)
                part, chars = [], 0
            part.append(x)
            chars += len(x.text)
        if part:
            self._upsert_documents(part)

    def _upsert_documents(self, part: Sequence[CommitItem]) -> None:
        self._docs.upsert(
            ids=[x.doc_id for x in part],
            embeddings=[[1.0]] * len(part),
            metadatas=[
                {
                    "sha256": x.sha256,
                    "version": x.version,
                    "chars": len(x.text),
                    "chunks": x.chunks,
                    "source": x.source,
                }
                for x in part
            ],
            documents=[x.text for x in part],
        )

    def uncommit_document(self, doc_id: str) -> None:
        self._docs.delete(ids=[doc_id])

    # --- chunks ---------------------------------------------------------------------------------
    def stage_chunks(self, doc_hash: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write chunks of a document version; invisible until `commit_document` names its hash."""
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i : i + _BATCH]
            self.chunks_collection.upsert(
                ids=[f"{c.chunk_id}:{doc_hash[:16]}" for c in part],
                embeddings=vectors[i : i + _BATCH].tolist(),
                documents=[c.text for c in part],
                metadatas=[
                    {
                        "doc_id": c.doc_id,
                        "chunk_id": c.chunk_id,
                        "start": c.start,
                        "end": c.end,
                        "doc_hash": doc_hash,
                        "context": c.context,
                    }
                    for c in part
                ],
            )

    def stored_vectors(self, doc_id: str) -> dict[str, np.ndarray]:
        """chunk_id -> vector of every stored version of a document, to skip re-embedding."""
        got = self.chunks_collection.get(
            where={"doc_id": doc_id}, include=["metadatas", "embeddings"]
        )
        embs = got.get("embeddings")
        if embs is None:
            return {}
        return {
            str(m["chunk_id"]): np.asarray(e, dtype=np.float32)
            for m, e in zip(got["metadatas"] or [], embs, strict=True)
        }

    def delete_stale_chunks(self, doc_id: str, keep_hash: str | None) -> int:
        """Remove chunks of `doc_id` that belong to any version other than `keep_hash`."""
        got = self.chunks_collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        stale = [
            i
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            if m["doc_hash"] != keep_hash
        ]
        for i in range(0, len(stale), _BATCH):
            self.chunks_collection.delete(ids=stale[i : i + _BATCH])
        return len(stale)

    def chunk_doc_ids(self) -> set[str]:
        """Every doc_id that still has chunks (committed or left over by an interrupted build)."""
        return {str(m["doc_id"]) for _, m, _ in _paged(self.chunks_collection, ["metadatas"])}

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every stored chunk (all versions)."""
        for _, m, text in _paged(self.chunks_collection, ["metadatas", "documents"]):
            if text is not None:
                yield _stored(m, text)

    def dense_query(self, vector: np.ndarray, n: int) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks by cosine similarity (all versions: the caller filters), best first."""
        if n <= 0:
            return []
        try:
            got = self.chunks_collection.query(
                query_embeddings=[vector.tolist()],
                n_results=n,
                include=["metadatas", "documents", "distances"],
            )
        except chromadb.errors.InternalError as exc:  # a segment that fails to load, or a part
            raise self._damaged(exc) from exc
        metas = (got.get("metadatas") or [[]])[0]
        texts = (got.get("documents") or [[]])[0]
        dists = (got.get("distances") or [[]])[0]
        # After a kill -9 the vector segment can name records whose metadata is gone: skip them
        return [
            (_stored(m, t), 1.0 - float(d))
            for m, t, d in zip(metas, texts, dists, strict=True)
            if m is not None and t is not None
        ]


def _paged(collection: Any, include: list[str]) -> Iterator[tuple[str, Any, Any]]:
    """(id, metadata, document) of every record, fetched in batches: one unbounded `get` of a
    100,000-chunk collection fails in Chroma's SQLite layer ("too many SQL variables")."""
    total = int(collection.count())
    for offset in range(0, total, _BATCH * 5):
        got = collection.get(include=include, limit=_BATCH * 5, offset=offset)
        docs = got.get("documents") or [None] * len(got["ids"])
        for i, m, d in zip(got["ids"], got.get("metadatas") or [], docs, strict=True):
            if m is not None:  # a record cut short by kill -9 has no metadata
                yield i, m, d


def _stored(meta: Any, text: Any) -> StoredChunk:
    return StoredChunk(
        chunk_id=str(meta["chunk_id"]),
        doc_id=str(meta["doc_id"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=str(text),
        doc_hash=str(meta["doc_hash"]),
        context=str(meta.get("context") or ""),
    )


@contextmanager
def write_lock(settings: Settings) -> Iterator[None]:
    """One writer per data folder: a second `rag index` waits instead of interleaving commits.

    With a Chroma server shared by several hosts this lock is local only; the README tells to run
    builds from one place.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / ".write.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


_OWNED: dict[str, int] = {}


def claim_folder(settings: Settings) -> None:
    """Make this process the only `rag serve` or `rag index` on the embedded store's folder, until
    it exits; another gets ConfigError saying which process holds it. Chroma's embedded store is
    not safe across processes: a second one reads stale data (chromadb issues 3769, 3792). A Chroma
    server (`chroma_url`) is shared by design, so nothing is claimed for it."""
    if settings.chroma_url:
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / ".owner.lock"
    if str(path.resolve()) in _OWNED:
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConfigError(
            f"{settings.data_dir} is in use by another rag process (pid {holder}): the embedded "
            "store serves one process. Stop that one first, send documents to the running "
            "server (POST /documents), or share a Chroma server between processes "
            "(RAG_CHROMA_URL)."
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _OWNED[str(path.resolve())] = fd  # held, open, until the process exits
