"""Load: N clients for S seconds against a running server, over /search, /ask and /ask/stream.

Each client loops: 3 in 4 requests are /search, the rest /ask or /ask/stream (alternately), with
the dev questions as queries. A 503 with Retry-After is honoured (the client sleeps that long,
within the run's time). Counted per endpoint: statuses, latencies of the answered requests (p50,
p95), transport failures (a dropped connection or a timeout) and 503s without Retry-After. The
search latency under load is set against the idle p50 measured first, one request at a time.
Never asserts: `eval.reliability` judges the figures.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import httpx

from eval.metrics import percentile

TIMEOUT_S = 120.0
# Clients start one after another over this many seconds (4 a second for 32), as load tools
# ramp up: 32 searches sent at once queue ~1 s on two cores, whatever the server does.
RAMP_S = 8.0


async def _call(client: httpx.AsyncClient, endpoint: str, question: str) -> httpx.Response:
    if endpoint == "/search":
        return await client.post("/search", json={"query": question})
    if endpoint == "/ask":
        return await client.post("/ask", json={"question": question})
    async with client.stream("POST", "/ask/stream", json={"question": question}) as r:
        body = b"".join([part async for part in r.aiter_bytes()])
    # a stream is answered only when it ends with its `done` event
    done = r.status_code != 200 or b"event: done" in body
    return httpx.Response(r.status_code if done else 599, headers=r.headers, content=body)


def _idle(url: str, queries: Sequence[str], n: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, timeout=TIMEOUT_S) as client:
        for q in list(queries[:3]) + [queries[i % len(queries)] for i in range(n)]:
            t0 = time.perf_counter()
            client.post("/search", json={"query": q}).raise_for_status()
            out.append((time.perf_counter() - t0) * 1000)
    return out[3:]  # the first three warm caches


async def _run(
    url: str, questions: Sequence[str], clients: int, seconds: float, seed: int, ramp: float
) -> dict[str, Any]:
    rng = random.Random(seed)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    latencies: dict[str, list[float]] = defaultdict(list)
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(i: int, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(ramp * i / clients)
        turn = i
        while time.monotonic() < deadline:
            turn += 1
            endpoint = "/search" if turn % 4 else ("/ask" if turn % 8 else "/ask/stream")
            question = rng.choice(questions)
            t0 = time.perf_counter()
            try:
                r = await _call(client, endpoint, question)
            except httpx.TransportError as exc:
                statuses[endpoint][f"dropped:{type(exc).__name__}"] += 1
                continue
            ms = (time.perf_counter() - t0) * 1000
            if r.status_code == 503 and r.headers.get("retry-after", "").isdigit():
                statuses[endpoint]["503+retry-after"] += 1
                wait = min(float(r.headers["retry-after"]), deadline - time.monotonic())
                await asyncio.sleep(max(0.0, wait))
                continue
            statuses[endpoint][str(r.status_code)] += 1
            if r.status_code == 200:
                latencies[endpoint].append(ms)

    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S, limits=limits) as client:
        await asyncio.gather(*(client_loop(i, client) for i in range(clients)))
    return {
        endpoint: {
            "statuses": dict(sorted(statuses[endpoint].items())),
            "answered": len(latencies[endpoint]),
            "p50_ms": percentile(latencies[endpoint], 50),
            "p95_ms": percentile(latencies[endpoint], 95),
        }
        for endpoint in ("/search", "/ask", "/ask/stream")
    }


def run_load(
    url: str,
    questions: Sequence[str],
    *,
    clients: int,
    seconds: float,
    seed: int = 0,
    ramp: float = RAMP_S,
) -> dict[str, Any]:
    """The load part's report: idle search p50, then per endpoint under load, and the verdicts'
    inputs (server errors, dropped connections, search p95 over idle p50)."""
    idle = _idle(url, questions, n=min(40, 4 * len(questions)))
    # the model loads on the first question: that is start-up, not load
    t0 = time.monotonic()
    httpx.post(url + "/ask", json={"question": questions[0]}, timeout=300).raise_for_status()
    first_answer_s = time.monotonic() - t0
    t0 = time.monotonic()
    endpoints = asyncio.run(_run(url, questions, clients, seconds, seed, ramp))
    idle_p50 = percentile(idle, 50) or 0.0
    search_p95 = endpoints["/search"]["p95_ms"] or 0.0
    counts: Counter[str] = Counter()
    for e in endpoints.values():
        counts.update(e["statuses"])
    return {
        "clients": clients,
        "ramp_s": ramp,
        "first_answer_s": round(first_answer_s, 1),
        "seconds": round(time.monotonic() - t0, 1),
        "idle_search_p50_ms": idle_p50,
        "endpoints": endpoints,
        "server_errors": sum(
            n for s, n in counts.items() if s.startswith("5") and s != "503+retry-after"
        ),
        "dropped": sum(n for s, n in counts.items() if s.startswith("dropped")),
        "search_p95_over_idle_p50": search_p95 / idle_p50 if idle_p50 else None,
    }
