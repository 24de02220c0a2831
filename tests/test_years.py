"""Years between two events, by subtraction from the sentences dating them (rag.years)."""

from __future__ import annotations

import pytest
from fakes import FakeLLM, line_passages
from test_pipeline import OverlapRetriever

from rag.language import years_between
from rag.pipeline import answer
from rag.years import years_apart

TEXT = (
    "Формат «Центральная Азия + Япония» родился в 2004 году в Астане.\n"
    "После вынужденной паузы 2024 года, отложившей встречу, стороны выходят на диалог.\n"
    "В декабре 2025 года в Токио проходит первый в истории очный саммит лидеров.\n"
    "Первая встреча на высшем уровне после многолетнего диалога, начатого в 2004 году.\n"
    "В 2019 и 2022 годах министры встречались снова."
)


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "Сколько лет прошло между зарождением формата и первым саммитом лидеров?",
            ("зарождением формата", "первым саммитом лидеров"),
        ),
        ("Сколько лет прошло с паузы до саммита?", ("паузы", "саммита")),
        ("Сколько лет отделяет саммит от зарождения формата?", ("саммит", "зарождения формата")),
        (
            "How many years passed between the birth of the format and the summit?",
            ("the birth of the format", "the summit"),
        ),
        ("Сколько стоил саммит?", None),
        ("Сколько лет формату?", None),
    ],
)
def test_years_between(question: str, parts: tuple[str, str] | None) -> None:
    assert years_between(question) == parts


def test_years_apart__subtracts_the_years_of_the_sentences_dating_each_event() -> None:
    q = (
        "Сколько лет прошло между зарождением формата «Центральная Азия + Япония» и первым очным "
        "саммитом лидеров?"
    )
    found = years_apart(q, line_passages(TEXT), "ru")
    assert found.text == "21 год (2004 [1] – 2025 [2])."
    assert [c.quote for c in found.citations] == [TEXT.split("\n")[0], TEXT.split("\n")[2]]
    assert all(TEXT[c.start : c.end] == c.quote for c in found.citations)
    one = years_apart(
        "Сколько лет прошло между вынужденной паузой и очным саммитом?", line_passages(TEXT), "ru"
    )
    assert one.text == "1 год (2024 [1] – 2025 [2])."


@pytest.mark.parametrize(
    "question",
    [
        # an event no sentence dates
        "Сколько лет прошло между основанием ШОС и первым очным саммитом лидеров?",
        # sentences of two years are as near: no guess
        "Сколько лет прошло между встречей и очным саммитом лидеров?",
        # a sentence naming two years dates nothing
        "Сколько лет прошло между повторными встречами министров и очным саммитом лидеров?",
        # English questions share no words with the Russian text: the model's
        "How many years passed between the birth of the format and the first summit?",
        "Что произошло в 2004 году?",
    ],
)
def test_years_apart__answers_nothing_it_cannot_date(question: str) -> None:
    language = "en" if question.startswith("How") else "ru"
    assert years_apart(question, line_passages(TEXT), language).citations == ()


def test_answer__years_between_are_answered_without_the_model() -> None:
    llm = FakeLLM("10 лет [1].")
    q = "Сколько лет прошло между зарождением формата «ЦА + Япония» и очным саммитом лидеров?"
    a = answer(q, retriever=OverlapRetriever(line_passages(TEXT)), llm=llm, top_k=5, max_tokens=50)
    assert llm.calls == [] and not a.refused
    assert a.text.startswith("21 год")
    assert [c.n for c in a.citations] == [1, 2]
