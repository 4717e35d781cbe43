"""Whatever a user hands the CLI, the answer is a verdict or one line and exit 254 — never a traceback.

Hypothesis generates malformed inputs of every kind the CLI reads — histories (our JSON lines, Jepsen
EDN, Elle JSON arrays, Porcupine etcd logs, raw bytes), run specs, and JSON option strings — and runs
the real command line in-process (click's CliRunner isolation around ``run_cli``, which maps errors to
exit codes). The property: exit 0/1/2 (a verdict) or 254 with exactly one line on stderr; 255 (a crash,
"a bug in splitbrain") never.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.registry import names as checker_names
from harness.apps.cli import run_cli

VERDICTS = {0, 1, 2}
MODELS = ["cas-register", "register", "kv", "multi-register", "set", "queue", "mutex", "fencing-lock"]
FUZZ = settings(max_examples=int(os.environ.get("SPLITBRAIN_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def invoke(args: list[str]) -> tuple[int, str]:
    """Run the CLI in-process; returns (exit code, stderr)."""
    with CliRunner().isolation() as (_out, err, _both):
        code = run_cli(args)
        text = err.getvalue().decode(errors="replace")
    return code, text


def assert_verdict_or_one_line(code: int, err: str, what: str) -> None:
    assert code != 255, f"crashed on {what}:\n{err}"
    assert code in VERDICTS | {254}, (code, err)
    if code == 254:
        lines = [ln for ln in err.splitlines() if ln.strip() and "warning:" not in ln]
        assert len(lines) == 1, f"not one line for {what}:\n{err}"
        assert "Traceback" not in err


# ----------------------------------------------------------------------------- values

huge_ints = st.integers(min_value=-(2**200), max_value=2**200)
scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=8))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                           max_leaves=12)


DEEP = "__deeply_nested__"  # replaced by a value nested thousands of levels deep when serialised
values = st.one_of(json_values, st.just(DEEP))
op_fields = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["invoke", "ok", "fail", "info", "bogus", 3, None]),
        "process": st.one_of(st.integers(-3, 5), st.just("nemesis"), st.lists(st.integers(), max_size=2),
                             st.dictionaries(st.text(max_size=2), st.integers(), max_size=1), st.booleans(),
                             st.floats(allow_nan=False, allow_infinity=False)),
        "f": st.one_of(st.sampled_from(["read", "write", "cas", "txn", "add", "acquire", "transfer"]), values),
        "value": values,
        "index": st.one_of(st.integers(-2, 100), huge_ints, st.text(max_size=3)),
        "time": st.one_of(st.integers(0, 10**12), st.floats(), st.text(max_size=3)),
    },
)


def _dumps(v: Any) -> str:
    try:
        text = json.dumps(v)
    except ValueError:  # an integer too long for the str conversion: write it digit by digit
        text = json.dumps(v, default=str)
    return text.replace(f'"{DEEP}"', "[" * 3000 + "]" * 3000)


jsonl_text = st.lists(op_fields, min_size=1, max_size=8).flatmap(
    lambda ops: st.sampled_from(["", "\n{\"type\": \"ok\"", "\nnot json", "\n[1,2]"]).map(
        lambda tail: "\n".join(_dumps(o) for o in ops) + tail))
elle_text = st.lists(op_fields, min_size=0, max_size=8).map(lambda ops: "[" + ",\n".join(_dumps(o) for o in ops) + "]")

EDN_ATOMS = ["nil", "true", "false", "1", "-7", "123N", "1.5M", "1/2", "##NaN", "##Inf", "##-Inf", "\\c", "\\newline",
             "\\u0041", '"s\\"q"', ":kw", ":ns/kw", "sym", "#inst \"2020-01-01\"", "#uuid \"0000\"", "#foo 1",
             "#{1 2}", "#_ 1", "^:meta [1]", "99999999999999999999999999999999", "1e999", "'quote", "@deref",
             "#\"re\"", "#?(:clj 1)", "{", "}", "[", "]", "(", ")", ",", ";c\n"]
edn_value = st.recursive(st.sampled_from(EDN_ATOMS),
                         lambda inner: st.one_of(st.lists(inner, max_size=4).map(lambda xs: "[" + " ".join(xs) + "]"),
                                                 st.lists(inner, max_size=4).map(lambda xs: "(" + " ".join(xs) + ")")),
                         max_leaves=8)
edn_op = st.tuples(st.sampled_from([":invoke", ":ok", ":fail", ":info", ":weird", "1"]),
                   st.one_of(st.sampled_from(["0", "1", ":nemesis", "[1]", "{:a 1}", "nil", "\"p\"", "1.5"]), edn_value),
                   st.sampled_from([":read", ":write", ":cas", ":txn", ":add", "\"f\"", "[1]"]),
                   edn_value).map(lambda t: f"{{:type {t[0]}, :process {t[1]}, :f {t[2]}, :value {t[3]}}}")
kv_op = st.tuples(st.sampled_from([":invoke", ":ok", ":fail", ":info"]), st.sampled_from(["0", "1", "[1]", "nil"]),
                  st.sampled_from([":get", ":put", ":append", ":cas", ":x"]), edn_value, edn_value).map(
    lambda t: f"{{:process {t[1]}, :type {t[0]}, :f {t[2]}, :key {t[3]}, :value {t[4]}}}")
edn_text = st.one_of(
    st.lists(edn_op, max_size=6).map(lambda ops: "[" + "\n".join(ops) + "]"),
    st.lists(kv_op, min_size=1, max_size=6).map("\n".join),
    st.lists(edn_op, min_size=1, max_size=6).map("\n".join),
    st.lists(st.one_of(edn_op, edn_value), max_size=6).map(lambda xs: "(" + " ".join(xs) + ")"),
    st.integers(100, 5000).map(lambda n: "[" * n + "]" * n),
)
porcupine_line = st.tuples(st.sampled_from(["0", "1", "x", ":nemesis", "99999999999999999999999"]),
                           st.sampled_from([":invoke", ":ok", ":fail", ":info", ":nope"]),
                           st.sampled_from([":read", ":write", ":cas", ":x"]),
                           st.one_of(st.sampled_from(["nil", "3", "[1 2]", "[1", "\"s\"", ":timeout"]), edn_value)).map(
    lambda t: f"INFO  jepsen.util - {t[0]}\t{t[1]}\t{t[2]}\t{t[3]}")
porcupine_text = st.lists(porcupine_line, min_size=1, max_size=6).map("\n".join)
raw_bytes = st.binary(min_size=1, max_size=200)


def write_input(data: str | bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix="splitbrain-fuzz-")
    with open(fd, "wb") as fh:
        fh.write(data.encode("utf-8", errors="surrogatepass") if isinstance(data, str) else data)
    return Path(name)


@FUZZ
@given(text=st.one_of(jsonl_text, elle_text, edn_text, porcupine_text, raw_bytes),
       checker=st.one_of(st.none(), st.sampled_from(checker_names())), model=st.sampled_from(MODELS))
def test_check_answers_any_history_with_a_verdict_or_one_line(text: str | bytes, checker: str | None,
                                                               model: str) -> None:
    path = write_input(text)
    try:
        args = ["check", str(path), "--model", model, "--time-limit", "2"]
        if checker is not None:
            args += ["--checker", checker]
        code, err = invoke(args)
    finally:
        path.unlink()
    assert_verdict_or_one_line(code, err, repr(text)[:300])


# ----------------------------------------------------------------------------- run: specs and options

SPEC_FIELDS = ["system", "workload", "backend", "nodes", "concurrency", "time_limit", "rate", "nemesis",
               "nemesis_interval", "seed", "quiesce", "test_name", "op_timeout", "check_time_limit",
               "workload_options", "config", "schedule"]
odd = st.one_of(values, st.sampled_from([float("inf"), float("nan"), -1, 0, 10**30, "3", [], {}, True]))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from([*SPEC_FIELDS, "bogus"]), odd, min_size=1, max_size=4),
       wrap=st.booleans(), binary=st.one_of(st.none(), raw_bytes))
def test_run_refuses_a_malformed_spec_in_one_line(fields: dict[str, Any], wrap: bool, binary: bytes | None) -> None:
    # every generated spec breaks at least one rule (the 'time_limit' of inf), so nothing starts running
    doc = {"spec": {**fields, "time_limit": float("inf")}} if wrap else fields
    text = binary if binary is not None else _dumps(doc).replace("Infinity", "1e999")
    path = write_input(text)
    with tempfile.TemporaryDirectory() as store:
        try:
            code, err = invoke(["run", "--spec", str(path), "--store", store, "--quiet"])
        finally:
            path.unlink()
    assert code == 254, (code, err)
    assert_verdict_or_one_line(code, err, repr(text)[:300])


option_text = st.one_of(st.text(alphabet=string.printable, max_size=30), values.map(_dumps),
                        st.integers(100, 5000).map(lambda n: "[" * n + "]" * n),
                        st.just("1" * 5000))


@FUZZ
@given(option=st.sampled_from(["--workload-options", "--config"]), text=option_text,
       number=st.sampled_from(["--time-limit", "--nemesis-interval", "--rate", "--quiesce", "--op-timeout"]),
       bad=st.sampled_from(["inf", "nan", "-inf", "1e999", "NaN"]))
def test_run_refuses_malformed_options_and_non_finite_numbers(option: str, text: str, number: str, bad: str) -> None:
    with tempfile.TemporaryDirectory() as store:
        code, err = invoke(["run", "--backend", "sim", "--store", store, "--quiet", option, text, number, bad])
    assert code == 254, (code, err)
    assert_verdict_or_one_line(code, err, f"{option} {text!r} {number} {bad}")


def test_run_refuses_an_empty_or_unwritable_store(tmp_path: Path) -> None:
    code, err = invoke(["run", "--backend", "sim", "--store", "", "--time-limit", "0"])
    assert code == 254 and "must not be empty" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = invoke(["run", "--backend", "sim", "--store", str(blocker / "store"), "--time-limit", "0"])
    assert code == 254 and "--store" in err and len(err.strip().splitlines()) == 1


def test_check_names_what_is_wrong(tmp_path: Path) -> None:
    """A few inputs of the generated kinds, to pin the words of the message down."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "spec.json").write_text(json.dumps({"spec": {"system": "replication"}}))
    code, err = invoke(["check", str(run_dir)])
    assert code == 254 and "no history.jsonl" in err
    bad = write_input('{"type": "invoke", "process": [1], "f": "read", "value": null}\n')
    code, err = invoke(["check", str(bad)])
    assert code == 254 and "op 0: field process must be an integer or a string" in err
    bad.write_text('{"type": "invoke", "process": 0, "f": "write", "value": 3}\n'
                   '{"type": "ok", "process": 0, "f": "write", "value": 3}\n')
    code, err = invoke(["check", str(bad), "--checker", "elle-list-append"])
    assert code in VERDICTS | {254}
    bad.write_text('[{"type": "invoke", "process": 0, "f": "cas", "value": 3}, '
                   '{"type": "ok", "process": 0, "f": "cas", "value": 3}]')
    code, err = invoke(["check", str(bad)])
    assert code == 254 and "does not fit the linearizable checker" in err and str(bad) in err
    bad.unlink()
    code, err = invoke(["check", "/dev/zero"])
    assert code == 254 and "binary" in err


