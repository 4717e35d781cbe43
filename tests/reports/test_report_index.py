"""The store index: every column read from the run dirs, escaped, with the filter controls."""

from __future__ import annotations

import json
from pathlib import Path

from reports.index_page import index_rows, write_store_index


def _run(store: Path, test: str, stamp: str, spec: dict, results: dict | None) -> None:
    d = store / test / stamp
    d.mkdir(parents=True)
    (d / "spec.json").write_text(json.dumps({"spec": spec, "started": 1767225600.0 + int(stamp[-2:])}))
    if results is not None:
        (d / "results.json").write_text(json.dumps(results))


def test_rows_have_every_column_newest_first(tmp_path: Path) -> None:
    _run(tmp_path, "paxos", "20260101T000001",
         {"system": "paxos", "backend": "sim", "nemesis": ["kill", "pause"],
          "workload": "register", "seed": 5},
         {"valid": False, "ops": 12, "duration": 3.25})
    _run(tmp_path, "repl", "20260101T000002", {"system": "replication"}, None)
    (tmp_path / "_assets").mkdir()
    rows = index_rows(tmp_path)
    assert [r["test"] for r in rows] == ["repl", "paxos"]
    p = rows[1]
    assert (p["backend"], p["nemesis"], p["seed"], p["ops"], p["duration"], p["valid"]) == (
        "sim", "kill,pause", 5, 12, "3.2 s", False)
    assert p["started"] == "2026-01-01 00:00:01" and p["path"] == "paxos/20260101T000001"
    assert rows[0]["valid"] is None and rows[0]["ops"] is None


def test_index_escapes_and_filters(tmp_path: Path) -> None:
    _run(tmp_path, "t", "20260101T000001", {"system": "<script>alert(1)</script>", "nemesis": ["<b>x</b>"]},
         {"valid": True, "ops": 1})
    _run(tmp_path, "t", "20260101T000002", {"system": "paxos"}, {"valid": "unknown", "ops": 2})
    html = write_store_index(tmp_path).read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html
    assert 'id="run-filter"' in html and 'id="verdict-filter"' in html
    assert 'data-verdict="VALID"' in html and 'data-verdict="UNKNOWN"' in html
    assert 'href="t/20260101T000002/report.html"' in html
    assert html.index("20260101T000002") < html.index("20260101T000001")


def test_campaigns_are_listed_below_the_runs(tmp_path: Path) -> None:
    _run(tmp_path, "t", "20260101T000001", {"system": "paxos"}, {"valid": True, "ops": 1})
    camp = tmp_path / "campaigns" / "nightly" / "20260101T000009"
    camp.mkdir(parents=True)
    (camp / "summary.json").write_text(json.dumps({"name": "<i>nightly</i>", "exit_code": 1,
                                                   "totals": {"as-expected": 3, "unexpected": 1}}))
    (tmp_path / "campaigns" / "nightly" / "spec.json").write_text("{}")
    html = write_store_index(tmp_path).read_text()
    assert [r["test"] for r in index_rows(tmp_path)] == ["t"]
    assert 'id="campaigns"' in html and "&lt;i&gt;nightly&lt;/i&gt;" in html and "<i>nightly</i>" not in html
    assert "unexpected: 1" in html


def test_sim_runs_show_virtual_and_wall_time(tmp_path: Path) -> None:
    _run(tmp_path, "sim", "20260101T000001", {"system": "paxos", "backend": "sim"},
         {"valid": True, "ops": 9, "duration": 0.04, "history_duration": 60.5})
    _run(tmp_path, "local", "20260101T000002", {"system": "paxos", "backend": "local"},
         {"valid": True, "ops": 9, "duration": 31.04, "history_duration": 30.9})
    rows = {r["test"]: r for r in index_rows(tmp_path)}
    assert rows["sim"]["duration"] == "60.5 s virtual, 0.04 s wall"
    assert rows["local"]["duration"] == "31.0 s"


def test_a_sim_run_records_the_time_its_history_covers(tmp_path: Path) -> None:
    from harness.run.session import run_test
    from harness.run.spec import RunSpec

    res = run_test(RunSpec(system="paxos", backend="sim", time_limit=8, quiesce=1, seed=4), store=tmp_path)
    doc = json.loads((res.run_dir / "results.json").read_text())
    assert 8 <= doc["history_duration"] < 30 and doc["duration"] < doc["history_duration"]
    row = next(r for r in index_rows(tmp_path))
    assert "virtual" in row["duration"] and "wall" in row["duration"]
