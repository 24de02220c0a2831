"""Domain types shared by every layer: passages, citations, answers, and the boundary protocols.

Frozen dataclasses, no behaviour beyond small constructors. Wire shapes (JSON for HTTP) live in
`api/schemas.py`; `to_dict()` here is the one JSON-ready view the CLI, eval and API all use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from index.embed import Embedder

Role = Literal["user", "assistant"]
Language = Literal["ru", "en"]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: `document_text[start:end] == text` for the document `doc_id`."""

    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """Marker `[n]` in an answer: `quote == document_text[start:end]` of document `doc_id`."""

    n: int
    doc_id: str
    start: int
    end: int
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Turn:
    """One earlier turn of a conversation, sent along as `history`."""

    role: Role
    content: str


@dataclass(frozen=True)
class Answer:
    """The product: a short answer whose `[n]` markers index `citations` (1-based).

    `refused` is true whenever the question is not answered as asked (no answer in the sources,
    a false
    premise, an attempt to override instructions); a refusal may still carry citations (a corrected
    premise cites what the article says instead). `raw` keeps the LLM's text before citation
    checking. `shown` is how many of `passages` (the first) the model read.
    """

    text: str
    refused: bool
    language: Language
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    raw: str = ""
    shown: int = 0
    # per answer sentence the citation check dropped, the check that dropped it (rag.cite)
    dropped_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "refused": self.refused,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": dict(self.timings_ms),
            "shown": self.shown,
        }


@dataclass(frozen=True)
class TokenEvent:
    """A streamed piece of generated text (before citation checking)."""

    text: str


@dataclass(frozen=True)
class DoneEvent:
    """The final, checked answer that ends a stream."""

    answer: Answer


StreamEvent = TokenEvent | DoneEvent


class Retriever(Protocol):
    """Returns the best passages for a query, best first."""

    def retrieve(self, query: str, *, top_k: int) -> list[Passage]: ...

    @property
    def embedder(self) -> Embedder | None:
        """The multilingual sentence embedder queries are encoded with, if any: the citation
        check also uses it to match an English answer with a Russian sentence."""
        ...


class LLM(Protocol):
    """A chat model. `messages` are OpenAI-style `{"role", "content"}` dicts; decoding is greedy."""

    name: str

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        """Yield text deltas as they are generated."""
        ...

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        """The whole completion at once."""
        ...
