"""The run report: one self-contained ``report.html`` per run (no external assets, everything escaped).

It answers, in order, what a reader wants: the verdict; what was run (the spec, and the replay
command); what happened (op counts by ``f`` and outcome, the faults the nemesis injected and when);
and for an invalid run, where it went wrong — the offending key and its ops, with the ops the
checker names highlighted. Every value that came from a history, a spec or a node goes through
Jinja's autoescaping.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from checkers.history import NEMESIS, Op

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_KEY_OPS = 400


MAX_PRETTY = 200_000


def _pretty(v: Any) -> str:
    """Indented JSON, cut at ``MAX_PRETTY`` characters (an undecided search can leave megabytes of details)."""
    text = json.dumps(v, indent=2, sort_keys=True, default=str)
    return text if len(text) <= MAX_PRETTY else text[:MAX_PRETTY] + "\n… (cut here; results.json has it all)"


@functools.lru_cache(maxsize=1)  # compiled templates are reused by every report of the process
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    env.filters["tojson_pretty"] = _pretty
    env.filters["compact"] = lambda v: json.dumps(v, separators=(",", ":"), default=str)
    return env


def verdict_word(valid: Any) -> str:
    """``valid`` / ``INVALID`` / ``unknown`` for a validity value."""
    if valid is True:
        return "valid"
    if valid is False:
        return "INVALID"
    return "unknown"


def op_counts(ops: Sequence[Op]) -> list[dict[str, Any]]:
    """Client op completions counted by ``f`` and type (rows sorted by f)."""
    counts: Counter[tuple[str, str]] = Counter((op.f, op.type) for op in ops if op.is_client)
    fs = sorted({f for f, _ in counts})
    return [{"f": f, **{t: counts[(f, t)] for t in ("invoke", "ok", "fail", "info")}} for f in fs]


def _walk(obj: Any) -> Any:
    """Yield every (key, value) pair in a nested JSON structure."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v)


def offending_key(details: Any) -> Any:
    """The first ``key`` a checker's details name as invalid (None if none is named)."""
    for k, v in _walk(details):
        if k in ("key", "offending_key", "invalid_key") and isinstance(v, (str, int)):
            return v
    for k, v in _walk(details):
        if k in ("keys", "invalid_keys", "failures") and isinstance(v, list) and v and isinstance(v[0], (str, int)):
            return v[0]
    return None


def named_indices(details: Any) -> set[int]:
    """History indices of the op(s) the checker blames: its ``op`` entries, else every ``index`` it names."""
    blamed: set[int] = set()
    for k, v in _walk(details):
        if k == "op" and isinstance(v, Mapping):
            blamed |= {v[f] for f in ("index", "complete_index") if isinstance(v.get(f), int)}
    return blamed or {v for k, v in _walk(details) if k == "index" and isinstance(v, int)}


def key_ops(ops: Sequence[Op], key: Any) -> list[Op]:
    """The client ops whose value is ``[key, ...]``."""
    out = [op for op in ops if op.is_client and isinstance(op.value, list) and op.value and op.value[0] == key]
    return out[:MAX_KEY_OPS]


def render_run_report(
    spec: Mapping[str, Any],
    results: Mapping[str, Any],
    ops: Sequence[Op],
    *,
    replay_command: str = "",
    meta: Mapping[str, Any] | None = None,
    run_dir: Path | None = None,
    assets: str = "auto",
) -> str:
    """The report HTML for one run (``run_dir``/``assets``: where plotly.js comes from, see reports.assets)."""
    from reports.sections import report_sections

    result = results.get("result", {}) or {}
    details = result.get("details", {})
    valid = results.get("valid")
    key = offending_key(details) if valid is False else None
    nemesis = [op for op in ops if op.process == NEMESIS]
    return _env().get_template("run.html").render(
        spec=spec,
        meta=meta or {},
        results=results,
        result=result,
        verdict=verdict_word(valid),
        valid=valid,
        counts=op_counts(ops),
        total_ops=sum(1 for op in ops if op.is_client and op.type == "invoke"),
        nemesis=nemesis,
        key=key,
        key_ops=key_ops(ops, key) if key is not None else [],
        highlight=named_indices(details),
        replay_command=replay_command,
        **report_sections(spec, results, ops, highlight=named_indices(details), run_dir=run_dir, assets=assets),
    )


def write_run_report(run_dir: Path, spec: Mapping[str, Any], results: Mapping[str, Any], ops: Sequence[Op],
                     *, replay_command: str = "", meta: Mapping[str, Any] | None = None,
                     assets: str = "auto") -> Path:
    """Render and write ``run_dir/report.html`` (plotly.js shared in the store when the run dir is in one)."""
    path = run_dir / "report.html"
    path.write_text(render_run_report(spec, results, ops, replay_command=replay_command, meta=meta,
                                      run_dir=run_dir, assets=assets), encoding="utf-8")
    return path
