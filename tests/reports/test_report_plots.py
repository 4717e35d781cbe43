"""Plot figures, latency quantiles, per-checker sections and the plotly.js asset handling."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from checkers.history import Op, pairs
from checkers.result import Evidence, Result, compose
from reports import assets
from reports.checker_view import checker_sections
from reports.faults import fault_bands
from reports.plots import MAX_POINTS, figures, latency_figure, latency_table, quantile, throughput_figure


def _ops(n: int) -> list[Op]:
    ops, t = [], 0
    for i in range(n):
        lat = (i % 10 + 1) * 1_000_000  # 1..10 ms
        ty = "fail" if i % 10 == 9 else "ok"
        ops += [Op(2 * i, t, "invoke", i % 3, "read", ["k", None]),
                Op(2 * i + 1, t + lat, ty, i % 3, "read", ["k", 1])]
        t += lat + 1
    ops.insert(3, Op(10**6, ops[3].time, "info", "nemesis", "start-partition", {"n1": ["n2"]}))
    return ops


def test_quantiles_and_latency_table() -> None:
    assert (
        quantile([1, 2, 3, 4], 0.5) == 2
        and quantile([1, 2, 3, 4], 0.99) == 4
        and math.isnan(quantile([], 0.5))
    )
    rows = {(r["f"], r["type"]): r for r in latency_table(pairs(_ops(100)))}
    ok = rows[("read", "ok")]
    assert ok["count"] == 90 and ok["max"] == 9.0 and ok["p50"] == 5.0
    assert rows[("read", "fail")] == {"f": "read", "type": "fail", "count": 10, "max": 10.0,
                                       "p50": 10.0, "p90": 10.0, "p99": 10.0}


def test_figures_carry_fault_bands_and_count_every_completion() -> None:
    ops = _ops(200)
    ps, bands = pairs(ops), fault_bands(ops)
    figs = {f["id"]: f["figure"] for f in figures(ps, ops, bands, Result("stats", True))}
    assert set(figs) == {"plot-latency", "plot-throughput", "plot-quantiles"}
    for fig in figs.values():
        assert len(fig["layout"]["shapes"]) == 1 and fig["layout"]["shapes"][0]["x0"] == bands[0].start / 1e9
    thr = throughput_figure(ps, bands, ops[-1].time / 1e9)
    width = float(thr["layout"]["title"]["text"].split("(")[1].split(" s")[0])
    total = sum(round(y * width) for trace in thr["data"] for y in trace["y"])
    assert total == 200
    names = {t["name"] for t in figs["plot-latency"]["data"]}
    assert names == {"read ok", "read fail"}


def test_dense_series_are_thinned_deterministically() -> None:
    ops = _ops(MAX_POINTS * 2 + 10)
    ps = pairs(ops)
    a, b = latency_figure(ps, []), latency_figure(ps, [])
    ok = next(t for t in a["data"] if t["name"].startswith("read ok"))
    assert "thinned" in ok["name"] and len(ok["x"]) <= MAX_POINTS and a == b


def test_bank_totals_plot_only_when_the_checker_gave_a_series() -> None:
    ops = _ops(20)
    result = Result("bank", False, {"series": {"total": [[1_000_000_000, 100], [2_000_000_000, 90]],
                                               "errors": [[2_000_000_000, 90]]}})
    figs = {f["id"]: f["figure"] for f in figures(pairs(ops), ops, [], compose({"bank": result}))}
    assert "plot-bank" not in {f["id"] for f in figures(pairs(ops), ops, [], Result("set-full", True, dict(
        result.details)))}, "only the bank checker's series is a bank series"
    bank = figs["plot-bank"]
    assert bank["data"][0]["y"] == [100, 90] and bank["data"][1]["x"] == [2.0]


def test_checker_sections_expand_compose_and_list_evidence() -> None:
    result = compose({
        "set": Result("set-full", False, {}, "1 lost",
                      evidence=(Evidence("lost", "Lost elements", 2, (4, 7)),)),
        "elle": Result("elle", False, {}, "G1c", evidence=(
            Evidence("G1c", "G1c", 1, ({"explanation": "T1 < T2 < T1"},)),
            Evidence("not", "Consistency models ruled out", 1, ("read-committed",)))),
        "bank": Result("bank", True, {"errors": {}}, "all reads fine")})
    secs = {s["name"]: s for s in checker_sections(Result.from_dict(result.to_dict()))}
    assert set(secs) == {"set", "elle", "bank"}
    assert secs["set"]["evidence"] == [{"title": "Lost elements", "kind": "lost", "count": 2,
                                        "cases": ["4", "7"]}]
    assert secs["elle"]["evidence"][0]["cases"] == ["T1 < T2 < T1"] and secs["elle"]["verdict"] == "INVALID"
    assert secs["elle"]["evidence"][1] == {"title": "Consistency models ruled out", "kind": "not", "count": 1,
                                           "cases": ["read-committed"]}
    assert secs["bank"]["evidence"] == [] and secs["bank"]["verdict"] == "VALID"
    assert secs["set"]["reason"] == "1 lost" and secs["bank"]["reason"] == "all reads fine"


def test_plotly_is_written_once_per_store_and_referenced_relatively(tmp_path: Path) -> None:
    if assets.plotly_source() is None:
        pytest.skip("the plotly package is not installed")
    run_dir = tmp_path / "store" / "test" / "20260101T000000"
    run_dir.mkdir(parents=True)
    ref = assets.plotly_for(run_dir)
    asset = tmp_path / "store" / "_assets" / "plotly.min.js"
    assert ref.src == "../../_assets/plotly.min.js" and not ref.inline and asset.is_file()
    mtime = asset.stat().st_mtime_ns
    assert assets.plotly_for(run_dir).src == ref.src and asset.stat().st_mtime_ns == mtime, "written once"
    loose = assets.plotly_for(tmp_path / "somewhere")
    assert loose.inline and not loose.src and "</script" not in loose.inline.lower()
    assert not assets.plotly_for(run_dir, "none").available
    nested = tmp_path / "store" / "campaigns" / "c" / "20260101T000000" / "runs" / "t" / "20260101T000001"
    nested.mkdir(parents=True)
    assert assets.plotly_for(nested).src == "../../../../../../_assets/plotly.min.js", (
        "one copy for the store"
    )
