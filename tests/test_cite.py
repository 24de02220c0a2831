"""Citation parsing, sentence splitting, span mapping and support checks (rag.cite)."""

from __future__ import annotations

import pytest
from fakes import GlossEmbedder, line_passages

from rag.cite import (
    asked_words,
    cite,
    distinctive,
    misstates_number,
    nearest_negation,
    off_question,
    other_kind,
    other_part,
    parse_markers,
    premise_correction,
    sentence_spans,
    split_claims,
    statements,
    strip_markers,
    truncated_copy,
    unheld_names,
    unheld_words,
    unsourced_names,
)
from rag.cite import extractive as cite_extractive
from rag.types import Citation, Passage

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


def test_cite__an_echo_adding_the_first_name_of_whom_the_question_names_is_dropped() -> None:
    doc = "Таро Асо заявил, что саммит крайне важен."
    q = "Почему Асо считает саммит второстепенным?"  # a short surname, and no "who"
    r = cite("Таро Асо считает саммит второстепенным [1].", _passages(doc), question=q)
    assert not r.citations and r.dropped


def test_cite__english_echo_in_another_inflection_is_dropped() -> None:
    q = "Why does Papava call the format a breakthrough?"  # "calls" repeats "call"
    r = cite("Papava calls the format a breakthrough [1].", P, question=q)
    assert not r.citations and r.dropped


def test_cite__english_answer_naming_one_option_of_the_question_is_kept() -> None:
    q = "Was the format born in Astana or in Tokyo, and in which year?"
    r = cite("In Astana [1].", P, question=q)
    assert r.citations and "Астане" in r.citations[0].quote


def test_cite__english_answer_to_who_made_of_the_question_s_words_is_dropped() -> None:
    r = cite("Astana [1].", P, question="Who represented Astana at the meeting?")
    assert not r.citations and r.dropped


def test_cite__negation_of_the_question_is_kept_as_a_correction() -> None:
    q = "Почему Япония требует политической лояльности?"
    r = cite("Япония не требует политической лояльности [2].", P, question=q)
    assert "лояльности" in r.citations[0].quote


def test_extractive__quotes_the_sentence_closest_to_the_question() -> None:
    r = cite_extractive("Какую долю мирового производства даёт Китай?", P)
    assert r.text.startswith("На Китай приходится около 70%") and r.text.endswith("[1].")
    assert DOC[r.citations[0].start : r.citations[0].end] == r.citations[0].quote


def test_extractive__gives_nothing_when_no_sentence_is_close() -> None:
    assert cite_extractive("Какая погода ожидается завтра?", P).citations == ()


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


def test_extractive__a_cited_passage_needs_a_smaller_share_of_the_question() -> None:
    # the sentence shares 3 of the question's 8 content words: too few on its own, enough in a
    # passage the model pointed at
    q = "Литий или уран Казахстан предлагает всему миру по низкой цене?"
    assert cite_extractive(q, P).citations == ()
    r = cite_extractive(q, P, cited=[4])
    assert r.citations and "литий" in r.citations[0].quote
    assert cite_extractive(q, P, cited=[9]).citations == ()  # a marker past the passages


@pytest.mark.parametrize(
    ("claim", "quote", "expected"),
    [
        (  # the figurative end of the sentence is dropped
            "Астана позиционирует себя как точку входа для японского капитала",
            "Помимо этого, Астана позиционирует себя как наиболее предсказуемую точку входа для "
            "японского капитала, своего рода «безопасный терминал» в неспокойном регионе.",
            True,
        ),
        (  # only a name of three words is left out
            "Формат родился в 2004 году в Астане",
            "Формат «Центральная Азия + Япония» родился в 2004 году в Астане.",
            False,
        ),
        (  # the claim says things the quote does not: not a copy
            "Казахстан экспортирует нефть и газ в Японию по новым маршрутам",
            "Казахстан предлагает Японии обмен доступа к сырью (литий, кобальт) на технологии "
            "глубокой переработки и создание совместных предприятий.",
            False,
        ),
        (  # five words copied from the end: the half the claim drops answers a part asked
            "Япония предлагает высокотехнологичную оснастку этого пространства",
            "Если в ЦА Китай строит дороги, а Россия пытается удержать каркас безопасности в "
            "своём понимании, то Япония предлагает высокотехнологичную оснастку этого "
            "пространства.",
            True,
        ),
        (  # a short answer is brief on purpose
            "Саммит прошёл в Токио",
            "Саммит «Центральная Азия + Япония» прошёл в Токио в декабре 2025 года.",
            False,
        ),
        ("", "Формат родился в 2004 году.", False),
    ],
)
def test_truncated_copy(claim: str, quote: str, expected: bool) -> None:
    assert truncated_copy(claim, quote) is expected


