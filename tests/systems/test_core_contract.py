"""The core contract: effects are frozen values, names resolve, unknown names list the choices."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from systems_under_test.core import CancelTimer, Core, Log, Persist, Reply, Send, SetTimer, error_body
from systems_under_test.registry import UnknownName, resolve, systems

EFFECTS = [
    Send("n2", {"type": "x"}),
    Reply("1", {"type": "read_ok"}),
    SetTimer("t", 1.0),
    CancelTimer("t"),
    Persist({"t": "boot"}),
    Log("hello"),
]


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda e: type(e).__name__)
def test_effects_are_frozen_and_slotted(effect: object) -> None:
    field = dataclasses.fields(effect)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(effect, field, None)
    assert not hasattr(effect, "__dict__")


def test_error_body_shape() -> None:
    assert error_body(22, "no", definite=True) == {"type": "error", "code": 22, "text": "no",
                                                   "definite": True}


def test_resolve_finds_both_replication_variants() -> None:
    desc, correct = resolve("replication")
    assert desc.name == "replication" and not correct.planted_bug
    _, buggy = resolve("replication:async")
    assert buggy.planted_bug and buggy.description
    assert desc.variants[0] is correct, "the correct variant is listed first"
    assert desc.workloads[0] == "register" and "set" in desc.workloads
    assert desc.default_nodes == 3
    assert "replication" in systems()


def test_unknown_names_carry_the_valid_choices() -> None:
    with pytest.raises(UnknownName) as sys_err:
        resolve("nosuchsystem")
    assert "replication" in sys_err.value.choices
    with pytest.raises(UnknownName) as var_err:
        resolve("replication:nosuchbug")
    assert set(var_err.value.choices) >= {"replication", "replication:async"}
    assert "valid choices" in str(var_err.value)


@pytest.mark.parametrize("name", ["replication", "replication:async"])
def test_cores_obey_the_contract(name: str) -> None:
    """Every effect a core returns is an Effect whose messages/replies survive a JSON round-trip."""
    _, variant = resolve(name)
    core = variant.make_core("n1", ["n1", "n2", "n3"], random.Random(1), {"heartbeat": 0.2})
    assert isinstance(core, Core)
    assert core.peer_ids == ("n2", "n3") and core.majority == 2
    effects = core.on_start(0.0, [])
    effects += core.on_request(0.0, "c1", {"type": "write", "key": "k", "value": 1, "req_id": "7"})
    effects += core.on_timer(0.3, "tick")
    assert effects
    for eff in effects:
        assert isinstance(eff, (Send, Reply, SetTimer, CancelTimer, Persist, Log))
        payload = getattr(eff, "msg", None) or getattr(eff, "body", None) or getattr(eff, "record", None)
        if payload is not None:
            assert json.loads(json.dumps(payload)) == payload
    assert [t.at for t in effects if isinstance(t, SetTimer)] == [0.2, 0.5], "config heartbeat not used"
    json.dumps(core.status())
