"""Faults: kill -9 in the middle of writes, then restart, and two processes on one folder.

- index: `rag index` over a corpus of small documents, killed with SIGKILL part-way, then run
  again to the end. After the kill and after the rerun the index opens, and every committed
  document is whole: each is found by its own unique word, no uncommitted one is.
- http: a server takes document writes one after another and is killed with SIGKILL right after
  its third acknowledgement (fewer writes than Chroma flushes at once, chromadb issue 6975), and
  again while writes keep coming. After each restart every acknowledged write is listed and
  found by search; the write in flight at the kill is whole or absent.
- two processes: a second `rag serve` and a `rag index` on a served folder are refused with a
  message that says why (chromadb issues 3769, 3792).
- a damaged segment: the vector segment of an index past Chroma's flush is garbled (chromadb
  issue 7238); `rag serve` must refuse it naming the repair, and (full run) `rag index --repair`
  must bring every document back from the stored texts.

Documents are made here, each with one invented word no other shares, so that "found" is exact.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from eval.served import RAG, Server, child_env
from rag.settings import Settings

KEY = "faults-key"


def _word(i: int) -> str:
    # Cyrillic letters only: one token, weighed in full by the lexical search; unique per document
    return "жу" + "".join("бвгдзклмнп"[int(c)] for c in f"{i:04d}") + "ор"


def _doc(i: int) -> str:
    return (
        f"Заметка номер {i} о работе парома. Паром {_word(i)} ходит по вторникам и четвергам. "
        f"В навигацию {2000 + i} года он перевёз {100 + i} пассажиров за рейс. "
        "Расписание висит на причале и на сайте перевозчика."
    )


def _found(url: str, i: int) -> bool:
    r = httpx.post(url + "/search", json={"query": _word(i), "top_k": 1}, timeout=60)
    r.raise_for_status()
    passages = r.json()["passages"]
    return (
        bool(passages)
        and passages[0]["doc_id"] == f"doc{i:03d}.txt"
        and _word(i) in passages[0]["text"]
    )


def _check(url: str, written: set[int], in_flight: set[int]) -> dict[str, Any]:
    """Every acknowledged document listed and found; one in flight whole or absent."""
    listed = {d["doc_id"] for d in httpx.get(url + "/documents", timeout=60).json()["documents"]}
    missing = sorted(i for i in written if f"doc{i:03d}.txt" not in listed or not _found(url, i))
    torn = sorted(i for i in in_flight if (f"doc{i:03d}.txt" in listed) != _found(url, i))
    return {"acknowledged": len(written), "missing": missing, "half_written": torn}


# --- kill -9 during `rag index` -----------------------------------------------------------------
def kill_during_index(root: Path, settings: Settings, *, n: int) -> dict[str, Any]:
    corpus, data = root / "corpus", root / "data"
    corpus.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (corpus / f"doc{i:03d}.txt").write_text(_doc(i), encoding="utf-8")
    env = child_env(data, {"RAG_CORPUS_DIR": str(corpus)})
    progress = root / "index.log"
    with progress.open("w") as log:
        proc = subprocess.Popen([str(RAG), "index"], env=env, stdout=log, stderr=log)
        done = 0
        deadline = time.monotonic() + 300
        # killed once a third of the documents are in: its progress bar says how many
        while proc.poll() is None and done < n // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            counts = re.findall(rf"(\d+)/{n}\b", progress.read_text(errors="replace"))
            done = int(counts[-1]) if counts else 0
        killed_running = proc.poll() is None
        proc.kill()
        proc.wait()
    s = settings.model_copy(update={"corpus_dir": corpus, "data_dir": data, "chroma_url": None})
    after_kill = _index_state(s, n)
    rerun = subprocess.run([str(RAG), "index", "--quiet"], env=env, capture_output=True, text=True)
    after_rerun = _index_state(s, n)
    return {
        "documents": n,
        "killed_at": done,
        "killed_while_running": killed_running,
        "after_kill": after_kill,
        "rerun_exit": rerun.returncode,
        "after_rerun": after_rerun,
        "ok": killed_running
        and rerun.returncode == 0
        and after_kill["consistent"]
        and after_rerun["consistent"]
        and after_rerun["committed"] == n,
    }


def _index_state(settings: Settings, n: int) -> dict[str, Any]:
    """Opened in process: the committed documents, each found by its word, no other one found."""
    from rag.errors import IndexMissingError
    from rag.wiring import build_rag

    try:
        rag = build_rag(settings)
    except IndexMissingError as exc:  # killed before its first commit
        return {"committed": 0, "opens": False, "consistent": True, "why": str(exc)}

    def found(i: int) -> bool:
        passages = rag.search(_word(i), top_k=1).passages
        return bool(passages) and passages[0].doc_id == f"doc{i:03d}.txt"

    committed = {int(d.doc_id[3:6]) for d in rag.list_documents()}
    missing = sorted(i for i in committed if not found(i))
    visible_uncommitted = sorted(i for i in set(range(n)) - committed if found(i))
    return {
        "committed": len(committed),
        "opens": True,
        "missing": missing,
        "visible_uncommitted": visible_uncommitted,
        "consistent": not missing and not visible_uncommitted,
    }


# --- kill -9 during HTTP writes -------------------------------------------------------------------
def kill_during_http_writes(root: Path) -> dict[str, Any]:
    corpus, data = root / "corpus", root / "data"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "seed.txt").write_text("Паромная переправа открыта круглый год.", encoding="utf-8")
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_API_KEY": KEY, "RAG_LLM_WARM": "false"}
    auth = {"Authorization": f"Bearer {KEY}"}
    written: set[int] = set()
    rounds = []
    # round 1: three writes, then kill -9 at once (below any flush threshold)
    with Server(data, env=env) as server:
        server.wait_healthy()
        for i in range(3):
            doc = {"doc_id": f"doc{i:03d}.txt", "text": _doc(i)}
            httpx.post(
                server.url + "/documents", json=doc, headers=auth, timeout=60
            ).raise_for_status()
            written.add(i)
        server.kill()
    with Server(data, env=env) as server:
        server.wait_healthy()
        rounds.append(
            {"kill": "right after the 3rd acknowledgement"} | _check(server.url, written, set())
        )
        # round 2: a writer keeps going; kill -9 lands while a write is in flight
        in_flight: set[int] = set()
        stop = threading.Event()

        def writer() -> None:
            i = 100
            with httpx.Client(base_url=server.url, headers=auth, timeout=60) as client:
                while not stop.is_set():
                    in_flight.add(i)
                    try:
                        client.post(
                            "/documents", json={"doc_id": f"doc{i:03d}.txt", "text": _doc(i)}
                        ).raise_for_status()
                    except httpx.HTTPError:
                        return
                    written.add(i)
                    in_flight.discard(i)
                    i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(3.0)
        server.kill()
        stop.set()
        thread.join()
    with Server(data, env=env) as server:
        server.wait_healthy()
        rounds.append({"kill": "while writes kept coming"} | _check(server.url, written, in_flight))
    ok = all(not r["missing"] and not r["half_written"] for r in rounds)
    return {"rounds": rounds, "ok": ok}


# --- two processes on one embedded folder ---------------------------------------------------------
def two_processes(root: Path) -> dict[str, Any]:
    corpus, data = root / "corpus", root / "data"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "seed.txt").write_text("Паромная переправа открыта круглый год.", encoding="utf-8")
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_LLM_WARM": "false"}
    out: dict[str, Any] = {}
    with Server(data, env=env) as first:
        first.wait_healthy()
        with Server(data, env=env) as second:
            with contextlib.suppress(subprocess.TimeoutExpired):
                second.proc.wait(timeout=120)
            out["second_serve"] = {"exit": second.proc.poll(), "message": second.tail(400).strip()}
        index = subprocess.run(
            [str(RAG), "index"],
            env=child_env(data, env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        out["index"] = {"exit": index.returncode, "message": index.stderr.strip()[-400:]}
        out["first_still_serves"] = httpx.get(first.url + "/health", timeout=30).status_code == 200
    out["ok"] = (
        out["second_serve"]["exit"] not in (None, 0)
        and "in use" in out["second_serve"]["message"]
        and out["index"]["exit"] != 0
        and "in use" in out["index"]["message"]
        and out["first_still_serves"]
    )
    return out


class _Placeholder:
    """Random unit vectors under the real embedder's name and size: to fill a store whose files
    are then damaged, where what the vectors say does not matter, in seconds."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim
        self._rng = np.random.default_rng(0)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        v = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        out: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out


