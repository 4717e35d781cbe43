"""Bad ``--schedule`` entries are refused before the run with exit 254, naming the entry and the field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.apps.cli import run_cli
from nemesis.faults import FaultKind, ScheduleError
from nemesis.table import TABLE, validate_schedule

NODES = ["n1", "n2", "n3"]


def _bad_entries() -> st.SearchStrategy[tuple[dict[str, Any] | Any, str]]:
    """(a bad entry, the field its error must name)."""
    good_at = st.floats(0.0, 20.0)
    nodes = st.lists(st.sampled_from(NODES), min_size=1, max_size=3, unique=True)
    unknown_node = st.sampled_from(["n9", "x", "N1"])
    return st.one_of(
        st.tuples(st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                            st.none()),
                  st.just("")),
        st.tuples(st.builds(lambda at: {"at": at, "f": "kill", "value": ["n1"]},
                            st.one_of(st.floats(max_value=-1e-3), st.just(math.nan), st.just(math.inf),
                                      st.text(max_size=3), st.none())), st.just("at")),
        st.tuples(st.builds(lambda at, n, xs: {"at": at, "f": "kill", "value": [*xs, n]}, good_at,
                            unknown_node,
                            nodes), st.just("value")),
        st.tuples(st.builds(lambda at, v: {"at": at, "f": "start-partition", "value": v}, good_at,
                            st.sampled_from(["halves", 3, ["n1"], {"grudge": "everyone"}])),
                            st.just("value")),
        st.tuples(st.builds(lambda at, n, o: {"at": at, "f": "bump-clock", "value": {n: o}}, good_at,
                            st.sampled_from(NODES),
                            st.one_of(st.floats(min_value=1e6, max_value=1e300), st.floats(max_value=-1e6),
                                      st.just(math.nan), st.text(max_size=3))), st.just("value")),
        st.tuples(st.builds(lambda at, f: {"at": at, "f": f, "value": None}, good_at,
                            st.text(min_size=1, max_size=8).filter(
                                lambda f: f not in {k.value for k in FaultKind})),
                  st.just("f")),
    )


@settings(max_examples=80, deadline=None)
@given(st.lists(st.builds(lambda at: {"at": at, "f": "kill", "value": ["n2"]}, st.floats(0, 9)), max_size=3),
       _bad_entries())
def test_generated_bad_entries_name_their_index_and_field(good: list[dict[str, Any]],
                                                          bad: tuple[Any, str]) -> None:
    entry, field = bad
    items = [*good, entry]
    with pytest.raises(ScheduleError) as e:
        validate_schedule(items, NODES)
    text = str(e.value)
    assert text.startswith(f"schedule entry {len(good)}")
    if field:
        assert f"field '{field}'" in text
    if field == "value":
        assert TABLE[entry["f"]].shape in text  # the accepted shapes come with the refusal


def test_good_entries_pass_and_every_kind_has_a_shape() -> None:
    items = [{"at": 1, "f": "kill", "value": {"targets": "majority"}, "on": "decided", "window": 0.5},
             {"at": 0.5, "f": "bump-clock", "value": {"n1": -0.25}}, {"at": 2, "f": "start", "value": None},
             {"at": 3, "f": "start-partition", "value": {"n1": ["n2", "n3"]}}]
    items += [{"at": 4, "f": "pause", "value": {"targets": "event"}, "on": "announced", "window": 1,
               "after": 3},
              {"at": 5, "f": "bump-clock", "value": {"targets": "primaries", "offset": 2.5}}]
    out = validate_schedule(items, NODES)
    assert [tf.at for tf in out] == [0.5, 1.0, 2.0, 3.0, 4.0, 5.0] and out[1].on == "decided"
    assert (out[4].on, out[4].after) == ("announced", 3) and out[4].to_dict()["after"] == 3
    assert set(TABLE) >= {k.value for k in FaultKind} and all(s.shape for s in TABLE.values())


@pytest.mark.parametrize("entry", [
    {"at": 1, "f": "kill", "value": ["n7"]},
    {"at": -1, "f": "kill", "value": ["n1"]},
    {"at": 1, "f": "start-partition", "value": "halves"},
    {"at": 1, "f": "bump-clock", "value": {"n1": 1e12}},
    {"at": 1, "f": "bump-clock", "value": {"targets": "everyone", "offset": 1}},
    {"at": 1, "f": "kill", "value": ["n1"], "after": 2},
    {"at": 1, "f": "kill", "value": ["n1"], "on": "decided", "window": 1, "after": -1},
    {"at": 1, "f": "kill", "value": ["n1"], "on": "soon"},
    7,
])
def test_the_cli_refuses_a_bad_schedule_before_the_run_with_254(entry: Any, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps([entry]))
    code = run_cli(["run", "--system", "replication", "--backend", "sim", "--time-limit", "1",
                    "--schedule", str(path), "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 254, err
    assert "schedule entry 0" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("history.jsonl"))


def test_the_readme_documents_every_schedule_entry_shape() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for kind in FaultKind:
        assert f"- `{kind.value}`: `{TABLE[kind.value].shape}`" in readme, kind
