"""The shipped article indexed once per test session with the real default embedder.

Real tests of several modules (retrieval quality, the local LLM, the real server) share it, so the
models load and the article is embedded once. Not a fixture file: import `real_rag_settings()`.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from index.build import build_index
from index.embed import Embedder, load_embedder
from rag.settings import DEFAULT_CORPUS_DIR, PROJECT_ROOT, Settings


@lru_cache(maxsize=1)
def shared_model_path() -> Path:
    """The local GGUF, assembled (and verified) once into the default data folder, where `make run`
    finds it too, so that no test copies 1.1 GB into a temporary folder."""
    from rag.llm import assemble_model

    configured = Settings().llm_model_path  # RAG_LLM_MODEL_PATH wins: no copy at all
    return configured or assemble_model(PROJECT_ROOT / ".rag" / "models")


@lru_cache(maxsize=1)
def real_embedder() -> Embedder:
    return load_embedder(Settings())


@lru_cache(maxsize=1)
def real_rag_settings() -> Settings:
    data = Path(tempfile.mkdtemp(prefix="rag-real-index-"))
    settings = Settings(
        data_dir=data,
        corpus_dir=DEFAULT_CORPUS_DIR,
        chroma_url=None,
        llm_url=None,
        llm_model_path=shared_model_path(),
    )
    build_index(settings, embedder=real_embedder())
    return settings
