import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunk import (
    CONTEXT_NAMES,
    chunk_id_for,
    chunk_text,
    names_before,
    paragraphs,
    sentences,
)
from rag.settings import DEFAULT_CORPUS_DIR

ARTICLE = (DEFAULT_CORPUS_DIR / "tokyo-summit-2025.ru.txt").read_text(encoding="utf-8")

_words = st.text(alphabet="абвгдеёжзabcxyz0123456789", min_size=1, max_size=14)
_sentence = st.builds(
    lambda ws, end: " ".join(ws).capitalize() + end,
    st.lists(_words, min_size=1, max_size=30),
    st.sampled_from([".", "!", "?", "…", "", ".»"]),
)
_paragraph = st.builds(" ".join, st.lists(_sentence, min_size=1, max_size=8))
_document = st.builds(
    lambda ps, sep: sep.join(ps),
    st.lists(_paragraph, min_size=1, max_size=8),
    st.sampled_from(["\n", "\n\n", " \n", "\n  "]),
)


@settings(max_examples=200, deadline=None)
@given(_document, st.integers(min_value=40, max_value=600), st.integers(min_value=0, max_value=200))
def test_chunk__offsets_slice_back_to_text(doc: str, size: int, min_size: int) -> None:
    chunks = chunk_text("d", doc, size=size, min_size=min_size)
    for c in chunks:
        assert doc[c.start : c.end] == c.text
        assert c.text == c.text.strip() and c.text
    # in order, no overlap, and every non-space character is in some chunk
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))
    covered = "".join(c.text for c in chunks)
    assert "".join(covered.split()) == "".join(doc.split())


@settings(max_examples=100, deadline=None)
@given(_document)
def test_chunk__ids_are_deterministic(doc: str) -> None:
    assert chunk_text("d", doc) == chunk_text("d", doc)


def test_chunk__article_offsets_and_sizes() -> None:
    chunks = chunk_text("a", ARTICLE, size=400, min_size=150)
    assert all(ARTICLE[c.start : c.end] == c.text for c in chunks)
    # within one paragraph a chunk keeps to the size; only carried short lead-ins add to it, and
    # a question kept with the sentence answering it
    assert all(len(c.text) <= 400 for c in chunks if "\n" not in c.text and "?" not in c.text)
    assert all(len(c.text.split("\n")[-1]) <= 400 for c in chunks if "?" not in c.text)
    assert {p for p in paragraphs(ARTICLE)} and len(chunks) < len(ARTICLE) / 200


def test_chunk__does_not_cross_paragraphs_needlessly() -> None:
    text = "А" * 200 + ". Б" + "б" * 100 + ".\n" + "В" * 250 + "."
    chunks = chunk_text("d", text, size=400, min_size=50)
    assert [c.text.count("\n") for c in chunks] == [0, 0]


def test_chunk__short_lead_in_joins_the_paragraph_it_introduces() -> None:
    text = "Мы спросили эксперта.\n- " + "Слово " * 60 + "– сказал он."
    chunks = chunk_text("d", text, size=400, min_size=100)
    assert chunks[0].text.startswith("Мы спросили эксперта.\n- Слово")


def test_chunk__long_paragraph_splits_between_sentences() -> None:
    sents = [f"Предложение номер {i} о важном деле." for i in range(30)]
    text = " ".join(sents)
    chunks = chunk_text("d", text, size=300, min_size=50)
    assert len(chunks) > 1
    assert all(c.text.endswith(".") for c in chunks)


def test_chunk__a_question_stays_with_the_sentences_answering_it() -> None:
    question = "Чем же этот саммит примечателен на фоне других?"
    text = f"{question} " + " ".join(f"Ответ номер {i} о деле." for i in range(12))
    chunks = chunk_text("d", text, size=60, min_size=10)
    assert len(chunks) > 1 and all(not c.text.endswith("?") for c in chunks)
    assert chunks[0].text.startswith(question) and chunks[0].text.endswith(".")
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_chunk__initials_do_not_end_a_sentence() -> None:
    text = "Об этом сказал А. Петров. Дальше."
    assert [text[s:e] for s, e in sentences(text, 0, len(text))] == [
        "Об этом сказал А. Петров.",
        "Дальше.",
    ]


def test_chunk_id__depends_on_doc_position_and_text() -> None:
    base = chunk_id_for("a", 0, "x")
    assert base == chunk_id_for("a", 0, "x")
    assert (
        len({base, chunk_id_for("b", 0, "x"), chunk_id_for("a", 1, "x"), chunk_id_for("a", 0, "y")})
        == 4
    )


def test_names_before__the_speaker_named_earlier_is_carried_into_the_quote() -> None:
    text = (
        "Своим мнением поделился политолог Василий Папава.\n"
        "- Саммит важен для региона, – считает эксперт.\n"
        "- Планируется принятие декларации о приоритетах, – заключил он."
    )
    start = text.index("- Планируется")
    names = names_before(text, start, len(text), window=1000).split()
    assert {"Василий", "Папава"} <= set(names)
    assert "Своим" not in names and "Планируется" not in names  # sentence openers are not names


def test_names_before__rarest_first_and_limited() -> None:
    common = "Сказано, что Япония важна. " * 5
    text = common + "Об этом сказал Таро Асо. Ещё говорили Анна, Борис, Вера, Глеб и Дина.\nДалее."
    names = names_before(text, text.index("Далее"), len(text), window=10_000).split()
    assert len(names) == CONTEXT_NAMES and "Япония" not in names and "Асо" in names


def test_names_before__skips_names_inside_the_chunk_and_respects_the_window() -> None:
    text = "Говорит Иван Петров.\n" + "слово " * 100 + "\nПетров сказал, что Мария права."
    start = text.index("Петров сказал")
    assert "Петров" not in names_before(text, start, len(text), window=5000).split()
    assert names_before(text, start, len(text), window=50) == ""
    assert names_before(text, start, len(text), window=0) == ""


SPEAKER_TEXT = (
    "Центральная Азия важна для Японии. Центральная Азия богата ресурсами.\n"
    "О своём мнении нам рассказал и казахстанский политолог Арсен Сарсеков.\n"
    "- Саммит важен для региона, – считает эксперт.\n"
    "На его взгляд, ключевая особенность подхода – деполитизированность."
)


EDITORIAL = "Саммит в Токио отличается от других форматов."


def test_chunk__context_changes_the_id_and_the_index_text_only() -> None:
    text = "Говорит эксперт Иван Петров.\n" + "Длинная цитата эксперта о саммите. " * 10
    plain = chunk_text("d", text, size=400, min_size=10)
    named = chunk_text("d", text, size=400, min_size=10, context_chars=1000)
    assert [c.text for c in plain] == [c.text for c in named]
    assert named[1].context and named[1].index_text == f"{named[1].context}\n{named[1].text}"
    assert plain[1].index_text == plain[1].text and plain[1].chunk_id != named[1].chunk_id
