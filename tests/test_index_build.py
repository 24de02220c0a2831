"""The build on a real embedded Chroma with the small deterministic embedder."""

from pathlib import Path

import pytest
from fakes import FakeEmbedder

import index.build
from index.build import build_index
from index.store import Store
from rag.errors import ConfigError, DocumentNotFoundError, IndexMissingError, InvalidInputError
from rag.settings import Settings
from rag.wiring import build_rag


def _settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    return Settings(corpus_dir=corpus, data_dir=tmp_path / "data", chunk_size=200, chunk_min=40)


def _docs(s: Settings, **docs: str) -> None:
    for name, text in docs.items():
        (s.corpus_dir / f"{name}.txt").write_text(text, encoding="utf-8")


URAN = "Казахстан добывает уран. Папава считает, что уран станет темой саммита в Токио."
TOKIO = "Саммит пройдёт в Токио 19−20 декабря. Премьер-министр Японии встретится с лидерами."


def test_build__second_run_changes_nothing(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN, tokio=TOKIO)
    first = build_index(s, embedder=FakeEmbedder())
    assert (first.added, first.changed, first.removed, first.documents) == (2, 0, 0, 2)
    second = build_index(s, embedder=FakeEmbedder())
    assert (second.added, second.changed, second.removed, second.unchanged) == (0, 0, 0, 2)
    assert "added 0, changed 0, removed 0" in second.summary()


def test_build__replaces_changed_and_removes_deleted(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN, tokio=TOKIO)
    build_index(s, embedder=FakeEmbedder())
    _docs(s, uran="Казахстан экспортирует нефть и газ в Европу.")
    (s.corpus_dir / "tokio.txt").unlink()
    report = build_index(s, embedder=FakeEmbedder())
    assert (report.added, report.changed, report.removed, report.documents) == (0, 1, 1, 1)
    rag = build_rag(s, embedder=FakeEmbedder())
    texts = " ".join(p.text for p in rag.search("уран Папава нефть саммит", top_k=10).passages)
    assert "нефть" in texts and "Папава" not in texts and "Токио" not in texts
    store = Store.open(s, embedding_name=FakeEmbedder.name)
    assert store.chunks_collection.count() == store.chunk_count()  # no stale versions left


def test_search__passages_carry_exact_offsets(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN, tokio=TOKIO)
    build_index(s, embedder=FakeEmbedder())
    rag = build_rag(s, embedder=FakeEmbedder())
    passages = rag.search("Что Папава сказал про уран?", top_k=2).passages
    assert passages[0].doc_id == "uran.txt"
    for p in passages:
        assert rag.document_text(p.doc_id)[p.start : p.end] == p.text
    assert passages[0].score >= passages[-1].score


def test_search__empty_query_is_an_input_error(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN)
    build_index(s, embedder=FakeEmbedder())
    rag = build_rag(s, embedder=FakeEmbedder())
    with pytest.raises(InvalidInputError):
        rag.search("   ")


def test_open__missing_index_says_run_rag_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="rag index"):
        build_rag(_settings(tmp_path), embedder=FakeEmbedder())


def test_open__index_of_another_embedder_is_refused(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN)
    build_index(s, embedder=FakeEmbedder())

    class Other(FakeEmbedder):
        name = "other"

    with pytest.raises(ConfigError, match="rag index"):
        build_rag(s, embedder=Other())
    report = build_index(s, embedder=Other())  # a rebuild switches models
    assert (
        report.documents == 1 and Store.open(s, embedding_name="other").embedder_name() == "other"
    )


def test_build__missing_corpus_folder(tmp_path: Path) -> None:
    s = Settings(corpus_dir=tmp_path / "nope", data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="corpus folder"):
        build_index(s, embedder=FakeEmbedder())


def test_documents__api_writes_survive_folder_builds(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN)
    build_index(s, embedder=FakeEmbedder())
    rag = build_rag(s, embedder=FakeEmbedder())
    assert rag.put_document("notes/extra.md", "Заметка про атомную энергетику.").added == 1
    assert rag.put_document("notes/extra.md", "Заметка про атомную энергетику.").unchanged == 1
    assert rag.search("атомную энергетику", top_k=1).passages[0].doc_id == "notes/extra.md"
    assert build_index(s, embedder=FakeEmbedder()).removed == 0
    assert [d.doc_id for d in rag.list_documents()] == ["notes/extra.md", "uran.txt"]
    rag.delete_document("notes/extra.md")
    assert all(p.doc_id == "uran.txt" for p in rag.search("атомную", top_k=5).passages)
    with pytest.raises(DocumentNotFoundError):
        rag.delete_document("notes/extra.md")
    with pytest.raises(DocumentNotFoundError):
        rag.document_text("missing.txt")


