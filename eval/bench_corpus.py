"""Synthetic corpora for the search benchmark, and a cheap embedder to index them.

`synthetic_corpus(article, target_chunks, folder, seed)` writes documents made of the article's
sentences, shuffled and recombined into paragraphs with a fixed seed, until the service's chunker
would cut at least `target_chunks` chunks. They read like the article, so the lexical index and the
dense vectors see realistic text; they are not meant to make sense.

`DerivedEmbedder` embeds a passage as the normalised mean of its sentences' vectors, each sentence
embedded by the real model once and then cached. The synthetic corpora only ever repeat the
article's sentences, so 100,000 chunks cost a few hundred real embeddings instead of 100,000: the
point of those corpora is the search latency at that size, not the quality of the ranking. Queries
are embedded by the real model. Does not search or time anything.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.chunk import chunk_text, paragraphs, sentences
from index.embed import Embedder, Vector


def article_sentences(text: str) -> list[str]:
    """Every sentence of every paragraph, in order."""
    out: list[str] = []
    for p_start, p_end in paragraphs(text):
        out.extend(text[s:e] for s, e in sentences(text, p_start, p_end))
    return out


def synthetic_corpus(
    article: str,
    target_chunks: int,
    folder: Path,
    *,
    seed: int = 20251224,
    chunk_size: int = 360,
    chunk_min: int = 120,
    paragraphs_per_doc: int = 40,
) -> tuple[int, int]:
    """Write `doc-00000.txt`... into `folder`; return (documents, chunks the chunker will cut)."""
    rng = random.Random(seed)
    pool = article_sentences(article)
    folder.mkdir(parents=True, exist_ok=True)
    docs = chunks = 0
    while chunks < target_chunks:
        paras = []
        for _ in range(paragraphs_per_doc):
            paras.append(" ".join(rng.sample(pool, rng.randint(2, 6))))
        text = "\n".join(paras) + "\n"
        doc_id = f"doc-{docs:05d}.txt"
        chunks += len(chunk_text(doc_id, text, size=chunk_size, min_size=chunk_min))
        (folder / doc_id).write_text(text, encoding="utf-8")
        docs += 1
    return docs, chunks


class DerivedEmbedder:
    """Passage vector = normalised mean of cached per-sentence vectors (see the module docstring).
    Carries the real embedder's name and dimension, so the index it builds is searchable with it."""

    def __init__(self, real: Embedder) -> None:
        self.real = real
        self.name = real.name
        self.dim = real.dim
        self.cache: dict[str, Vector] = {}
        self.real_calls = 0

    def embed_query(self, text: str) -> Vector:
        return self.real.embed_query(text)

    def _sentence_vectors(self, pieces: Sequence[str]) -> None:
        todo = sorted({p for p in pieces if p not in self.cache})
        if todo:
            self.real_calls += len(todo)
            for piece, vec in zip(todo, self.real.embed_passages(todo), strict=True):
                self.cache[piece] = np.asarray(vec, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vector:
        split = [[t[s:e] for s, e in sentences(t, 0, len(t))] or [t] for t in texts]
        self._sentence_vectors([p for parts in split for p in parts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, parts in enumerate(split):
            v = np.mean([self.cache[p] for p in parts], axis=0)
            out[i] = v / (np.linalg.norm(v) or 1.0)
        return out
