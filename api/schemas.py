"""Wire shapes of the HTTP API: request models with their limits, and response models.

Separate from `rag.types` on purpose: these are the JSON contract (what a client sends and gets),
the domain types are what the code passes around. Converting is done in `api/routes.py`.
Does not validate document content (empty text, unknown suffix): that is the index layer's job.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

MAX_QUERY_CHARS = 2000
MAX_TURN_CHARS = 8000
MAX_HISTORY_TURNS = 20
MAX_DOC_ID_CHARS = 300

# The schema is the contract, checked both ways by schema fuzzing (`rag reliability`): every
# rule is one the schema states, so no stripping before a check ("   " fails the pattern here,
# as it does for a client reading the schema). No \s in a pattern: it means other characters in
# Python (\x1c-\x1f), in ECMA-262 (\ufeff) and in Rust (\x85), and the fuzzer found each
# difference. This class is every character any of them (and str.strip()) counts as space.
_SPACE = (
    r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\ufeff"
)
# anchored, because pydantic matches from the start and JSON Schema searches: the same either way
NOT_BLANK = rf"^[{_SPACE}]*[^{_SPACE}]"
Query = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_BLANK)
]


def _whole(value: object) -> object:
    """49.0 as 49: JSON Schema's "integer" is any number with no fraction, and a client that
    writes numbers as floats sends 49.0. A string or a boolean stays an error."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# the bounds before the validator: after it, pydantic printed them into the schema as unknown
# keys ("ge"), and schema fuzzing sent top_k 0 as valid
TopK = Annotated[StrictInt, Field(ge=1, le=50), BeforeValidator(_whole)]
_DOT_DOT = re.compile(r"(^|/)\.\.(/|$)")


def _no_dot_dot(value: str) -> str:
    if _DOT_DOT.search(value):
        raise ValueError("doc_id must not have a '..' part")
    # Python's $ also matches before a final newline, the schema's (ECMA-262, Rust) does not
    if "\n" in value:
        raise ValueError("doc_id must be one line")
    return value


# a relative path: no leading '/' or space, no trailing space, no '..' part, on one line
_DOC_ID = rf"^[^/{_SPACE}]([^\n]*[^{_SPACE}])?$"
DocId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_DOC_ID_CHARS, pattern=_DOC_ID),
    AfterValidator(_no_dot_dot),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_DOC_ID_CHARS,
            "pattern": _DOC_ID,
            "not": {"pattern": _DOT_DOT.pattern},
        }
    ),
]
DocText = Annotated[str, StringConstraints(pattern=NOT_BLANK)]


class _Request(BaseModel):
    # A misspelt field ("qestion") is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


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
    text: DocText


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
