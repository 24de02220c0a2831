"""What an evaluation runs against: the in-process Rag, a running server (`--url`), or the
llama-index baseline. Each gives the same four things: the corpus texts, `search`, `ask` and
`document_text`, so the runner and the metrics never know which one they talk to.

Does not score anything. The HTTP client is the standard library's (no extra dependency).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any, Protocol

from rag.errors import DocumentNotFoundError, LLMError, RagError
from rag.types import Answer, Citation, Passage

if TYPE_CHECKING:  # wiring loads the index layer; only its type is needed here
    from rag.wiring import Rag


class Target(Protocol):
    name: str

    def corpus(self) -> dict[str, str]: ...

    def search(self, query: str, top_k: int) -> list[Passage]: ...

    def ask(self, question: str) -> Answer: ...

    def document_text(self, doc_id: str) -> str: ...


class InProcess:
    """The service's own pipeline, in this process (`rag.ask`)."""

    def __init__(self, rag: Rag, *, name: str = "default") -> None:
        self.rag = rag
        self.name = name
        self._texts: dict[str, str] = {}

    def corpus(self) -> dict[str, str]:
        return {d.doc_id: self.document_text(d.doc_id) for d in self.rag.list_documents()}

    def search(self, query: str, top_k: int) -> list[Passage]:
        return list(self.rag.search(query, top_k=top_k).passages)

    def ask(self, question: str) -> Answer:
        return self.rag.ask(question)

    def document_text(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            self._texts[doc_id] = self.rag.document_text(doc_id)
        return self._texts[doc_id]


def answer_from_dict(d: dict[str, Any]) -> Answer:
    """Rebuild an Answer from its JSON shape (`Answer.to_dict()`, the /ask response)."""
    return Answer(
        text=str(d.get("answer", "")),
        refused=bool(d.get("refused", False)),
        language=d.get("language", "ru"),
        citations=tuple(
            Citation(int(c["n"]), str(c["doc_id"]), int(c["start"]), int(c["end"]), str(c["quote"]))
            for c in d.get("citations", [])
        ),
        passages=tuple(passage_from_dict(p) for p in d.get("passages", [])),
        timings_ms={str(k): float(v) for k, v in (d.get("timings_ms") or {}).items()},
        raw=str(d.get("raw", "")),
        shown=int(d.get("shown") or 0),
    )


def passage_from_dict(p: dict[str, Any]) -> Passage:
    return Passage(
        str(p["doc_id"]), str(p.get("chunk_id", "")), int(p["start"]), int(p["end"]),
        str(p["text"]), float(p.get("score", 0.0)),
    )  # fmt: skip


class Remote:
    """A running server: POST /ask and /search, GET /documents and /documents/{id}."""

    def __init__(self, url: str, *, timeout: float = 300.0) -> None:
        self.base = url.rstrip("/")
        self.name = f"remote {self.base}"
        self.timeout = timeout
        self._texts: dict[str, str] = {}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            if exc.code == 404:
                raise DocumentNotFoundError(f"{path}: {detail}") from exc
            raise RagError(f"{method} {self.base}{path} -> {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise LLMError(f"cannot reach {self.base}{path}: {exc}") from exc

    def corpus(self) -> dict[str, str]:
        listing = self._call("GET", "/documents")
        docs = listing.get("documents", []) if isinstance(listing, dict) else listing
        return {str(d["doc_id"]): self.document_text(str(d["doc_id"])) for d in docs}

    def search(self, query: str, top_k: int) -> list[Passage]:
        out = self._call("POST", "/search", {"query": query, "top_k": top_k})
        return [passage_from_dict(p) for p in out.get("passages", [])]

    def ask(self, question: str) -> Answer:
        return answer_from_dict(self._call("POST", "/ask", {"question": question}))

    def document_text(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            out = self._call("GET", "/documents/" + urllib.parse.quote(doc_id, safe="/"))
            self._texts[doc_id] = out if isinstance(out, str) else str(out["text"])
        return self._texts[doc_id]
