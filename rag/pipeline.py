"""answer(): question -> condense -> retrieve -> generate -> cite -> Answer, on one screen.

Decisions made here, each measured on dev.jsonl (see the answers note): injection attempts are
declined before any model runs; a question for everybody the article quotes is answered from the
sentences introducing them, and the years between two events by subtraction (`rag.years`), without
the model; a follow-up is condensed by prepending the
previous user question (no LLM call); the LLM sees the best `LLM_PASSAGES` passages; its reply is
a refusal, a corrected premise, or an answer whose sentences `rag.cite` checks; an answer with
no supported sentence left becomes an extractive quote (Russian; see `rag.cite.extractive`) or a
refusal; short and truncated Russian sentences are shown as the sentence they cite; a refusal
whose passages negate the question's premise becomes that correction, cited. `answer_stream`
yields the raw tokens as generated, then the checked Answer. Does not retrieve or generate
itself: the retriever and the LLM are passed in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from index.chunk import full_names, introductions
from rag.cite import (
    CITED_SHARE,
    MARKER,
    CiteResult,
    cite,
    extractive,
    later_names,
    misstates_number,
    name_key,
    nearest_negation,
    off_question,
    other_kind,
    other_part,
    parse_marker_group,
    parse_markers,
    premise_correction,
    question_share,
    sentence_spans,
    split_claims,
    strip_markers,
    truncated_copy,
    unheld_names,
    unheld_words,
    unsourced_names,
)
from rag.errors import InvalidInputError
from rag.language import (
    asks_for_everyone_quoted,
    asks_for_person,
    asks_who,
    asks_why,
    contradicts_premise,
    denies_across,
    detect_language,
    fold,
    latinize,
    looks_like_injection,
    looks_like_refusal,
    negates,
    respell_names,
)
from rag.prompts import (
    DECLINE,
    NO_PASSAGES_EN,
    NO_PASSAGES_RU,
    PREMISE,
    REFUSAL,
    SAYS_OTHERWISE_EN,
    qa_messages,
)
from rag.types import (
    LLM,
    Answer,
    Citation,
    DoneEvent,
    Language,
    Passage,
    Retriever,
    StreamEvent,
    TokenEvent,
    Turn,
)
from rag.years import years_apart

if TYPE_CHECKING:
    from index.embed import Embedder

LLM_PASSAGES = 2  # passages shown to the LLM (of top_k retrieved): prompt time grows with each
PASSAGE_CHARS = 700  # longer passages are cut for the prompt (the article's chunks: 115-609)
MAX_QUESTION_CHARS = 2000
# When the LLM answered but no sentence survived the citation check: quote the passage sentence
# closest to the question (True) or refuse (False). Measured: see the answers note.
EXTRACTIVE_FALLBACK = True
# A Russian answer sentence of at most this many words ("В Астане [1].") is replaced by the sentence
# it cites, which carries the context the short answer drops; 0 turns it off. So is a sentence
# that copies part of its source and drops the rest (`rag.cite.truncated_copy`).
EXPAND_WORDS = 3
# An answer without a single marker, or one to a question asking who, is replaced by the shown
# sentence sharing this much more of the question than the sentences it cites (see `finish`).
UNMARKED_GAP = 0.25


def _spaced(text: str) -> str:
    return " ".join(fold(text).split())


def _names_whom(claim: str, quote: str) -> bool:
    """False when `quote` introduces somebody by full name and `claim` holds no word of it:
    "Кливленд [1][2]", citing "... попросили ... Асхата Дукенбаева (Кливленд)" and his words,
    names a city, not him."""
    named = {name_key(w) for pair in full_names(quote) for w in pair}
    return not named or any(name_key(w) in named for w in claim.split())


def expand(text: str, citations: Sequence[Citation]) -> str:
    """Replace each short or truncated-copy answer sentence by the sentence it cites (once: a
    sentence that an earlier one, expanded or not, already holds is dropped, its markers going to
    that one). A short sentence citing two spans ("Арсен Сарсеков [1][2]": where he is
    introduced, where he says it) stays as written: either quote alone would lose what the
    other holds; unless it names nobody the first one introduces ("Кливленд [1][2]"), and then
    it reads as that introduction, both markers kept."""
    out: list[tuple[str, list[int], str]] = []  # (body, markers, end)
    for claim in split_claims(text):
        body, end = claim.text.rstrip(".!?… "), claim.text[len(claim.text.rstrip(".!?… ")) :]
        marks = list(claim.markers)
        if marks:
            quote = citations[marks[0] - 1].quote
            brief = len(claim.text.split()) <= EXPAND_WORDS
            short = brief and (len(marks) == 1 or not _names_whom(claim.text, quote))
            if short or truncated_copy(claim.text, quote):
                body, end = quote.rstrip(".!?… "), "."
        kept = next((o for o in out if body and _spaced(body) in _spaced(o[0])), None)
        if kept is not None:
            # said already, inside an earlier sentence's quote: "Китай строит дороги [1].
            # Япония предлагает оснастку [2]." both expand into the one sentence holding both
            kept[1].extend(n for n in marks if n not in kept[1])
            continue
        out.append((body, marks, end or "."))
    return " ".join(f"{b} {''.join(f'[{n}]' for n in ms)}{e}" for b, ms, e in out)


def quoted(citations: Sequence[Citation]) -> str:
    """The cited sentences as the answer's text, each with its marker (a quote's dialogue dash
    dropped)."""
    return " ".join(f"{c.quote.lstrip('-– ').rstrip('.!?… ')} [{c.n}]." for c in citations)


def condense(question: str, history: Sequence[Turn]) -> tuple[str, str]:
    """(retrieval query, previous user question as a hint for the prompt). A follow-up ("а что
    сказал о нём Папава?") borrows the previous user question, which names what "нём" refers to;
    the follow-up is said twice so that its own words still outweigh the borrowed ones. Measured on
    8 follow-ups: hit@3 7/8, the same as the bare question (which misses the "нём" case), while
    plain concatenation drifted to the previous topic (6/8)."""
    previous = next((t.content for t in reversed(history) if t.role == "user"), "")
    if not previous:
        return question, ""
    return f"{question} {question} {previous}", previous


def retrieve(retriever: Retriever, query: str, top_k: int) -> list[Passage]:
    return retriever.retrieve(query, top_k=top_k)


def speakers(
    retriever: Retriever, question: str, shown: list[Passage]
) -> tuple[list[str | None], list[Passage]]:
    """(lead sentence to show before each passage, passages to check citations against). A
    question asking for a person gets, before each passage that quotes someone it does not name,
    the sentence introducing them ("...рассказал казахстанский политолог Арсен Сарсеков."), and
    its citations are checked against the passage widened back to that sentence, so "Арсен
    Сарсеков [1]" is cited where he is named. Other questions are shown the passages alone:
    measured on dev, the extra sentence distracts the model everywhere else."""
    if not asks_for_person(question):
        return [None] * len(shown), shown
    leads: list[str | None] = []
    checked: list[Passage] = []
    for p in shown:
        wide = retriever.speaker(p)
        if wide is None:
            leads.append(None)
            checked.append(p)
            continue
        a, b = sentence_spans(wide.text)[0]  # the widened text opens with the introduction
        leads.append(wide.text[a:b])
        checked.append(wide)
    return leads, checked


def _led(found: CiteResult, intro: Citation, language: Language = "ru") -> CiteResult:
    """An answer led by `intro`, the sentence introducing whom it quotes: that sentence (a
    Russian answer) or the name it introduces (an English one, which cannot quote it)."""
    cites = (replace(intro, n=1), *(replace(c, n=c.n + 1) for c in found.citations))
    if language == "en":
        first, surname = full_names(intro.quote)[0]
        text = f"{first} {surname} {''.join(f'[{c.n}]' for c in cites)}."
    else:
        shifted = MARKER.sub(
            lambda m: "".join(f"[{n + 1}]" for n in parse_marker_group(m.group(1))), found.text
        )
        text = f"{intro.quote.rstrip('.!?… ')} [1]. {shifted}"
    return replace(found, text=text, citations=cites)


def everyone_quoted(
    doc_id: str, document: Callable[[str], str | None], language: Language
) -> CiteResult:
    """Every sentence of the document introducing a person it quotes (`introductions`), each
    cited: the answer to "Перечислите экспертов, чьи комментарии приводит издание". The small
    model names two or three of the people from the passages it is shown, while the
    introductions are where the document says whom it quotes. In English, their names, spelled
    as `_english` spells names."""
    text = document(doc_id) or ""
    cites = tuple(
        Citation(n, doc_id, a, b, text[a:b]) for n, (a, b) in enumerate(introductions(text), 1)
    )
    if language == "ru" or not cites:
        return CiteResult(quoted(cites), cites)
    words = set(re.findall(r"\w+", text))
    listed = ", ".join(
        f"{_nominative(*pairs[0], words)} [{c.n}]" for c in cites if (pairs := full_names(c.quote))
    )
    return CiteResult(_english(CiteResult(f"{listed}.", cites), document), cites)


def without_model(
    question: str,
    passages: Sequence[Passage],
    document: Callable[[str], str | None],
    language: Language,
) -> CiteResult:
    """An answer the passages give without the model, or an empty one: everybody the article
    quotes (`everyone_quoted`), or the years between two dated events (`rag.years`)."""
    if asks_for_everyone_quoted(question):
        listed = everyone_quoted(passages[0].doc_id, document, language)
        if listed.citations:
            return listed
    return years_apart(question, passages, language)


def _nominative(first: str, surname: str, words: set[str]) -> str:
    """A name an introduction declines ("к политологу Мухаммаду Шамсуддинову") as it is named:
    the surname's shortest form among the document's `words` ("Шамсуддинов"), and the first
    name less the ending the surname lost ("Мухаммад"): a first name is written once."""
    forms = [w for w in words if w[:5] == surname[:5] and surname.startswith(w)]
    short = min(forms, key=len, default=surname)
    ending = surname[len(short) :]
    if ending and first.endswith(ending):
        first = first[: -len(ending)]
    return f"{first} {short}"


def with_speaker(
    found: CiteResult, question: str, speaker: Callable[[Passage], Passage | None] | None
) -> CiteResult:
    """A one-citation answer to a question asking for a person, led by the sentence introducing
    the person it quotes, when the quote does not name them (`_introduction`): the quote alone
    ("Отдельного внимания заслуживает ...") does not say who said it."""
    if not asks_who(question) or len(found.citations) != 1:
        return found
    intro = _introduction(found.citations[0], speaker)
    return found if intro is None else _led(found, intro)


def _introduction(
    c: Citation, speaker: Callable[[Passage], Passage | None] | None
) -> Citation | None:
    """The sentence introducing the person quoted at `c` (`Retriever.speaker`), when `c` does
    not name them itself."""
    wide = speaker(Passage(c.doc_id, "", c.start, c.end, c.quote, 0.0)) if speaker else None
    if wide is None:
        return None
    a, b = sentence_spans(wide.text)[0]  # the widened text opens with the introduction
    return Citation(1, c.doc_id, wide.start + a, wide.start + b, wide.text[a:b])


def _nameless(
    question: str, checked: CiteResult, speaker: Callable[[Passage], Passage | None] | None
) -> Citation | None:
    """For a who-answer that names nobody ("Это говорит эксперт [1].", "The expert [1]."),
    citing quotes of one speaker introduced before them: that introduction. Naming nobody is
    holding no word of the introduced name and no capitalised word past the first that the
    question does not hold."""
    if not asks_who(question) or not checked.citations:
        return None
    intros = {_introduction(c, speaker) for c in checked.citations}
    intro = intros.pop() if len(intros) == 1 else None
    if intro is None or not full_names(intro.quote):
        return None
    said = strip_markers(checked.text)
    asked = {name_key(w) for w in question.split()}
    if any(name_key(w) not in asked for w in later_names(said)):
        return None
    named = {name_key(w) for pair in full_names(intro.quote) for w in pair}
    return None if any(name_key(w) in named for w in said.split()) else intro


def _premise_body(raw: str) -> str | None:
    """The text after a premise correction's opening ("Это не так."), or None."""
    text = raw.strip()
    for opening in PREMISE.values():
        if text.lower().startswith(opening.lower().rstrip(".")):
            return text[len(opening.rstrip(".")) :].lstrip(" .:,-—")
    return None


def _cited(checked: CiteResult, passages: Sequence[Passage]) -> list[Passage]:
    """The passages the answer's citations point into."""
    return [
        p
        for p in passages
        if any(c.doc_id == p.doc_id and p.start <= c.start < p.end for c in checked.citations)
    ]


def _off_question(
    question: str,
    checked: CiteResult,
    passages: Sequence[Passage],
    document: Callable[[str], str | None] | None,
) -> bool:
    """A person named from passages that hold none of the question's distinctive words
    (`rag.cite.distinctive`): "Кто возглавлял делегацию Узбекистана на саммите?" answered with
    an expert introduced "за прогнозами по саммиту" names somebody, but not who was asked for;
    so does one introduced as another kind than asked (`rag.cite.other_kind`)."""
    if not asks_for_person(question):
        return False
    if other_kind(question, checked.text, checked.citations):
        return True
    if document is None:
        return False
    texts = [t for t in map(document, sorted({p.doc_id for p in passages})) if t]
    return off_question(question, _cited(checked, passages), texts)


def _sources(
    question: str,
    checked: CiteResult,
    passages: Sequence[Passage],
    speaker: Callable[[Passage], Passage | None] | None,
) -> list[str]:
    """The texts of the passages the answer's citations point into and, when a name of the
    question is missing there, of those passages widened back to their speaker's introduction
    (`speaker`): "Почему Папава считает ...?" is answered from a quote that names him earlier."""
    cited = _cited(checked, passages)
    texts = [p.text for p in cited]
    if unheld_names(question, texts) and speaker is not None:
        texts += [w.text for w in map(speaker, cited) if w is not None]
    return texts


def _unsourced(
    question: str,
    said: str,
    checked: CiteResult,
    passages: Sequence[Passage],
    speaker: Callable[[Passage], Passage | None] | None,
) -> bool:
    """`unsourced_names` of the answer `said`, in its sources (see `_sources`)."""
    return bool(unsourced_names(question, said, _sources(question, checked, passages, speaker)))


def _denial(
    question: str,
    raw: str,
    shown: Sequence[Passage],
    language: Language,
    encoder: Embedder | None,
    keep: Callable[[str], bool] = negates,
) -> CiteResult:
    """For "Это не так." followed by an echo of the premise: the shown sentence negating the
    premise, which says what the model meant to. Found by the question's words, else (an English
    question over a Russian text shares none) by meaning, in the passages the reply cited. An
    English answer cannot quote the Russian sentence, so it points at it."""
    found = premise_correction(question, shown)
    if not found.citations and encoder is not None:
        cited = [shown[n - 1] for n in dict.fromkeys(parse_markers(raw)) if 0 < n <= len(shown)]
        found = nearest_negation(question, cited or shown, encoder, keep)
    if found.citations and language == "en":
        found = replace(found, text=f"{SAYS_OTHERWISE_EN} [1].")
    return found


def _english(checked: CiteResult, document: Callable[[str], str | None] | None) -> str:
    """An English answer's text: Cyrillic spelled in Latin, and names spelled as the documents it
    cites spell them (`rag.language.respell_names`: "Shamsudinov" -> "Shamsuddinov")."""
    text = latinize(checked.text)
    sources = map(document, sorted({c.doc_id for c in checked.citations})) if document else ()
    for source in sources:
        text = respell_names(text, source) if source else text
    return text


def finish(
    raw: str,
    *,
    question: str,
    query: str,
    language: Language,
    shown: list[Passage],
    encoder: Embedder | None = None,
    speaker: Callable[[Passage], Passage | None] | None = None,
    document: Callable[[str], str | None] | None = None,
) -> Answer:
    """Classify the reply and check its citations (passages and timings: the caller's);
    `shown` as `speakers` widened them; `encoder` as `rag.cite.cite` takes it; `speaker` and
    `document` as `Retriever` has them, to look up the names an answer takes from the question,
    who said what it quotes, and the words that tell what a question asks."""
    body = _premise_body(raw)
    if body is None and looks_like_refusal(strip_markers(raw)):
        # "Почему Япония требует лояльности?" refused, while a passage says "Япония не требует
        # лояльности": a false premise, which the answer must correct, with its source
        corrected = premise_correction(question, shown)
        if corrected.citations:
            text = f"{PREMISE[language]} {corrected.text}"
            return Answer(text, True, language, corrected.citations, raw=raw)
        return Answer(REFUSAL[language], True, language, raw=raw)
    checked = cite(
        body if body is not None else raw,
        shown,
        question=query,
        language=language,
        encoder=encoder,
    )
    if (
        body is not None
        and language == "en"
        and not asks_why(question)
        and checked.citations
        and not contradicts_premise(checked.text, question)
    ):
        # "That is not so." before a supported answer that denies nothing the question says,
        # to a question asserting no reason ("What main message does Japan send about buyers
        # and routes?"): the small model opens an English answer so now and then
        body = None
    if body is None and (
        _off_question(question, checked, shown, document)
        if language == "ru"
        else other_kind(question, checked.text, checked.citations)
    ):
        checked = CiteResult(text="", citations=())
    intro = _nameless(question, checked, speaker) if body is None else None
    if intro is not None:
        # the cited quotes, led by the sentence that says whose they are
        words = quoted(checked.citations) if language == "ru" else checked.text
        checked = _led(CiteResult(words, checked.citations), intro, language)
    if (
        language == "ru"
        and body is None
        and checked.citations
        and (not parse_markers(raw) or asks_who(question))
    ):
        # The model cited nothing, and `cite` attached its words to the passage holding most of
        # them, which may answer another question ("Экономическая безопасность как страховка
        # ..." for "Какие инвестиции ... одним из главных запросов?"); or it named somebody
        # quoted on something else ("Василий Папава" for "Кто говорит, что Токио осознаёт
        # необходимость сбалансировать ...?", said by Shamsuddinov in the other passage). A
        # shown sentence holding UNMARKED_GAP more of the question answers it (and CITED_SHARE
        # of it at least).
        found = extractive(question, shown, min_share=CITED_SHARE)
        share = max(question_share(question, c.quote) for c in checked.citations)
        if found.citations and found.support[0] >= share + UNMARKED_GAP:
            checked = with_speaker(found, question, speaker)
    fallback = not checked.citations and EXTRACTIVE_FALLBACK and language == "ru" and body is None
    if fallback:
        found = extractive(question, shown, cited=parse_markers(raw))
        if found.citations and (
            unheld_names(question, _sources(question, found, shown, speaker))
            or _off_question(question, found, shown, document)
        ):
            # a quote from a passage that holds not every name the question does answers
            # another question ("США подписали соглашение ..." for "Какие соглашения подписали
            # Япония и Туркменистан?")
            found = CiteResult(text="", citations=())
        checked = with_speaker(found, question, speaker)
    if not checked.citations and body is not None:
        checked = _denial(question, raw, shown, language, encoder)
    # An English why-question whose premise the model only echoed ("Papava calls the summit a
    # revolutionary breakthrough [1]"), where a shown sentence denies a word of it ("Это не
    # революционный прорыв"): the premise is false, and that sentence says so.
    echoed = not checked.citations and body is None and language == "en" and asks_why(question)
    if echoed:
        checked = _denial(
            question, raw, shown, language, encoder, lambda s: denies_across(s, question)
        )
    if not checked.citations:
        return Answer(REFUSAL[language], True, language, raw=raw)
    said = strip_markers(checked.text)
    corrects = (
        body is not None
        or echoed
        or contradicts_premise(checked.text, question)
        or misstates_number(question, said, shown)
        # the answer's words are supported but the name it took from the question is not: the
        # question's premise, which the cited text contradicts or does not make
        or (language == "ru" and _unsourced(question, said, checked, shown, speaker))
        # the model only echoed a why-question's premise, which holds a word no shown passage
        # does ("из-за наводнения" where the passage says "землетрясения"): the quote found in
        # its place says what the article says instead
        or (fallback and asks_why(question) and bool(unheld_words(question, shown)))
    )
    if not corrects and language == "ru":
        # supported, yet a shown sentence denies what the question asserts: "Почему Япония
        # отложила встречу в долгий ящик?" answered from the passage that says "Япония не
        # отложила эту встречу". The premise is false, and that sentence is the answer.
        denial = premise_correction(question, shown)
        if denial.citations:
            checked, corrects = denial, True
    if corrects:
        # A Russian correction is the cited sentences themselves: in its own words the small
        # model repeats the premise it corrects ("Это не так. Япония требует от Казахстана
        # нефти в обмен на ..."). An English one cannot quote a Russian text.
        text = quoted(checked.citations) if language == "ru" else _english(checked, document)
        return Answer(f"{PREMISE[language]} {text}", True, language, checked.citations, raw=raw)
    if language == "ru":
        # a question of two parts, answered in one: the shown sentence answering the other
        extra = other_part(question, checked, shown)
        text = expand(checked.text, checked.citations)
        if extra.citations:
            n = len(checked.citations) + 1
            text = f"{text} {MARKER.sub(f'[{n}]', extra.text)}"
            cites = (*checked.citations, replace(extra.citations[0], n=n))
            return Answer(text, False, language, cites, raw=raw)
        return Answer(text, False, language, checked.citations, raw=raw)
    return Answer(_english(checked, document), False, language, checked.citations, raw=raw)


def answer_stream(
    question: str,
    *,
    history: Sequence[Turn] = (),
    retriever: Retriever,
    llm: LLM,
    top_k: int,
    max_tokens: int,
) -> Iterator[StreamEvent]:
    """Token deltas as the LLM writes them (unchecked), then DoneEvent with the checked Answer."""
    question = question.strip()
    if not question or len(question) > MAX_QUESTION_CHARS:
        raise InvalidInputError(f"question must be 1-{MAX_QUESTION_CHARS} characters")
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(stage: str, since: float) -> float:
        now = time.perf_counter()
        timings[stage] = round((now - since) * 1000, 1)
        return now

    language = detect_language(question)
    if looks_like_injection(question):
        lap("total", t0)
        yield DoneEvent(Answer(DECLINE[language], True, language, timings_ms=timings))
        return
    query, context = condense(question, history)
    t = lap("condense", t0)
    passages = retrieve(retriever, query, top_k)
    t = lap("retrieve", t)
    if not passages:
        lap("total", t0)
        text = NO_PASSAGES_RU if language == "ru" else NO_PASSAGES_EN
        yield DoneEvent(Answer(text, True, language, timings_ms=timings))
        return
    direct = without_model(question, passages, retriever.document, language)
    if direct.citations:
        lap("total", t0)
        yield DoneEvent(
            Answer(direct.text, False, language, direct.citations, tuple(passages), timings)
        )
        return
    shown = passages[:LLM_PASSAGES]
    leads, checked_against = speakers(retriever, question, shown)
    messages = qa_messages(question, shown, context=context, max_chars=PASSAGE_CHARS, leads=leads)
    pieces: list[str] = []
    for delta in llm.stream(messages, max_tokens=max_tokens):
        if not pieces:
            timings["first_token"] = round((time.perf_counter() - t0) * 1000, 1)
        pieces.append(delta)
        yield TokenEvent(delta)
    t = lap("generate", t)
    raw = "".join(pieces)
    result = finish(
        raw,
        question=question,
        query=query,
        language=language,
        shown=checked_against,
        encoder=retriever.embedder,
        speaker=retriever.speaker,
        document=retriever.document,
    )
    lap("cite", t)
    lap("total", t0)
    yield DoneEvent(
        Answer(
            result.text,
            result.refused,
            language,
            result.citations,
            tuple(passages),
            timings,
            result.raw,
            shown=len(shown),
        )
    )


def prefill_messages(passage: Passage) -> list[dict[str, str]]:
    """The prompt of a question shown `passage` first, as far as the LLM keeps it (through the
    passage: `rag.prompts.first_passage_end`): for warming up `rag.llm.PromptStates`."""
    return qa_messages("?", [passage], max_chars=PASSAGE_CHARS)


def answer(
    question: str,
    *,
    history: Sequence[Turn] = (),
    retriever: Retriever,
    llm: LLM,
    top_k: int,
    max_tokens: int,
) -> Answer:
    """The checked answer (see `answer_stream`, whose last event this is)."""
    return final_answer(
        answer_stream(
            question,
            history=history,
            retriever=retriever,
            llm=llm,
            top_k=top_k,
            max_tokens=max_tokens,
        )
    )


def final_answer(events: Iterable[StreamEvent]) -> Answer:
    """The Answer of a stream's DoneEvent, consuming the token events before it."""
    for event in events:
        if isinstance(event, DoneEvent):
            return event.answer
    raise AssertionError("the answer stream ended without a DoneEvent")
