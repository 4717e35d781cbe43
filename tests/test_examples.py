"""The example histories under ``examples/histories``: each gives the verdict its table row names, and
``check`` prints that verdict with a one-line reason (no ``--json`` needed); ``--version``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.apps.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "histories"


def _rows() -> list[tuple[str, list[str], str]]:
    """``(file, extra check args, verdict)`` from the examples' README table."""
    rows = []
    for line in (EXAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            args = re.findall(r"`([^`]*)`", cells[2])[0].split()
            rows.append((cells[0].strip("`"), args, cells[3]))
    return rows


def test_every_example_file_is_in_the_table() -> None:
    listed = {r[0] for r in _rows()}
    assert listed == {p.name for p in EXAMPLES.iterdir() if p.name != "README.md"}
    assert {"VALID", "INVALID"} == {r[2] for r in _rows()}


@pytest.mark.parametrize(("name", "args", "verdict"), _rows())
def test_example_gives_its_verdict_with_a_reason(capsys: pytest.CaptureFixture[str], name: str,
                                                 args: list[str],
                                                 verdict: str) -> None:
    code = run_cli(["check", *args, str(EXAMPLES / name)])
    out, err = capsys.readouterr()
    assert code == {"VALID": 0, "INVALID": 1}[verdict], err
    path, shown, ops, _secs, reason = out.rstrip("\n").split("\t")
    assert path.endswith(name) and shown == verdict and ops.endswith(" ops")
    assert len(reason) > 20 and "\n" not in reason and "gave no reason" not in reason


def test_reasons_name_anomalies_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(["check", "--checker", "elle-list-append", str(EXAMPLES / "list-append-g1c.json")])
    assert "1 G1c" in capsys.readouterr().out
    run_cli(["check", "--checker", "long-fork", str(EXAMPLES / "long-fork.edn")])
    assert "1 long fork" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--version"]) == 0
    out = capsys.readouterr().out
    assert re.match(r"splitbrain \d+\.\d+\.\d+", out)
    if (ROOT / ".git").exists():
        assert re.search(r"\(commit [0-9a-f]{12}", out), out


def test_run_banner_shows_an_explicit_schedule(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    schedule = ROOT / "examples" / "schedules" / "isolate-then-kill.json"
    code = run_cli(["run", "--backend", "sim", "--system", "paxos", "--schedule", str(schedule),
                    "--time-limit", "12",
                    "--seed", "1", "--quiet", "--store", str(tmp_path)])
    _out, err = capsys.readouterr()
    assert code == 0, err
    assert "explicit schedule of 4 ops" in err
    shown = [
        json.loads(ln.split("schedule: ", 1)[1]) for ln in err.splitlines() if ln.startswith("  schedule: ")
    ]
    assert shown == json.loads(schedule.read_text()), "the banner shows the schedule as the run plays it"


def test_systems_tags_weaker_by_design_and_aligns_long_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["systems"]) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if ln.startswith("  ") and "[" in ln and "]" in ln]
    tag_at = {ln.index("[") for ln in rows}
    assert len(tag_at) == 1, "every variant's tag starts in the same column"
    by_name = {ln.split()[0]: ln for ln in rows}
    assert "[weaker by design]" in by_name["etcd:serializable"] and "[weaker by design]" in by_name["redis"]
    assert "[correct]" in by_name["etcd"] and "[planted bug]" in by_name["paxos:stale-read"]
    assert run_cli(["systems", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    weaker = {v["name"] for s in doc["systems"] for v in s["variants"] if v["weaker_by_design"]}
    assert {"etcd:serializable", "redis"} <= weaker and not weaker & {"etcd", "paxos", "replication"}


def test_check_help_names_every_checker(capsys: pytest.CaptureFixture[str]) -> None:
    from checkers.registry import names

    assert run_cli(["check", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # click wraps after a hyphen
    for name in names():
        assert name in text, name
