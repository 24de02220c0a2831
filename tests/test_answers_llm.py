"""Model assembly and backend selection without loading a model (rag.llm)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag.errors import LLMError, ModelError
from rag.llm import MODEL_FILE, OpenAICompatLLM, assemble_model, describe_llm, load_llm
from rag.settings import Settings


def _parts(tmp_path: Path, contents: list[bytes]) -> list[Path]:
    paths = []
    for i, data in enumerate(contents, 1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        paths.append(p)
    return paths


def test_assemble_model__concatenates_parts_in_order_and_marks_verified(tmp_path: Path) -> None:
    parts = _parts(tmp_path, [b"abc", b"def", b"g"])
    digest = hashlib.sha256(b"abcdefg").hexdigest()
    out = assemble_model(tmp_path / "models", parts=parts, sha256=digest, size=7)
    assert out.name == MODEL_FILE and out.read_bytes() == b"abcdefg"
    assert out.with_suffix(".verified").read_text().strip() == digest


def test_assemble_model__mismatch_raises_and_leaves_no_file(tmp_path: Path) -> None:
    parts = _parts(tmp_path, [b"abc", b"XYZ"])
    with pytest.raises(ModelError, match="does not match the official file"):
        assemble_model(tmp_path / "models", parts=parts, sha256="0" * 64, size=6)
    assert list((tmp_path / "models").iterdir()) == []


def test_assemble_model__skips_work_when_already_verified(tmp_path: Path) -> None:
    parts = _parts(tmp_path, [b"abc"])
    digest = hashlib.sha256(b"abc").hexdigest()
    out = assemble_model(tmp_path / "m", parts=parts, sha256=digest, size=3)
    parts[0].unlink()  # a second assembly would fail to read it
    assert assemble_model(tmp_path / "m", parts=parts, sha256=digest, size=3) == out


def test_assemble_model__missing_part_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        assemble_model(tmp_path / "m", parts=[tmp_path / "nope.bin"], sha256="0" * 64, size=1)


def test_load_llm__missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, llm_url=None, llm_model_path=tmp_path / "x.gguf")
    with pytest.raises(ModelError, match="not found"):
        load_llm(settings)


def test_load_llm__url_selects_the_openai_compatible_backend(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, llm_url="http://127.0.0.1:9/v1", llm_model="m")
    llm = load_llm(settings)
    assert isinstance(llm, OpenAICompatLLM)
    assert llm.name == describe_llm(settings) == "m at http://127.0.0.1:9/v1"


def test_openai_backend__unreachable_server_is_an_llm_error(tmp_path: Path) -> None:
    llm = OpenAICompatLLM("http://127.0.0.1:9/v1", model="m", api_key="k", timeout=2)
    with pytest.raises(LLMError):
        llm.complete([{"role": "user", "content": "hi"}], max_tokens=5)


def test_describe_llm__names_the_default_and_an_override(tmp_path: Path) -> None:
    assert "Qwen2.5-Coder-1.5B" in describe_llm(Settings(data_dir=tmp_path, llm_url=None))
    custom = Settings(data_dir=tmp_path, llm_url=None, llm_model_path=Path("/m/other.gguf"))
    assert describe_llm(custom) == "other.gguf (local)"
