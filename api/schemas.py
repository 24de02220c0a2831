"""Wire shapes of the HTTP API: request models with their limits, and response models.

Separate from `rag.types` on purpose: these are the JSON contract (what a client sends and gets),
the domain types are what the code passes around. Converting is done in `api/routes.py`.
Does not validate document content (empty text, unknown suffix): that is the index layer's job.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StringConstraints

MAX_QUERY_CHARS = 2000
MAX_TURN_CHARS = 8000
MAX_HISTORY_TURNS = 20
MAX_DOC_ID_CHARS = 300

# Leading/trailing whitespace is stripped before the length check, so "   " is empty.
Query = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)
]


def _whole(value: object) -> object:
    """49.0 as 49: JSON Schema's "integer" is any number with no fraction, and a client that
    writes numbers as floats sends 49.0. A string or a boolean stays an error."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


TopK = Annotated[StrictInt, BeforeValidator(_whole), Field(ge=1, le=50)]
DocId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DOC_ID_CHARS)
]


class _Request(BaseModel):
    # A misspelt field ("qestion") is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class SearchRequest(_Request):
    query: Query
    top_k: TopK = 5


class TurnIn(_Request):
    role: Literal["user", "assistant"]
    content: Annotated[str, StringConstraints(max_length=MAX_TURN_CHARS)]


class AskRequest(_Request):
    question: Query
    history: Annotated[list[TurnIn], Field(max_length=MAX_HISTORY_TURNS)] = []
    top_k: TopK | None = None


class DocumentIn(_Request):
    doc_id: DocId
    text: str


class PassageOut(BaseModel):
    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    score: float


class CitationOut(BaseModel):
    n: int
    doc_id: str
    start: int
    end: int
    quote: str


class SearchResponse(BaseModel):
    passages: list[PassageOut]
    timings_ms: dict[str, float]


class AskResponse(BaseModel):
    answer: str
    refused: bool
    language: str
    citations: list[CitationOut]
    passages: list[PassageOut]
    timings_ms: dict[str, float]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    documents: int
    chunks: int
    embedder: str
    llm: str


class DocumentSummary(BaseModel):
    doc_id: str
    sha256: str
    chars: int
    chunks: int
    source: str = Field(description="'corpus' (the corpus folder) or 'api' (written over HTTP)")


class DocumentsResponse(BaseModel):
    documents: list[DocumentSummary]


class DocumentText(BaseModel):
    doc_id: str
    text: str


class WriteResponse(BaseModel):
    """What a write changed: each count is 0 or 1 for the one document written."""

    doc_id: str
    added: int
    changed: int
    unchanged: int
    removed: int
    chunks: int = Field(description="Chunks the document has now (0 after a delete).")
    documents: int = Field(description="Documents in the index after the write.")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
