"""The run report: one self-contained ``report.html`` per run (no external assets, everything escaped).

It answers, in order, what a reader wants: the verdict and its one-line reason; what was run (the
spec, and the replay command); what happened (op counts by ``f`` and outcome, the faults the nemesis
injected and when); and for an invalid run, where it went wrong — the counterexample, the offending
key and its ops, or the ops the checker blames. Everything comes from the checker's typed
:class:`checkers.result.Result` (rebuilt from results.json for a stored run); nothing is guessed from
free-form details. Every value that came from a history, a spec or a node goes through
Jinja's autoescaping.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from checkers.history import NEMESIS, Op
from checkers.result import Result

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_KEY_OPS = 400


MAX_PRETTY = 200_000


def _pretty(v: Any) -> str:
    """Indented JSON, cut at ``MAX_PRETTY`` characters (an undecided search can leave megabytes of
    details)."""
    text = json.dumps(v, indent=2, sort_keys=True, default=str)
    return text if len(text) <= MAX_PRETTY else text[:MAX_PRETTY] + "\n… (cut here; results.json has it all)"


@functools.lru_cache(maxsize=1)  # compiled templates are reused by every report of the process
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    env.filters["tojson_pretty"] = _pretty
    env.filters["compact"] = lambda v: json.dumps(v, separators=(",", ":"), default=str)
    return env


def op_counts(ops: Sequence[Op]) -> list[dict[str, Any]]:
    """Client op completions counted by ``f`` and type (rows sorted by f)."""
    counts: Counter[tuple[str, str]] = Counter((op.f, op.type) for op in ops if op.is_client)
    fs = sorted({f for f, _ in counts})
    return [{"f": f, **{t: counts[(f, t)] for t in ("invoke", "ok", "fail", "info")}} for f in fs]


def key_ops(ops: Sequence[Op], key: Any) -> list[Op]:
    """The client ops whose value is ``[key, ...]``."""
    out = [op for op in ops if op.is_client and isinstance(op.value, list) and op.value
           and op.value[0] == key]
    return out[:MAX_KEY_OPS]


def blamed_ops(ops: Sequence[Op], blamed: Iterable[int]) -> list[Op]:
    """The history ops at the ``blamed`` indices (invocation and completion of each), in history order."""
    wanted = set(blamed)
    if not wanted:
        return []
    by_index = {op.index: op for op in ops}
    invoke_of: dict[int, int] = {}
    open_: dict[Any, int] = {}
    for op in ops:  # a blamed completion brings its invocation along, so the row shows when it started
        if op.type == "invoke":
            open_[op.process] = op.index
        elif op.process in open_:
            invoke_of[op.index] = open_.pop(op.process)
    rows = wanted | {invoke_of[i] for i in wanted if i in invoke_of}
    return [by_index[i] for i in sorted(rows) if i in by_index][:MAX_KEY_OPS]


def stored_result(results: Mapping[str, Any]) -> Result:
    """The :class:`Result` a ``results.json`` document holds (its ``valid`` fills in for a bare one)."""
    raw = results.get("result")
    return Result.from_dict({"valid": results.get("valid"), **(raw if isinstance(raw, Mapping) else {})})


def render_run_report(
    spec: Mapping[str, Any],
    results: Mapping[str, Any],
    ops: Sequence[Op],
    *,
    result: Result | None = None,
    replay_command: str = "",
    meta: Mapping[str, Any] | None = None,
    run_dir: Path | None = None,
    assets: str = "auto",
) -> str:
    """The report HTML for one run.

    ``result``: the checker's verdict (default: the one stored in ``results``, i.e. results.json);
    ``results``: the rest of results.json (phase, error, counts); ``run_dir``/``assets``: where
    plotly.js comes from, see reports.assets.
    """
    from reports.sections import concurrency_of, report_sections

    res = result if result is not None else stored_result(results)
    invalid = res.valid is False
    key = res.key if invalid else None
    highlight = set(res.blamed) if invalid else set()
    nemesis = [op for op in ops if op.process == NEMESIS]
    conc = concurrency_of(spec)
    return _env().get_template("run.html").render(
        spec=spec,
        meta=meta or {},
        results=results,
        result=res,
        verdict=res.verdict,
        verdict_class=res.verdict.lower(),
        valid=res.valid,
        counts=op_counts(ops),
        total_ops=sum(1 for op in ops if op.is_client and op.type == "invoke"),
        nemesis=nemesis,
        key=key,
        key_ops=key_ops(ops, key) if key is not None else [],
        blamed_ops=blamed_ops(ops, highlight) if key is None else [],
        highlight=highlight,
        concurrency=conc,
        replay_command=replay_command,
        **report_sections(spec, res, ops, highlight=highlight, run_dir=run_dir, assets=assets),
    )


def write_run_report(run_dir: Path, spec: Mapping[str, Any], results: Mapping[str, Any], ops: Sequence[Op],
                     *, result: Result | None = None, replay_command: str = "",
                     meta: Mapping[str, Any] | None = None, assets: str = "auto") -> Path:
    """Render and write ``run_dir/report.html`` (plotly.js shared in the store when the run dir is in one)."""
    path = run_dir / "report.html"
    path.write_text(render_run_report(spec, results, ops, result=result, replay_command=replay_command,
                                      meta=meta,
                                      run_dir=run_dir, assets=assets), encoding="utf-8")
    return path
