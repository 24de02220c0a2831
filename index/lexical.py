"""Lexical side of the index: BM25 (bm25s) over Russian and English Snowball stems.

Each token is stemmed by its script: Cyrillic words with the Russian stemmer, Latin words with the
English one; numbers stay as they are (they matter: "19−20 декабря", "2004"). `ё` folds to `е`.
The index is derived data: built from the chunks in Chroma and cached on disk beside the store,
keyed by the store's build generation, so it is always in step with what Chroma holds (a stale or
half-written cache is simply rebuilt). Does not fuse or filter; `rag.retrieve` does.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from index.store import StoredChunk
from index.text import STOPWORDS, fold

_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")

# Bumped whenever `tokenize` changes, so that a cached index built by the old one is rebuilt.
TOKENIZER_VERSION = 3


@lru_cache(maxsize=2)
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(lang)


def tokenize(text: str) -> list[str]:
    """Stems of the content words of `text`, in order."""
    out: list[str] = []
    for tok in _TOKEN.findall(fold(text)):
        if tok in STOPWORDS:
            continue
        if tok[0].isdigit():
            out.append(tok.replace(",", "."))
        elif _CYRILLIC.search(tok):
            out.append(_stemmer("russian").stemWord(tok))
        else:
            out.append(_stemmer("english").stemWord(tok))
    return out


@dataclass
class LexicalIndex:
    """BM25 over a fixed list of chunks; `search` returns (chunk, score) best first."""

    chunks: list[StoredChunk]
    _bm25: bm25s.BM25 | None
    generation: int = -1
    tokenizer: int = TOKENIZER_VERSION

    @classmethod
    def build(cls, chunks: list[StoredChunk], *, generation: int = -1) -> LexicalIndex:
        corpus = [tokenize(c.index_text) or ["\x00empty"] for c in chunks]
        if not corpus:
            return cls([], None, generation)
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        return cls(chunks, bm25, generation)

    @property
    def vocabulary(self) -> list[str]:
        """The stems the index holds."""
        return [t for t in self._bm25.vocab_dict if t] if self._bm25 is not None else []

    def known_share(self, query: str) -> float:
        """Share of the query's stems that the index holds: about 1 for a question in the
        text's language and words, low for one in another language (only its names and numbers
        meet the text) or in words the text does not use."""
        stems = tokenize(query)
        if not stems or self._bm25 is None:
            return 0.0
        return sum(t in self._bm25.vocab_dict for t in stems) / len(stems)

    def search(self, query: str, n: int) -> list[tuple[StoredChunk, float]]:
        return self.search_stems(tokenize(query), n)

    def search_stems(self, stems: list[str], n: int) -> list[tuple[StoredChunk, float]]:
        """`search` for stems made already (`tokenize`'s, or the index's own `vocabulary`)."""
        tokens = [t for t in stems if self._bm25 is not None and t in self._bm25.vocab_dict]
        if not tokens or self._bm25 is None or n <= 0:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens))
        n = min(n, len(self.chunks))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    # --- the on-disk cache --------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Atomic: a reader sees the old file or the new one, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    @staticmethod
    def load(path: Path, generation: int) -> LexicalIndex | None:
        """The cached index if it was built for `generation`, else None (rebuild it)."""
        try:
            with path.open("rb") as f:
                obj = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        if (
            isinstance(obj, LexicalIndex)
            and obj.generation == generation
            # an index pickled before the field existed finds the class default in getattr
            and vars(obj).get("tokenizer") == TOKENIZER_VERSION
        ):
            return obj
        return None
