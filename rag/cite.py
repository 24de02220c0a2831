"""Turn an LLM's `[n]` markers into checked citations of exact, short spans.

`cite(raw, passages, question=...)` splits the answer into sentences, parses each sentence's markers
(`[1]`, `[1][2]`, `[1, 2]`, `[1-2]`), and for every marked passage finds the shortest run of its
sentences that supports the claim. A claim is supported when its numbers occur in the passages (or
are a difference of two that do: "21 years" from 2004 and 2025) and enough of its new content words
(those not already in the question) occur in the span, compared by 5-letter prefixes with ё folded.
English claims about a Russian text are compared through a transliterated skeleton, which catches
names, numbers and loan words only, so for them a marker is trusted unless numbers contradict it;
given the multilingual embedder (`encoder`), the sentence nearest the question and claim is quoted
instead, and a marker moves to a passage whose nearest sentence is clearly nearer.

Repairs: a marker pointing at an unsupporting passage moves to the passage that supports the claim
best; markers pointing at no passage are dropped; a sentence with no supporting passage is dropped.
Among passages that support a claim, the one that also holds the question's words is cited ("Это
сказал Шамсуддинов" is supported wherever he is named, sourced where he says it); when the name and
the quoted words are sentences apart, both sentences are cited. `premise_correction` and
`extractive` quote the passage sentence closest to the question, for the pipeline's refusals and
fallbacks. A sentence that only restates the question is supported by nothing (`restates`);
`truncated_copy` tells the pipeline when a sentence is a shortened copy of its source.
Citations are renumbered 1..n in order of appearance; `quote == document_text[start:end]` holds
by construction (passages carry exact offsets). Does not decide refusals (the pipeline does).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from index.chunk import full_names, is_question
from rag.language import (
    asks_for_person,
    contradicts_premise,
    detect_language,
    fold,
    looks_like_injection,
    negates,
    person_kind,
    skeleton,
    without_person_words,
)
from rag.types import Citation, Language, Passage

if TYPE_CHECKING:
    from index.embed import Embedder

MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*(?:,|;|-|–|\]\s*\[)\s*\d{1,3})*)\s*\]")
_WORD = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+(?:-[^\W\d_]+)*")
_LATIN = re.compile(r"[a-z]{3,}")
_SENT_END = re.compile(r"[.!?…]+[»\"”')]*(?=\s|$)")
_ABBREV = {"г", "гг", "т", "е", "др", "пр", "см", "им", "ул", "млн", "млрд", "тыс", "руб", "долл"}
_ABBREV |= {"mr", "mrs", "dr", "vs", "etc", "e.g", "i.e", "st", "no"}
SUPPORT_MIN = 0.5  # share of a claim's new content words that the span must contain
TOPICAL_GAP = 0.2  # a passage must hold this much more of the question to be preferred
# A claim whose span shares no word with the question, words asking for a person aside ("Арсен
# Сарсеков", supported where he is introduced), also cites its passage's sentence sharing most of
# the question, when that holds at least this share of it: where the asked-about words are said.
# Measured on dev: 0.5 left "which two experts" citing only the two introductions; 0.2 adds both
# quotes and changes nothing else.
TOPICAL_MIN = 0.2
# An English claim's marker moves to another passage only when that one holds this much of the
# claim (a name, a number counting 2): a single 4-letter skeleton match is as often chance.
EN_MOVE_HITS = 2
# ... or, with a sentence encoder, when that passage's closest sentence is this much closer (cosine)
# to the question and claim than the marked passage's, and holds as much of the claim's names.
NEAR_MARGIN = 0.02
PREMISE_SHARE = 0.3  # a sentence negating the question's premise must share this much of it
EXTRACT_SHARE = 0.5  # an extractive answer's sentence must share this much of the question...
CITED_SHARE = 0.3  # ... or this much, in a passage the model cited (see `extractive`)
ECHO_SHARE = 0.5  # see `_Checker.restates`
COPY_MIN = 5  # see `truncated_copy`
COPY_SHARE = 0.8
COPY_DROPPED = 4

_STOP = set(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее
    мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был
    него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней
    для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того
    потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем
    всех никогда можно при наконец два об другой хоть после над больше тот через эти нас про всего
    них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя
    такой им более всегда конечно всю между это также which статье статья статьи согласно автор
    говорится сказано указано отмечается словам мнению является являются именно
    the a an of to in on at by for with from and or but is are was were be been being as that
    this these those it its into about than then so such not no yes he she they them their his her
    article according says said states also which who whom what when where why how does did do
    has have had will would can could should may might there here mentions mentioned""".split()
)


@dataclass(frozen=True)
class Claim:
    """One answer sentence: its text without markers, and the passage numbers it cited (1-based)."""

    text: str
    markers: tuple[int, ...]


