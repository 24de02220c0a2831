"""The `baseline` configuration: what a user gets from llama-index defaults, on our models.

- default `SentenceSplitter` (1024 tokens, 200 overlap) over the same documents the service indexed;
- a `VectorStoreIndex` on its own Chroma collection (`<data_dir>/baseline/`), dense retrieval only,
  with our embedder wrapped by `index.embed.as_llama_embedding`;
- `CitationQueryEngine.from_args` with its defaults (similarity_top_k=2, 512-token citation chunks,
  compact response mode) and our LLM behind `OurLLM`, a llama-index `CustomLLM` calling
  `llm.complete` with the prompt as one user message.

Its responses are mapped into our `Answer` so the same metrics apply: `[n]` markers refer to the
engine's "Source n" chunks; each cited chunk is located in its document to get exact offsets, and
markers are renumbered 1..m in order of first use ("Source n" in the text counts as a marker).
An answer is `refused` when it cites nothing or says it cannot answer. The index is rebuilt only
when the documents or the embedder change.
Does not change anything of the service's own index.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from typing import Any

from eval.metrics import script_language
from eval.targets import InProcess
from rag.settings import Settings
from rag.types import LLM, Answer, Citation, Passage

_CANNOT = re.compile(
    r"(can ?not|can't|unable to) (answer|be answered|find|determine|provide)|does not (say|mention"
    r"|provide|contain)|no information|not mentioned|not (provided|specified|stated) in"
    r"|нет (ответа|информации|данных)|не (указан|сообщается|говорит|содерж|упомина)|невозможно",
    re.IGNORECASE,
)
# "[n]" as the engine's prompt asks; the model often writes "Source n" / "Источник n" instead,
# which a reader takes for the same citation, so it counts too.
_MARKER = re.compile(r"\[(\d+)\]|\b(?:[Ss]ource|[Ии]сточник[а-я]*) (\d+)")
_SOURCE = re.compile(r"^Source \d+:\n")


def make_llama_llm(llm: LLM, *, context_window: int, max_tokens: int) -> Any:
    """Our LLM as a llama-index `CustomLLM` (completion style: llama-index formats the prompt)."""
    from llama_index.core.llms import (
        CompletionResponse,
        CompletionResponseGen,
        CustomLLM,
        LLMMetadata,
    )
    from llama_index.core.llms.callbacks import llm_completion_callback
    from pydantic import PrivateAttr

    class OurLLM(CustomLLM):
        _llm: Any = PrivateAttr()
        _window: int = PrivateAttr()
        _max_tokens: int = PrivateAttr()

        def __init__(self) -> None:
            super().__init__()
            self._llm, self._window, self._max_tokens = llm, context_window, max_tokens

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(
                context_window=self._window, num_output=self._max_tokens, model_name=llm.name
            )

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            messages = [{"role": "user", "content": prompt}]
            return CompletionResponse(
                text=self._llm.complete(messages, max_tokens=self._max_tokens)
            )

        @llm_completion_callback()
        def stream_complete(
            self, prompt: str, formatted: bool = False, **kw: Any
        ) -> CompletionResponseGen:
            def gen() -> CompletionResponseGen:
                text = ""
                messages = [{"role": "user", "content": prompt}]
                for delta in self._llm.stream(messages, max_tokens=self._max_tokens):
                    text += delta
                    yield CompletionResponse(text=text, delta=delta)

            return gen()

    return OurLLM()


def _locate(text: str, doc_id: str, docs: dict[str, str]) -> tuple[str, int, int] | None:
    """(doc_id, start, end) of a chunk's text: in its own document first, then anywhere."""
    text = text.strip()
    for d in [doc_id, *sorted(docs)]:
        i = docs.get(d, "").find(text) if text else -1
        if i >= 0:
            return d, i, i + len(text)
    return None