def test_cite__unmarked_english_claim_with_no_cognates_cites_the_best_ranked_passage() -> None:
    r = cite("The format has deep roots.", P, question="What about the format?")
    assert r.text == "The format has deep roots [1]." and r.repaired == 1


QUOTED = (
    "Об этом мы спросили политолога Ивана Петрова. Он ответил быстро. Разговор был долгим. "
    "Токио не может игнорировать растущую роль региона.\n"
    "Петров напомнил, что погода в Токио была хорошей."
)


def test_cite__who_said_cites_where_the_words_are_said_too() -> None:
    q = "Кто считает, что Токио не может игнорировать растущую роль региона?"
    r = cite("Иван Петров [1].", _passages(QUOTED), question=q, language="ru")
    quotes = [c.quote for c in r.citations]
    assert quotes == [
        "Об этом мы спросили политолога Ивана Петрова.",
        "Токио не может игнорировать растущую роль региона.",
    ]
    assert r.text == "Иван Петров [1][2]."
    # "политолог" asks for the person: the introduction sharing it still says nothing of the words
    q = "Какой политолог считает, что Токио не может игнорировать растущую роль региона?"
    r = cite("Иван Петров [1].", _passages(QUOTED), question=q, language="ru")
    assert len(r.citations) == 2 and "игнорировать" in r.citations[1].quote


def test_cite__a_marker_moves_to_the_passage_that_also_holds_the_question() -> None:
    q = "Кто считает, что Токио не может игнорировать растущую роль региона?"
    r = cite("Это Петров [2].", _passages(QUOTED), question=q, language="ru")
    assert r.repaired == 1 and r.citations[0].start == 0
    assert any("игнорировать" in c.quote for c in r.citations)


def test_premise_correction__quotes_the_sentence_that_negates_the_question() -> None:
    said = "Япония не требует политической лояльности от региона."
    doc = f"Саммит прошёл в Токио. {said}"
    r = premise_correction("Почему Япония требует политической лояльности?", _passages(doc))
    assert [c.quote for c in r.citations] == [said]
    assert r.text == f"{said.rstrip('.')} [1]."


def test_premise_correction__nothing_when_no_sentence_negates_the_premise() -> None:
    doc = "Саммит прошёл в Токио. Япония предлагает технологии."
    assert premise_correction("Почему Япония требует лояльности?", _passages(doc)).citations == ()
    assert premise_correction("Why is the sky green?", _passages(DOC)).citations == ()


@pytest.mark.parametrize(
    ("question", "answer", "misstated"),
    [
        ("Почему формат появился только в 2015 году?", "Формат родился в 2004 году.", True),
        ("Why is China's share only 30%?", "China accounts for about 70%.", True),
        # the question's number is in the passages: answered, not corrected
        ("Что случилось в 2004 году?", "Формат родился в 2004 году.", False),
        ("Сколько процентов у Китая, если не 70?", "Около 70%.", False),
        # no number given back, or one the passages do not hold: nothing to correct with
        ("Почему формат появился в 2015 году?", "Формат родился давно.", False),
        ("Почему формат появился в 2015 году?", "Он появился в 1999 году.", False),
        # a one-digit number ("5 стран" for "пяти") is too often written out in the text
        ("Какие 5 стран участвуют?", "Министры собрались в 2004 году.", False),
    ],
)
def test_misstates_number__a_number_the_passages_lack_answered_with_one_they_hold(
    question: str, answer: str, misstated: bool
) -> None:
    assert misstates_number(question, answer, P) is misstated


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


