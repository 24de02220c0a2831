"""`rag reliability --quick`: the short version of each part, against real servers and the real
model. Times are reported, never asserted (the load part's p95 ratio is `make reliability`'s
to judge); what must hold on any machine is asserted: no server error, no dropped connection,
every question answered or turned away with Retry-After, keys enforced, the schema and the
server agreeing, planted instructions not followed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from eval.reliability import run_reliability
from rag.settings import Settings

pytestmark = pytest.mark.real


def _run(tmp_path: Path, parts: str) -> dict[str, object]:
    args = argparse.Namespace(out=str(tmp_path), quick=True, parts=parts, clients=4, seconds=8)
    report = run_reliability(Settings(), args)
    assert json.loads((tmp_path / "report.json").read_text())["quick"] is True
    return report


def test_startup_load_and_auth(tmp_path: Path) -> None:
    report = _run(tmp_path, "startup,load,auth")
    startup = report["startup"]
    assert isinstance(startup, dict)
    assert startup["fresh"]["first_answer_s"] > 0 and startup["restart"]["first_answer_s"] > 0
    load = report["load"]
    assert isinstance(load, dict)
    assert load["server_errors"] == 0 and load["dropped"] == 0
    assert load["endpoints"]["/search"]["answered"] > 0
    for endpoint in ("/ask", "/ask/stream"):
        assert set(load["endpoints"][endpoint]["statuses"]) <= {"200", "503+retry-after"}
    auth = report["auth"]
    assert isinstance(auth, dict) and auth["ok"], auth


def test_schema_fuzzing_finds_no_mismatch(tmp_path: Path) -> None:
    schema = _run(tmp_path, "schema")["schema"]
    assert isinstance(schema, dict)
    assert schema["test_cases"] > 50
    assert schema["ok"], schema["failures"] or schema["errors"]


def test_planted_instructions_are_data(tmp_path: Path) -> None:
    hostile = _run(tmp_path, "hostile")["hostile"]
    assert isinstance(hostile, dict)
    assert hostile["followed"] == [] and hostile["leaked"] == []
    assert hostile["lost_on_poisoned"] == [], hostile["rows"]


def test_kill_9_loses_no_acknowledged_write_and_a_second_process_is_refused(
    tmp_path: Path,
) -> None:
    faults = _run(tmp_path, "faults")["faults"]
    assert isinstance(faults, dict)
    index = faults["index"]
    assert index["killed_while_running"], "the build ended before the kill: nothing was tested"
    assert index["after_kill"]["consistent"] and index["after_rerun"]["consistent"], index
    assert index["after_rerun"]["committed"] == index["documents"]
    for r in faults["http"]["rounds"]:
        assert r["acknowledged"] > 0 and r["missing"] == [] and r["half_written"] == [], r
    assert faults["two_processes"]["ok"], faults["two_processes"]
    assert faults["damaged_segment"]["ok"], faults["damaged_segment"]  # refused, naming the repair
