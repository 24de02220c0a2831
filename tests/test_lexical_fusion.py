from pathlib import Path

import pytest

from index.lexical import LexicalIndex, tokenize
from index.store import StoredChunk
from rag.retrieve import fuse


def _c(i: str, text: str = "") -> StoredChunk:
    return StoredChunk(i, "d", 0, len(text), text, "h")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Японские инвестиции", ["японск", "инвестиц"]),
        ("японской инвестицией", ["японск", "инвестиц"]),
        ("Всё ещё ёлка", ["елк"]),  # stop words go; ё folds to е
        ("Investments in Japan", ["invest", "japan"]),
        ("19−20 декабря 2025 года", ["19", "20", "декабр", "2025", "год"]),
        ("3,5 млрд", ["3.5", "млрд"]),
        # a frame says whose view, not what about
        ("по мнению издания", ["издан"]),
        ("по словам Папавы", ["папав"]),
        ("according to the report", ["report"]),  # "article" points at the source: a stopword
        ("", []),
    ],
)
def test_tokenize__stems_by_script(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_lexical__ranks_exact_names_first() -> None:
    chunks = [
        _c("a", "Саммит в Токио"),
        _c("b", "Папава сказал об уране"),
        _c("c", "Уран и Папава"),
    ]
    hits = LexicalIndex.build(chunks).search("Что сказал Папава?", 3)
    assert [c.chunk_id for c, _ in hits][:2] == ["b", "c"]
    assert all(s > 0 for _, s in hits)


def test_lexical__frame_words_do_not_outrank_the_topic() -> None:
    chunks = [
        _c("frames", "По мнению эксперта, по словам политолога, по мнению аналитика."),
        _c("topic", "Япония заходит в регион без багажа колониализма."),
    ]
    hits = LexicalIndex.build(chunks).search("Чем, по мнению издания, отличается колониализм?", 2)
    assert [c.chunk_id for c, _ in hits] == ["topic"]


def test_lexical__cache_of_an_older_tokenizer_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "lexical.pkl"
    index = LexicalIndex.build([_c("a", "Саммит в Токио")], generation=3)
    index.save(path)
    assert LexicalIndex.load(path, 3) is not None
    assert LexicalIndex.load(path, 4) is None
    del vars(index)["tokenizer"]  # as pickled before the tokenizer had a version
    index.save(path)
    assert LexicalIndex.load(path, 3) is None


def test_lexical__unknown_words_find_nothing() -> None:
    assert LexicalIndex.build([_c("a", "текст")]).search("weather forecast", 5) == []
    assert LexicalIndex.build([]).search("текст", 5) == []


def test_fuse__weight_zero_is_dense_order() -> None:
    dense = [(_c("a"), 0.9), (_c("b"), 0.8), (_c("c"), 0.1)]
    lexical = [(_c("c"), 12.0)]
    assert [c.chunk_id for c, _ in fuse(dense, lexical, lexical_weight=0.0)] == ["a", "b", "c"]


def test_fuse__strong_lexical_match_lifts_a_chunk() -> None:
    dense = [(_c("a"), 0.90), (_c("b"), 0.89), (_c("c"), 0.88)]
    lexical = [(_c("c"), 10.0), (_c("a"), 1.0)]
    ranked = fuse(dense, lexical, lexical_weight=0.6)
    assert ranked[0][0].chunk_id == "c"


def test_fuse__chunks_from_either_side_appear_once() -> None:
    ranked = fuse([(_c("a"), 0.5)], [(_c("a"), 3.0), (_c("b"), 1.0)], lexical_weight=0.5)
    assert sorted(c.chunk_id for c, _ in ranked) == ["a", "b"]


def test_fuse__empty_inputs() -> None:
    assert fuse([], [], lexical_weight=0.5) == []


def test_lexical__known_share_is_the_share_of_query_stems_the_index_holds() -> None:
    index = LexicalIndex.build([_c("a", "грузинский политолог Папава"), _c("b", "Tokyo summit")])
    assert index.known_share("политолог Папава") == 1.0
    assert index.known_share("Where was the summit held?") == 0.5  # "where", "was": stopwords
    assert index.known_share("Кто такой историк?") == 0.0
    assert LexicalIndex.build([]).known_share("Папава") == 0.0


def test_lexical__search_stems_takes_stems_made_already() -> None:
    index = LexicalIndex.build([_c("a", "грузинский политолог Папава"), _c("b", "Токио")])
    assert [c.chunk_id for c, _ in index.search_stems(["грузинск", "нет-такого"], 5)] == ["a"]
    assert index.search_stems([], 5) == []
    assert set(index.vocabulary) == set(tokenize("грузинский политолог Папава Токио"))
