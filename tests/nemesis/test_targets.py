"""Node specs (one / minority / majority / all / primaries) and finding the leaders from node status."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nemesis.targets import SPECS, TargetError, find_primaries, leaders_in, pick


@given(st.integers(1, 9), st.integers(0, 2**32))
def test_specs_select_the_right_number_of_distinct_nodes(n: int, seed: int) -> None:
    nodes = [f"n{i}" for i in range(1, n + 1)]
    sizes = {spec: pick(spec, nodes, random.Random(seed)) for spec in SPECS if spec != "primaries"}
    for spec, chosen in sizes.items():
        assert chosen == sorted(set(chosen)) and set(chosen) <= set(nodes), spec
    assert len(sizes["one"]) == 1
    assert 1 <= len(sizes["minority"]) <= max(1, (n - 1) // 2)
    assert 1 <= len(sizes["minority-third"]) <= max(1, (n - 1) // 3)
    assert len(sizes["majority"]) == n // 2 + 1
    assert sizes["all"] == nodes


def test_primaries_spec_uses_the_leaders_or_one_node() -> None:
    nodes = ["n1", "n2", "n3"]
    assert pick("primaries", nodes, random.Random(1), ["n3", "n9"]) == ["n3"]
    assert len(pick("primaries", nodes, random.Random(1), [])) == 1
    with pytest.raises(TargetError, match="majority"):
        pick("most", nodes, random.Random(1))


def test_leaders_from_status() -> None:
    st_ = {"n1": {"core": {"role": "replica", "primary": "n2"}}, "n2": {"core": {"role": "primary"}},
           "n3": {"core": {"role": "leader"}}}
    assert leaders_in(st_) == ["n2", "n3"], "every node that thinks it leads (split brain included)"
    votes = {"n1": {"core": {"role": "follower", "leader": "n2"}}, "n2": {"core": {"role": "candidate"}},
             "n3": {"core": {"role": "follower", "leader": "n2"}}}
    assert leaders_in(votes) == ["n2"]
    assert leaders_in({"n1": {"core": {}}, "n2": {}}) == []


def test_find_primaries_skips_nodes_that_do_not_answer() -> None:
    class B:
        async def node_status(self, node: str) -> dict[str, Any]:
            if node == "n1":
                raise ConnectionError("down")
            return {"core": {"role": "primary" if node == "n3" else "replica"}}

    assert asyncio.run(find_primaries(B(), ["n1", "n2", "n3"])) == ["n3"]
