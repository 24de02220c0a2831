"""A real Chroma server (`chroma run`) on a free loopback port: index and search through it."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from eval.served import ChromaServer, free_port
from index.build import build_index
from rag.errors import IndexMissingError
from rag.settings import Settings
from rag.wiring import build_rag

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ChromaServer(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server.url


def test_chroma_server__index_and_search_through_it(tmp_path: Path, chroma_url: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Уран из Казахстана для японской энергетики.", encoding="utf-8")
    (corpus / "b.txt").write_text("Саммит в Токио прошёл в декабре.", encoding="utf-8")
    s = Settings(corpus_dir=corpus, data_dir=tmp_path / "local", chroma_url=chroma_url)
    assert build_index(s, embedder=FakeEmbedder()).added == 2
    assert build_index(s, embedder=FakeEmbedder()).added == 0
    # a second process-like reader with its own local folder sees the same index
    reader = build_rag(
        s.model_copy(update={"data_dir": tmp_path / "other"}), embedder=FakeEmbedder()
    )
    hits = reader.search("уран Казахстана", top_k=1).passages
    assert hits[0].doc_id == "a.txt"
    assert reader.document_text("a.txt")[hits[0].start : hits[0].end] == hits[0].text


def test_chroma_server__empty_collection_says_run_rag_index(
    tmp_path: Path, chroma_url: str
) -> None:
    s = Settings(data_dir=tmp_path, chroma_url=chroma_url, collection="never_built")
    with pytest.raises(IndexMissingError, match="rag index"):
        build_rag(s, embedder=FakeEmbedder())


def test_chroma_server__unreachable_is_a_clear_error(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(IndexMissingError, match="cannot open the Chroma store"):
        build_rag(s, embedder=FakeEmbedder())
