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
Among passages that support a claim, the one that also holds the question's words is cited (a
name is supported wherever it is written, but sourced where the asked-about words are). A
sentence that only restates the question is supported by nothing (`restates`), nor is one that
names what the passages name elsewhere but not where it cites (`unnamed`), nor a Russian one that
slips into Latin words no source holds (`slips_language`). Citations are renumbered 1..n in
order of appearance; `quote == document_text[start:end]` holds by construction (passages carry
exact offsets). Does not decide refusals (the pipeline does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cached_property
from typing import Any

from index.chunk import is_question
from index.embed import Embedder, translation_encoder
from index.text import STOPWORDS, fold, sentence_spans
from rag.language import contradicts_premise, detect_language, looks_like_injection, skeleton
from rag.settings import Settings
from rag.types import Citation, Language, Passage

MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*(?:,|;|-|–|\]\s*\[)\s*\d{1,3})*)\s*\]")
_WORD = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+(?:-[^\W\d_]+)*")
_LATIN = re.compile(r"[a-z]{3,}")
# A name: a capitalised word, whole ("АлашОрды"); past a text's first word, where capitals
# mark names rather than the start of a sentence.
_CAPITALISED_WORD = re.compile(r"\b[A-ZА-ЯЁ]\w{3,}")
_NAME = re.compile(r"(?<=\s)[A-ZА-ЯЁ][a-zа-яё]{3,}")
# a name: capitalised words in a row ("Woodrow Wilson", "США")
_NAME_RUN = re.compile(r"[A-ZА-ЯЁ][\w'’-]*(?:\s+[A-ZА-ЯЁ][\w'’-]*)*")
# a phrase in quotes: «», “”, "", ‘’, or '' around more than a letter (not an apostrophe)
_QUOTED = re.compile(
    r"«([^»]{2,})»|“([^”]{2,})”|\"([^\"]{2,})\"|‘([^’]{2,})’|(?<!\w)'([^']{2,})'(?!\w)"
)
_LETTERS = re.compile(r"[^\W\d_]+")  # words as names are cut: "Алаш-Орды" is "Алаш" and "Орды"
# An English claim's marker moves to another passage only when that one holds this much of the
# claim (a name, a number counting 2): a single 4-letter skeleton match is as often chance.
EN_MOVE_HITS = 2


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
    dropped_by: tuple[str, ...] = ()  # per dropped sentence, the check that dropped it
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


def statements(text: str) -> list[tuple[int, int]]:
    """`sentence_spans` less the questions and the planted orders: a rhetorical question in the
    source ("Чем же этот саммит примечателен ...?") shares the user's words but asserts nothing,
    and neither does an instruction to the model (`looks_like_injection`), so neither supports a
    claim; the passage's other sentences still do."""
    return [
        (a, b)
        for a, b in sentence_spans(text)
        if not is_question(text[a:b]) and not looks_like_injection(text[a:b])
    ]


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
    return {w[:5] for w in _words(text) if not w[0].isdigit() and len(w) > 2 and w not in STOPWORDS}


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


def name_key(word: str) -> str:
    """A name's stem: its first four letters, fewer for a short name, so that "Азию" meets
    "Азии" and "Казахстан" meets "Казахстана"."""
    w = fold(word)
    return w[: min(4, max(3, len(w) - 1))]


def _derived(numbers: frozenset[str]) -> set[str]:
    # isdecimal, not isdigit: "¹" is a digit that int() refuses
    ints = [int(n) for n in numbers if n.isdecimal() and len(n) < 6]
    return {str(abs(a - b)) for a in ints for b in ints if a != b}


