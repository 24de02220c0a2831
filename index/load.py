"""Read a corpus folder into Documents with stable ids and the exact text offsets point into.

Reads `.txt`, `.md` and `.html`/`.htm` files (HTML is reduced to its visible text, one block per
line). A document's id is its path relative to the corpus folder, with `/` separators. Empty, binary
and non-UTF-8 files are skipped with a reason naming them; they never stop the rest from loading.
Does not chunk, embed or store anything.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

SUFFIXES = (".txt", ".md", ".html", ".htm")


@dataclass(frozen=True)
class Document:
    doc_id: str
    text: str

    @cached_property
    def sha256(self) -> str:  # asked for several times per build: hashed once
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


class _TextExtractor(HTMLParser):
    """Collects visible text; block-level tags end a line so paragraphs stay paragraphs."""

    _BLOCK: ClassVar[frozenset[str]] = frozenset(
        (
            "p",
            "div",
            "br",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "td",
            "th",
            "pre",
            "section",
            "article",
            "blockquote",
            "title",
            "header",
            "footer",
        )
    )
    _HIDDEN: ClassVar[frozenset[str]] = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block per line, runs of spaces collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (
        re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip()
        for line in "".join(parser.parts).split("\n")
    )
    return "\n".join(line for line in lines if line)


def read_document(path: Path, doc_id: str) -> Document:
    """One file as a Document; raises ValueError with a human reason when it cannot be used."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError("empty file")
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if path.suffix.lower() in (".html", ".htm"):
        text = html_to_text(text)
    if not text.strip():
        raise ValueError("no text")
    return Document(doc_id=doc_id, text=text)


def load_corpus(corpus_dir: Path) -> LoadResult:
    """Every usable document under `corpus_dir`, sorted by id; files of other types are ignored."""
    result = LoadResult()
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(corpus_dir)
        if path.suffix.lower() not in SUFFIXES or any(p.startswith(".") for p in rel.parts):
            continue
        doc_id = rel.as_posix()
        try:
            result.documents.append(read_document(path, doc_id))
        except (ValueError, OSError) as exc:
            result.skipped.append((doc_id, str(exc)))
    return result