def test_cite__a_question_in_the_source_supports_nothing_and_is_never_quoted() -> None:
    doc = "Чем же примечателен саммит на фоне других форматов? Он прошёл в декабре в Токио."
    q = "Чем примечателен саммит в Токио на фоне других форматов?"
    assert (
        cite("Саммит примечателен на фоне форматов [1].", _passages(doc), question=q).citations
        == ()
    )
    found = cite_extractive(q, _passages(doc), min_share=0.1)
    assert [c.quote for c in found.citations] == ["Он прошёл в декабре в Токио."]


ARTICLE = "\n".join(
    ["Саммит прошёл в Токио."] * 8
    + ["Делегацию Узбекистана возглавил министр.", "О саммите рассказал политолог Петров."]
)


def test_distinctive__question_words_few_paragraphs_use() -> None:
    q = "Кто из экспертов возглавлял делегацию Узбекистана на саммите в Токио?"
    # "саммите" and "Токио" are in most paragraphs, "экспертов" asks for a person: neither tells
    assert distinctive(q, [ARTICLE]) == {"возгл", "делег", "узбек"}
    assert distinctive("Кто провалил саммит?", [ARTICLE]) == {"прова"}  # not in it at all
    # the verb framing what was said is in every quote ("Как считает Папава, ..."): not what
    # tells one quote from another
    assert distinctive("Кто считает, что саммит провалился?", [ARTICLE]) == {"прова"}


def test_off_question__a_passage_holding_no_distinctive_word_of_the_question() -> None:
    q = "Кто возглавлял делегацию Узбекистана на саммите?"
    intro, delegation = _passages(ARTICLE)[-1], _passages(ARTICLE)[-2]
    assert off_question(q, [intro], [ARTICLE])
    assert not off_question(q, [delegation], [ARTICLE])
    assert not off_question("Кто был на саммите?", [intro], [ARTICLE])  # nothing distinctive
    # a short distinctive word may inflect inside five letters: "Корею", "Кореи"
    article = ARTICLE.replace("Узбекистана", "Кореи")
    korea = _passages(article)[-2]
    assert not off_question("Кто представлял Корею на саммите?", [korea], [article])
    assert off_question("Кто представлял Корею на саммите?", [intro], [article])


def test_unheld_names__the_question_s_names_no_source_holds() -> None:
    q = "Какие соглашения подписали Япония и Туркменистан?"
    assert unheld_names(q, ["США подписали соглашение с японской стороной."]) == {
        "турк": "Туркменистан"
    }
    assert unheld_names(q, ["Туркменистан и Япония."]) == {}


def test_unsourced_names__a_question_name_the_answer_repeats_and_no_source_holds() -> None:
    q = "Почему встречу в Центральной Азии отменил Казахстан?"
    source = ["Встречу в Центральной Азии отменила Япония."]
    assert unsourced_names(q, "Казахстан отменил встречу.", source) == {"Казахстан"}
    assert unsourced_names(q, "Её отменила Япония.", source) == set()  # not repeated
    assert unsourced_names(q, "Казахстан отменил.", ["Казахстана там не было."]) == set()
    # a short name meets its other case; the question's first word is no name
    assert unsourced_names("Кто в Центральную Азию?", "Азию.", ["Азии"]) == set()
    assert unsourced_names("Почему так?", "Почему.", ["Иначе."]) == set()


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


def test_cite__english_who_answer_also_cites_where_the_words_are_said() -> None:
    doc = (
        "Своим мнением поделился политолог Василий Папава. Регион богат ресурсами. "
        "Это не революционный прорыв, а значимый шаг."
    )
    q = "Who said the summit is not a revolutionary breakthrough but a significant step?"
    r = cite("Vasily Papava [1].", _passages(doc), question=q, encoder=GlossEmbedder())
    assert [c.quote for c in r.citations] == [
        "Своим мнением поделился политолог Василий Папава.",
        "Это не революционный прорыв, а значимый шаг.",
    ]
    assert r.text == "Vasily Papava [1][2]."
    # not a question about a person: the claim's own sentence is enough
    q = "What is not a revolutionary breakthrough?"
    r = cite("Papava's view [1].", _passages(doc), question=q, encoder=GlossEmbedder())
    assert len(r.citations) == 1