OPTION_KEYS = ["keys", "mix", "ops_per_key", "values", "accounts", "max_amount", "reads", "ttl", "stale", "release",
               "read_fraction", "final_reads", "max_txn_length", "appends_per_key", "bogus"]
CONFIG_KEYS = ["heartbeat", "batch", "election_timeout", "ttl", "phase_timeout", "max_attempts", "coordinator",
               "accounts", "members", "manager", "resource", "replicas", "bogus"]
# Wrongly typed values, and numbers in a sane range: a zero or negative heartbeat or timeout is a
# different problem (the node spins, in the simulator without end) that each system must refuse itself.
option_values = st.one_of(
    st.recursive(st.one_of(st.none(), st.booleans(), st.text(max_size=4)),
                 lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner,
                                                                                        max_size=2)), max_leaves=5),
    st.just(DEEP), st.sampled_from([1, 2, 0.5, 1e7, 3.5, {"read": "a"}, [1]]),
)


@settings(max_examples=int(os.environ.get("SPLITBRAIN_FUZZ_EXAMPLES", "60")) // 2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(system=st.sampled_from(["replication", "paxos", "lock", "twopc", "hashring"]),
       options=st.dictionaries(st.sampled_from(OPTION_KEYS), option_values, max_size=2),
       config=st.dictionaries(st.sampled_from(CONFIG_KEYS), option_values, max_size=2))
