"""`rag reliability [--out DIR] [--quick] [--parts ...]`: what the service promises under load,
faults and hostile input, measured against real `rag serve` processes on loopback -> one JSON
report (and a short summary on stdout).

Parts (each bounded in time and requests; `--quick` is the short version the tests run):
- startup: `rag serve` with its defaults; seconds until it serves, then until its first answer.
- load: `eval.load`, N clients for S seconds; /search p95 under load against idle p50.
- auth: every write endpoint with no, a wrong and the right key.
- schema: schemathesis over /openapi.json, writes included, on a throw-away data folder
  (`eval.fuzz`).
- faults: kill -9 during `rag index` and during HTTP writes; a store that fails to load; two
  processes on one embedded folder (`eval.faults`).
- hostile: planted instructions in documents and in questions (`eval.hostile`).

Each part's report carries `ok` (its promise held) and the figures behind it. The servers use
their own data folders under the output folder, except that the load part reads the service's
index (`RAG_DATA_DIR`, built first when missing) without writing to it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from eval.served import Server
from rag.settings import PROJECT_ROOT, Settings

DEV_SET = PROJECT_ROOT / "data" / "eval" / "dev.jsonl"
TEAM_SET = PROJECT_ROOT / "data" / "eval" / "team.jsonl"
PARTS = ("startup", "load", "auth", "schema", "faults", "hostile")
FIRST_ANSWER_S = 30.0  # issue 25: the first answer within 30 s of the page loading
KEY = "reliability-key"


def questions(limit: int | None = None) -> list[str]:
    """The dev and team questions about the shipped article: varied enough that the query
    cache is not all a load run measures."""
    lines = [
        line
        for path in (DEV_SET, TEAM_SET)
        if path.is_file()
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    found = [json.loads(line)["question"] for line in lines if line.strip()]
    return found[:limit] if limit else found


def fresh_data_dir(root: Path, corpus: Path | None = None) -> tuple[Path, dict[str, str]]:
    """An empty data folder under `root` and the environment that points a server at it."""
    data = root / "data"
    shutil.rmtree(data, ignore_errors=True)
    env = {"RAG_LLM_WARM": "false"}
    if corpus is not None:
        env["RAG_CORPUS_DIR"] = str(corpus)
    return data, env


# --- start-up -----------------------------------------------------------------------------------
def part_startup(settings: Settings, work: Path) -> dict[str, Any]:
    """`rag serve` as `make run` starts it (warm-up on, in the background), first on a new
    folder, as on a fresh clone (it builds the index and the model's prompt state before it
    serves), then again on that folder: seconds until it serves, then until its first answer."""
    data = work / "startup-data"
    shutil.rmtree(data, ignore_errors=True)
    env = {"RAG_CORPUS_DIR": str(settings.corpus_dir)}
    runs: dict[str, dict[str, Any]] = {}
    for run in ("fresh", "restart"):
        t0 = time.monotonic()
        with Server(data, env=env, log=work / f"startup-{run}.log", inherit=True) as server:
            server.wait_healthy()
            serving_s = time.monotonic() - t0
            t1 = time.monotonic()
            answer = server.ask(questions(1)[0])
            first_answer_s = time.monotonic() - t1
        runs[run] = {
            "serving_after_s": round(serving_s, 1),
            "first_answer_s": round(first_answer_s, 1),
            "refused": answer.get("refused"),
        }
    return {**runs, "ok": all(r["first_answer_s"] <= FIRST_ANSWER_S for r in runs.values())}


# --- load -------------------------------------------------------------------------------------
def part_load(settings: Settings, work: Path, *, clients: int, seconds: float) -> dict[str, Any]:
    from eval.load import RAMP_S, run_load
    from rag.wiring import ensure_index

    ensure_index(settings)  # the service's own index, as `make run` would build it
    # warm-up off: its prefill would compete with the idle measurement; every answer under load
    # then reads its passages itself, the slower case
    env = {"RAG_LLM_WARM": "false", "RAG_CORPUS_DIR": str(settings.corpus_dir)}
    data = settings.data_dir.resolve()
    with Server(data, env=env, log=work / "load-server.log", inherit=True) as server:
        server.wait_healthy()
        report = run_load(
            server.url,
            questions(),
            clients=clients,
            seconds=seconds,
            ramp=min(RAMP_S, seconds / 4),
        )
    ratio = report["search_p95_over_idle_p50"]
    asks = [report["endpoints"][e]["statuses"] for e in ("/ask", "/ask/stream")]
    report["ok"] = (
        report["server_errors"] == 0
        and report["dropped"] == 0
        and ratio is not None
        and ratio <= 3.0
        and all(set(s) <= {"200", "503+retry-after"} for s in asks)
    )
    return report


# --- auth -------------------------------------------------------------------------------------
def part_auth(settings: Settings, work: Path) -> dict[str, Any]:
    """POST /documents and DELETE /documents/{id} with no key, a wrong key (same length, and a
    prefix of the right one) and the right key: 401, 401, then 200."""
    corpus = work / "auth-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "seed.txt").write_text("Мост через реку открыли в мае.", encoding="utf-8")
    data, env = fresh_data_dir(work / "auth", corpus)
    env["RAG_API_KEY"] = KEY
    keys = {
        "none": None,
        "wrong": "x" * len(KEY),
        "prefix": KEY[:-1],
        "right": KEY,
    }
    doc = {"doc_id": "auth-probe.txt", "text": "Паром ходит по вторникам."}
    calls: list[tuple[str, Callable[[httpx.Client, dict[str, str]], httpx.Response]]] = [
        ("POST /documents", lambda c, h: c.post("/documents", json=doc, headers=h)),
        ("DELETE /documents/{id}", lambda c, h: c.delete(f"/documents/{doc['doc_id']}", headers=h)),
    ]
    results: dict[str, dict[str, int]] = {}
    with Server(data, env=env, log=work / "auth-server.log") as server:
        server.wait_healthy()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for name, call in calls:
                results[name] = {}
                for label, key in keys.items():
                    headers = {"Authorization": f"Bearer {key}"} if key else {}
                    results[name][label] = call(client, headers).status_code
            listed = [d["doc_id"] for d in client.get("/documents").json()["documents"]]
    ok = all(
        r["none"] == 401 and r["wrong"] == 401 and r["prefix"] == 401 and r["right"] == 200
        for r in results.values()
    )
    # the probe was written with the right key and then deleted with it: only the seed is left
    return {"endpoints": results, "documents_after": listed, "ok": ok and listed == ["seed.txt"],
            "comparison": "secrets.compare_digest (constant time)"}  # fmt: skip


# --- the command ------------------------------------------------------------------------------
def run_reliability(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    parts = [p for p in (args.parts or ",".join(PARTS)).split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise SystemExit(f"unknown part(s) {unknown}: use {','.join(PARTS)}")
    report: dict[str, Any] = {"quick": args.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for part in parts:
        t0 = time.monotonic()
        if part == "startup":
            result = part_startup(settings, work)
        elif part == "load":
            clients, seconds = (4, 8.0) if args.quick else (args.clients, args.seconds)
            result = part_load(settings, work, clients=clients, seconds=seconds)
        elif part == "auth":
            result = part_auth(settings, work)
        elif part == "schema":
            from eval.fuzz import part_schema

            result = part_schema(settings, work, quick=args.quick, key=KEY)
        elif part == "faults":
            from eval.faults import part_faults

            result = part_faults(settings, work, quick=args.quick)
        else:
            from eval.hostile import part_hostile

            result = part_hostile(settings, work, quick=args.quick)
        result["part_seconds"] = round(time.monotonic() - t0, 1)
        report[part] = result
        print(f"{part}: {'ok' if result.get('ok') else 'FAILED'} ({result['part_seconds']} s)")
        (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    report["ok"] = all(report[p].get("ok") for p in parts)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"wrote {out / 'report.json'}")
    return report
