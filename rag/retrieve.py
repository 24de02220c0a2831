"""Hybrid retrieval: dense (Chroma, our embedder) + lexical (BM25 on stems), weighted fusion.

Fusion: each side's scores over its candidate pool are scaled to [0, 1] (dense: min-max of cosine;
lexical: BM25 / best BM25), then `fused = (1 - w) * dense + w * lexical`, with `w` the lexical
weight. A side that returns nothing for a query contributes 0. Why not reciprocal-rank fusion: RRF
throws the score gaps away, and a BM25 match on a rare Russian name or number is a large gap worth
keeping; RRF (k 10-60) also measured lower than this on dev.jsonl (ru recall@5 0.86 against 0.90).
The lexical weight is scaled by the square of the share of the query's stems the lexical index
holds: in full for a question in the text's words, little for one in another language, where BM25
only sees numbers and shared names, or for a paraphrase, whose BM25 hits are chance. Figures:
docs/decisions.md.

Only committed chunk versions are returned (see `index.store`); the retriever reloads its view of
the store when the store's generation changes (checked at most every `_RECHECK_S` seconds, or at
once after `refresh()`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from index.embed import Embedder, Vector
from index.lexical import LexicalIndex
from index.store import Store, StoredChunk
from rag.errors import InvalidInputError
from rag.language import by_skeleton, name_terms
from rag.settings import Settings
from rag.types import Passage

_RECHECK_S = 2.0
# Candidates taken from each side, whatever top_k asks for: min-max scaling depends on the pool,
# so a pool that grew with top_k made the first five passages depend on how many were asked for.
_POOL = 100
# Lexical weight for the Russian words an English query names (`HybridRetriever._bridge`).
BRIDGE_WEIGHT = 0.3


def _minmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo < 1e-9:
        return dict.fromkeys(scores, 1.0)
    return {k: (v - lo) / (hi - lo) for k, v in scores.items()}


def fuse(
    dense: list[tuple[StoredChunk, float]],
    lexical: list[tuple[StoredChunk, float]],
    *,
    lexical_weight: float,
) -> list[tuple[StoredChunk, float]]:
    """Weighted fusion of two ranked lists (see the module docstring), best first, ties by id."""
    chunks = {c.chunk_id: c for c, _ in dense} | {c.chunk_id: c for c, _ in lexical}
    d = _minmax({c.chunk_id: s for c, s in dense})
    best = max((s for _, s in lexical), default=0.0)
    lx = {c.chunk_id: s / best for c, s in lexical} if best > 0 else {}
    fused = {
        k: (1 - lexical_weight) * d.get(k, 0.0) + lexical_weight * lx.get(k, 0.0) for k in chunks
    }
    order = sorted(fused, key=lambda k: (-fused[k], k))
    return [(chunks[k], fused[k]) for k in order]


class HybridRetriever:
    """Retriever over one Store. Thread-safe; `mode` is 'hybrid', 'dense' or 'lexical'."""

    def __init__(self, store: Store, embedder: Embedder, *, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = settings.retrieval_mode
        self.lexical_weight = settings.lexical_weight
        self._cache_path = settings.data_dir / "lexical" / f"{settings.collection}.pkl"
        self._lock = threading.Lock()
        # One query embedded at a time: each caller thread would start the model's own pool of
        # threads, and on two cores concurrent searches slowed each other more than queueing
        # does (issue 25's load run). Recent query vectors are kept (`query_cache`).
        self._embed_lock = threading.Lock()
        self._vectors: OrderedDict[str, Vector] = OrderedDict()
        self._cache_size = settings.query_cache
        self._generation = -1
        self._checked = 0.0
        self._committed: dict[str, str] = {}
        self._lexical = LexicalIndex([], None)
        # the lexical index's words by skeleton, for `_bridge`: made once per index
        self._words: tuple[LexicalIndex, dict[str, list[str]]] | None = None
        self.refresh()

    def refresh(self) -> None:
        """Reload the committed-version map, and the lexical index if the generation moved."""
        with self._lock:
            generation = self.store.generation()
            self._committed = {d.doc_id: d.version for d in self.store.documents()}
            if generation != self._generation:
                lexical = LexicalIndex.load(self._cache_path, generation)
                if lexical is None:
                    lexical = LexicalIndex.build(
                        list(self.store.iter_chunks()), generation=generation
                    )
                    lexical.save(self._cache_path)
                self._lexical = lexical
                self._generation = generation
            self._checked = time.monotonic()

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._checked > _RECHECK_S:
            if self.store.generation() != self._generation:
                self.refresh()
            else:
                self._checked = time.monotonic()

    def _visible(self, hits: list[tuple[StoredChunk, float]]) -> list[tuple[StoredChunk, float]]:
        return [(c, s) for c, s in hits if self._committed.get(c.doc_id) == c.doc_hash]

    def _bridge(self, query: str) -> list[str]:
        """The Russian stems of the names a Latin-script query spells (`name_terms`)."""
        lexical = self._lexical
        if self._words is None or self._words[0] is not lexical:
            self._words = (lexical, by_skeleton(lexical.vocabulary))
        return name_terms(query, self._words[1])

    def passages(self) -> list[Passage]:
        """Every passage a question can be shown, in index order (score 0)."""
        self._maybe_refresh()
        chunks = self._visible([(c, 0.0) for c in self._lexical.chunks])
        return [_passage(c, 0.0) for c, _ in chunks]

    def _query_vector(self, query: str) -> Vector:
        with self._embed_lock:
            vector = self._vectors.get(query)
            if vector is None:
                vector = self.embedder.embed_query(query)
                if self._cache_size:
                    self._vectors[query] = vector
                    if len(self._vectors) > self._cache_size:
                        self._vectors.popitem(last=False)
            else:
                self._vectors.move_to_end(query)
            return vector

    def retrieve(self, query: str, *, top_k: int) -> list[Passage]:
        query = query.strip()
        if not query:
            raise InvalidInputError("the query is empty")
        if top_k < 1:
            raise InvalidInputError("top_k must be at least 1")
        self._maybe_refresh()
        pool = max(_POOL, top_k)
        dense: list[tuple[StoredChunk, float]] = []
        lexical: list[tuple[StoredChunk, float]] = []
        if self.mode in ("hybrid", "dense"):
            dense = self._visible(self.store.dense_query(self._query_vector(query), pool))
        # BM25 on a Russian article only sees numbers and shared names in a Latin-script query;
        # the Russian words it names (`_bridge`) are searched instead, at BRIDGE_WEIGHT
        # BM25 weighs in as far as the text's vocabulary covers the query: fully for a question
        # in the text's words, little for one in another language (it meets only names and
        # numbers) or in words of its own (a paraphrase, whose BM25 hits are chance)
        weight = self.lexical_weight * self._lexical.known_share(query) ** 2
        bridge = self._bridge(query) if weight < BRIDGE_WEIGHT else []
        if self.mode in ("hybrid", "lexical"):
            found = self._lexical.search_stems(bridge, pool) if bridge else []
            weight = BRIDGE_WEIGHT if found else weight
            lexical = self._visible(found or self._lexical.search(query, pool))
        if self.mode == "dense":
            ranked = dense
        elif self.mode == "lexical":
            ranked = lexical
        else:
            ranked = fuse(dense, lexical, lexical_weight=weight)
        return [_passage(c, s) for c, s in ranked[:top_k]]


def _passage(c: StoredChunk, score: float) -> Passage:
    return Passage(c.doc_id, c.chunk_id, c.start, c.end, c.text, round(float(score), 6))