@dataclass(frozen=True)
class CiteResult:
    text: str
    citations: tuple[Citation, ...]
    dropped: tuple[str, ...] = ()
    repaired: int = 0
    sentences: int = 0
    support: tuple[float, ...] = field(default=())


def parse_marker_group(body: str) -> list[int]:
    """'1' -> [1]; '1, 2' -> [1, 2]; '1-3' -> [1, 2, 3]; '1][2' -> [1, 2]."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|\]\s*\[)\s*", body):
        a, _, b = re.sub(r"\s", "", part).replace("–", "-").partition("-")
        lo, hi = int(a), int(b or a)
        out.extend(range(lo, hi + 1) if 0 < hi - lo < 10 else [lo])
    return out


def parse_markers(text: str) -> list[int]:
    """Every cited number in order of appearance (repeats kept)."""
    return [n for m in MARKER.finditer(text) for n in parse_marker_group(m.group(1))]


def strip_markers(text: str) -> str:
    text = MARKER.sub("", text)
    return re.sub(r"\s+([.,;:!?…])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed; splits at newlines and at . ! ? …
    followed by a space, except after initials ("В. Папава") and common abbreviations."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for m in _SENT_END.finditer(text, line.start(), line.end()):
            word = re.search(r"([\w.]+)$", text[start : m.start()])
            w = word.group(1).lower() if word else ""
            if m.group(0).startswith(".") and ((len(w) == 1 and w.isalpha()) or w in _ABBREV):
                continue
            spans.append((start, m.end()))
            start = m.end()
        spans.append((start, line.end()))
    out = []
    for a, b in spans:
        seg = text[a:b]
        if seg.strip():
            a += len(seg) - len(seg.lstrip())
            b -= len(seg) - len(seg.rstrip())
            out.append((a, b))
    return out


def statements(text: str) -> list[tuple[int, int]]:
    """`sentence_spans` less the questions: a rhetorical question in the source ("Чем же этот
    саммит примечателен ...?") shares the user's words but asserts nothing, so it supports no
    claim and is quoted as no answer."""
    return [(a, b) for a, b in sentence_spans(text) if not is_question(text[a:b])]


def split_claims(answer: str) -> list[Claim]:
    """Answer sentences with their markers; markers opening a sentence ("Text. [1] Next.") belong
    to the sentence before."""
    pieces = [answer[a:b] for a, b in sentence_spans(answer)]
    texts: list[str] = []
    marks: list[list[int]] = []
    for piece in pieces:
        lead = re.match(rf"^(\s*{MARKER.pattern})+", piece)
        if lead and marks:
            marks[-1].extend(parse_markers(lead.group(0)))
            piece = piece[lead.end() :]
        text = strip_markers(piece)
        if not re.search(r"\w", text):
            if marks:
                marks[-1].extend(parse_markers(piece))
            continue
        texts.append(text)
        marks.append(parse_markers(piece))
    return [Claim(t, tuple(dict.fromkeys(m))) for t, m in zip(texts, marks, strict=True)]


# --- support -------------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _numbers(text: str) -> set[str]:
    return {w.replace(",", ".") for w in _words(text) if w[0].isdigit()}


def _stems(text: str) -> set[str]:
    return {w[:5] for w in _words(text) if not w[0].isdigit() and len(w) > 2 and w not in _STOP}


# Question words ("каким", "сколько", "почему") never appear in the sentence that answers them.
_INTERROGATIVE = re.compile(r"^(?:как(?:ой|ая|ое|ие|ого|ому|им|их|ую|ов)|сколь|почем|зачем)")
ASKED_MIN = 5  # see `asked_words`


def asked_words(question: str) -> set[str]:
    """The question's content words, less its question words when ASKED_MIN others remain: a
    long question is met by its own words, while in a short one ("Сколько денег обещала
    Япония?") a sentence sharing one name must not count for a third of it."""
    stems = _stems(question)
    rest = {s for s in stems if not _INTERROGATIVE.match(s)}
    return rest if len(rest) >= ASKED_MIN else stems


def _prefixes(text: str) -> set[str]:
    """Every 3-5 letter prefix of the words of `text`: a short claim word ("год") matches a longer
    form ("году"), as the 5-letter stems of long words do."""
    return {w[:k] for w in _words(text) if not w[0].isdigit() for k in (3, 4, 5)}


def _skeletons(text: str) -> set[str]:
    return {skeleton(w)[:4] for w in _words(text) if not w[0].isdigit() and len(w) > 3}


def _relevance(asked: set[str], span: str) -> float:
    """Share of the question's content words (`asked`) found in `span` (0 across languages)."""
    return len(asked & _prefixes(span)) / len(asked) if asked else 0.0


def _derived(numbers: frozenset[str]) -> set[str]:
    ints = [int(n) for n in numbers if n.isdigit() and len(n) < 6]
    return {str(abs(a - b)) for a in ints for b in ints if a != b}


@dataclass(frozen=True)
class _Checker:
    question: str
    language: Language
    known_numbers: frozenset[str]
    literal_numbers: frozenset[str]
    latin_words: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()  # `name_key`s of the names the passages hold

    def unnamed(self, claim: str, sources: str) -> bool:
        """A Russian claim names somebody or something the passages name (a capitalised word,
        its first too: "Казахстан, Япония, Китай") that neither its `sources` (the passages it
        cites) nor the question do: "Китай" is no part of a passage about Kazakhstan and
        Japan, however much else of the claim it holds."""
        if self.language != "ru":
            return False
        claimed = {name_key(w) for w in _CAPITALISED_WORD.findall(claim)} & self.names
        held = {name_key(w) for w in _LETTERS.findall(f"{sources} {self.question}")}
        return bool(claimed - held)

    def numbers_ok(self, claim: str) -> bool:
        return _numbers(claim) <= self.known_numbers

    def slips_language(self, claim: str) -> bool:
        """A Russian claim with a Latin-script word that neither the passages nor the question
        hold ("В December 2025 года", "Turkmenistan"): the model lost the language mid-answer,
        and the word is its own, not the source's."""
        if self.language != "ru":
            return False
        return bool(set(_LATIN.findall(fold(claim))) - self.latin_words)

    @cached_property
    def asked(self) -> set[str]:
        return asked_words(self.question)

    def _first_names_of_asked(self, claim: str) -> list[str]:
        """First names the claim gives to people the question names by surname (a short one
        too: "Асо")."""
        asked = {name_key(w) for w in _SHORT_NAME.findall(self.question)}
        return [first for first, surname in full_names(f" {claim}") if name_key(surname) in asked]

    def restates(self, claim: str) -> bool:
        """The claim adds no content word or number to the question ("Эксперты подчёркивают, что
        японский подход деполитизирован" for "Какие эксперты подчёркивают, что ..."): it answers
        nothing, whatever it cites. In English it must also repeat ECHO_SHARE of the question: a
        short claim made of question words may pick one of the options the question names
        ("Japan" for "which side called it off"), and an English answer has no extractive
        fallback to take its place (a Russian one does); not so when the question asks who.
        A claim negating the question's premise corrects it. A claim with no content word or
        number at all ("Yes", "It is") restates
        whatever was asked: "Yes [1]" to "Was the summit held in Astana?" cited a sentence that
        merely names Astana."""
        said = _stems(claim)
        if not said and not _numbers(claim):
            return True
        # "Мухаммаду Шамсуддинов" for "Кто, по словам Шамсуддинова, ...?", "Таро Асо считает
        # ..." for "Почему Асо считает ...?": the first name adds nothing when the question
        # names the person already
        said -= {s for first in self._first_names_of_asked(claim) for s in _stems(first)}
        # A person named only by the question's words is no answer to "who": "Kyrgyzstan [1]"
        # for "Who represented Kyrgyzstan?" picks no option, whatever share it repeats.
        picks = self.language == "en" and not asks_for_person(self.question)
        share = ECHO_SHARE if picks else 0.0
        new = said - self.asked
        if self.language == "en":
            # English inflects inside the first five letters: "calls" repeats "call"
            heads = {a[:4] for a in self.asked}
            new = {s for s in new if s[:4] not in heads}
        return (
            not new
            and len(said) >= share * len(self.asked)
            and _numbers(claim) <= _numbers(self.question)
            and not contradicts_premise(claim, self.question)
        )

    def relevance(self, span: str) -> float:
        return _relevance(self.asked, span)

    @cached_property
    def topic(self) -> set[str]:
        return _stems(without_person_words(self.question))

    def off_topic(self, span: str, topical: float = 1.0) -> bool:
        """The span shares no word with the question, words asking for a person aside: an
        introduction ("... эксперт Василий Папава") shares "эксперт" with "Какой эксперт назвал
        ...?" and still says nothing of what was asked. For a question asking who, it is also
        off topic when a sentence holding `topical` of the question holds TOPICAL_GAP more of it
        than the span: "Личный прогноз саммита изложил ... Ованнисян" shares "саммит" with "Кто
        видит в саммите шанс ... разнообразить внешнеэкономические связи?", which he answers
        paragraphs later."""
        own = _relevance(self.topic, span)
        if own == 0:
            return True
        return asks_for_person(self.question) and own + TOPICAL_GAP <= topical

    def score(self, claim: str, span: str) -> float:
        """Share of the claim's new content found in `span`; numbers found there count double."""
        hits, total = self.tally(claim, span)
        return hits / total if total else 0.0

    def tally(self, claim: str, span: str) -> tuple[int, int]:
        """(content found in `span`, content of the claim), as `score` weighs them."""
        if self.language == "en" and detect_language(span) == "ru":
            want, have = _skeletons(claim) - _skeletons(self.question), _skeletons(span)
            want = want or _skeletons(claim)
        else:
            want, have = _stems(claim) - self.asked, _prefixes(span)
            want = want or _stems(claim)  # a corrected premise may reuse only question words
        # A derived number (a difference) is in no span: it is checked by numbers_ok only.
        nums = _numbers(claim) & self.literal_numbers
        hits = len(want & have) + 2 * len(nums & _numbers(span))
        return hits, len(want) + 2 * len(nums)


Span = tuple[float, int, int]  # (support, start, end): see best_span


def best_span(checker: _Checker, claim: str, passage: Passage, near: Sequence[float] = ()) -> Span:
    """(support, start, end) of the window of 1-2 passage sentences that best supports
    the claim; offsets are into `passage.text`. A second sentence is taken only when it adds
    support; among equally supporting windows the one sharing more words with the question wins
    ("Это сказал Шамсуддинов": the sentence with the name *and* the quoted words, not any sentence
    with the name), then the shorter. `near[i]`, when given, is how close sentence i is to the
    question and claim in a multilingual embedding, and stands in for shared words (none across
    languages); it also picks a sentence when no word of the claim matches. With nothing to go
    on it returns the whole passage."""
    spans = statements(passage.text)
    best: tuple[tuple[float, int, float, int], Span] | None = None
    for i in range(len(spans)):
        for j in (i, i + 1):
            if j >= len(spans) or passage.text[spans[i][1] : spans[j][0]].strip():
                continue  # no window runs across a question left out of `spans`
            a, b = spans[i][0], spans[j][1]
            s = checker.score(claim, passage.text[a:b])
            r = max(near[i], near[j]) if near else checker.relevance(passage.text[a:b])
            key = (round(s, 6), i - j, round(r, 6), a - b)
            if best is None or key > best[0]:
                best = (key, (s, a, b))
    if best is None or (best[1][0] <= 0 and not near):
        return 0.0, 0, len(passage.text)
    return best[1]


def _topical(checker: _Checker, passage: Passage) -> tuple[float, int, int]:
    """(relevance, start, end) of the passage sentence sharing most words with the question,
    the words asking for a person aside (`without_person_words`): "Какой казахстанский политолог
    считает подход деполитизированным?" is asked where the approach is discussed, not where he
    is introduced as "казахстанский политолог"."""
    best = (0.0, 0, 0)
    for a, b in statements(passage.text):
        r = _relevance(checker.topic, passage.text[a:b])
        if r > best[0] + 1e-9:
            best = (r, a, b)
    return best


def _choose(
    checker: _Checker,
    claim: Claim,
    passages: Sequence[Passage],
    topical: Sequence[tuple[float, int, int]],
    near: Sequence[Sequence[float]] = (),
) -> tuple[list[int], dict[int, Span], bool]:
    """(passage numbers that support the claim, every candidate's best span, whether repaired);
    `topical[i]` is `_topical` of passages[i]; `near[i]`, when given, as `best_span` takes it
    for passages[i]."""
    cands = {
        i + 1: best_span(checker, claim.text, p, near[i] if near else ())
        for i, p in enumerate(passages)
        if not looks_like_injection(p.text)  # a planted instruction supports nothing
    }
    if (
        not checker.numbers_ok(claim.text)
        or checker.restates(claim.text)
        or checker.slips_language(claim.text)
    ):
        return [], cands, False
    valid = [n for n in claim.markers if n in cands]
    best = max((c[0] for c in cands.values()), default=0.0)
    if checker.language == "en":
        # Across languages only names, numbers and loan words match: trust the marker unless
        # another passage matches clearly better.
        keep = [n for n in valid if cands[n][0] >= best / 2]
        if near and keep:
            # "The summit was organized by the Japanese government [1]", where [1] and [2] both
            # say "саммит" but only [2] says who holds it: the embedding tells them apart
            closest = {n: max(near[n - 1], default=0.0) for n in cands}
            alt = max(cands, key=lambda n: (closest[n], cands[n][0]))
            mine = max(keep, key=lambda n: closest[n])
            if (
                alt not in keep
                and cands[alt][0] >= cands[mine][0]
                and closest[alt] >= closest[mine] + NEAR_MARGIN
            ):
                return [alt], cands, True
        if valid and not keep:
            n = max(cands, key=lambda n: cands[n][0])
            _, a, b = cands[n]
            if checker.tally(claim.text, passages[n - 1].text[a:b])[0] < EN_MOVE_HITS:
                keep = valid  # one chance hit ("deli" of "delineation" in "делиться") is no case
        if keep:
            return keep, cands, False
        if best == 0 and 1 in cands:
            return [1], cands, True  # nothing to compare: the retriever's best passage
        floor = 1e-9
    else:
        keep = [n for n in valid if cands[n][0] >= SUPPORT_MIN]
        if keep:
            # Of the passages that support the claim, the one that also holds the question's
            # words is the source: "Это сказал Шамсуддинов" is supported wherever he is named,
            # but sourced where he says it.
            on_topic = {n: topical[n - 1][0] for n in cands if cands[n][0] >= SUPPORT_MIN}
            mine = max(keep, key=lambda n: on_topic[n])
            alt = max(on_topic, key=lambda n: on_topic[n])
            if on_topic[alt] > on_topic[mine] + TOPICAL_GAP:
                return [alt], cands, True
            return keep, cands, False
        floor = SUPPORT_MIN
    top = [n for n in sorted(cands, key=lambda n: -cands[n][0]) if cands[n][0] >= floor]
    return top[:1], cands, bool(top)


def _nearness(
    encoder: Embedder, question: str, claims: Sequence[Claim], passages: Sequence[Passage]
) -> list[list[list[float]]]:
    """[claim][passage][sentence]: cosine of (question + claim) with each passage sentence."""
    sentences = [[p.text[a:b] for a, b in statements(p.text)] for p in passages]
    flat = [s for ss in sentences for s in ss]
    if not flat or not claims:
        return [[] for _ in claims]
    vectors = encoder.embed_passages(flat)
    out = []
    for claim in claims:
        sims = (vectors @ encoder.embed_query(f"{question} {claim.text}")).tolist()
        per_passage, k = [], 0
        for ss in sentences:
            per_passage.append(sims[k : k + len(ss)])
            k += len(ss)
        out.append(per_passage)
    return out


def _nearest_elsewhere(passage: Passage, near: Sequence[float], a: int, b: int) -> tuple[int, int]:
    """The passage sentence nearest the question and claim, when it lies outside text[a:b] and
    is NEAR_MARGIN nearer than the sentences inside; else (0, 0)."""
    spans = statements(passage.text)
    inside = [v for (sa, sb), v in zip(spans, near, strict=False) if a <= sa and sb <= b]
    k = max(range(len(near)), key=lambda i: near[i], default=None)
    if k is None or not inside or near[k] < max(inside) + NEAR_MARGIN:
        return 0, 0
    ta, tb = spans[k]
    return (ta, tb) if tb <= a or ta >= b else (0, 0)


def cite(
    raw: str,
    passages: Sequence[Passage],
    *,
    question: str,
    language: Language | None = None,
    encoder: Embedder | None = None,
) -> CiteResult:
    """Check and repair every cited sentence of `raw` against `passages` (numbered from 1).
    `encoder` (a multilingual sentence embedder), when given, helps English claims find their
    sentence in a Russian passage, where words cannot be compared (see `best_span`)."""
    lang = language or detect_language(question)
    known = frozenset(n for p in passages for n in _numbers(p.text))
    latin = frozenset(
        w for t in [question, *(p.text for p in passages)] for w in _LATIN.findall(fold(t))
    )
    names = frozenset(name_key(w) for p in passages for w in later_names(p.text))
    checker = _Checker(question, lang, known | _derived(known), known, latin, names)
    keys: dict[tuple[str, int, int], Citation] = {}
    out: list[str] = []
    dropped: list[str] = []
    support: list[float] = []
    repaired = 0
    claims = split_claims(raw)
    topical = [_topical(checker, p) for p in passages]  # per passage, not per claim
    across = lang == "en" and any(detect_language(p.text) == "ru" for p in passages)
    near = (
        _nearness(encoder, question, claims, passages)
        if encoder is not None and across
        else [[] for _ in claims]
    )
    for claim, claim_near in zip(claims, near, strict=True):
        chosen, scored, fixed = _choose(checker, claim, passages, topical, claim_near)
        if checker.unnamed(claim.text, " ".join(passages[n - 1].text for n in chosen)):
            chosen = []
        if not chosen:
            dropped.append(claim.text)
            continue
        repaired += fixed
        ns: list[int] = []
        for n in chosen:
            p = passages[n - 1]
            _, a, b = scored[n]
            spans = [(a, b)]
            if lang == "ru":
                # the claim's support says nothing of what was asked (a name in one sentence, the
                # quoted words three sentences on): cite the question's sentence too
                r, ta, tb = topical[n - 1]
                if r >= TOPICAL_MIN and checker.off_topic(p.text[a:b], r) and (tb <= a or ta >= b):
                    # ... or that sentence alone, when it names whom the claim names ("Как
                    # указывает Ованнисян, ..."): the introduction adds nothing the answer needs
                    named = _named_in(claim.text, p.text[ta:tb])
                    spans = [(ta, tb)] if named else [*spans, (ta, tb)]
            elif claim_near and asks_for_person(question):
                # the same across languages, where only the embedding can say which sentence
                # holds what was asked: "Papava [1][2]", his name and where he says it
                ta, tb = _nearest_elsewhere(p, claim_near[n - 1], a, b)
                if tb > ta:
                    spans.append((ta, tb))
            for sa, sb in spans:
                key = (p.doc_id, p.start + sa, p.start + sb)
                if key not in keys:
                    keys[key] = Citation(len(keys) + 1, p.doc_id, key[1], key[2], p.text[sa:sb])
                if keys[key].n not in ns:
                    ns.append(keys[key].n)
        support.append(max(scored[n][0] for n in chosen))
        body = claim.text.rstrip()
        end = re.search(r"[.!?…]+$", body)
        tail = end.group(0) if end else "."
        body = body[: end.start()] if end else body
        out.append(f"{body} " + "".join(f"[{n}]" for n in ns) + tail)
    return CiteResult(
        text=" ".join(out),
        citations=tuple(keys.values()),
        dropped=tuple(dropped),
        repaired=repaired,
        sentences=len(claims),
        support=tuple(support),
    )


def _best_sentence(
    question: str, passages: Sequence[Passage], keep: Callable[[str], bool], min_share: float
) -> CiteResult:
    """The passage sentence sharing most of the question's content words among those `keep`
    accepts, quoted with its citation, when it shares at least `min_share` of them; else empty."""
    asked = asked_words(question)
    best: tuple[float, Passage | None, int, int] = (0.0, None, 0, 0)
    for p in passages:
        if looks_like_injection(p.text):
            continue
        for a, b in statements(p.text):
            share = _relevance(asked, p.text[a:b])
            if share > best[0] and keep(p.text[a:b]):
                best = (share, p, a, b)
    share, found, a, b = best
    if found is None or share < min_share:
        return CiteResult(text="", citations=())
    return _sentence_answer(found, a, b, share)


def _sentence_answer(passage: Passage, a: int, b: int, support: float) -> CiteResult:
    """passage.text[a:b] as a one-sentence answer citing itself."""
    quote = passage.text[a:b]
    cit = Citation(1, passage.doc_id, passage.start + a, passage.start + b, quote)
    return CiteResult(
        text=f"{quote.rstrip('.!?… ')} [1].", citations=(cit,), sentences=1, support=(support,)
    )


# A second question joined to the first: "... о чём оно просило и какие документы ...?", not
# one a verb asks ("Какой политолог объяснил, почему встречу перенесли?")
_SECOND_PART = re.compile(
    r"\sи\s+(?:о\s+ч[её]м|как(?:ой|ая|ое|ие|их|им|ую|ого)|кто|когда|где|сколько|почему|зачем)\b",
    re.I,
)
PART_GAIN = 2  # see `other_part`


def other_part(question: str, answer: CiteResult, passages: Sequence[Passage]) -> CiteResult:
    """For a question of two parts or more: the shown sentence, cited nowhere in the answer,
    that holds the most question words (PART_GAIN at least) that neither the answer nor its
    quotes hold, quoted with its citation; else empty. The small model answers the first part
    ("АлашОрды [1]") of "Какое правительство обращалось к Токио, о чём оно просило и какие
    документы стоило бы передать Казахстану?", whose last part is the next sentence."""
    if not _SECOND_PART.search(question):
        return CiteResult(text="", citations=())
    said = f"{answer.text} {' '.join(c.quote for c in answer.citations)}"
    wanted = asked_words(question) - _prefixes(said)
    cited = [(c.doc_id, c.start, c.end) for c in answer.citations]
    best: tuple[int, Passage | None, int, int] = (PART_GAIN - 1, None, 0, 0)
    for p in passages:
        if looks_like_injection(p.text):
            continue
        for a, b in statements(p.text):
            start, end = p.start + a, p.start + b
            if any(d == p.doc_id and s < end and start < e for d, s, e in cited):
                continue
            gain = len(wanted & _prefixes(p.text[a:b]))
            if gain > best[0]:
                best = (gain, p, a, b)
    gain, found, a, b = best
    return (
        CiteResult(text="", citations=()) if found is None else _sentence_answer(found, a, b, gain)
    )


def extractive(
    question: str,
    passages: Sequence[Passage],
    *,
    cited: Sequence[int] = (),
    min_share: float = EXTRACT_SHARE,
    cited_share: float = CITED_SHARE,
) -> CiteResult:
    """The passage sentence closest to the question (see `_best_sentence`). In a passage the
    model cited (`cited`: 1-based numbers) a sentence needs only `cited_share` of the question's
    words: the marker is evidence of its own that the answer is there, even when the sentence
    the model wrote around it was dropped."""
    found = [
        _best_sentence(question, [passages[n - 1]], lambda _: True, cited_share)
        for n in dict.fromkeys(cited)
        if 0 < n <= len(passages)
    ]
    found.append(_best_sentence(question, passages, lambda _: True, min_share))
    return max(found, key=lambda r: r.support[0] if r.support else -1.0)


def question_share(question: str, text: str) -> float:
    """Share of the question's content words (`asked_words`) that `text` holds."""
    return _relevance(asked_words(question), text)


def truncated_copy(claim: str, quote: str) -> bool:
    """True when the claim is a long copy of `quote` cut short: at least COPY_MIN content words,
    COPY_SHARE of them from the quote, which has COPY_DROPPED content words more ("Астана
    позиционирует себя как точку входа для японского капитала" of a sentence that goes on to
    «безопасный терминал»). A short answer ("Саммит прошёл в Токио") is brief on purpose, and a
    copy that leaves out only a name of two or three words is kept as written."""
    said = _stems(claim)
    if len(said) < COPY_MIN:
        return False
    copied = len(said & _prefixes(quote)) / len(said)
    return copied >= COPY_SHARE and len(_stems(quote) - _prefixes(claim)) >= COPY_DROPPED


def misstates_number(question: str, answer: str, passages: Sequence[Passage]) -> bool:
    """True when the question asserts a number of two or more digits that no passage holds and
    the answer gives another number that the passages do ("Почему формат появился только в 2015
    году?" -> "Формат родился в 2004 году [1]"): the answer corrects the question's premise, and
    must say so rather than read as an answer to it."""
    held = {n for p in passages for n in _numbers(p.text)}
    asserted = {n for n in _numbers(question) if len(n.replace(".", "")) > 1}
    given = (_numbers(answer) & held) - _numbers(question)
    return bool(asserted - held) and bool(given)


DISTINCT_SHARE = 0.1  # see `distinctive`


def distinctive(question: str, documents: Sequence[str]) -> set[str]:
    """The question's content words (words asking for a person aside) that the documents use in
    few paragraphs (at most DISTINCT_SHARE of them) or in none: what tells a passage about what
    was asked from one that merely shares its topic ("Узбекистана", "провал", not "саммите")."""
    topic = _stems(without_person_words(question))
    paragraphs = [line for text in documents for line in text.split("\n") if line.strip()]
    limit = max(1, int(DISTINCT_SHARE * len(paragraphs)))
    used = Counter(k for line in paragraphs for k in topic & _prefixes(line))
    return {k for k in topic if used[k] <= limit}


def off_question(question: str, passages: Sequence[Passage], documents: Sequence[str]) -> bool:
    """True when the question has `distinctive` words in `documents` and no passage holds one,
    by its first four letters: a short word inflects inside five ("Южной Кореей", "Южная
    Корея")."""
    wanted = {w[:4] for w in distinctive(question, documents)}
    return bool(wanted) and not any(wanted & _prefixes(p.text) for p in passages)


_CAPITALISED = re.compile(r"[A-ZА-ЯЁ][a-zа-яё]{3,}")
_NAME = re.compile(rf"(?<=\s){_CAPITALISED.pattern}")  # a capitalised word past a text's first
_SHORT_NAME = re.compile(r"(?<=\s)[A-ZА-ЯЁ][a-zа-яё]{2,}")  # a surname of three letters too: "Асо"
_CAPITALISED_WORD = re.compile(r"\b[A-ZА-ЯЁ]\w{3,}")  # whole: "АлашОрды", not "Алаш" and "Орды"
_LETTERS = re.compile(r"[^\W\d_]+")  # words as names are cut: "Алаш-Орды" is "Алаш" and "Орды"


def _named_in(claim: str, sentence: str) -> bool:
    """True when the claim names somebody (its capitalised words past the first, or its one
    capitalised word: "Армянский политолог Ованнисян", "Ованнисян") and `sentence` holds every
    name."""
    names = {name_key(w) for w in _NAME.findall(claim) or _CAPITALISED.findall(claim)[:1]}
    return bool(names) and names <= {name_key(w) for w in _words(sentence)}


def later_names(text: str) -> list[str]:
    """The capitalised words of `text` past its first: the names it may hold."""
    return _NAME.findall(text)


# The kind of person whose view a question asks for: "по мнению грузинского эксперта"
_SOURCE_KIND = re.compile(
    r"\b(?:по\s+(?:мнению|словам|оценке)|according\s+to)\s+(?:the\s+)?([^\W\d_]+)", re.I
)


def other_kind(question: str, answer: str, citations: Sequence[Citation]) -> bool:
    """True when a question asks for a person of some kind ("Какой китайский эксперт ...?") and
    the cited sentences naming the answer's people never say it ("... поделился и грузинский
    политолог ... Василий Папава"): somebody, but not who was asked for. The kind is the
    adjective's stem ("кита" meets "Китая", "япон" meets "Японии"); a sentence names a person
    when it holds a capitalised word of the answer."""
    asked = person_kind(question)
    if asked is None or not citations:
        return False
    source = _SOURCE_KIND.search(question)
    if source and fold(source.group(1)).startswith(asked):
        return False  # "Чем, по мнению грузинского эксперта, ...?" says whose view, not who
    kind = name_key(asked)
    names = {name_key(w) for w in _CAPITALISED.findall(answer)}
    naming = [c.quote for c in citations if names & {name_key(w) for w in _words(c.quote)}]
    return not any(
        w.startswith(kind) for q in naming or [c.quote for c in citations] for w in _words(q)
    )


def name_key(word: str) -> str:
    """A name's stem: its first four letters, fewer for a short name, so that "Азию" meets
    "Азии", "Казахстан" meets "Казахстана" and "Япония" meets "японской"."""
    w = fold(word)
    return w[: min(4, max(3, len(w) - 1))]


def unheld_names(question: str, sources: Sequence[str]) -> dict[str, str]:
    """{stem: word} of the names the question holds (capitalised words past its first) that no
    source text does."""
    asked = {name_key(w): w for w in _NAME.findall(question)}
    held = {name_key(w) for text in sources for w in _words(text)}
    return {k: w for k, w in asked.items() if k not in held}


def unheld_words(question: str, passages: Sequence[Passage]) -> set[str]:
    """The question's content words that no passage holds, less its names (`unheld_names`
    sees to those, through who is quoted), question words and words asking for a person:
    "наводнения" in "Почему Шамсуддинов утверждает, что встречу отменили из-за
    наводнения?", shown the passage that says "из-за угроз мощного землетрясения"."""
    names = {name_key(w) for w in _NAME.findall(question)}
    asked = {
        s
        for s in _stems(without_person_words(question))
        if not _INTERROGATIVE.match(s) and name_key(s) not in names
    }
    held = set().union(*(_prefixes(p.text) for p in passages))
    return asked - held


def unsourced_names(question: str, answer: str, sources: Sequence[str]) -> set[str]:
    """Names the question asserts that the answer repeats but no source text holds: "Почему
    встречу 2024 года отменил Казахстан?" answered "Казахстан отменил встречу ... [1]" from a
    passage that says "отменена со стороны Японии". The answer's other words are supported; the
    name, its premise, is not."""
    said = {name_key(w) for w in _words(answer)}
    return {w for k, w in unheld_names(question, sources).items() if k in said}


def premise_correction(
    question: str, passages: Sequence[Passage], *, min_share: float = PREMISE_SHARE
) -> CiteResult:
    """The passage sentence closest to the question among those that negate what it asserts
    ("Почему Япония требует лояльности?" -> "Япония не требует политической лояльности..."): lets
    a refusal say what the article says instead, as a corrected premise must."""
    return _best_sentence(
        question, passages, lambda sentence: contradicts_premise(sentence, question), min_share
    )


def nearest_negation(
    question: str,
    passages: Sequence[Passage],
    encoder: Embedder,
    keep: Callable[[str], bool] = negates,
) -> CiteResult:
    """The passage sentence nearest the question in meaning (`encoder`) among those that negate
    something (or that `keep` accepts), quoted with its citation; empty when none does. For a
    reply that says the premise is false and then only echoes it ("That is not so. The summit
    forces Central Asia to choose between East and West [2]."): the model saw a sentence that
    denies the premise, and an English question shares no words with a Russian one, so
    `premise_correction` cannot find it. Only for replies that call the premise false, or with
    a stricter `keep`: the nearest negating sentence alone would also "correct" a true premise
    (measured: for an answerable question it can be the nearest sentence)."""
    found = [
        (p, a, b)
        for p in passages
        if not looks_like_injection(p.text)
        for a, b in statements(p.text)
        if keep(p.text[a:b])
    ]
    if not found:
        return CiteResult(text="", citations=())
    vectors = encoder.embed_passages([p.text[a:b] for p, a, b in found])
    sims = (vectors @ encoder.embed_query(question)).tolist()
    k = max(range(len(found)), key=lambda i: sims[i])
    return _sentence_answer(*found[k], sims[k])
