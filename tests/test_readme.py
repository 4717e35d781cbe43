"""Every command of the README's command blocks runs as written (a new user's first hour).

Commands are taken from the README's ```sh blocks (``&&`` chains split into their parts) and run in
README order from a scratch directory laid out like the clone's root: ``.venv`` is the venv running this
test, ``examples/`` and ``campaigns/`` are the repository's, ``store/`` starts empty. So a path that does
not exist, a renamed option or a command that crashes fails here.

To stay quick, what the README leaves to the defaults is narrowed, never changed in kind: ``run`` gets
``--backend sim`` (in place of ``local``; docker runs are skipped) and at most 10 s of (virtual) time,
``explore`` a small budget, ``campaign run`` its first two cells. The README's pytest example is written
to the file its first line names and run by the README's own command. The commands that cannot run here
are listed in ``SKIPPED`` with the reason, word for word, so a new README command is run unless it is
added there.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

SKIPPED: dict[str, str] = {
    "python3 -m venv .venv": "creates the venv this test already runs in",
    ".venv/bin/pip install -e .": "installs the package this test already runs from",
    ".venv/bin/pip install -e '.[test]'": "installs the package this test already runs from",
    ".venv/bin/python -m pytest": "the whole test suite, which includes this test",
    ".venv/bin/splitbrain run --backend docker --system twopc --workload bank": "needs a Docker engine",
    ".venv/bin/splitbrain campaign run campaigns/zoo.toml": "the whole bug zoo: hours of runs",
    ".venv/bin/pip install -e examples/chain-plugin": "installs a plugin into the venv "
    "(tests/plugins/test_plugins.py)",
    ".venv/bin/splitbrain run --system chain:any-replica-reads --backend sim --seed 1 --time-limit 10 "
    "--nemesis "
    "partition --workload-options '{\"read_fraction\": 0.8}'": "needs the plugin installed "
    "(tests/plugins/test_plugins.py)",
    ".venv/bin/splitbrain serve": "runs a web server until Ctrl-C (tests/reports/test_serve.py covers it)",
    ".venv/bin/splitbrain run --system etcd --nemesis kill,pause": "needs Debian's etcd-server "
    "(tests/external)",
    ".venv/bin/splitbrain run --system redis --nemesis kill,pause": "needs Debian's redis-server "
    "(tests/external)",
    ".venv/bin/splitbrain run --system maelstrom --bin ./my-node --workload lin-kv --nodes 5 --nemesis "
    "partition,kill,pause": "the reader's own program on real processes; the simulator refuses external "
    "programs (tests/maelstrom runs our test nodes)",
}
MAX_TIME_LIMIT = 10.0
OK_CODES = {0, 1, 2}  # valid, invalid, unknown: a verdict; 254/255 (bad input, crash) are breakages


def _strip_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def readme_commands() -> list[str]:
    """Every command of the README's ``sh`` blocks, in order, ``&&`` chains split."""
    text = README.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in re.sub(r"\s*\\\n\s*", " ", block).splitlines():  # join continued lines
            cmd = _strip_comment(line)
            if cmd:
                out += [part.strip() for part in cmd.split("&&")]
    return out


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def narrowed(argv: list[str]) -> list[str]:
    """The quick form of a README command (see the module docstring)."""
    argv = list(argv)
    if argv[:2] == [".venv/bin/splitbrain", "run"]:
        if "--backend" in argv:
            argv[argv.index("--backend") + 1] = "sim"
        else:
            argv += ["--backend", "sim"]
        limit = _option(argv, "--time-limit")
        if limit is None:
            argv += ["--time-limit", str(MAX_TIME_LIMIT)]
        elif float(limit) > MAX_TIME_LIMIT:
            argv[argv.index("--time-limit") + 1] = str(MAX_TIME_LIMIT)
        argv += ["--quiet"]
    elif argv[:2] == [".venv/bin/splitbrain", "explore"]:
        argv += ["--budget", "8", "--shrink-time", "10", "--time-limit", "5", "--quiet"]
    elif argv[:3] == [".venv/bin/splitbrain", "campaign", "run"]:
        argv += ["--max-cells", "2", "--quiet"]
    return argv


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch directory that looks like the clone's root after the Quick start."""
    root = tmp_path_factory.mktemp("clone")
    if sys.prefix != sys.base_prefix and (Path(sys.prefix) / "bin" / "splitbrain").is_file():
        (root / ".venv").symlink_to(Path(sys.prefix))
    else:  # not in a venv (or no console script): the same entry points, by this interpreter
        bin_dir = root / ".venv" / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "python").symlink_to(sys.executable)
        script = bin_dir / "splitbrain"
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m harness.apps.cli "$@"\n')
        script.chmod(0o755)
    for name in ("examples", "campaigns"):
        (root / name).symlink_to(ROOT / name)
    text = README.read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        first = block.splitlines()[0]
        m = re.match(r"#\s*(\S+\.py)\s*$", first)
        if m:
            (root / m.group(1)).write_text(block, encoding="utf-8")
    return root


COMMANDS = readme_commands()


def test_the_readme_has_commands_and_every_skip_is_still_in_it() -> None:
    assert len(COMMANDS) >= 15
    missing = set(SKIPPED) - set(COMMANDS)
    assert not missing, f"SKIPPED names commands the README no longer has: {missing}"
    bare = [c for c in COMMANDS if re.match(r"splitbrain\b", c)]
    assert not bare, f"commands that assume an activated venv: {bare}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in SKIPPED])
def test_readme_command_runs(clone: Path, command: str) -> None:
    argv = narrowed(shlex.split(command))
    # a new user's shell: the venv is not activated, so no bare ``splitbrain`` on the PATH
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d
            and not (Path(d) / "splitbrain").exists()]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.pathsep.join(path)}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(argv, cwd=clone, capture_output=True, text=True, timeout=600, env=env,
                          check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode in OK_CODES, f"{shlex.join(argv)} exited {proc.returncode}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert output.strip(), "every command says something"
    if argv[1:2] == ["run"]:
        assert re.search(r"^verdict: (VALID|INVALID|UNKNOWN)", proc.stdout, re.MULTILINE), output
    replay = re.search(r"^replay: (.*)$", proc.stdout, re.MULTILINE)
    if replay:  # the replay line (of an invalid run, of explore's find) runs as printed: the same verdict
        again = subprocess.run(shlex.split(replay.group(1)), cwd=clone, capture_output=True, text=True,
                               timeout=600, env=env, check=False)
        word = re.compile(r"^(?:verdict|stored run): (VALID|INVALID|UNKNOWN)", re.MULTILINE)
        assert again.returncode in OK_CODES, again.stdout + again.stderr
        assert word.findall(again.stdout)[:1] == word.findall(proc.stdout)[:1], again.stdout
        if argv[1:2] == ["run"]:  # same seed, simulator: the very same run
            verdict = re.compile(r"^verdict: .*$", re.MULTILINE)
            assert verdict.findall(again.stdout) == verdict.findall(proc.stdout)
    if argv[1:2] == ["check"]:
        for line in proc.stdout.splitlines():
            if not line.startswith("{"):
                assert len(line.split("\t")) == 5 and line.split("\t")[4].strip(), (
                    f"a verdict without a reason: {line}"
                )
    if "-m" in argv and "pytest" in argv:
        assert proc.returncode == 0 and re.search(r"\d+ passed", proc.stdout), output