def test_run_takes_any_option_object_with_a_verdict_or_one_line(system: str, options: dict[str, Any],
                                                                config: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as store:
        code, err = invoke(["run", "--backend", "sim", "--system", system, "--store", store, "--quiet",
                            "--time-limit", "0.1", "--quiesce", "0", "--nemesis", "none", "--op-timeout", "0.2",
                            "--workload-options", _dumps(options), "--config", _dumps(config)])
    assert_verdict_or_one_line(code, err, f"{system} --workload-options {options!r} --config {config!r}")


def test_check_stops_reading_an_endless_input_and_says_why(tmp_path: Path) -> None:
    import threading

    from checkers.history import HistoryError
    from checkers.importers import read_bounded

    fifo = tmp_path / "endless"
    os.mkfifo(fifo)

    def feed() -> None:
        try:
            with fifo.open("w") as fh:
                while True:
                    fh.write('{"type": "invoke", "process": 0, "f": "read"}\n' * 1000)
        except (BrokenPipeError, OSError):
            pass

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        read_bounded(fifo, limit=1 << 20)
    except HistoryError as e:
        assert "stopped reading after 1048576 bytes" in str(e) and str(fifo) in str(e)
    else:
        raise AssertionError("an endless input was read to its end")
    t.join(timeout=5)
