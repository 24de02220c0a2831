from pathlib import Path

import pytest

from index.load import html_to_text, load_corpus


def _write(root: Path, name: str, data: bytes) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_load__reads_txt_md_html_with_relative_ids(tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", "Первый абзац.\nВторой.".encode())
    _write(tmp_path, "sub/b.md", b"# Title\n\nBody text.")
    page = (
        b"<html><head><title>T</title><style>x{}</style></head>"
        b"<body><p>One &amp; two</p><script>var x</script><p>Three</p></body></html>"
    )
    _write(tmp_path, "c.html", page)
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["a.txt", "c.html", "sub/b.md"]
    assert result.documents[0].text == "Первый абзац.\nВторой."
    assert result.documents[1].text == "T\nOne & two\nThree"
    assert result.skipped == []


def test_load__keeps_text_byte_for_byte(tmp_path: Path) -> None:
    text = "«Кавычки» – тире − минус\n  отступ  \nконец"
    _write(tmp_path, "x.txt", text.encode())
    assert load_corpus(tmp_path).documents[0].text == text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("кириллица".encode("cp1251"), "UTF-8"),
    ],
)
def test_load__skips_bad_files_naming_them(tmp_path: Path, data: bytes, reason: str) -> None:
    _write(tmp_path, "bad.txt", data)
    _write(tmp_path, "good.txt", b"fine")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["good.txt"]
    assert len(result.skipped) == 1
    assert result.skipped[0][0] == "bad.txt"
    assert reason in result.skipped[0][1]


def test_load__ignores_other_types_and_hidden_files(tmp_path: Path) -> None:
    _write(tmp_path, "x.pdf", b"%PDF")
    _write(tmp_path, ".hidden/y.txt", b"secret")
    _write(tmp_path, "z.txt", b"ok")
    assert [d.doc_id for d in load_corpus(tmp_path).documents] == ["z.txt"]


def test_load__sha256_changes_with_text(tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", b"one")
    first = load_corpus(tmp_path).documents[0].sha256
    _write(tmp_path, "a.txt", b"two")
    assert load_corpus(tmp_path).documents[0].sha256 != first


def test_html_to_text__drops_scripts_and_collapses_space() -> None:
    assert html_to_text("<div>a  \u00a0 b<script>x</script></div><p>c</p>") == "a b\nc"


def test_load__shipped_corpus_is_the_article() -> None:
    from rag.settings import DEFAULT_CORPUS_DIR

    docs = load_corpus(DEFAULT_CORPUS_DIR).documents
    assert [d.doc_id for d in docs] == ["tokyo-summit-2025.ru.txt"]
    assert len(docs[0].text) == 25982 - len(docs[0].text.encode()) + len(docs[0].text)
    assert docs[0].text.count("\n") == 46
