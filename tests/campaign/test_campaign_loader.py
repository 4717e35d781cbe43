"""Campaign files: matrix expansion, stable cell ids, symbolic schedules and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.apps.campaign.loader import build_campaign, expand_schedule, load_campaign
from harness.apps.campaign.model import Campaign, CampaignError, Expect
from systems_under_test.registry import UnknownName, systems

DOC = {
    "campaign": {"name": "t", "parallel": 3, "min_detection": 0.9},
    "defaults": {"time_limit": 5, "quiesce": 1},
    "schedules": {
        "kill-all": {
            "entries": [{"at": 2, "f": "kill", "value": "all"}, {"at": 3, "f": "start", "value": "all"}],
            "repeat": 2,
            "period": 4,
        }
    },
    "matrix": [
        {"systems": ["replication:*"], "faults": ["partition", "partition,kill"], "seeds": 2},
        {"systems": ["paxos:no-persist"], "faults": ["@kill-all"], "seeds": [7], "spec": {"nodes": 5}},
    ],
}


def test_matrix_expands_to_the_cartesian_product_with_expectations() -> None:
    camp = build_campaign(DOC)
    variants = [v.name for v in systems()["replication"].variants]
    assert len(camp.cells) == len(variants) * 2 * 2 + 1
    assert camp.budget.parallel == 3 and camp.budget.min_detection == 0.9
    for cell in camp.cells:
        planted = systems()[cell.variant.split(":")[0]].variant(cell.variant).planted_bug
        assert cell.expect is (Expect.INVALID if planted else Expect.VALID)
        assert cell.spec.time_limit == 5 and cell.spec.test_name == cell.id
    faults = {c.fault for c in camp.cells}
    assert faults == {"partition", "partition+kill", "kill-all"}
    both = next(c for c in camp.cells if c.fault == "partition+kill")
    assert both.spec.nemesis == ("partition", "kill") and both.spec.schedule is None


def test_cell_ids_are_stable_unique_and_change_with_the_spec() -> None:
    a, b = build_campaign(DOC), build_campaign(DOC)
    assert [c.id for c in a.cells] == [c.id for c in b.cells]
    assert len({c.id for c in a.cells}) == len(a.cells)
    changed = {**DOC, "defaults": {"time_limit": 6, "quiesce": 1}}
    assert not {c.id for c in build_campaign(changed).cells} & {c.id for c in a.cells}


def test_symbolic_schedule_resolves_for_the_cluster_size_and_repeats() -> None:
    camp = build_campaign(DOC)
    cell = next(c for c in camp.cells if c.fault == "kill-all")
    assert cell.spec.nodes == 5 and cell.spec.nemesis == ()
    sched = [dict(s) for s in cell.spec.schedule or ()]
    assert [s["at"] for s in sched] == [2.0, 3.0, 6.0, 7.0]
    assert sched[0]["value"] == ["n1", "n2", "n3", "n4", "n5"]
    iso = expand_schedule(
        {
            "entries": [
                {"at": 1, "f": "start-partition", "value": {"isolate": "n2"}},
                {"at": 2, "f": "kill", "value": "majority"},
                {"at": 3, "f": "pause", "value": "minority"},
            ]
        },
        3,
        "x",
    )
    assert iso[0]["value"] == {"n1": ["n2"], "n2": ["n1", "n3"], "n3": ["n2"]}
    assert iso[1]["value"] == ["n1", "n2"] and iso[2]["value"] == ["n3"]


def test_campaign_round_trips_through_json() -> None:
    camp = build_campaign(DOC)
    again = Campaign.from_dict(camp.to_dict())
    assert again == camp


@pytest.mark.parametrize(
    "doc, needle",
    [
        ({"matrix": [{"systems": ["nope"]}]}, "unknown system 'nope'"),
        ({"matrix": [{"systems": ["paxos:nope"]}]}, "unknown variant"),
        ({"matrix": [{"systems": ["paxos"], "colour": 1}]}, "unknown key(s) colour"),
        ({"matrix": [{"systems": ["paxos"], "seeds": 0}]}, "seeds must be"),
        ({"matrix": [{"systems": ["paxos"], "faults": ["@missing"]}]}, "unknown schedule '@missing'"),
        ({"defaults": {"bogus": 1}, "matrix": [{"systems": ["paxos"]}]}, "unknown key(s) bogus"),
        ({"campaign": {"name": "x"}}, "no [[matrix]] block"),
        (
            {
                "schedules": {"s": {"entries": [{"at": 1, "f": "explode"}]}},
                "matrix": [{"systems": ["paxos"], "faults": ["@s"]}],
            },
            "unknown fault 'explode'",
        ),
    ],
)
def test_bad_campaigns_name_the_problem(doc: dict, needle: str) -> None:
    with pytest.raises((CampaignError, UnknownName)) as err:
        build_campaign(doc)
    assert needle in str(err.value)


def test_load_campaign_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[campaign\nname = 1\n")
    with pytest.raises(CampaignError, match="bad.toml: not valid TOML"):
        load_campaign(bad)
    with pytest.raises(CampaignError, match="no such campaign file"):
        load_campaign(tmp_path / "missing.toml")
    unknown = tmp_path / "u.toml"
    unknown.write_text('[[matrix]]\nsystems = ["nosuch"]\n')
    with pytest.raises(CampaignError, match="u.toml: unknown system"):
        load_campaign(unknown)
