"""A vector segment that fails to load (chromadb issue 7238), staged on a real embedded Chroma:
found when the index opens, with the repair named, and `rag index --repair` rebuilds it from the
texts the store keeps, API documents included."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from fakes import FakeEmbedder

from index.build import build_index, put_document, repair_index
from index.store import Store
from rag.errors import IndexDamagedError
from rag.settings import Settings, get_settings
from rag.wiring import build_rag


def _damaged(tmp_path: Path) -> Settings:
    """An index past Chroma's 1,000-write flush (so its vectors live in the segment files, not
    only in the log it could rebuild them from), with one segment file then garbled."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(30):
        lines = (
            f"Документ {i}, абзац {j}: мост номер {i * 100 + j} через реку." for j in range(80)
        )
        (corpus / f"d{i}.txt").write_text("\n".join(lines), encoding="utf-8")
    s = Settings(corpus_dir=corpus, data_dir=tmp_path / "data", chunk_size=60, chunk_min=10)
    build_index(s, embedder=FakeEmbedder())
    store = Store.open(s, embedding_name=FakeEmbedder.name)
    put_document(store, FakeEmbedder(), s, doc_id="api-note.txt", text="Паром ходит по вторникам.")
    # the chunks' segment: the other two collections hold a vector per document, or one
    level0 = max((s.data_dir / "chroma").glob("*/data_level0.bin"), key=lambda p: p.stat().st_size)
    (level0.parent / "header.bin").write_bytes(b"garbled" * 10)
    # as a new process finds it: Chroma keeps one client per folder, its segments loaded
    SharedSystemClient.clear_system_cache()
    return s


def test_damaged_vector_index__found_at_open_then_repaired_from_the_stored_texts(
    tmp_path: Path,
) -> None:
    s = _damaged(tmp_path)
    with pytest.raises(IndexDamagedError, match=r"rag index --repair"):
        build_rag(s, embedder=FakeEmbedder())
    report = repair_index(s, embedder=FakeEmbedder())
    assert report.documents == 31
    rag = build_rag(s, embedder=FakeEmbedder())
    assert any("2317" in p.text for p in rag.search("мост номер 2317", top_k=5).passages)
    assert rag.search("Паром вторникам", top_k=1).passages[0].doc_id == "api-note.txt"
    sources = {d.doc_id: d.source for d in rag.list_documents()}
    assert sources["api-note.txt"] == "api" and sources["d7.txt"] == "corpus"
    assert build_index(s, embedder=FakeEmbedder()).changed == 0  # the folder agrees


def test_rag_serve__refuses_a_damaged_index_naming_the_repair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    s = _damaged(tmp_path)
    monkeypatch.setattr("rag.wiring.load_embedder", lambda _: FakeEmbedder())
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: pytest.fail("it served a damaged index"))
    for name, value in {"RAG_DATA_DIR": s.data_dir, "RAG_CORPUS_DIR": s.corpus_dir}.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    try:
        assert main(["serve", "--port", "0"]) == 2
    finally:
        get_settings.cache_clear()
    assert "rag index --repair" in capsys.readouterr().err  # before uvicorn started
