"""Sentence-aware chunking with exact character offsets.

Each chunk satisfies `document_text[chunk.start:chunk.end] == chunk.text`. Paragraphs (lines) are
the unit: a paragraph that fits `size` is one chunk; a longer one is split between sentences into
pieces of about equal length, never cut right after a question (it stays with the sentences that
answer it, even past `size`); a sentence longer than `size` is split between words. Paragraphs
shorter than `min_size` (a heading, a one-line lead-in) join the next long paragraph's first chunk
(or the last chunk, at the end of a document): the only case where a chunk crosses a paragraph
boundary. Leading/trailing whitespace is never part of a
chunk.

A chunk is indexed (embedded and stemmed) under `index_text`: its text after a `context` line of the
proper names met in the `context_chars` characters before it. News articles name a speaker once
and quote them for paragraphs after ("- ..., – уверен политолог."); without the name, a question
"по словам Папавы" cannot find the quote. Does not embed or store anything.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from index.text import sentence_spans

_SPACE = re.compile(r"\s+")
# Part of every document's version (`index.build.version`): bump it when the cutting rules change,
# so that the next `rag index` re-cuts documents indexed under the old rules.
RULES = 4


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    context: str = ""

    @property
    def index_text(self) -> str:
        return index_text(self.text, self.context)


def index_text(text: str, context: str) -> str:
    """What a chunk is embedded and stemmed as (see the module docstring)."""
    return f"{context}\n{text}" if context else text


def chunk_id_for(doc_id: str, start: int, text: str, context: str = "") -> str:
    """Deterministic: the same text at the same place of the same document, indexed under the
    same context, keeps its id (and so its stored vector)."""
    h = hashlib.sha256(f"{doc_id}\x00{start}\x00{text}\x00{context}".encode()).hexdigest()
    return h[:32]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every non-blank line, stripped."""
    pos = 0
    for line in text.split("\n"):
        s, e = _strip(text, pos, pos + len(line))
        if e > s:
            yield s, e
        pos += len(line) + 1


def sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the sentences of `text[start:end]` (`index.text.sentence_spans`, the one
    splitter the citation check uses too), as offsets into `text`."""
    return [(start + a, start + b) for a, b in sentence_spans(text[start:end])]


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """A sentence longer than `size`, cut between words into near-equal pieces."""
    n = math.ceil((end - start) / size)
    target = (end - start) / n
    pieces: list[tuple[int, int]] = []
    cur = start
    for i in range(1, n):
        cut = int(start + i * target)
        m = _SPACE.search(text, cut, end)
        if m is None:
            break
        pieces.append(_strip(text, cur, m.start()))
        cur = m.end()
    pieces.append(_strip(text, cur, end))
    return [(s, e) for s, e in pieces if e > s]


def is_question(sentence: str) -> bool:
    """The sentence's last mark, closing quotes and brackets aside, is "?"."""
    return sentence.rstrip().rstrip("»\"”')]").endswith("?")


def _pack(text: str, units: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """Group consecutive units into about ceil(total/size) pieces of near-equal length. A question
    never ends a piece ("Чем же этот саммит примечателен ...?" stays with the sentences answering
    it): alone, a question says nothing and, shaped like the user's, outranks the answer."""
    total = units[-1][1] - units[0][0]
    n = max(1, math.ceil(total / size))
    target = total / n
    groups: list[tuple[int, int]] = []
    g_start, g_end = units[0]
    for s, e in units[1:]:
        full = e - g_start > size or (g_end - g_start >= target and len(groups) < n - 1)
        if full and not is_question(text[g_start:g_end]):
            groups.append((g_start, g_end))
            g_start = s
        g_end = e
    groups.append((g_start, g_end))
    return groups


_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
CONTEXT_NAMES = 6  # at most this many names per chunk


def _key(word: str) -> str:
    return word.lower()[:5]  # "Папава" and "Папавы" count as one name


def word_counts(text: str) -> Counter[str]:
    """How often each word (by `_key`) occurs in `text`: what `names_before` calls rare."""
    return Counter(map(_key, _WORD.findall(text)))


def _keys_in(text: str, start: int, end: int) -> set[str]:
    return {_key(w) for w in _WORD.findall(text, start, end)}


def _sentences_between(text: str, origin: int, start: int) -> Iterator[tuple[int, int]]:
    """Sentences of the paragraphs of text[origin:start], as offsets into `text`."""
    for p_start, p_end in paragraphs(text[origin:start]):
        yield from sentences(text, origin + p_start, origin + p_end)


def names_before(
    text: str, start: int, end: int, *, window: int, counts: Counter[str] | None = None
) -> str:
    """Capitalised words that do not open a sentence (names of people, places, bodies) in the
    `window` characters before `start`, less those already in text[start:end]. The rarest in
    the document come first: a person quoted in one section is named a few times, while the
    places the whole text is about are named everywhere and tell the chunks apart no better."""
    if window <= 0:
        return ""
    counts = counts if counts is not None else word_counts(text)
    found: list[str] = []
    for s, e in _sentences_between(text, max(0, start - window), start):
        words = _WORD.findall(text, s, e)
        found.extend(w for w in words[1:] if w[0].isupper() and not w.isupper())
    inside = _keys_in(text, start, end)
    nearest_first = [w for w in dict.fromkeys(reversed(found)) if _key(w) not in inside]
    rarest = sorted(nearest_first, key=lambda w: counts[_key(w)])  # stable: nearest among equals
    return " ".join(rarest[:CONTEXT_NAMES])


def chunk_text(
    doc_id: str, text: str, *, size: int = 360, min_size: int = 120, context_chars: int = 0
) -> list[Chunk]:
    """Chunks of one document in reading order; see the module docstring for the rules."""
    spans: list[tuple[int, int]] = []
    carry: int | None = None  # start of short paragraphs waiting to join the next long one
    for p_start, p_end in paragraphs(text):
        if p_end - p_start < min_size:
            carry = p_start if carry is None else carry
            continue
        units: list[tuple[int, int]] = []
        for s, e in sentences(text, p_start, p_end):
            units.extend(_split_long(text, s, e, size) if e - s > size else [(s, e)])
        groups = _pack(text, units, size)
        if carry is not None:
            # a lead-in ("We asked expert X.") belongs with what it introduces
            groups[0] = (carry, groups[0][1])
            carry = None
        spans.extend(groups)
    if carry is not None:  # short paragraphs at the very end join the last chunk
        last_end = max(e for _, e in paragraphs(text))
        if spans:
            spans[-1] = (spans[-1][0], last_end)
        else:
            spans.append((carry, last_end))
    counts = word_counts(text) if context_chars > 0 else None
    out = []
    for s, e in spans:
        if e > s:
            ctx = names_before(text, s, e, window=context_chars, counts=counts)
            out.append(Chunk(doc_id, chunk_id_for(doc_id, s, text[s:e], ctx), s, e, text[s:e], ctx))
    return out