@dataclass(frozen=True)
class _Checker:
    question: str
    language: Language
    known_numbers: frozenset[str]
    literal_numbers: frozenset[str]
    latin_words: frozenset[str]
    names: frozenset[str]  # `name_key`s of the names the passages hold
    settings: Settings  # the thresholds
    passage_text: str = ""  # the shown passages, joined
    translator: Embedder | None = None  # `index.embed.translation_encoder`

    @cached_property
    def held(self) -> frozenset[str]:
        """What the passages say, as `_prefixes` (compared within a script)."""
        return frozenset(_prefixes(self.passage_text))

    @cached_property
    def held_skeletons(self) -> frozenset[str]:
        """What the passages say, as `_skeletons` (compared across scripts)."""
        return frozenset(_skeletons(self.passage_text))

    def holds(self, words: Sequence[str], *, or_question: bool = False) -> bool:
        """Whether every word occurs in the passages (or the question), by prefix or skeleton."""
        prefixes, skeletons = self.held, self.held_skeletons
        if or_question:
            prefixes, skeletons = self.held_or_asked
        return all(
            w[:5] in prefixes or (len(w) > 3 and skeleton(w)[:4] in skeletons) for w in words
        )

    @cached_property
    def held_or_asked(self) -> tuple[frozenset[str], frozenset[str]]:
        """`held` and `held_skeletons` with the question's words added."""
        return (
            self.held | _prefixes(self.question),
            self.held_skeletons | _skeletons(self.question),
        )

    @cached_property
    def quoted(self) -> list[list[str]]:
        """The words of each phrase the question quotes that the passages do not hold."""
        phrases = [
            _words(next(g for g in m.groups() if g)) for m in _QUOTED.finditer(self.question)
        ]
        return [p for p in phrases if p and not self.holds(p)]

    def repeats_quote(self, claim: str) -> bool:
        """The claim repeats a phrase the question quotes and no passage holds ("start with
        'Ahoy, matey!'", "sign it «Мадам Зульфия»", a JSON key to fill): what the question
        dictates is its own text, not the source's."""
        said = set(_words(claim))
        return any(set(p) <= said for p in self.quoted)

    def names_held(self, word: str) -> bool:
        """Whether a name in the claim is one the passages or the question write, in either
        script: by skeleton, close enough to absorb transliteration ("Hovhannisyan" ->
        "Оганнисян") and inflection ("Папавы"), not a different name ("Tashkent", "Токио")."""
        if self.holds([word], or_question=True):
            return True
        want = skeleton(word)[:5]  # the stem: "iapan" of Japanese, "iapon" of японского
        if len(want) < 4:
            return False
        likeness = self.settings.name_likeness
        return any(
            SequenceMatcher(None, want, have[:5]).ratio() >= likeness for have in self.written
        )

    @cached_property
    def written(self) -> frozenset[str]:
        """Skeletons of the words of the question and the passages (names and all)."""
        text = f"{self.question} {self.passage_text}"
        return frozenset(skeleton(w) for w in _words(text) if len(w) > 2 and not w[0].isdigit())

    @cached_property
    def written_name_vectors(self) -> Any:
        """`translator`'s vectors of the names the passages write (runs of capitalised words,
        abbreviations such as "США" included), or None."""
        names = sorted({m[0] for m in _NAME_RUN.finditer(self.passage_text)})
        if self.translator is None or not names:
            return None
        return self.translator.embed_passages(names)

    def translated(self, name: str) -> bool:
        """Whether the passages write a translation of `name` ("China" of "Китай", "United
        States" of "США"): no skeleton links a name to its translation."""
        vectors = self.written_name_vectors
        if self.translator is None or vectors is None:
            return False
        closest = float((vectors @ self.translator.embed_query(name)).max())
        return closest >= self.settings.name_translation

    def invents_name(self, claim: str) -> bool:
        """More than half of the names in the claim (runs of capitalised words) are named neither
        by the passages nor by the question, compared by skeleton across scripts: "Tashkent"
        from passages that never say "Ташкент" is the model's knowledge, not the source's; one
        garbled name in a list of six is a slip, and so may "China" be in a list beside names the
        passages write ("Китай" is no transliteration). A sentence's capitalised first word may be
        no name ("Economic ties ..."): it counts only when held, or when the claim is a bare
        name ("Tashkent.")."""
        held = invented = 0
        for m in _NAME_RUN.finditer(claim):
            words = [w for w in _words(m[0]) if len(w) > 2 and w not in STOPWORDS]
            if not words:
                continue
            if any(self.names_held(w) for w in words) or self.translated(m[0]):
                held += 1
            elif m.start() > 0 or len(words) > 1 or len(claim.split()) <= 3:
                invented += 1
        return invented > held

    def rejects(self, claim: str) -> str | None:
        """The name of the first check that finds the claim supported by nothing, or None."""
        if not self.numbers_ok(claim):
            return "numbers"
        if self.restates(claim):
            return "restates"
        if self.slips_language(claim):
            return "language"
        if self.settings.check_quoted and self.repeats_quote(claim):
            return "quoted"
        if self.settings.check_names and self.invents_name(claim):
            return "names"
        return None

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

    def restates(self, claim: str) -> bool:
        """The claim adds no content word or number to the question ("Эксперты подчёркивают, что
        японский подход деполитизирован" for "Какие эксперты подчёркивают, что ..."): it answers
        nothing, whatever it cites. In English it must also repeat `echo_share` of the question,
        or `echo_words` words of it: a short claim made of question words may pick one of the
        options the question names ("Japan" for "which side called it off"), while "Japan left
        the summit" for "Cite [3] as saying Japan left the summit" asserts the question's
        claim. A claim negating the question's premise corrects it. A claim with no content
        word or number at all ("Yes", "It is") restates whatever was asked: "Yes [1]" to "Was
        the summit held in Astana?" cited a sentence that merely names Astana."""
        said = _stems(claim)
        if not said and not _numbers(claim):
            return True
        share = self.settings.echo_share if self.language == "en" else 0.0
        new = said - self.asked
        if self.language == "en":
            # English inflects inside the first five letters: "calls" repeats "call"
            heads = {a[:4] for a in self.asked}
            new = {s for s in new if s[:4] not in heads}
        return (
            not new
            and (len(said) >= share * len(self.asked) or len(said) >= self.settings.echo_words)
            and _numbers(claim) <= _numbers(self.question)
            and not contradicts_premise(claim, self.question)
        )

    def relevance(self, span: str) -> float:
        return _relevance(self.asked, span)

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
    """(relevance, start, end) of the passage sentence sharing most words with the question."""
    best = (0.0, 0, 0)
    for a, b in statements(passage.text):
        r = checker.relevance(passage.text[a:b])
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
    }
    if checker.rejects(claim.text):
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
                and closest[alt] >= closest[mine] + checker.settings.near_margin
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
        support_min = checker.settings.support_min
        keep = [n for n in valid if cands[n][0] >= support_min]
        if keep:
            # Of the passages that support the claim, the one that also holds the question's
            # words is the source: "Это сказал Шамсуддинов" is supported wherever he is named,
            # but sourced where he says it.
            on_topic = {n: topical[n - 1][0] for n in cands if cands[n][0] >= support_min}
            mine = max(keep, key=lambda n: on_topic[n])
            alt = max(on_topic, key=lambda n: on_topic[n])
            if on_topic[alt] > on_topic[mine] + checker.settings.topical_gap:
                return [alt], cands, True
            return keep, cands, False
        floor = support_min
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


