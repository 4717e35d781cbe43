"""The store: run dir layout, collisions, latest link, index; and a whole run_test on a fake backend."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.backends import registry as backends
from harness.backends.registry import BackendEntry
from harness.run.session import run_test
from harness.run.spec import RunSpec
from harness.run.store import list_runs, new_run_dir, update_latest, write_index, write_json


def test_run_dirs_are_named_by_time_and_never_shared(tmp_path: Path) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    a = new_run_dir(tmp_path, "my test", when)
    b = new_run_dir(tmp_path, "my test", when)
    assert a == tmp_path / "my-test" / "20260102T030405"
    assert b.name == "20260102T030405-2" and b.is_dir()


def test_latest_and_index(tmp_path: Path) -> None:
    runs = []
    for i, valid in enumerate([True, False]):
        d = new_run_dir(tmp_path, "t", datetime(2026, 1, 1, 0, 0, i, tzinfo=UTC))
        write_json(d / "spec.json", {"spec": {"system": "replication"}})
        write_json(d / "results.json", {"valid": valid, "ops": 10 + i})
        runs.append(d)
    update_latest(tmp_path, runs[0])
    update_latest(tmp_path, runs[1])
    assert (tmp_path / "latest").resolve() == runs[1].resolve()
    assert not os.path.isabs(os.readlink(tmp_path / "latest"))
    rows = list_runs(tmp_path)
    assert [r.valid for r in rows] == [False, True]
    html = write_index(tmp_path).read_text()
    assert "INVALID" in html and "VALID" in html and "t/20260101T000001/report.html" in html


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backends.BACKENDS, "fake",
                        BackendEntry("fake", "in-process fake", "fake_cluster:make",
                                     backend_class="fake_cluster:FakeCluster"))


def test_run_test_writes_a_complete_run_dir(tmp_path: Path, fake_backend: None) -> None:
    spec = RunSpec(backend="fake", time_limit=0.5, rate=100, nemesis=("partition",), nemesis_interval=0.1,
                   quiesce=0.0, op_timeout=0.05, seed=3)
    res = run_test(spec, store=tmp_path)
    d = res.run_dir
    assert d.parent == tmp_path / "replication"
    for name in ("spec.json", "history.jsonl", "results.json", "report.html", "nodes/n1.log", "nodes/n3.log"):
        assert (d / name).is_file(), name
    doc = json.loads((d / "spec.json").read_text())
    assert doc["spec"]["seed"] == 3 and doc["spec"]["workload"] == "register"
    assert "command" in doc and "commit" in doc
    results = json.loads((d / "results.json").read_text())
    assert results["valid"] == res.result.valid and results["exit_code"] == res.exit_code
    assert results["ops"] > 10
    assert (tmp_path / "latest").resolve() == d.resolve()
    assert "replication" in (tmp_path / "index.html").read_text()
