"""The CLI's contract: exit codes, clear one-line errors with valid choices, and no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.apps.cli import run_cli


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["run"], ["check"], ["systems"]):
        code, out, _ = _run(capsys, *argv, "--help")
        assert code == 0 and "Usage:" in out


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (["run", "--system", "nosuch"],
         "valid choices: etcd, hashring, lock, maelstrom, paxos, redis, replication, twopc"),
        (["run", "--system", "replication:nosuch"], "replication:async"),
        (["run", "--workload", "nosuch"],
         ("valid choices: bank, broadcast, echo, g-counter, g-set, kafka, lin-kv, "
          "list-append, lock, pn-counter, register, set, txn-list-append")),
        (["run", "--nemesis", "partiton"], "partition"),
        (["run", "--backend", "nosuch"], "local"),
        (["run", "--nodes", "zero"], "--nodes"),
        (["run", "--rate", "0"], "--rate"),
        (["run", "--bogus"], "--bogus"),
        (["run", "--workload-options", "{nope"], "not valid JSON"),
        (["run", "--workload-options", '{"kees": 1}'], "valid: keys"),
        (["nosuchcommand"], "nosuchcommand"),
        (["check"], "PATHS"),
        (["check", "/no/such/file.jsonl"], "does not exist"),
    ],
)
def test_bad_input_exits_254_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], expect: str
) -> None:
    code, _, err = _run(capsys, *argv, *(["--store", str(tmp_path)] if argv[0] == "run" else []))
    assert code == 254, err
    assert expect in err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir()), "a refused run leaves nothing in the store"


def test_bad_history_line_names_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "h.jsonl"
    bad.write_text('{"index":0,"time":0,"type":"invoke","process":0,"f":"read","value":["k",null]}\n'
                   '{"index":1,"time":1,"type":"okay","process":0,"f":"read","value":["k",1]}\n'
                   '{"index":2,"time":2,"type":"ok","process":0,"f":"read","value":["k",1]}\n')
    code, _, err = _run(capsys, "check", str(bad))
    assert code == 254
    assert f"{bad}:2" in err and "Traceback" not in err


def test_systems_lists_variants_bugs_and_workloads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "systems")
    assert code == 0
    assert "replication:async" in out and "planted bug" in out and "register" in out and "partition" in out
    code, out, _ = _run(capsys, "systems", "--json")
    doc = json.loads(out)
    assert any(v["planted_bug"] for s in doc["systems"] for v in s["variants"])
    assert "local" in doc["backends"]


def test_check_history_files_one_line_each(capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    import csv

    with (corpus / "MANIFEST.tsv").open(newline="") as fh:
        manifest = list(csv.DictReader(fh, delimiter="\t"))
    rows = [r for r in manifest if r["check"] == "linearizable:cas-register(initial=nil)"
            and r["format"] == "porcupine-etcd-log"]
    valid = next(r for r in rows if r["expected"] == "valid")
    invalid = next(r for r in rows if r["expected"] == "invalid")
    code, out, _ = _run(capsys, "check", str(corpus / valid["path"]), "--time-limit", "30")
    assert code == 0 and "\tVALID\t" in out
    code, out, _ = _run(capsys, "check", str(corpus / valid["path"]), str(corpus / invalid["path"]), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [d["valid"] for d in lines] == [True, False]
    assert all(d["ops"] > 0 and d["path"].endswith(".log") for d in lines)


def test_check_with_a_named_checker(capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    code, out, _ = _run(capsys, "check", "--checker", "bank", str(corpus / "jepsen" / "bank.edn"))
    assert code == 0 and "\tVALID\t" in out
    g0 = corpus / "elle" / "list-append" / "list-append-anomaly-g0-cycle.json"
    code, out, _ = _run(capsys, "check", "--checker", "list-append", "--json", str(g0))
    doc = json.loads(out.splitlines()[0])
    assert code == 1 and doc["valid"] is False and "G0" in doc["result"]["details"]["anomaly-types"]
    code, _, err = _run(capsys, "check", "--checker", "nope", str(g0))
    assert code == 254 and "elle-list-append" in err


def test_a_late_interrupt_never_turns_the_exit_status_into_a_signal_death(tmp_path: Path) -> None:
    """A KeyboardInterrupt that escapes the CLI's own handling (a second Ctrl-C while the first is being
    reported) exits 2, and a SIGINT after the command is done changes nothing (without the entry point's
    care, Python dies by SIGINT: status -2)."""
    import os
    import subprocess
    import sys

    script = tmp_path / "late.py"
    script.write_text(
        "import os, signal, sys\n"
        "import harness.apps.cli as cli\n"
        "def escaping():\n"
        "    raise KeyboardInterrupt\n"
        "def done_then_interrupted():\n"
        "    return 0\n"
        "cli.run_cli = escaping if sys.argv[1] == 'escape' else done_then_interrupted\n"
        "if sys.argv[1] == 'late':\n"
        "    real_exit = sys.exit\n"
        "    def exit_after_a_signal(code):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        real_exit(code)\n"
        "    sys.exit = exit_after_a_signal\n"
        "cli.main()\n"
    )
    root = Path(__file__).resolve().parents[1]
    for mode, status in (("escape", 2), ("late", 0)):
        proc = subprocess.run([sys.executable, str(script), mode], cwd=root, capture_output=True, timeout=60,
                              check=False, env={**os.environ, "PYTHONPATH": str(root)})
        assert proc.returncode == status, (mode, proc.returncode, proc.stderr[-500:])
