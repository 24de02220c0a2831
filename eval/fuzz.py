"""Schema fuzzing: schemathesis over /openapi.json, every check and phase, writes included (with
the key), against a server on a throw-away data folder with a one-sentence corpus.

Counted from schemathesis's JSON report: server errors (check `not_a_server_error`) and contract
mismatches (every other failed check: a valid request rejected, an invalid one accepted, a status
code, header or body the schema does not name). Network errors (a timeout, a dropped connection)
are counted too. Promise: all three are 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from eval.served import Server
from rag.settings import Settings

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SERVER_ERROR_CODES = {"ST101", "ST102"}  # a 5xx (schemathesis 4 failure codes)


def _typed_in_multipart(log: str) -> list[str]:
    """Test case ids of "schema-violating request accepted" whose only violations are a field's
    type in a multipart body ("became null", "became integer"): a form field is text, so the
    fuzzer sends the words "null" or "-24392", a valid doc_id and text (schemathesis issues 3777
    and 3801 fixed other cases of this)."""
    out = []
    for block in log.split("Test Case ID: ")[1:]:
        case_id = block.split(None, 1)[0]
        head, _, rest = block.partition("Reproduce with:")
        violations = [line for line in head.splitlines() if "violates" in line]
        if ("ST201" in head and "multipart/form-data" in rest.split("st replay", 1)[0]
                and violations and all("violates `type`" in v for v in violations)):  # fmt: skip
            out.append(case_id)
    return out


def _only(failure: dict[str, Any], unsendable: list[str]) -> bool:
    """Whether every case of this failure is one of `unsendable`."""
    return bool(failure["code"] == "ST201" and failure["count"] <= len(unsendable))


def part_schema(settings: Settings, work: Path, *, quick: bool, key: str) -> dict[str, Any]:
    root = work / "schema"
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "a.txt").write_text(
        "Мост через реку Сенжу открыли 14 сентября. Его длина 312 метров.", encoding="utf-8"
    )
    env = {
        "RAG_CORPUS_DIR": str(corpus),
        "RAG_API_KEY": key,
        "RAG_LLM_WARM": "false",
        "RAG_MAX_TOKENS": "16",  # generated questions need no long answers
    }
    examples, seconds = (5, 45) if quick else (30, 300)
    report_path = root / "schemathesis.json"
    with Server(root / "data", env=env, log=root / "server.log") as server:
        server.wait_healthy()
        # the model loads on the first question: not a response time the fuzzer should judge
        server.ask("Когда открыли мост?")
        done = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{server.url}/openapi.json",
             "--checks", "all", "-H", f"Authorization: Bearer {key}",
             "--max-examples", str(examples), "--max-time", str(seconds), "--seed", "1",
             "--workers", "1", "--request-timeout", "120", "--max-response-time", "120",
             "--generation-database", "none", "--no-color",
             "--report", "json", "--report-json-path", str(report_path)],
            capture_output=True, text=True, timeout=seconds + 300,
        )  # fmt: skip
    (root / "schemathesis.log").write_text(done.stdout + done.stderr)
    found = json.loads(report_path.read_text())
    unsendable = _typed_in_multipart(done.stdout)
    failures = [f for f in found.get("failures", []) if not _only(f, unsendable)]
    server_errors = [f for f in failures if f["code"] in SERVER_ERROR_CODES]
    mismatches = [f for f in failures if f["code"] not in SERVER_ERROR_CODES]
    errors = found.get("errors", [])
    return {
        "schemathesis": found.get("schemathesis_version"),
        "test_cases": found.get("test_cases", {}).get("generated"),
        "phases": {k: v.get("status") for k, v in found.get("phases", {}).items()},
        "server_errors": sum(f["count"] for f in server_errors),
        "contract_mismatches": sum(f["count"] for f in mismatches),
        "network_errors": sum(e.get("count", 1) for e in errors),
        "failures": failures,
        "fuzzer_false_positives": unsendable,
        "errors": errors,
        "log": str(root / "schemathesis.log"),
        "ok": not failures and not errors,
    }
