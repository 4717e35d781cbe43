"""Removing what runs leave in Docker: one run's objects, orphans of dead runs, or everything of ours.

Objects are found only by label (``splitbrain.run``), never by name pattern, so nothing that merely
looks like ours is touched. Order matters: containers first (they hold the network endpoints and the
volumes), then networks, then volumes.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from harness.backends.docker import labels as L


@dataclass(frozen=True, slots=True)
class Removed:
    """What a cleanup removed (names)."""

    containers: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    runs: tuple[str, ...] = field(default=())
    failed: tuple[str, ...] = ()  # "name: reason" of objects the engine refused to remove

    def total(self) -> int:
        """How many objects were removed."""
        return len(self.containers) + len(self.networks) + len(self.volumes)


def leftovers(client: Any, run_id: str | None = None, owner_pid: int | None = None) -> dict[str, list[str]]:
    """Names of labelled containers, networks and volumes: of ``run_id``, of runs ``owner_pid`` made, or
    all."""
    labels = [f"{L.RUN}={run_id}" if run_id else L.RUN]
    if owner_pid is not None:
        labels.append(f"{L.OWNER_PID}={owner_pid}")
    flt = {"label": labels}
    return {
        "containers": sorted(c.name for c in client.containers.list(all=True, filters=flt)),
        "networks": sorted(n.name for n in client.networks.list(filters=flt)),
        "volumes": sorted(v.name for v in client.volumes.list(filters=flt)),
    }


def _objects(client: Any, flt: dict[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Labelled containers, networks and volumes matching ``flt``."""
    return (
        client.containers.list(all=True, filters=flt),
        client.networks.list(filters=flt),
        client.volumes.list(filters=flt),
    )


def _remove(containers: Iterable[Any], networks: Iterable[Any], volumes: Iterable[Any]) -> Removed:
    """Remove the given objects, ignoring ones that vanished meanwhile (another cleanup raced us).

    Objects of one kind are removed in parallel (a forced container removal waits for the kill), the
    kinds one after the other: a network or volume cannot go while a container still uses it.
    """
    runs: set[str] = set()
    gone: list[list[str]] = []
    failed: list[str] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for kind, objs in enumerate((list(containers), list(networks), list(volumes))):
            runs.update(r for r in (_labels(o).get(L.RUN) for o in objs) if r)
            names = []
            outcomes = pool.map(lambda obj, k=kind: _remove_one(obj, force=k != 1), objs)
            for obj, outcome in zip(objs, outcomes, strict=True):
                if outcome is True:
                    names.append(obj.name)
                elif isinstance(outcome, str):
                    failed.append(f"{obj.name}: {outcome}")
            gone.append(names)
    return Removed(tuple(gone[0]), tuple(gone[1]), tuple(gone[2]), tuple(sorted(runs)), tuple(failed))


def _remove_one(obj: Any, *, force: bool) -> bool | str:
    """Remove one object: True if removed, False if it was already gone, else the engine's refusal.

    One refusal (e.g. a volume still held by a container that another cleanup is removing right now)
    must not stop the rest; it is reported, and the next sweep gets the object.
    """
    import docker.errors  # type: ignore[import-untyped]

    try:
        obj.remove(force=True) if force else obj.remove()  # networks take no force flag
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as e:
        if e.status_code == 409 and "in progress" in str(e):
            return False
        return str(e.explanation or e)
    return True


def remove_run(client: Any, run_id: str) -> Removed:
    """Remove every container, network and volume of run ``run_id``."""
    return _remove(*_objects(client, {"label": f"{L.RUN}={run_id}"}))


def remove_all(client: Any) -> Removed:
    """Remove everything labelled by splitbrain, whoever owns it (``splitbrain cleanup``)."""
    return _remove(*_objects(client, {"label": L.RUN}))


def sweep_orphans(client: Any) -> Removed:
    """Remove the objects of runs whose owning harness process has exited (on this host).

    A run's objects are judged together: if any of them names a live owner, the run is left alone.
    """
    containers, networks, volumes = _objects(client, {"label": L.RUN})
    alive: dict[str, bool] = {}
    for obj in [*containers, *networks, *volumes]:
        lab = _labels(obj)
        run = lab.get(L.RUN, "")
        alive[run] = alive.get(run, False) or L.owner_alive(lab)
    dead = {run for run, ok in alive.items() if not ok}
    if not dead:
        return Removed()

    def pick(objs: list[Any]) -> list[Any]:
        return [o for o in objs if _labels(o).get(L.RUN) in dead]

    return _remove(pick(containers), pick(networks), pick(volumes))


def _labels(obj: Any) -> dict[str, str]:
    """Labels of a container, network or volume (they live in different places of ``attrs``)."""
    attrs = obj.attrs
    lab = (attrs.get("Config") or {}).get("Labels") or attrs.get("Labels") or {}
    return dict(lab)
