from pathlib import Path

import pytest

from rag.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_settings__every_setting_is_documented_in_the_readme(name: str) -> None:
    assert f"RAG_{name.upper()}" in README
    assert Settings.model_fields[name].description


def test_settings__read_from_rag_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_TOP_K", "8")
    monkeypatch.setenv("RAG_DATA_DIR", "/tmp/x")
    s = Settings()
    assert s.top_k == 8 and s.data_dir == Path("/tmp/x")


def test_settings__an_empty_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM_MODEL_PATH", "")
    monkeypatch.setenv("RAG_CHROMA_URL", "")
    monkeypatch.setenv("RAG_TOP_K", "")
    s = Settings()
    assert s.llm_model_path is None and s.chroma_url is None and s.top_k == 5


def test_readme__starts_with_the_two_setup_commands() -> None:
    setup = README.split("## Set up", 1)[1].split("##", 1)[0]
    assert "make run" in setup and "make test" in setup
