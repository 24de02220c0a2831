"""answer(): question -> retrieve -> prompt -> generate -> cite -> Answer, on one screen.

An attempt to override the instructions is declined before any model runs; a follow-up borrows
the previous question for retrieval (`condense`); the LLM reads the best `llm_passages` passages
(`to_show`: a later one only when it scores near the first);
its reply is a refusal (the sentinel), a premise correction ("Это не так. ..."), or an answer
whose sentences `rag.cite` checks against the passages. An answer with no supported sentence
left is a refusal. Nothing rewrites the reply after that: eight such checks were measured on
documents nobody tuned them to and none gained (docs/decisions.md). `answer_stream` yields the
raw tokens as generated, then the checked Answer. Does not retrieve or generate itself: the
retriever and the LLM are passed in.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from rag.cite import CiteResult, cite, strip_markers
from rag.errors import InvalidInputError
from rag.language import detect_language, looks_like_injection, looks_like_refusal
from rag.prompts import DECLINE, NO_PASSAGES, PREMISE, REFUSAL, qa_messages
from rag.settings import Settings
from rag.types import (
    LLM,
    Answer,
    DoneEvent,
    Language,
    Passage,
    Retriever,
    StreamEvent,
    TokenEvent,
    Turn,
)

if TYPE_CHECKING:
    from index.embed import Embedder

MAX_QUESTION_CHARS = 2000


def condense(question: str, history: Sequence[Turn]) -> tuple[str, str]:
    """(retrieval query, previous user question as a hint for the prompt). A follow-up ("а что
    сказал о нём Папава?") borrows the previous user question, which names what "нём" refers to;
    the follow-up is said twice so that its own words still outweigh the borrowed ones. Measured on
    8 follow-ups: hit@3 7/8, the same as the bare question (which misses the "нём" case), while
    plain concatenation drifted to the previous topic (6/8)."""
    # the hint is bounded like a question: a turn may hold 8,000 characters, the prompt not
    previous = next((t.content for t in reversed(history) if t.role == "user"), "")
    previous = previous[:MAX_QUESTION_CHARS]
    if not previous:
        return question, ""
    return f"{question} {question} {previous}", previous


def to_show(passages: Sequence[Passage], settings: Settings) -> list[Passage]:
    """The passages the model reads: the first `llm_passages`, less those after the first whose
    fused score is below `passage_ratio` of the first's. A clear winner answers alone, and each
    passage read costs prompt time (~2 s for a second one on two cores)."""
    first = passages[0].score
    return [
        p
        for i, p in enumerate(passages[: settings.llm_passages])
        if i == 0 or p.score >= settings.passage_ratio * first
    ]


def premise_body(raw: str) -> str | None:
    """The text after the model's own premise correction ("Это не так."), or None."""
    text = raw.strip()
    for opening in PREMISE.values():
        if text.lower().startswith(opening.lower().rstrip(".")):
            return text[len(opening.rstrip(".")) :].lstrip(" .:,-—")
    return None


def finish(
    raw: str,
    *,
    query: str,
    language: Language,
    shown: Sequence[Passage],
    encoder: Embedder | None,
    settings: Settings,
) -> tuple[str, bool, CiteResult]:
    """(text, refused, checked citations) of the reply: the refusal when the model declined or
    no sentence of its reply survived the citation check; a correction, marked refused, when
    the model said the premise is false; else the supported sentences."""
    body = premise_body(raw)
    if body is None and looks_like_refusal(strip_markers(raw)):
        return REFUSAL[language], True, CiteResult("", ())
    checked = cite(body if body is not None else raw, shown, question=query, language=language,
                   encoder=encoder, settings=settings)  # fmt: skip
    if not checked.citations:
        return REFUSAL[language], True, checked
    if body is not None:
        return f"{PREMISE[language]} {checked.text}", True, checked
    return checked.text, False, checked


def answer_stream(
    question: str,
    *,
    history: Sequence[Turn] = (),
    retriever: Retriever,
    llm: LLM,
    settings: Settings,
    top_k: int | None = None,
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
    query, previous = condense(question, history)
    passages = retriever.retrieve(query, top_k=top_k or settings.top_k)
    t = lap("retrieve", t0)
    if not passages:
        lap("total", t0)
        yield DoneEvent(Answer(NO_PASSAGES[language], True, language, timings_ms=timings))
        return
    shown = to_show(passages, settings)
    messages = qa_messages(
        question,
        shown,
        context=previous,
        max_chars=settings.passage_chars,
        hide_instructions=settings.hide_instructions,
    )
    pieces: list[str] = []
    for delta in llm.stream(messages, max_tokens=settings.max_tokens):
        if not pieces:
            timings["first_token"] = round((time.perf_counter() - t0) * 1000, 1)
        pieces.append(delta)
        yield TokenEvent(delta)
    t = lap("generate", t)
    raw = "".join(pieces)
    text, refused, checked = finish(
        raw,
        query=query,
        language=language,
        shown=shown,
        encoder=retriever.embedder,
        settings=settings,
    )
    lap("cite", t)
    lap("total", t0)
    yield DoneEvent(
        Answer(
            text,
            refused,
            language,
            checked.citations,
            tuple(passages),
            timings,
            raw,
            len(shown),
            checked.dropped_by,
        )
    )


def prefill_messages(passage: Passage, settings: Settings) -> list[dict[str, str]]:
    """The prompt of a question shown `passage` first, as far as the LLM keeps it (through the
    passage: `rag.prompts.first_passage_end`): for warming up `rag.llm.PromptStates`."""
    return qa_messages(
        "?",
        [passage],
        max_chars=settings.passage_chars,
        hide_instructions=settings.hide_instructions,
    )


def answer(
    question: str,
    *,
    history: Sequence[Turn] = (),
    retriever: Retriever,
    llm: LLM,
    settings: Settings,
    top_k: int | None = None,
) -> Answer:
    """The checked answer (see `answer_stream`, whose last event this is)."""
    return final_answer(
        answer_stream(
            question, history=history, retriever=retriever, llm=llm, settings=settings, top_k=top_k
        )
    )


def final_answer(events: Iterable[StreamEvent]) -> Answer:
    """The Answer of a stream's DoneEvent, consuming the token events before it."""
    for event in events:
        if isinstance(event, DoneEvent):
            return event.answer
    raise AssertionError("the answer stream ended without a DoneEvent")
