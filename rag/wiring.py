"""build_rag(settings) -> Rag: the one place that picks implementations and holds them together.

`Rag` is the facade every interface uses (CLI, HTTP, eval): search, ask, stream, and document
writes. It does not decide anything about answers itself; that is `rag.pipeline`'s job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from index.build import BuildReport, put_document, remove_document
from index.embed import Embedder, load_embedder

__all__ = ["Rag", "SearchResult", "build_rag", "ensure_index", "load_embedder"]
from index.store import DocumentInfo, Store
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.types import LLM, Answer, Passage, StreamEvent, Turn


@dataclass(frozen=True)
class SearchResult:
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Rag:
    """Everything a question needs, built once per process. Thread-safe: the LLM runs one answer
    at a time (llama.cpp contexts are not re-entrant) while searches go on in parallel."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        embedder: Embedder,
        llm: LLM | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = HybridRetriever(store, embedder, settings=settings)
        self._llm = llm
        self._llm_lock = threading.Lock()
        self._load_lock = threading.Lock()

    # --- names for /health --------------------------------------------------------------------
    @property
    def embedder_name(self) -> str:
        return self.embedder.name

    @property
    def llm_name(self) -> str:
        if self._llm is not None:
            return self._llm.name
        from rag.llm import describe_llm

        return describe_llm(self.settings)

    @property
    def llm(self) -> LLM:
        """The LLM, loaded on first use so that start-up, /health and /search stay fast."""
        with self._load_lock:
            if self._llm is None:
                from rag.llm import load_llm

                self._llm = load_llm(self.settings)
            return self._llm

    # --- questions ----------------------------------------------------------------------------
    def search(self, query: str, *, top_k: int | None = None) -> SearchResult:
        t0 = time.perf_counter()
        passages = self.retriever.retrieve(query, top_k=top_k or self.settings.top_k)
        return SearchResult(passages, {"retrieve": (time.perf_counter() - t0) * 1000})

    def ask(
        self, question: str, *, history: Sequence[Turn] = (), top_k: int | None = None
    ) -> Answer:
        """The checked answer: the last event of `ask_stream`."""
        from rag.pipeline import final_answer

        return final_answer(self.ask_stream(question, history=history, top_k=top_k))

    def ask_stream(
        self, question: str, *, history: Sequence[Turn] = (), top_k: int | None = None
    ) -> Iterator[StreamEvent]:
        from rag.pipeline import answer_stream

        llm = self.llm
        with self._llm_lock:
            yield from answer_stream(
                question,
                history=history,
                retriever=self.retriever,
                llm=llm,
                top_k=top_k or self.settings.top_k,
                max_tokens=self.settings.max_tokens,
            )

    # --- documents ----------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        return {"documents": self.store.document_count(), "chunks": self.store.chunk_count()}

    def list_documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def document_text(self, doc_id: str) -> str:
        """Raises DocumentNotFoundError."""
        return self.store.document_text(doc_id)

    def put_document(self, doc_id: str, text: str) -> BuildReport:
        """Add or replace one document (source 'api'); raises InvalidInputError on bad input."""
        report = put_document(self.store, self.embedder, self.settings, doc_id=doc_id, text=text)
        self.retriever.refresh()
        return report

    def delete_document(self, doc_id: str) -> BuildReport:
        """Raises DocumentNotFoundError."""
        report = remove_document(self.store, self.settings, doc_id, self.embedder.name)
        self.retriever.refresh()
        return report


def ensure_index(settings: Settings, *, embedder: Embedder | None = None) -> BuildReport | None:
    """Build the index when there is none yet (what `make run` needs); None when one exists."""
    from rag.errors import IndexMissingError

    emb = embedder or load_embedder(settings)
    try:
        Store.open(settings, embedding_name=emb.name)
        return None
    except IndexMissingError:
        from index.build import build_index

        return build_index(settings, embedder=emb, progress=True)


def build_rag(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    llm: LLM | None = None,
) -> Rag:
    """Open the existing index (raises IndexMissingError if there is none) and wire the parts.
    Nothing heavy is done here beyond loading the embedder and the lexical index: the LLM is
    loaded on the first `ask`."""
    emb = embedder or load_embedder(settings)
    store = Store.open(settings, embedding_name=emb.name)
    return Rag(settings, store=store, embedder=emb, llm=llm)
