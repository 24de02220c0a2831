"""Replies kept by prompt, so that judging a check after generation costs no generation.

Decoding is greedy and an answer depends only on its own prompt (`rag.llm`), so a reply
stored under the sha256 of (model, messages, max_tokens) is the reply the model would write
again. `rag eval-all --replies FILE` keeps them in a JSONL file: a run that changes only what
happens after generation re-scores every set in seconds, and only new prompts reach the model.
Timings of a replayed answer measure nothing: `make bench` is where speed is measured.

Does not judge replies; a prompt not in the file goes to the wrapped model, loaded on first use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from rag.types import LLM


class ReplayLLM:
    """An LLM that answers from `path` when it has the prompt, else asks `load()`'s model and
    appends its reply there."""

    def __init__(self, path: Path, load: Callable[[], LLM], *, name: str) -> None:
        self.path = path
        self.name = name
        self._load = load
        self._inner: LLM | None = None
        self.replies: dict[str, str] = {}
        self.hits = 0
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.replies[row["key"]] = row["reply"]

    def key(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        blob = json.dumps([self.name, messages, max_tokens], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        k = self.key(messages, max_tokens)
        if k in self.replies:
            self.hits += 1
            yield self.replies[k]
            return
        if self._inner is None:
            self._inner = self._load()
        pieces: list[str] = []
        for delta in self._inner.stream(messages, max_tokens=max_tokens):
            pieces.append(delta)
            yield delta
        self.replies[k] = "".join(pieces)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"key": k, "reply": self.replies[k]}, ensure_ascii=False) + "\n")

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens))
