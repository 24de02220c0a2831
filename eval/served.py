"""`rag serve` as a child process on a free loopback port, for the reliability runs and the tests.

`Server(data_dir, env=...)` starts it with its own `RAG_DATA_DIR` (the model assembled under the
project's `.rag/models` is shared, not assembled again), waits for /health, and `stop()` or
`kill()` ends it. Knows nothing about what is measured against it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from rag.settings import PROJECT_ROOT

RAG = Path(sys.executable).with_name("rag")
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(
    data_dir: Path, extra: dict[str, str] | None = None, *, inherit: bool = False
) -> dict[str, str]:
    """This environment, its RAG_ variables only when `inherit`, plus the data folder and the
    shared model."""
    env = {k: v for k, v in os.environ.items() if inherit or not k.startswith("RAG_")}
    env["RAG_DATA_DIR"] = str(data_dir)
    given = os.environ.get("RAG_LLM_MODEL_PATH")
    assembled = PROJECT_ROOT / ".rag" / "models" / MODEL_FILE
    if given:
        env["RAG_LLM_MODEL_PATH"] = given
    elif assembled.exists():
        env["RAG_LLM_MODEL_PATH"] = str(assembled)
    env.update(extra or {})
    return env


class Server:
    """One `rag serve` child; a context manager that stops it (SIGINT, then SIGKILL)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        inherit: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or data_dir.parent / f"server-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [str(RAG), "serve", "--port", str(self.port)],
                env=child_env(data_dir, env, inherit=inherit),
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def wait_healthy(self, timeout: float = 300) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: {self.tail()}")
            try:
                r = httpx.get(self.url + "/health", timeout=5)
                if r.status_code == 200:
                    return dict(r.json())
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the server was not healthy within {timeout:.0f} s: {self.tail()}")

    def ask(self, question: str) -> dict[str, object]:
        """One answer (the first loads the model: start-up, not what is measured after)."""
        r = httpx.post(self.url + "/ask", json={"question": question}, timeout=300)
        r.raise_for_status()
        return dict(r.json())

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ChromaServer:
    """A `chroma run` child on a free loopback port, storing under `path`; a context manager
    that waits for its heartbeat on entry and stops it on exit."""

    def __init__(self, path: Path, *, timeout: float = 60) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._timeout = timeout
        self.proc = subprocess.Popen(
            [str(RAG.with_name("chroma")), "run", "--path", str(path),
             "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> ChromaServer:
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"the Chroma server on {self.url} did not start")
            time.sleep(0.2)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
