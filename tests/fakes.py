"""Small real classes that stand in at the boundaries (no mocks): an embedder that still ranks by
word overlap, a scripted LLM that records what it was asked, and passages cut from lines."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

import numpy as np

from rag.types import Passage

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Deterministic bag-of-stems embedder: texts sharing words get similar vectors, so ranking
    tests mean something (llama-index's MockEmbedding gives every text the same vector)."""

    name = "fake-bow-256"
    dim = 256

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in _WORD.findall(text.lower().replace("ё", "е")):
            h = int.from_bytes(hashlib.blake2b(w[:5].encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        if n == 0:
            v[0] = 1.0
            n = 1.0
        return v / n

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vec(t) for t in texts])


class GlossEmbedder(FakeEmbedder):
    """The bag-of-stems fake, made cross-lingual by a small English -> Russian glossary: what a
    multilingual embedder does for a real English claim and a Russian sentence."""

    GLOSS: ClassVar[dict[str, str]] = {
        "organized": "проводит",
        "government": "правительство",
        "breakthrough": "прорыв",
        "revolutionary": "революционный",
        "step": "шаг",
        "demand": "требует",
        "loyalty": "лояльности",
        "choose": "выбор",
        "east": "востоком",
        "west": "западом",
    }

    def _vec(self, text: str) -> np.ndarray:
        words = re.findall(r"\w+", text.lower())
        return super()._vec(" ".join(self.GLOSS.get(w, w) for w in words))


Reply = str | Callable[[list[dict[str, str]]], str]


class FakeLLM:
    """Scripted chat model: replies in order (the last one repeats), or a function of the messages.
    Every call's messages are kept in `.calls` so tests can read the prompt."""

    name = "fake-llm"

    def __init__(self, replies: Sequence[Reply] | Reply = "") -> None:
        self.replies: list[Reply] = (
            [replies] if isinstance(replies, str) or callable(replies) else list(replies)
        )
        self.calls: list[list[dict[str, str]]] = []

    def _next(self, messages: list[dict[str, str]]) -> str:
        self.calls.append(messages)
        reply = (
            self.replies[min(len(self.calls) - 1, len(self.replies) - 1)] if self.replies else ""
        )
        return reply(messages) if callable(reply) else reply

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int = 200) -> str:
        return self._next(messages)

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int = 200) -> Iterator[str]:
        text = self._next(messages)
        yield from re.findall(r"\S+\s*|\s+", text)


class PrefillLLM(FakeLLM):
    """A FakeLLM with LocalLLM's warm-up: `prefill(messages)` records them, True when new."""

    def __init__(self, replies: Sequence[Reply] | Reply = "", *, delay: float = 0.0) -> None:
        super().__init__(replies)
        self.prefilled: list[list[dict[str, str]]] = []
        self.delay = delay

    def prefill(
        self, messages: list[dict[str, str]], *, cancelled: Callable[[], bool] | None = None
    ) -> bool:
        time.sleep(self.delay)
        new = messages not in self.prefilled
        self.prefilled.append(messages)
        return new


def line_passages(doc: str, doc_id: str = "a.txt") -> list[Passage]:
    """One passage per line of `doc`, with exact offsets, best first."""
    out, pos = [], 0
    for i, line in enumerate(doc.split("\n")):
        out.append(Passage(doc_id, f"c{i}", pos, pos + len(line), line, 1.0 - i / 10))
        pos += len(line) + 1
    return out
