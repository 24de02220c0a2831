"""Shared fixtures: settings isolated from the environment, and a Rag built on the fakes over the
shipped article (a real embedded Chroma index in a temporary folder, FakeEmbedder, FakeLLM).

Keep fixtures generic: anything specific to one module belongs in that test module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEmbedder, FakeLLM

from eval.served import free_port
from rag.settings import DEFAULT_CORPUS_DIR, Settings

ARTICLE_ID = "tokyo-summit-2025.ru.txt"
ARTICLE_PATH = DEFAULT_CORPUS_DIR / ARTICLE_ID


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test: explicit values for everything the environment could change."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "corpus_dir": DEFAULT_CORPUS_DIR,
        "chroma_url": None,
        "api_key": None,
        "llm_url": None,
        "top_k": 5,
        "queue_size": 4,
        "max_body_bytes": 2_000_000,
    }
    values.update(overrides)
    return Settings(**values)


def build_fake_index(settings: Settings) -> Settings:
    from index.build import build_index

    build_index(settings, embedder=FakeEmbedder())
    return settings


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of an index of the article built once with FakeEmbedder. Read-only: tests that
    write documents use `writable_index`."""
    return build_fake_index(make_settings(tmp_path_factory.mktemp("fake-index")))


@pytest.fixture
def writable_index(tmp_path: Path) -> Settings:
    """A fresh index of the article of the test's own, free to change."""
    return build_fake_index(make_settings(tmp_path / "data"))


@pytest.fixture
def make_fake_rag(fake_index: Settings) -> Callable[..., Any]:
    """`make_fake_rag(llm=FakeLLM(...), settings=None, **setting_overrides) -> Rag`."""
    from rag.wiring import build_rag

    def make(llm: Any = None, settings: Settings | None = None, **overrides: Any) -> Any:
        base = settings or fake_index
        if overrides:
            base = base.model_copy(update=overrides)
        return build_rag(base, embedder=FakeEmbedder(), llm=llm or FakeLLM(""))

    return make


@pytest.fixture
def fake_rag(make_fake_rag: Callable[..., Any]) -> Iterator[Any]:
    """A Rag over the read-only fake index whose FakeLLM always answers from its first passage."""
    yield make_fake_rag(FakeLLM("Саммит «Центральная Азия + Япония» пройдёт в Токио [1]."))


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run an ASGI app under a real uvicorn server on a free loopback port; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
