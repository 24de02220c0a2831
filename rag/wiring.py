"""build_rag(settings) -> Rag: the one place that picks implementations and holds them together.

`Rag` is the facade every interface uses (CLI, HTTP, eval): search, ask, stream, and document
writes. It does not decide anything about answers itself; that is `rag.pipeline`'s job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from index.build import BuildReport, put_document, remove_document
from index.embed import Embedder, load_embedder

__all__ = [
    "Rag",
    "SearchResult",
    "WarmReport",
    "build_rag",
    "claim_folder",
    "ensure_index",
    "keep_llm_prefix",
    "load_embedder",
]
from index.store import DocumentInfo, Store, claim_folder
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.types import LLM, Answer, Passage, StreamEvent, Turn


@dataclass(frozen=True)
class WarmReport:
    passages: int  # prompt states computed (those kept already are not counted)
    seconds: float


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
        # questions waiting for or holding the LLM: the warm-up waits for none (a Lock is not
        # fair, and warm() would take it back before a waiting question woke)
        self._questions = 0
        self._no_questions = threading.Condition()
        self._stop_warm = threading.Event()
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
        with self._no_questions:
            self._questions += 1
        try:
            with self._llm_lock:
                yield from answer_stream(
                    question,
                    history=history,
                    retriever=self.retriever,
                    llm=llm,
                    settings=self.settings,
                    top_k=top_k,
                )
        finally:
            with self._no_questions:
                self._questions -= 1
                self._no_questions.notify_all()

    def warm(self) -> WarmReport:
        """Let the local LLM keep its prompt state for every passage shown first (`llm_cache`,
        `llm_warm`; `rag.llm.PromptStates`), one passage at a time and only while no question
        waits, so that a question waits for at most one passage. A no-op for a server LLM, or
        an index with more passages than the cache holds (it fills as questions come)."""
        from rag.pipeline import prefill_messages

        t0 = time.perf_counter()
        s = self.settings
        if not s.llm_warm or s.llm_url or not s.llm_cache:
            return WarmReport(0, 0.0)
        passages = self.retriever.passages()
        if len(passages) * (s.llm_passages if s.llm_splice else 1) > s.llm_cache:
            return WarmReport(0, 0.0)
        prefill: Callable[..., bool] | None = getattr(self.llm, "prefill", None)
        if prefill is None:
            return WarmReport(0, 0.0)
        done = 0
        for p in passages:
            with self._no_questions:
                self._no_questions.wait_for(lambda: not self._questions or self._stop_warm.is_set())
            if self._stop_warm.is_set():
                break
            with self._llm_lock:
                done += prefill(prefill_messages(p, s), cancelled=self._stop_warm.is_set)
        return WarmReport(done, time.perf_counter() - t0)

    def stop_warm(self) -> None:
        """Make a running `warm()` return after the passage it reads (before the process exits:
        the model is freed at exit, under a thread still inside it)."""
        self._stop_warm.set()
        with self._no_questions:
            self._no_questions.notify_all()

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


def keep_llm_prefix(settings: Settings) -> LLM | None:
    """Index-time work for the local model (`llm_keep_prefix`): load it and keep its state
    after the fixed prompt prefix on disk, computed once, so that the first answer after a
    start does not wait ~20 s for it. Returns the loaded model, for the server to use rather
    than load again; None for a server LLM or with the setting off."""
    if settings.llm_url or not settings.llm_keep_prefix:
        return None
    from rag.llm import LocalLLM, load_llm
    from rag.prompts import qa_messages

    llm = load_llm(settings)
    if isinstance(llm, LocalLLM):
        llm.keep_prefix(qa_messages("?", ["?"]))
    return llm