def map_response(
    text: str,
    sources: Sequence[tuple[str, str, float]],
    docs: dict[str, str],
    *,
    language: str,
    passages: Sequence[Passage] = (),
    timings_ms: dict[str, float] | None = None,
) -> Answer:
    """A CitationQueryEngine response as our Answer. `sources[i]` = (doc_id, "Source i+1" chunk
    text, score); markers that name no locatable source are dropped from the text."""
    renumber: dict[int, int] = {}
    citations: list[Citation] = []
    for m in _MARKER.finditer(text):
        n = int(m.group(1) or m.group(2))
        if n in renumber or not 1 <= n <= len(sources):
            continue
        doc_id, chunk, _ = sources[n - 1]
        where = _locate(_SOURCE.sub("", chunk), doc_id, docs)
        if where is None:
            continue
        renumber[n] = len(citations) + 1
        d, start, end = where
        citations.append(Citation(renumber[n], d, start, end, docs[d][start:end]))

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1) or m.group(2))
        return f"[{renumber[n]}]" if n in renumber else ("" if m.group(1) else m.group(0))

    clean = _MARKER.sub(sub, text).strip()
    refused = not citations or bool(_CANNOT.search(clean))
    return Answer(
        text=clean,
        refused=refused,
        language="en" if language == "en" else "ru",
        citations=tuple(citations),
        passages=tuple(passages),
        timings_ms=dict(timings_ms or {}),
        raw=text,
    )


class Baseline:
    """A Target (see `eval.targets`) answering with the llama-index default stack."""

    name = "baseline"

    def __init__(self, service: InProcess, settings: Settings, *, llm: LLM | None = None) -> None:
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.query_engine import CitationQueryEngine
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from index.embed import as_llama_embedding
        from index.store import Store

        self.service = service
        self.docs = service.corpus()
        rag = service.rag
        embed = as_llama_embedding(rag.embedder)
        sub = settings.model_copy(
            update={"data_dir": settings.data_dir / "baseline", "collection": "baseline"}
        )
        fingerprint = hashlib.sha256(
            json.dumps([rag.embedder_name, sorted(self.docs.items())]).encode()
        ).hexdigest()
        marker = sub.data_dir / "built.json"
        store = Store.open(sub, embedding_name=rag.embedder_name, create=True)
        fresh = (
            marker.is_file() and json.loads(marker.read_text()).get("fingerprint") == fingerprint
        )
        if not fresh:
            store = store.reset()
        vector_store = ChromaVectorStore(chroma_collection=store.chunks_collection)
        if fresh:
            self.index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed)
        else:
            documents = [
                Document(text=t, id_=d, metadata={"doc_id": d})
                for d, t in sorted(self.docs.items())
            ]
            nodes = SentenceSplitter().get_nodes_from_documents(documents)
            self.index = VectorStoreIndex(
                nodes,
                storage_context=StorageContext.from_defaults(vector_store=vector_store),
                embed_model=embed,
            )
            marker.write_text(json.dumps({"fingerprint": fingerprint, "chunks": len(nodes)}))
        chat = make_llama_llm(
            llm or rag.llm,
            context_window=int(settings.llm_ctx * 0.8),  # llama-index counts with another tokenizer
            max_tokens=settings.max_tokens,
        )
        self.engine = CitationQueryEngine.from_args(self.index, llm=chat)

    def corpus(self) -> dict[str, str]:
        return dict(self.docs)

    def document_text(self, doc_id: str) -> str:
        return self.docs[doc_id]

    def _passages(self, nodes: Sequence[Any]) -> list[Passage]:
        out = []
        for nws in nodes:
            doc_id = str(nws.node.metadata.get("doc_id", ""))
            where = _locate(nws.node.get_content(), doc_id, self.docs)
            if where is not None:
                d, s, e = where
                out.append(
                    Passage(d, nws.node.node_id, s, e, self.docs[d][s:e], float(nws.score or 0))
                )
        return out

    def search(self, query: str, top_k: int) -> list[Passage]:
        return self._passages(self.index.as_retriever(similarity_top_k=top_k).retrieve(query))

    def ask(self, question: str) -> Answer:
        from llama_index.core import QueryBundle

        bundle = QueryBundle(question)
        t0 = time.perf_counter()
        nodes = self.engine.retrieve(bundle)
        t1 = time.perf_counter()
        response = self.engine.synthesize(bundle, nodes)
        t2 = time.perf_counter()
        sources = [
            (str(s.node.metadata.get("doc_id", "")), s.node.get_content(), float(s.score or 0))
            for s in response.source_nodes
        ]
        return map_response(
            str(getattr(response, "response", None) or ""),
            sources,
            self.docs,
            language=script_language(question) or "ru",
            passages=self._passages(nodes),
            timings_ms={
                "retrieve": (t1 - t0) * 1000,
                "generate": (t2 - t1) * 1000,
                "total": (t2 - t0) * 1000,
            },
        )


def build_baseline(settings: Settings, *, llm: LLM | None = None) -> Baseline:
    """The baseline over the documents of the service's existing index (run `rag index` first)."""
    from rag.wiring import build_rag

    return Baseline(InProcess(build_rag(settings, llm=llm)), settings, llm=llm)
