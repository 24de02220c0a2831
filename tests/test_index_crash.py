"""kill -9 mid-build leaves the previous index searchable; the next build completes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fakes import FakeEmbedder

from index.build import build_index
from index.store import Store
from rag.settings import Settings
from rag.wiring import build_rag

# A build in a child process whose embedder is slow, so the parent can kill it mid-way.
CHILD = """
import sys, time
sys.path[:0] = {paths!r}
from fakes import FakeEmbedder
from index.build import build_index
from rag.settings import Settings

class Slow(FakeEmbedder):
    def embed_passages(self, texts):
        print("embedding", flush=True)
        time.sleep(0.3)
        return super().embed_passages(texts)

build_index(Settings(corpus_dir={corpus!r}, data_dir={data!r}, chunk_size=200, chunk_min=40),
            embedder=Slow())
print("finished", flush=True)
"""


def _write_corpus(corpus: Path, version: str, n: int = 12) -> None:
    for i in range(n):
        (corpus / f"doc{i:02d}.txt").write_text(
            f"Документ {i} версия {version}. Тема номер{i} и слово{version}{i}.", encoding="utf-8"
        )


def test_build__kill_9_midway_keeps_old_index_and_next_build_completes(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    s = Settings(corpus_dir=corpus, data_dir=data, chunk_size=200, chunk_min=40)
    _write_corpus(corpus, "old")
    assert build_index(s, embedder=FakeEmbedder()).added == 12

    _write_corpus(corpus, "new")  # every document changes
    root = Path(__file__).resolve().parent.parent
    code = CHILD.format(paths=[str(root), str(root / "tests")], corpus=str(corpus), data=str(data))
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert child.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 5 and time.monotonic() < deadline:  # several documents in, many to go
        line = child.stdout.readline()
        assert line, "the child build ended before it could be killed"
        seen += line.startswith("embedding")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    # every document is still searchable, each in exactly one version (old or new)
    rag = build_rag(s, embedder=FakeEmbedder())
    store = Store.open(s, embedding_name=FakeEmbedder.name)
    assert store.document_count() == 12
    for i in range(12):
        hits = rag.search(f"номер{i}", top_k=3).passages
        assert hits and hits[0].doc_id == f"doc{i:02d}.txt"
        text = rag.document_text(hits[0].doc_id)
        assert text[hits[0].start : hits[0].end] == hits[0].text
    versions = [("new" in rag.document_text(f"doc{i:02d}.txt")) for i in range(12)]
    assert any(versions) and not all(versions), "the kill should land mid-way"

    report = build_index(s, embedder=FakeEmbedder())
    assert report.changed == versions.count(False) and report.added == 0
    assert all("new" in rag.document_text(f"doc{i:02d}.txt") for i in range(12))
    assert store.chunks_collection.count() == store.chunk_count()  # leftovers cleaned
    again = build_index(s, embedder=FakeEmbedder())
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
