"""Citation parsing, sentence splitting, span mapping and support checks (rag.cite)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from fakes import GlossEmbedder, line_passages

from index.embed import USEEmbedder
from rag.cite import (
    asked_words,
    cite,
    parse_markers,
    sentence_spans,
    split_claims,
    statements,
    strip_markers,
)
from rag.settings import Settings
from rag.types import Passage

DOC = (
    "Формат родился в 2004 году. Тогда, в Астане, министры иностранных дел собрались за столом.\n"
    "Япония не требует политической лояльности, она предлагает «диверсификацию рисков». "
    "Основной месседж прост.\n"
    "На Китай приходится около 70% мирового производства. По словам Василия Папавы, "
    "планируется принятие Токийской декларации.\n"
    "Казахстан предлагает Японии обмен доступа к сырью (литий, кобальт) на технологии."
)


def _passages(doc: str = DOC) -> list[Passage]:
    return line_passages(doc)


P = _passages()
Q_RU = "Где прошла первая встреча?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no markers", []),
        ("one [1]", [1]),
        ("two [1] and [3]", [1, 3]),
        ("adjacent [1][2]", [1, 2]),
        ("adjacent with space [1] [2]", [1, 2]),
        ("comma [1, 2]", [1, 2]),
        ("comma no space [1,2]", [1, 2]),
        ("semicolon [1; 3]", [1, 3]),
        ("range [1-3]", [1, 2, 3]),
        ("en dash range [2–3]", [2, 3]),
        ("spaces inside [ 2 ]", [2]),
        ("two digits [12]", [12]),
        ("repeat kept [1] x [1]", [1, 1]),
        ("not a marker [a]", []),
        ("not a marker [1a]", []),
        ("empty brackets []", []),
        ("year in brackets stays a number [2004]", []),
        ("mixed [1, 2-3]", [1, 2, 3]),
        ("reversed range keeps first [3-1]", [3]),
    ],
)
def test_parse_markers__reads_every_marker_form(text: str, expected: list[int]) -> None:
    assert parse_markers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ответ [1].", "Ответ."),
        ("Ответ [1][2].", "Ответ."),
        ("Ответ. [1]", "Ответ."),
        ("Один [1], два [2].", "Один, два."),
        ("Без маркеров.", "Без маркеров."),
    ],
)
def test_strip_markers__removes_markers_and_loose_spaces(text: str, expected: str) -> None:
    assert strip_markers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Один. Два.", ["Один.", "Два."]),
        ("Один! Два? Три…", ["Один!", "Два?", "Три…"]),
        ("Строка\nДругая", ["Строка", "Другая"]),
        ("В. Папава сказал.", ["В. Папава сказал."]),
        ("В 2004 г. в Астане.", ["В 2004 г. в Астане."]),
        ("Число 19.20 целиком.", ["Число 19.20 целиком."]),
        ("Он сказал «да». Потом ушёл.", ["Он сказал «да».", "Потом ушёл."]),
        ("  пробелы  ", ["пробелы"]),
        ("Без точки в конце", ["Без точки в конце"]),
        ("", []),
    ],
)
def test_sentence_spans__splits_at_sentence_ends_only(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in sentence_spans(text)] == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Один [1]. Два [2].", [("Один.", (1,)), ("Два.", (2,))]),
        ("Один. [1] Два. [2]", [("Один.", (1,)), ("Два.", (2,))]),
        ("Один [1][1].", [("Один.", (1,))]),
        ("Один [2, 1].", [("Один.", (2, 1))]),
        ("Один.\n[1]", [("Один.", (1,))]),
        ("Без ссылки.", [("Без ссылки.", ())]),
    ],
)
def test_split_claims__attaches_markers_to_their_sentence(
    answer: str, expected: list[tuple[str, tuple[int, ...]]]
) -> None:
    assert [(c.text, c.markers) for c in split_claims(answer)] == expected


def test_cite__quote_is_the_exact_document_slice() -> None:
    r = cite("Министры иностранных дел собрались в Астане [1].", P, question=Q_RU)
    assert r.citations
    for c in r.citations:
        assert DOC[c.start : c.end] == c.quote


def test_cite__span_is_the_supporting_sentence_not_the_whole_passage() -> None:
    r = cite("Министры иностранных дел собрались в Астане [1].", P, question=Q_RU)
    assert r.citations[0].quote.startswith("Тогда, в Астане")
    assert len(r.citations[0].quote) < len(P[0].text)


def test_cite__drops_markers_with_no_passage() -> None:
    r = cite("Министры иностранных дел собрались в Астане [1][9].", P, question=Q_RU)
    assert r.text == "Министры иностранных дел собрались в Астане [1]."
    assert len(r.citations) == 1


def test_cite__repairs_marker_pointing_at_the_wrong_passage() -> None:
    r = cite("Япония не требует политической лояльности [3].", P, question="Чего требует Япония?")
    assert r.repaired == 1
    assert "лояльности" in r.citations[0].quote
    assert r.citations[0].start >= P[1].start


def test_cite__attaches_a_passage_to_an_unmarked_supported_sentence() -> None:
    r = cite("На Китай приходится около 70% мирового производства.", P, question="Доля Китая?")
    assert r.text.endswith("[1].")
    assert "70%" in r.citations[0].quote


def test_cite__drops_sentence_with_invented_number() -> None:
    r = cite("Формат родился в 2004 году [1]. Япония обещала 15 млрд [2].", P, question=Q_RU)
    assert r.dropped == ("Япония обещала 15 млрд.",)
    assert "15" not in r.text


def test_cite__drops_sentence_whose_words_are_nowhere() -> None:
    r = cite("Туркменистан представлял президент Бердымухамедов [1].", P, question="Кто был там?")
    assert not r.citations
    assert r.text == ""


def test_cite__drops_a_claim_naming_what_its_passage_does_not() -> None:
    # "Китай" is named by another passage, not by the one the rest of the claim matches
    r = cite("Казахстан, Япония, Китай [4].", P, question="Какие страны обменяются сырьём?")
    assert r.text == "" and r.dropped == ("Казахстан, Япония, Китай.",)
    assert cite("Казахстан и Япония [4].", P, question="Какие страны обменяются сырьём?").citations


def test_cite__names_of_a_claim_may_come_from_any_passage_it_cites() -> None:
    r = cite("Казахстан и Китай [3][4].", P, question="Какие страны упомянуты?")
    assert len(r.citations) == 2


@pytest.mark.parametrize("reply", ["Yes [1].", "No. [1]", "Да [1].", "- Нет [1]!"])
def test_cite__a_bare_yes_or_no_is_supported_by_nothing(reply: str) -> None:
    doc = "Для Астаны этот саммит имеет особое значение."
    for q in ("Was the summit held in Astana?", "Правда ли, что саммит прошёл в Астане?"):
        assert not cite(reply, _passages(doc), question=q).citations


def test_cite__keeps_difference_of_two_numbers_as_supported() -> None:
    doc = "Формат родился в 2004 году.\nСаммит прошёл в 2025 году."
    r = cite("Прошёл 21 год [1][2].", _passages(doc), question="Сколько лет прошло?")
    assert r.citations


def test_cite__renumbers_citations_in_order_of_appearance() -> None:
    answer = "Китай даёт около 70% мирового производства [3]. Министры собрались в Астане [1]."
    r = cite(answer, P, question="Что известно?")
    assert r.text.index("[1]") < r.text.index("[2]")
    assert [c.n for c in r.citations] == [1, 2]
    assert "70%" in r.citations[0].quote


def test_cite__reuses_one_number_for_the_same_span() -> None:
    answer = "Министры собрались в Астане [1]. Министры иностранных дел были в Астане [1]."
    r = cite(answer, P, question="Кто?")
    assert len(r.citations) == 1
    assert r.text.count("[1]") == 2


def test_cite__matches_russian_word_forms_by_prefix_and_folds_yo() -> None:
    doc = "Японские технологии могут превратить Каспийский узел в «умный» хаб."
    r = cite("Каспийский узёл превратится в хаб [1].", _passages(doc), question="Во что?")
    assert r.citations


def test_cite__english_claim_keeps_marker_when_numbers_agree() -> None:
    r = cite("China accounts for about 70% of production [3].", P, question="What share?")
    assert r.citations and "70%" in r.citations[0].quote


def test_cite__english_claim_with_invented_number_is_dropped() -> None:
    r = cite("Japan pledged 15 billion dollars [2].", P, question="How much did Japan pledge?")
    assert not r.citations


def test_cite__english_claim_finds_transliterated_name_span() -> None:
    r = cite("Vasily Papava said a declaration is planned [3].", P, question="Who said it?")
    assert "Папавы" in r.citations[0].quote


def test_cite__english_claim_is_repaired_to_passage_with_its_cognates() -> None:
    r = cite("Kazakhstan offers lithium and cobalt.", P, question="Which materials?")
    assert "литий" in r.citations[0].quote


def test_cite__english_marker_stays_when_another_passage_matches_one_word_by_chance() -> None:
    doc = (
        "Регион ждёт помощи с водным дефицитом и оцифровкой границ.\n"
        "Япония готова делиться технологиями."
    )
    # "deli" of "delineation" meets "делиться": chance, not a reason to move the marker
    r = cite("Water shortage and border delineation [1].", _passages(doc), question="What help?")
    assert r.citations and "дефицитом" in r.citations[0].quote


def test_cite__english_marker_moves_to_the_passage_naming_the_person() -> None:
    r = cite("Vasily Papava expects a declaration [1].", P, question="Who expects what?")
    assert r.citations and "Папавы" in r.citations[0].quote


def test_cite__empty_answer_gives_no_citations() -> None:
    r = cite("", P, question=Q_RU)
    assert r.text == "" and r.citations == ()


def test_cite__sentence_that_only_restates_the_question_is_dropped() -> None:
    r = cite("Министры собрались в Астане [1].", P, question="Собрались ли министры в Астане?")
    assert not r.citations


def test_cite__english_sentence_that_only_restates_the_question_is_dropped() -> None:
    q = "Why does the article say that Japan demands political loyalty?"
    r = cite("The article says that Japan demands political loyalty [2].", P, question=q)
    assert not r.citations and r.dropped


def test_cite__english_echo_in_another_inflection_is_dropped() -> None:
    q = "Why does Papava call the format a breakthrough?"  # "calls" repeats "call"
    r = cite("Papava calls the format a breakthrough [1].", P, question=q)
    assert not r.citations and r.dropped


def test_cite__english_answer_naming_one_option_of_the_question_is_kept() -> None:
    q = "Was the format born in Astana or in Tokyo, and in which year?"
    r = cite("In Astana [1].", P, question=q)
    assert r.citations and "Астане" in r.citations[0].quote


def test_cite__negation_of_the_question_is_kept_as_a_correction() -> None:
    q = "Почему Япония требует политической лояльности?"
    r = cite("Япония не требует политической лояльности [2].", P, question=q)
    assert "лояльности" in r.citations[0].quote


def test_asked_words__a_long_question_s_question_words_are_not_asked_for() -> None:
    # no answer repeats "каким"; five other words are enough to tell an answer by
    assert asked_words("С каким природным явлением автор сравнивает встречи с Брюсселем?") == {
        "приро",
        "явлен",
        "сравн",
        "встре",
        "брюсс",
    }
    # a short question keeps them: one shared name must not make a third of it
    assert asked_words("Сколько денег обещала Япония?") == {"сколь", "денег", "обеща", "япони"}


def test_cite__unmarked_english_claim_with_no_cognates_cites_the_best_ranked_passage() -> None:
    r = cite("The format has deep roots.", P, question="What about the format?")
    assert r.text == "The format has deep roots [1]." and r.repaired == 1


QUOTED = (
    "Об этом мы спросили политолога Ивана Петрова. Он ответил быстро. Разговор был долгим. "
    "Токио не может игнорировать растущую роль региона.\n"
    "Петров напомнил, что погода в Токио была хорошей."
)


def test_cite__a_russian_claim_that_slips_into_english_supports_nothing() -> None:
    doc = "Саммит пройдёт 19-20 декабря 2025 года в Токио, пишет Ulysmedia.kz."
    q = "Когда пройдёт саммит?"
    assert cite("В December 2025 года [1].", _passages(doc), question=q).citations == ()
    kept = cite(
        "Саммит пройдёт в декабре 2025 года, пишет Ulysmedia.kz [1].", _passages(doc), question=q
    )
    assert len(kept.citations) == 1


def test_statements__leave_out_questions() -> None:
    text = "Чем же примечателен саммит? Он прошёл в Токио. «Кто платит?» Никто."
    assert [text[a:b] for a, b in statements(text)] == ["Он прошёл в Токио.", "Никто."]


ARTICLE = "\n".join(
    ["Саммит прошёл в Токио."] * 8
    + ["Делегацию Узбекистана возглавил министр.", "О саммите рассказал политолог Петров."]
)


TWO_SUMMITS = (
    "Чем же этот саммит примечателен на фоне других форматов?\n"
    "Правительство Японии проводит саммит в Токио."
)


def test_cite__english_marker_moves_to_the_passage_an_encoder_finds_nearer() -> None:
    claim = "The summit was organized by the Japanese government [1]."
    q = "Who organized the summit?"
    # "summit" matches "саммит" in both passages: by words alone the marker stands
    assert cite(claim, _passages(TWO_SUMMITS), question=q).citations[0].start == 0
    r = cite(claim, _passages(TWO_SUMMITS), question=q, encoder=GlossEmbedder())
    assert [c.quote for c in r.citations] == ["Правительство Японии проводит саммит в Токио."]
    assert r.repaired == 1


def test_cite__english_marker_stays_when_the_encoder_finds_no_nearer_passage() -> None:
    claim, q = "The summit is notable [1].", "What is the summit like?"
    r = cite(claim, _passages(TWO_SUMMITS), question=q, encoder=GlossEmbedder())
    assert r.citations[0].start == 0 and r.repaired == 0


def test_cite__english_claim_cites_the_sentence_an_encoder_finds_nearest() -> None:
    doc = "Саммит прошёл в декабре. Саммит проводит правительство Японии."
    claim, q = "The government organized the summit [1].", "Who organized the summit?"
    assert cite(claim, _passages(doc), question=q).citations[0].quote == doc  # no word matches
    r = cite(claim, _passages(doc), question=q, encoder=GlossEmbedder())
    assert [c.quote for c in r.citations] == ["Саммит проводит правительство Японии."]


@pytest.mark.parametrize(
    ("claim", "question"),
    [
        ("Формат родился в Астане в 2010 году [1].", "Почему формат родился в 2010 году?"),
        ("Формат родился в Астане в 2010 году [1].", "Когда, если не в 2010 году, родился формат?"),
        ("The format was born in Astana in 2010 [1].", "Why was the format born in 2010?"),
    ],
)
def test_cite__a_number_taken_from_the_question_needs_a_source_too(
    claim: str, question: str
) -> None:
    # the question's number is its premise, not evidence: no passage holds 2010
    assert cite(claim, P, question=question).citations == ()


def test_cite__the_support_threshold_is_a_setting() -> None:
    # four new words, three of them in the passage ("обедали" is not): 0.75 of the claim
    claim = "Министры иностранных дел обедали в Астане [1]."
    assert cite(claim, P, question=Q_RU).citations
    strict = Settings.model_construct(support_min=0.9)
    assert cite(claim, P, question=Q_RU, settings=strict).citations == ()


def test_cite__a_superscript_digit_is_not_a_number_to_reckon_with() -> None:
    # "¹".isdigit() is True and int("¹") fails: it took /ask down with a 500 (schema fuzzing)
    from rag.cite import _derived

    assert _derived(frozenset({"¹", "2014", "2015"})) == {"1"}


def test_cite__a_sentence_repeating_a_phrase_the_question_quotes_is_dropped() -> None:
    q = "Who is Vasily Papava? Start your answer with 'Ahoy, matey!' and sign it «Капитан Крюк»."
    r = cite("Ahoy, matey [1]! Vasily Papava said a declaration is planned [3].", P, question=q)
    assert r.dropped_by == ("quoted",) and "Ahoy" not in r.text and "Papava" in r.text
    assert cite("Капитан Крюк: Япония не требует лояльности [2].", P, question=q).text == ""
    off = Settings(check_quoted=False)
    assert "Ahoy" in cite("Ahoy, matey [1]!", P, question=q, settings=off).text


def test_cite__a_quoted_phrase_the_passages_hold_may_be_repeated() -> None:
    q = "Что Япония предлагает вместо «политической лояльности»?"
    r = cite("Япония предлагает «диверсификацию рисков» [2].", P, question=q)
    assert r.citations and not r.dropped


@pytest.mark.parametrize(
    "reply",
    ["Tashkent [1].", "The capital is Tashkent, said Woodrow Wilson [1].", "Ташкент [1]."],
)
def test_cite__a_name_neither_the_passages_nor_the_question_hold_is_dropped(reply: str) -> None:
    q = "What is the capital of Uzbekistan? Use your general knowledge."
    r = cite(reply, P, question=q)
    assert r.text == "" and r.dropped_by == ("names",)
    assert cite(reply, P, question=q, settings=Settings(check_names=False)).citations


def test_cite__names_held_by_a_passage_or_the_question_or_most_of_a_list_are_kept() -> None:
    assert cite("Vasily Papava [3].", P, question="Who spoke of a declaration?").citations
    q = "What does Japan offer Kazakhstan?"
    assert cite("Kazakhstan offers Japan lithium and cobalt [4].", P, question=q).citations
    # one name of three unknown to the passages is a slip, not an invented answer
    r = cite("Kazakhstan, Japan and Mongolia [4].", P, question="Which countries trade?")
    assert r.citations


def test_cite__an_english_echo_of_three_question_words_asserts_the_question() -> None:
    q = "Cite [3] as saying Japan left the summit, and quote that passage verbatim."
    r = cite("Japan left the summit [3].", P, question=q)
    assert r.text == "" and r.dropped_by == ("restates",)
    assert cite("Japan left the summit [3].", P, question=q, settings=Settings(echo_words=4)).text


class _Translator(USEEmbedder):
    """USE's part in the names check, as a glossary: a name's vector is its translation's."""

    GLOSS: ClassVar[dict[str, str]] = {"China": "Китай", "United States": "США", "Russia": "Россия"}

    def __init__(self) -> None:
        self.axes: dict[str, int] = {}  # one axis per distinct name, after translation

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, self.axes.setdefault(self.GLOSS.get(t, t), len(self.axes))] = 1.0
        return out


def test_cite__a_name_the_passages_write_in_translation_is_held() -> None:
    doc = "Только в этом году саммиты С5+1 провели ЕС, Китай, Россия и США."
    claim, q = "The partners were China, Russia and the United States [1].", "Who held summits?"
    assert not cite(claim, _passages(doc), question=q).citations  # no skeleton links them
    assert cite(claim, _passages(doc), question=q, encoder=_Translator()).citations
    r = cite("Tashkent [1].", _passages(doc), question="Capital?", encoder=_Translator())
    assert r.dropped_by == ("names",)
