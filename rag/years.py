"""How many years lie between two events: answered by subtraction from the sentences dating them.

`years_apart(question, passages, language)` finds, for each event the question names
(`rag.language.years_between`), the passage sentence holding one year and most of the event's
words, and answers with the difference, citing both sentences. The small model cannot do this: it
reads the two best passages, which date one event at most (dev-009: formed in 2004, first summit
in 2025), and does not subtract reliably (asked to guess, it wrote "10 лет"). Russian questions
only: an English one shares no words with a Russian sentence, and meaning alone (the embedders)
would date an event the article never mentions; those go to the model as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from rag.cite import CiteResult, question_share, sentence_spans
from rag.language import looks_like_injection, years_between
from rag.types import Citation, Language, Passage

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
# Share of an event's words that the sentence dating it must hold: "первым в истории очным
# саммитом лидеров" is met by "первый в истории очный саммит лидеров ... 2025 года"; an event the
# article does not date ("основанием ШОС") by no sentence.
EVENT_SHARE = 0.5


class _Dated(NamedTuple):
    """A passage, the span of one of its sentences, and the one year that sentence names."""

    passage: Passage
    start: int
    end: int
    year: int


def _years(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "год"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "года"
    return "лет"


def _dating(event: str, dated: Sequence[_Dated]) -> _Dated | None:
    """The sentence of `dated` holding most of the event's words (EVENT_SHARE at least); None
    when sentences of different years hold as much: "отменённой встречей" is as near "встреча на
    высшем уровне после ... 2004 году" as "отложить встречу" of 2024, and a guess between them
    would be an invented answer."""
    shares = [question_share(event, p.text[a:b]) for p, a, b, _ in dated]
    best = max(shares, default=0.0)
    if (
        best < EVENT_SHARE
        or len({d.year for d, s in zip(dated, shares, strict=True) if s == best}) > 1
    ):
        return None
    return dated[shares.index(best)]


def years_apart(question: str, passages: Sequence[Passage], language: Language) -> CiteResult:
    """The years between the question's two events, "21 год (2004 [1] – 2025 [2]).", both dating
    sentences cited; empty when the question asks no such thing, an event has no one sentence
    dating it (`_dating`), or both are dated to the same year."""
    parts = years_between(question) if language == "ru" else None
    if parts is None:
        return CiteResult(text="", citations=())
    dated: list[_Dated] = []
    for p in passages:
        if looks_like_injection(p.text):
            continue
        for a, b in sentence_spans(p.text):
            years = set(_YEAR.findall(p.text[a:b]))
            if len(years) == 1:
                dated.append(_Dated(p, a, b, int(years.pop())))
    first, second = (_dating(part, dated) for part in parts)
    if first is None or second is None or first.year == second.year:
        return CiteResult(text="", citations=())
    cites = tuple(
        Citation(n, p.doc_id, p.start + a, p.start + b, p.text[a:b])
        for n, (p, a, b, _) in enumerate((first, second), 1)
    )
    n = abs(second.year - first.year)
    return CiteResult(f"{n} {_years(n)} ({first.year} [1] – {second.year} [2]).", cites)