def test_nearest_negation__finds_the_sentence_denying_an_english_premise_by_meaning() -> None:
    doc = (
        "Саммит проходит в Токио. Это не про передел, а про инженерию. "
        "Япония предлагает не выбор между Востоком и Западом, а дом."
    )
    q = "Why must Central Asia choose between East and West?"
    r = nearest_negation(q, _passages(doc), GlossEmbedder())
    assert [c.quote for c in r.citations] == [
        "Япония предлагает не выбор между Востоком и Западом, а дом."
    ]
    assert [doc[c.start : c.end] for c in r.citations] == [r.citations[0].quote]
    # a sentence that denies nothing is no correction, however near
    none = nearest_negation(q, _passages("Выбор между Востоком и Западом."), GlossEmbedder())
    assert none.citations == ()


def test_cite__who_answer_cites_where_the_asked_words_are_said_though_its_name_shares_one() -> None:
    doc = (
        "Прогноз саммита изложил политолог Андраник Ованнисян. Саммит пройдёт в Токио. "
        "- Для стран региона саммит станет возможностью диверсифицировать внешнеэкономические "
        "связи, – заключает эксперт."
    )
    q = "Кто видит в саммите шанс для стран региона разнообразить внешнеэкономические связи?"
    r = cite("Андраник Ованнисян [1].", _passages(doc), question=q)
    # the introduction shares "саммит" with the question; the quote holds far more of it
    assert [c.quote for c in r.citations] == [
        "Прогноз саммита изложил политолог Андраник Ованнисян.",
        doc[doc.index("- Для") :],
    ]
    # not a question asking who: the supporting sentence alone
    q = "Что изложил Андраник Ованнисян о шансе стран разнообразить внешнеэкономические связи?"
    r = cite("Прогноз саммита изложил Андраник Ованнисян [1].", _passages(doc), question=q)
    assert len(r.citations) == 1


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


def test_cite__who_answer_cites_only_the_quote_when_the_quote_names_him_too() -> None:
    doc = (
        "Прогноз саммита изложил политолог Андраник Ованнисян. Саммит пройдёт в Токио. "
        "Как указывает Ованнисян, диалог в формате «ЦА+» инициирован Японией ещё в 2004 году."
    )
    q = "Кто из экспертов напомнил, что диалог в формате «ЦА+» был инициирован Японией в 2004 году?"
    r = cite("Армянский политолог Ованнисян [1].", _passages(doc), question=q)
    assert [c.quote for c in r.citations] == [doc[doc.index("Как указывает") :]]


def test_cite__who_answer_to_a_question_naming_the_kind_asked_for_cites_the_words_too() -> None:
    intro = "О своём мнении рассказал казахстанский политолог Арсен Сарсеков."
    quote = "На его взгляд, ключевая особенность японского подхода – деполитизированность."
    # [1]: his introduction and the next paragraph; [2]: his quote, widened back to it
    doc = f"{intro} Саммит носит рамочный характер.\n{intro} {quote}"
    q = "Какой казахстанский политолог считает японский подход деполитизированным?"
    r = cite("Арсен Сарсеков [1].", _passages(doc), question=q)
    # "казахстанский" says whom to look for, not what he said: [2] is the source
    assert [c.quote for c in r.citations] == [intro, quote]
    assert r.citations[1].start == doc.index(quote)


