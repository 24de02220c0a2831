"""A real Chroma server (`chroma run`) on a free loopback port: index and search through it."""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from index.build import build_index
from rag.errors import IndexMissingError
from rag.settings import Settings
from rag.wiring import build_rag

pytestmark = pytest.mark.real


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the Chroma server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


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