def cite(
    raw: str,
    passages: Sequence[Passage],
    *,
    question: str,
    language: Language | None = None,
    encoder: Embedder | None = None,
    settings: Settings | None = None,
) -> CiteResult:
    """Check and repair every cited sentence of `raw` against `passages` (numbered from 1).
    `encoder` (a multilingual sentence embedder), when given, helps English claims find their
    sentence in a Russian passage, where words cannot be compared (see `best_span`)."""
    lang = language or detect_language(question)
    known = frozenset(n for p in passages for n in _numbers(p.text))
    latin = frozenset(
        w for t in [question, *(p.text for p in passages)] for w in _LATIN.findall(fold(t))
    )
    names = frozenset(name_key(w) for p in passages for w in _NAME.findall(p.text))
    across = lang == "en" and any(detect_language(p.text) == "ru" for p in passages)
    checker = _Checker(
        question, lang, known | _derived(known), known, latin, names,
        settings or Settings.model_construct(),
        " ".join(p.text for p in passages), translation_encoder(encoder) if across else None,
    )  # fmt: skip
    keys: dict[tuple[str, int, int], Citation] = {}
    out: list[str] = []
    dropped: list[str] = []
    dropped_by: list[str] = []  # the check that dropped each
    support: list[float] = []
    repaired = 0
    claims = split_claims(raw)
    topical = [_topical(checker, p) for p in passages]  # per passage, not per claim
    near = (
        _nearness(encoder, question, claims, passages)
        if encoder is not None and across
        else [[] for _ in claims]
    )
    for claim, claim_near in zip(claims, near, strict=True):
        chosen, scored, fixed = _choose(checker, claim, passages, topical, claim_near)
        unnamed = checker.unnamed(claim.text, " ".join(passages[n - 1].text for n in chosen))
        if unnamed or not chosen:
            dropped.append(claim.text)
            dropped_by.append(
                checker.rejects(claim.text) or ("unnamed" if unnamed else "unsupported")
            )
            continue
        repaired += fixed
        ns: list[int] = []
        for n in chosen:
            p = passages[n - 1]
            _, a, b = scored[n]
            key = (p.doc_id, p.start + a, p.start + b)
            if key not in keys:
                keys[key] = Citation(len(keys) + 1, p.doc_id, key[1], key[2], p.text[a:b])
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
        dropped_by=tuple(dropped_by),
        repaired=repaired,
        sentences=len(claims),
        support=tuple(support),
    )