def test_other_kind__a_person_introduced_as_another_kind_than_asked_for() -> None:
    intro = "Своим видением поделился и грузинский политолог Василий Папава."
    c = [Citation(1, "a.txt", 0, len(intro), intro)]
    assert other_kind("Какой китайский эксперт прокомментировал саммит?", "Василий Папава [1].", c)
    assert not other_kind("Какой грузинский эксперт прокомментировал саммит?", "Папава [1].", c)
    assert not other_kind("Кто из экспертов прокомментировал саммит?", "Василий Папава [1].", c)
    # the kind is met in the sentence naming the person, in any form ("Японии" for "японских")
    lead = "Премьер-министр Японии Санаэ Такаити встретится с лидерами."
    c = [Citation(1, "a.txt", 0, len(lead), lead)]
    assert not other_kind("Кто из японских руководителей встретится?", "Санаэ Такаити [1].", c)
    # an English question names the kind by a demonym, which the Russian sentence must hold
    c = [Citation(1, "a.txt", 0, len(intro), intro)]
    q = "Which Tajik political scientist commented on the summit?"
    assert other_kind(q, "Vasiliy Papava [1].", c)
    assert not other_kind(q.replace("Tajik", "Georgian"), "Vasiliy Papava [1].", c)
    assert not other_kind(q.replace("Tajik", "Martian"), "Vasiliy Papava [1].", c)  # not listed
    # a president is a person of a kind, and "Central Asian" a kind the region's people are
    aso = "Это важно, – заявил вице-президент партии Японии Таро Асо."
    c = [Citation(1, "a.txt", 0, len(aso), aso)]
    assert other_kind("Which Central Asian president arrived first?", "Taro Aso [1].", c)
    assert other_kind("Какой центральноазиатский президент прилетел первым?", "Таро Асо [1].", c)
    # a kind saying whose view is asked for asks for nobody: the answer names no person
    fact = "От C5+ЕС он отличается вниманием к ресурсной безопасности Японии."
    c = [Citation(1, "a.txt", 0, len(fact), fact)]
    q = "Чем, по мнению грузинского эксперта, японский формат отличается от C5+ЕС?"
    assert not other_kind(q, "Вниманием к безопасности Японии [1].", c)


def test_cite__who_answer_naming_only_the_person_the_question_names_is_an_echo() -> None:
    doc = "Таджикский политолог Мухаммад Шамсуддинов. Саммиты С5+1 провели ЕС, Китай и США."
    q = "Кто, по словам Шамсуддинова, провёл саммиты С5+1?"
    # his first name is the only word the question lacks: it names whom the question named
    assert cite("Мухаммад Шамсуддинов [1].", _passages(doc), question=q).citations == ()
    assert cite("ЕС, Китай и США [1].", _passages(doc), question=q).citations != ()
    # another person is an answer
    q = "Кто, кроме Шамсуддинова, провёл саммиты С5+1?"
    doc = "Политолог Василий Папава провёл саммиты С5+1."
    assert cite("Василий Папава [1].", _passages(doc), question=q).citations != ()


def test_unheld_words__content_words_no_passage_holds_less_names_and_question_words() -> None:
    q = "Почему, по словам Шамсуддинова, встречу отменили из-за наводнения?"
    passage = Passage("d", "c", 0, 60, "Встречу отменили из-за угроз землетрясения.", 0.0)
    assert unheld_words(q, [passage]) == {"навод"}
    assert unheld_words("Почему встречу отменили?", [passage]) == set()


def test_other_part__the_sentence_answering_a_second_question_the_answer_left_out() -> None:
    doc = (
        "Правительство Алаш-Орды просило Токио о признании.\n"
        "Казахстану стоило бы передать архивные документы того периода.\n"
        "Саммит прошёл в Токио."
    )
    passages = _passages(doc)
    q = "Какое правительство просило Токио о признании и какие документы стоило бы передать?"
    answer = cite("Правительство Алаш-Орды [1].", passages, question=q)
    extra = other_part(q, answer, passages)
    assert extra.citations[0].quote == doc.split("\n")[1]
    # one question, or one a verb asks, has no other part
    one = "Какое правительство просило Токио о признании, и почему?"
    assert other_part(one.replace(", и почему", ""), answer, passages).citations == ()
    told = "Кто объяснил, какие документы стоило бы передать?"
    assert other_part(told, answer, passages).citations == ()
