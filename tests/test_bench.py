"""The benchmark on fakes: every phase runs and lands in the JSON and markdown. Times are never
asserted; only that they were measured."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import FakeEmbedder, FakeLLM, PrefillLLM

from eval import bench
from eval.bench_corpus import DerivedEmbedder, article_sentences, synthetic_corpus
from eval.bench_report import render_markdown
from index.chunk import chunk_text
from rag.settings import DEFAULT_CORPUS_DIR, Settings

ARTICLE = (DEFAULT_CORPUS_DIR / "tokyo-summit-2025.ru.txt").read_text(encoding="utf-8")


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        self.passages = 0

    def embed_passages(self, texts: Any) -> Any:
        self.passages += len(texts)
        return super().embed_passages(texts)


def test_synthetic_corpus__is_deterministic_and_reaches_the_target(tmp_path: Path) -> None:
    docs, chunks = synthetic_corpus(ARTICLE, 500, tmp_path / "a")
    again = synthetic_corpus(ARTICLE, 500, tmp_path / "b")
    assert (docs, chunks) == again and chunks >= 500
    files = sorted((tmp_path / "a").iterdir())
    assert len(files) == docs
    assert files[0].read_text() == (tmp_path / "b" / files[0].name).read_text()
    cut = sum(len(chunk_text(f.name, f.read_text())) for f in files)
    assert cut == chunks
    pool = set(article_sentences(ARTICLE))
    first_line = files[0].read_text().splitlines()[0]
    assert any(first_line.startswith(s) for s in pool)


def test_derived_embedder__embeds_each_sentence_once_and_normalises() -> None:
    real = CountingEmbedder()
    derived = DerivedEmbedder(real)
    s1, s2 = article_sentences(ARTICLE)[:2]
    vecs = derived.embed_passages([f"{s1} {s2}", s1, f"{s2} {s1}"])
    assert real.passages == 2 and derived.real_calls == 2
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0)
    assert np.allclose(vecs[0], vecs[2])  # same sentences, same vector
    assert np.allclose(vecs[1], real.embed_passages([s1])[0])
    assert derived.name == real.name and derived.dim == real.dim


def test_run_bench__measures_every_phase_on_fakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "unused", chroma_url=None)
    result = bench.run_bench(
        settings, quick=True, embedder=FakeEmbedder(), llm=PrefillLLM("Токио [1]."),
        sizes=(200, 400), stores=("embedded",), log=lambda _: None,
    )  # fmt: skip
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
    assert result["indexing"]["cold"]["added"] == 1 and result["indexing"]["warm"]["added"] == 0
    assert next(iter(result["search"])) == "article" and len(result["search"]) == 3
    big = list(result["search"].values())[-1]
    assert big["chunks"] >= 400 and big["vectors"] == "derived"
    for entry in result["search"].values():
        assert entry["ours_ms"]["n"] == 10 and entry["llama_index_ms"]["p50"] is not None
    assert result["answers"]["total_ms"]["n"] == 3
    quality = result["answers"]["quality"]  # the same answers scored, beside their times
    assert quality["n"] == 3 and 0 <= quality["keyword_acc"] <= 1
    assert result["warm_up"]["passages"] == result["indexing"]["cold"]["chunks"]  # before them
    assert result["peak_rss_mb_total"] >= result["peak_rss_mb_service"] > 0
    assert not (tmp_path / "unused").exists()  # benchmarks never touch the service's index
    md = render_markdown(result)
    assert "cores" in md and "| article |" in md and "time to first token" in md
    assert "Growth (embedded store), " in md
    assert "scored as `rag eval` scores them" in md
    assert "warm-up" in md and "Prompt states" not in md  # a fake keeps none
    result["answers"]["prompt_states"] = {"kept": 52, "mb": 144.0, "hits": 33, "misses": 3}
    assert "33 questions started from a kept state" in render_markdown(result)


def test_run_bench_cli__writes_json_and_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = bench.run_bench

    def on_fakes(settings: Settings, **kw: Any) -> dict[str, Any]:
        assert kw.pop("sizes") is None  # no --sizes: the default sizes
        assert kw.pop("stores") == ("embedded", "server")  # no --stores: both
        return real(settings, embedder=FakeEmbedder(), llm=FakeLLM("Да [1]."), sizes=(200,),
                    stores=("embedded",), log=lambda _: None, **kw)  # fmt: skip

    monkeypatch.setattr(bench, "run_bench", on_fakes)
    out = tmp_path / "bench"
    code = bench.run_bench_cli(
        Settings(data_dir=tmp_path / "d"), argparse.Namespace(out=str(out), quick=True)
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["bench-quick.json", "bench-quick.md"]
    assert "# Benchmarks (quick)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "sizes"),
    [(None, None), ("10000", (10_000,)), ("10000,100000", (10_000, 100_000)), ("0", ()), ("", ())],
)
def test_parse_sizes(text: str | None, sizes: tuple[int, ...] | None) -> None:
    assert bench.parse_sizes(text) == sizes


@pytest.mark.parametrize("text", ["ten", "10000;2", "-5"])
def test_parse_sizes__bad_input_is_a_clear_error(text: str) -> None:
    from rag.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="--sizes"):
        bench.parse_sizes(text)


@pytest.mark.real
def test_run_bench__searches_a_synthetic_corpus_in_a_chroma_server(tmp_path: Path) -> None:
    result = bench.run_bench(
        Settings(data_dir=tmp_path / "d"), quick=True, embedder=FakeEmbedder(),
        sizes=(200,), stores=("embedded", "server"), n_answers=0, log=lambda _: None,
    )  # fmt: skip
    served = [v for k, v in result["search"].items() if k.endswith(", Chroma server")]
    (embedded,) = [v for v in result["search"].values() if v.get("store") == "embedded"]
    assert len(served) == 1 and served[0]["store"] == "server"
    assert served[0]["chunks"] == embedded["chunks"] >= 200
    assert served[0]["ours_ms"]["n"] == 10 and served[0]["llama_index_ms"]["p50"] is not None
    assert "Chroma server |" in render_markdown(result)


@pytest.mark.parametrize(
    ("text", "stores"),
    [
        (None, ("embedded", "server")),
        ("server", ("server",)),
        ("embedded, server", ("embedded", "server")),
    ],
)
def test_parse_stores(text: str | None, stores: tuple[str, ...]) -> None:
    assert bench.parse_stores(text) == stores


@pytest.mark.parametrize("text", ["", "disk", "embedded,cloud"])
def test_parse_stores__bad_input_is_a_clear_error(text: str) -> None:
    from rag.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="--stores"):
        bench.parse_stores(text)


def test_run_bench__no_sizes_skips_the_synthetic_corpora(tmp_path: Path) -> None:
    result = bench.run_bench(
        Settings(data_dir=tmp_path / "d"), quick=True, embedder=FakeEmbedder(),
        llm=FakeLLM("Токио [1]."), sizes=(), n_answers=0, log=lambda _: None,
    )  # fmt: skip
    assert list(result["search"]) == ["article"]