def damaged_segment(
    root: Path, settings: Settings, *, repair: bool, n: int = 1100
) -> dict[str, Any]:
    from eval.bench import bulk_index
    from index.embed import load_embedder

    shutil.rmtree(root, ignore_errors=True)
    corpus, data = root / "corpus", root / "data"
    corpus.mkdir(parents=True)
    for i in range(n):  # past Chroma's flush of 1,000 writes: the vectors live in the files
        (corpus / f"doc{i:03d}.txt").write_text(_doc(i), encoding="utf-8")
    real = load_embedder(settings)
    s = settings.model_copy(update={"corpus_dir": corpus, "data_dir": data, "chroma_url": None})
    bulk_index(s, _Placeholder(real.name, real.dim))
    del real
    segment = max((data / "chroma").glob("*/data_level0.bin"), key=lambda p: p.stat().st_size)
    (segment.parent / "header.bin").write_bytes(b"garbled" * 10)
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_LLM_WARM": "false"}
    out: dict[str, Any] = {"chunks": n}
    with Server(data, env=env) as server:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=180)
        out["serve"] = {"exit": server.proc.poll(), "message": server.tail(400).strip()}
    detected = (
        out["serve"]["exit"] not in (None, 0) and "rag index --repair" in out["serve"]["message"]
    )
    out["ok"] = detected
    if repair and detected:
        t0 = time.monotonic()
        done = subprocess.run([str(RAG), "index", "--repair", "--quiet"], env=child_env(data, env),
                              capture_output=True, text=True, timeout=1200)  # fmt: skip
        out["repair"] = {"exit": done.returncode, "seconds": round(time.monotonic() - t0, 1),
                         "message": (done.stdout + done.stderr).strip()[-400:]}  # fmt: skip
        sample = range(0, n, max(1, n // 20))
        with Server(data, env=env) as server:
            server.wait_healthy()
            out["found_after_repair"] = sum(_found(server.url, i) for i in sample)
        out["ok"] = done.returncode == 0 and out["found_after_repair"] == len(sample)
    return out


def part_faults(settings: Settings, work: Path, *, quick: bool) -> dict[str, Any]:
    root = work / "faults"
    report: dict[str, Any] = {
        "index": kill_during_index(root / "index", settings, n=12 if quick else 60),
        "http": kill_during_http_writes(root / "http"),
        "two_processes": two_processes(root / "two"),
        "damaged_segment": damaged_segment(root / "damaged", settings, repair=not quick),
    }
    report["ok"] = all(
        report[k]["ok"] for k in ("index", "http", "two_processes", "damaged_segment")
    )
    return report