@pytest.mark.parametrize(("doc_id", "text"), [("", "x"), ("../up.txt", "x"), ("a.txt", "  ")])
def test_documents__bad_writes_are_refused(tmp_path: Path, doc_id: str, text: str) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN)
    build_index(s, embedder=FakeEmbedder())
    with pytest.raises(InvalidInputError):
        build_rag(s, embedder=FakeEmbedder()).put_document(doc_id, text)


def test_retriever__sees_another_processes_build(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN)
    build_index(s, embedder=FakeEmbedder())
    rag = build_rag(s, embedder=FakeEmbedder())
    _docs(s, tokio=TOKIO)
    build_index(s, embedder=FakeEmbedder())
    rag.retriever.refresh()
    assert rag.search("Саммит в Токио декабря", top_k=1).passages[0].doc_id == "tokio.txt"


def test_search__a_quote_is_found_by_the_speaker_named_before_it(tmp_path: Path) -> None:
    s = _settings(tmp_path).model_copy(update={"retrieval_mode": "lexical"})
    intro = "Своим мнением поделился грузинский политолог Василий Папава, эксперт по региону."
    quote = "- Планируется принятие декларации о долгосрочных приоритетах, – заключил он."
    other = "- Планируется принятие плана по транспорту и логистике в регионе, – сказал другой."
    _docs(s, a=f"{intro}\n{'Текст о погоде и море. ' * 12}\n{quote}", b=f"Абзац.\n{other}")
    build_index(s, embedder=FakeEmbedder())
    rag = build_rag(s, embedder=FakeEmbedder())
    top = rag.search("Что, по словам Папавы, планируется принять?", top_k=1).passages[0]
    assert top.text == quote and top.doc_id == "a.txt"
    assert build_index(s, embedder=FakeEmbedder()).summary().startswith("documents 2, chunks")


def test_build__changed_chunking_settings_recut_every_document(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN * 4, tokio=TOKIO * 4)
    first = build_index(s, embedder=FakeEmbedder())
    smaller = s.model_copy(update={"chunk_size": 120})
    report = build_index(smaller, embedder=FakeEmbedder())
    assert (report.changed, report.added, report.removed) == (2, 0, 0)
    assert report.chunks > first.chunks
    assert build_index(smaller, embedder=FakeEmbedder()).changed == 0
    rag = build_rag(smaller, embedder=FakeEmbedder())
    hits = rag.search("уран", top_k=50).passages
    assert len(hits) == report.chunks  # the old cut is gone, not shown beside the new one
    assert all(p.end - p.start <= 120 for p in hits)


def test_build__new_cutting_rules_recut_every_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path)
    _docs(s, uran=URAN, tokio=TOKIO)
    build_index(s, embedder=FakeEmbedder())
    monkeypatch.setattr(index.build, "RULES", index.build.RULES + 1)
    report = build_index(s, embedder=FakeEmbedder())
    assert (report.changed, report.added, report.removed) == (2, 0, 0)


def test_search__the_first_passages_do_not_depend_on_how_many_are_asked_for(
    fake_index: Settings,
) -> None:
    rag = build_rag(fake_index, embedder=FakeEmbedder())
    for q in ("Что Папава сказал про уран?", "Кто представлял Японию?", "литий кобальт"):
        few = [p.chunk_id for p in rag.search(q, top_k=5).passages]
        assert few == [p.chunk_id for p in rag.search(q, top_k=40).passages][:5]


def test_build__a_folder_document_deleted_over_the_api_comes_back(tmp_path: Path) -> None:
    # deleting is the key holder's right; `rag index` is the one command that undoes it
    s = _settings(tmp_path)
    _docs(s, uran=URAN, tokio=TOKIO)
    build_index(s, embedder=FakeEmbedder())
    build_rag(s, embedder=FakeEmbedder()).delete_document("tokio.txt")
    assert build_index(s, embedder=FakeEmbedder()).added == 1
    rag = build_rag(s, embedder=FakeEmbedder())
    assert [d.doc_id for d in rag.list_documents()] == ["tokio.txt", "uran.txt"]


def test_commit_documents__many_in_batches_of_bounded_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.store import CommitItem

    s = _settings(tmp_path)
    store = Store.open(s, embedding_name=FakeEmbedder.name, create=True)
    sizes: list[int] = []
    upsert = store._upsert_documents
    monkeypatch.setattr(
        store, "_upsert_documents", lambda part: (sizes.append(len(part)), upsert(part))
    )
    big = "слово " * 700_000  # 4.2 MB: alone in its upsert
    items = [CommitItem(f"d{i}.txt", big if i == 1 else f"текст {i}", f"h{i}", f"v{i}", 1, "corpus")
             for i in range(3)]  # fmt: skip
    store.commit_documents(items)
    assert sizes == [1, 1, 1]
    assert [d.doc_id for d in store.documents()] == ["d0.txt", "d1.txt", "d2.txt"]
    assert store.document_text("d2.txt") == "текст 2"
