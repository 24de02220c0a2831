"""Prompt constants and message building (rag.prompts)."""

from __future__ import annotations

import pytest

from rag.prompts import (
    DECLINE_EN,
    DECLINE_RU,
    FEW_SHOT,
    NO_ANSWER,
    PREMISE_EN,
    PREMISE_RU,
    REFUSAL_EN,
    REFUSAL_RU,
    SYSTEM_PROMPT,
    first_passage_end,
    format_passages,
    numbered,
    passage_texts,
    qa_messages,
    shorten,
    user_message,
)
from rag.types import Passage


def _p(text: str) -> Passage:
    return Passage("a.txt", "c", 0, len(text), text, 0.5)


def test_qa_messages__system_first_then_few_shot_then_the_question() -> None:
    msgs = qa_messages("Где прошёл саммит?", [_p("Саммит прошёл в Токио.")])
    assert msgs[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert len(msgs) == 2 + 2 * len(FEW_SHOT)
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant"] * len(FEW_SHOT) + ["user"]
    assert msgs[-1]["content"].index("[1] Саммит прошёл в Токио.") < msgs[-1]["content"].index(
        "Вопрос: Где прошёл саммит?"
    )


def test_qa_messages__prefix_does_not_depend_on_the_question() -> None:
    a = qa_messages("Где?", [_p("Один.")])
    b = qa_messages("What?", [_p("Два."), _p("Три.")], context="Раньше?")
    assert a[:-1] == b[:-1]


@pytest.mark.parametrize(
    ("question", "expected"), [("Где?", "по-русски"), ("Where was it?", "in English")]
)
def test_qa_messages__asks_for_the_question_language(question: str, expected: str) -> None:
    assert expected in qa_messages(question, [_p("x")])[-1]["content"]


def test_qa_messages__follow_up_carries_the_previous_question() -> None:
    last = qa_messages("А он?", [_p("x")], context="Кто такой Папава?")[-1]["content"]
    assert last.index("Предыдущий вопрос: Кто такой Папава?") < last.index("Вопрос: А он?")


def test_format_passages__numbers_from_one_and_cuts_long_text() -> None:
    out = format_passages([_p("а " * 10), _p("слово " * 200)], max_chars=50)
    assert out.startswith("[1] а") and "\n[2] слово" in out
    assert len(out.split("\n")[1]) <= 60 and out.endswith("…")


def test_format_passages__a_passage_is_one_line_cut_after_its_last_whole_sentence() -> None:
    text = "Первый абзац.\nВторое предложение здесь. Третье, длинное, не влезает в предел."
    out = format_passages([_p(text)], max_chars=45)
    assert out == "[1] Первый абзац. Второе предложение здесь."


def test_shorten__keeps_short_text_and_cuts_a_sentenceless_one_at_a_word() -> None:
    assert shorten("Коротко.\n Ясно.", 100) == "Коротко. Ясно."
    assert shorten("раз два три четыре пять", 12) == "раз два три …"


@pytest.mark.parametrize(
    "message", [REFUSAL_RU, REFUSAL_EN, DECLINE_RU, DECLINE_EN, PREMISE_RU, PREMISE_EN]
)
def test_fixed_messages__are_short_sentences(message: str) -> None:
    assert 5 < len(message) < 100 and message.endswith(".")


def test_few_shot__every_answer_cites_or_refuses() -> None:
    for passages, _, reply in FEW_SHOT:
        assert "[" in reply or reply == NO_ANSWER
        assert all(f"[{i}]" not in reply for i in range(len(passages) + 1, 10))


def _user(passages: list[str], question: str) -> str:
    return qa_messages(question, [_p(t) for t in passages])[-1]["content"]


def test_passage_texts__each_passage_line_with_its_leading_space_not_the_question() -> None:
    content = user_message(["Первый. Да.", "Второй [2] текст."], "Где?\n\n[3] не фрагмент")
    spans = passage_texts(content)
    assert [content[a:b] for a, b in spans] == [" Первый. Да.", " Второй [2] текст."]
    assert passage_texts("Вопрос: где?") == []


def test_numbered__renumbers_the_first_passage_only_and_keeps_its_checkpoint() -> None:
    content = user_message(["Первый.", "Второй."], "Где [1]?")
    two = numbered(content, 2)
    assert two.startswith("Фрагменты статьи:\n[2] Первый.\n[2] Второй.") and "Где [1]?" in two
    assert two[: first_passage_end(two)].endswith("[2] Первый.")


def test_first_passage_end__cuts_after_the_first_passage_line() -> None:
    content = _user(["Саммит прошёл в Токио.", "Уран интересует Японию."], "Где прошёл саммит?")
    cut = first_passage_end(content)
    assert content[:cut].endswith("[1] Саммит прошёл в Токио.")
    assert content[cut] == "\n" and "[2]" not in content[:cut]


def test_first_passage_end__same_prefix_for_other_questions_and_later_passages() -> None:
    a = _user(["Саммит прошёл в Токио.", "Уран."], "Где прошёл саммит?")
    b = _user(["Саммит прошёл в Токио."], "Who spoke about uranium?")
    assert a[: first_passage_end(a)] == b[: first_passage_end(b)]


def test_first_passage_end__a_prompt_without_passages_has_no_checkpoint() -> None:
    assert first_passage_end("Вопрос: где?") == 0
    assert first_passage_end("") == 0
