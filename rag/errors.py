"""Domain errors. The API maps each class to one HTTP status in `api/errors.py`.

    RagError                      base: every error we raise on purpose
    ├── ConfigError               a setting is invalid or a required file is missing
    ├── IndexMissingError         no index yet: run `rag index`
    ├── IndexDamagedError         the vector index fails to load: run `rag index --repair`
    ├── ModelError                a model could not be assembled, verified or loaded
    ├── LLMError                  the LLM backend failed or is unreachable
    ├── BusyError                 the answer queue is full (has `retry_after` seconds)
    ├── InvalidInputError         a request's content is wrong (empty query, bad document)
    ├── DocumentNotFoundError     no document with that id
    └── EvalDataError             a question set line is malformed (has `line`)

Not knowing an answer is not an error: it is an `Answer` with `refused=True`.
"""

from __future__ import annotations


class RagError(Exception):
    """Base of every error raised on purpose; `code` is the stable machine-readable name."""

    code = "rag_error"


class ConfigError(RagError):
    code = "config_error"


class IndexMissingError(RagError):
    code = "index_missing"


class IndexDamagedError(RagError):
    code = "index_damaged"


class ModelError(RagError):
    code = "model_error"


class LLMError(RagError):
    code = "llm_error"


class BusyError(RagError):
    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidInputError(RagError):
    code = "invalid_input"


class DocumentNotFoundError(RagError):
    code = "document_not_found"


class EvalDataError(RagError):
    code = "eval_data_error"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
