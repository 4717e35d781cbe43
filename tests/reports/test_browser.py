"""The reports in a real headless browser: no console errors, the verdict, the counterexample, hovering an
op, nothing from a history ever runs as script, the index filter, and a 100k-op report's load time.

Needs Debian's ``chromium`` and Playwright for Python (no browser download: Playwright drives the system
binary). Screenshots go to the test's tmp dir and, when ``$SPLITBRAIN_ARTIFACTS`` is set, are copied there.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from report_runs import EVIL, register_history, write_run

from harness.apps.serve import serve_in_thread
from reports.assets import plotly_source
from reports.index_page import write_store_index

CHROMIUM = os.environ.get("SPLITBRAIN_CHROMIUM", "/usr/bin/chromium")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None,
                       reason="playwright is not installed (pip install playwright)"),
    pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                       reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
]


class Page:
    """A page plus everything it reported: console errors, uncaught exceptions, dialogs."""

    def __init__(self, browser: Any, shots: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.shots = shots
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str) -> float:
        """Load ``url``; seconds until the timeline (if any) is drawn and responds (plots come after)."""
        started = time.perf_counter()
        self.page.goto(url, wait_until="domcontentloaded", timeout=120_000)
        self.page.wait_for_function("!document.querySelector('.timeline') || "
                                    "(window.SplitbrainTimeline && "
                                    "window.SplitbrainTimeline.instances.length > 0)",
                                    timeout=60_000)
        interactive = time.perf_counter() - started
        self.wait_for_plots()
        return interactive

    def wait_for_plots(self) -> None:
        """Plots are drawn one per task after the page is up; wait until all are."""
        self.page.wait_for_function("window.SplitbrainPlots && window.SplitbrainPlots.drawn >= "
                                    "window.SplitbrainPlots.total", timeout=60_000)

    def shot(self, name: str, *, full: bool = False) -> Path:
        """Screenshot into the test dir (and ``$SPLITBRAIN_ARTIFACTS``)."""
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full)
        if os.environ.get("SPLITBRAIN_ARTIFACTS"):
            dest = Path(os.environ["SPLITBRAIN_ARTIFACTS"])
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest / path.name)
        return path

    def hover_op(self, index: int) -> str:
        """Move the pointer onto the timeline bar of history op ``index``; the tooltip's text."""
        self.page.evaluate("document.getElementById('tl').scrollIntoView()")
        assert self.page.evaluate(f"window.SplitbrainTimeline.instances[0].show({index})"), f"no op {index}"
        point = self.page.evaluate(f"window.SplitbrainTimeline.instances[0].opPoint({index})")
        assert point is not None, f"op {index} is not drawn"
        self.page.mouse.move(point["x"], point["y"])
        tip = self.page.locator(".tl-tip")
        tip.wait_for(state="visible", timeout=5_000)
        return tip.inner_text()

    def clean(self) -> None:
        """No console errors, no exceptions, no failed loads, and no dialog ever opened."""
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.errors == [], self.errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def _assert_plots_drawn(pg: Page) -> None:
    if plotly_source() is None:  # without the plotly package each plot says why it is missing
        assert pg.page.locator(".plot.missing").count() >= 3
    else:
        assert pg.page.locator(".plot .main-svg").count() >= 3, "plotly drew the plots"


def _first_client_index(report_dir: Path, f: str) -> int:
    from checkers.history import read_jsonl

    return next(op.index for op in read_jsonl(report_dir / "history.jsonl") if op.is_client and op.f == f)


def test_valid_and_invalid_reports_and_the_index(browser: Any, tmp_path: Path) -> None:
    store = tmp_path / "store"
    valid_dir, invalid_dir = store / "valid" / "20260101T000001", store / "invalid" / "20260101T000002"
    write_run(valid_dir, register_history(800, seed=5))
    write_run(invalid_dir, register_history(800, seed=3, stale_at=300))
    write_store_index(store)

    pg = Page(browser, tmp_path)
    pg.open((valid_dir / "report.html").as_uri())
    assert pg.page.get_attribute("#verdict", "data-verdict") == "VALID"
    assert pg.page.locator("#counterexample").count() == 0
    pg.shot("report-valid-full", full=True)
    index = _first_client_index(valid_dir, "write")
    text = pg.hover_op(index)
    assert "write" in text and f"history index {index}" in text and "process" in text
    _assert_plots_drawn(pg)
    pg.shot("report-valid")
    pg.clean()

    pg = Page(browser, tmp_path)
    pg.open((invalid_dir / "report.html").as_uri())
    assert pg.page.get_attribute("#verdict", "data-verdict") == "INVALID"
    assert pg.page.locator("#counterexample svg rect.bar-stuck").count() == 1
    stuck = pg.page.locator("#stuck-op")
    assert stuck.is_visible() and "Cannot be placed" in stuck.inner_text()
    pg.shot("report-invalid-top")
    span = "(function(t){return t.view[1]-t.view[0];})(window.SplitbrainTimeline.instances[0])"
    before = pg.page.evaluate(span)
    pg.page.click("#counterexample [data-jump-error]")
    assert pg.page.evaluate(span) < before / 10, "jump to first error zooms in on the stuck op"
    stuck_index = int(pg.page.locator("#counterexample rect.bar-stuck").get_attribute("data-index") or -1)
    text = pg.hover_op(stuck_index)
    assert f"history index {stuck_index}" in text and "named by the checker" in text
    pg.shot("report-invalid-timeline")
    pg.clean()

    with_server = serve_in_thread(store)
    try:
        pg = Page(browser, tmp_path)
        pg.open(with_server.url)
        rows = pg.page.locator("#runs tbody tr")
        assert rows.count() == 2
        pg.page.select_option("#verdict-filter", "INVALID")
        assert pg.page.locator("#runs tbody tr:not([hidden])").count() == 1
        pg.shot("index")
        pg.page.click("#runs tbody tr:not([hidden]) a")
        pg.page.wait_for_function(
            "window.SplitbrainTimeline && window.SplitbrainTimeline.instances.length > 0"
        )
        pg.wait_for_plots()
        _assert_plots_drawn(pg)  # plotly.js also loads from the store over HTTP
        pg.clean()
    finally:
        with_server.stop()


def test_history_values_are_text_and_never_run(browser: Any, tmp_path: Path) -> None:
    run_dir = tmp_path / "store" / EVIL.replace("/", "") / "20260101T000003"
    write_run(run_dir, register_history(400, seed=3, stale_at=100, evil=True), test_name=EVIL, system=EVIL)
    pg = Page(browser, tmp_path)
    pg.page.add_init_script("window.__ran = 0; window.alert = function () { window.__ran += 1; };")
    pg.open(run_dir.as_uri() + "/report.html")
    body = pg.page.locator("body").inner_text()
    assert EVIL in body, "the value is shown, as text"
    evil_op = next(op.index for op in __import__("checkers.history", fromlist=["read_jsonl"]).read_jsonl(
        run_dir / "history.jsonl") if op.is_client and op.value and op.value[0] == EVIL)
    assert EVIL in pg.hover_op(evil_op)
    assert pg.page.evaluate("window.__ran") == 0
    assert pg.page.evaluate("document.querySelectorAll("
                            "'script:not([type]), script[type=\"text/javascript\"]').length") <= 4, (
        "no script element came from the history")
    pg.shot("report-escaping")
    pg.clean()


@pytest.mark.slow
def test_a_100k_op_report_opens_and_responds(browser: Any, tmp_path: Path) -> None:
    run_dir = tmp_path / "store" / "big" / "20260101T000004"
    ops = register_history(100_000, seed=9)
    started = time.perf_counter()
    report = write_run(run_dir, ops, check_time_limit=5.0)
    written = time.perf_counter() - started
    pg = Page(browser, tmp_path)
    load = pg.open(report.as_uri())
    init_ms = pg.page.evaluate("window.SplitbrainTimeline.instances[0].initMs")
    draw_ms = pg.page.evaluate("(function(t){t.act('in'); t.act('out'); return t.lastDrawMs;})"
                               "(window.SplitbrainTimeline.instances[0])")
    text = pg.hover_op(_first_client_index(run_dir, "read"))
    print(f"\n100k ops: report (incl. check) written in {written:.1f} s, "
          f"{report.stat().st_size / 1e6:.1f} MB; "
          f"browser load {load:.2f} s, timeline init {init_ms:.0f} ms, redraw {draw_ms:.0f} ms")
    assert "read" in text
    assert load < 60 and draw_ms < 1000
    pg.shot("report-100k")
    pg.clean()


def test_a_campaign_comparison_report_opens_and_links_its_runs(browser: Any, tmp_path: Path) -> None:
    from harness.apps.campaign import run as run_campaign
    from harness.apps.campaign.loader import build_campaign

    store = tmp_path / "store"
    camp = build_campaign({
        "campaign": {"name": "browser", "description": "<script>alert(1)</script>", "parallel": 2},
        "defaults": {"backend": "sim", "time_limit": 12, "quiesce": 1, "nemesis_interval": 2},
        "matrix": [{"systems": ["replication", "replication:async"], "faults": ["partition"], "seeds": 1}],
    })
    result = run_campaign(camp, store=store)
    assert result.report is not None and result.report.is_file()
    write_store_index(store)

    pg = Page(browser, tmp_path)
    pg.page.goto(result.report.as_uri(), wait_until="load")
    for section in ("#matrix", "#implementations", "#zoo"):
        assert pg.page.locator(section).count() == 1, f"{section} is on the page"
    assert pg.page.locator("#matrix .cell").count() == 2
    assert "<script>" in pg.page.inner_text("body"), "the campaign description is shown as text"
    pg.shot("campaign-report", full=True)
    pg.page.locator("#matrix a").first.click()
    pg.page.wait_for_selector("#verdict")
    pg.clean()

    pg = Page(browser, tmp_path)
    pg.page.goto((store / "index.html").as_uri(), wait_until="load")
    assert pg.page.locator("a[href*='campaigns/']").count() >= 1, "the index links the campaign"
    pg.clean()


def test_invalid_bank_report_says_why_at_the_top(browser: Any, tmp_path: Path) -> None:
    """A non-register run: the banner carries the reason, and "where it went wrong" lists the evidence and
    the blamed ops, each process shown with its timeline thread."""
    from harness.run.session import run_test
    from harness.run.spec import RunSpec

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        for seed in range(1, 7):  # the planted bug shows within a few seeds (not in every one)
            spec = RunSpec(system="twopc:unilateral-commit", workload="bank", backend="sim", seed=seed,
                           time_limit=20.0, nemesis=("partition", "kill"))
            res = pool.submit(run_test, spec, store=tmp_path / "store").result()
            if res.result.valid is False:
                break
    assert res.result.valid is False and res.result.blamed, res.result.reason
    pg = Page(browser, tmp_path)
    pg.open(res.report_path.as_uri())
    assert pg.page.get_attribute("#verdict", "data-verdict") == "INVALID"
    reason = pg.page.inner_text("#reason")
    assert reason == res.result.reason and "wrong-total" in reason
    assert pg.page.locator("#verdict").bounding_box()["y"] < 200, "the reason is at the top of the page"
    wrong = pg.page.inner_text("#wrong ~ p.evidence-line")
    assert "Reads with the wrong total" in wrong
    assert pg.page.locator("details.key-ops tr.hl").count() > 0, "the blamed reads are highlighted"
    pg.shot("report-invalid-bank-top")
    blamed = res.result.blamed[0]
    text = pg.hover_op(blamed)
    conc = spec.concurrency
    proc = next(op.process for op in res.outcome.ops if op.index == blamed)
    assert f"process {proc} (thread {proc % conc})" in text
    pg.shot("report-invalid-bank-timeline")
    pg.clean()


# A report copied out of its store, alone: the shared plotly.js is gone, and the plots are still drawn by
# the inlined static renderer, with a note saying why they look simpler.
def test_a_report_copied_alone_still_shows_its_plots(browser: Any, tmp_path: Path) -> None:
    run_dir = tmp_path / "store" / "copied" / "20260101T000005"
    report = write_run(run_dir, register_history(600, seed=3, stale_at=250))
    html = report.read_text(encoding="utf-8")
    if plotly_source() is not None:
        assert "_assets/plotly.min.js" in html, "inside a store, the report shares plotly.js"
    assert len(html) < 2_000_000, "the report does not carry plotly.js itself"
    alone = tmp_path / "mailed" / "report.html"
    alone.parent.mkdir()
    shutil.copy(report, alone)

    pg = Page(browser, tmp_path)
    pg.open(alone.as_uri())
    assert pg.page.get_attribute("#verdict", "data-verdict") == "INVALID"
    plots = pg.page.locator(".plot.fallback")
    assert plots.count() >= 3, "every plot was drawn by the fallback"
    assert pg.page.locator(".plot.missing").count() == 0
    assert "simplified static plot" in pg.page.locator(".plot.fallback .plot-note").first.inner_text()
    latency = pg.page.locator("#plot-latency svg.miniplot")
    assert latency.locator("circle").count() > 100, "the latency points are drawn"
    assert latency.locator("rect.band").count() >= 1, "the fault bands are drawn"
    assert "Latency" in (latency.text_content() or "")
    assert pg.page.locator("#plot-throughput svg.miniplot path").count() >= 1, (
        "the throughput lines are drawn"
    )
    box = latency.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 250
    pg.page.locator("#plots").scroll_into_view_if_needed()
    pg.shot("report-copied-alone-plots")
    # the one thing allowed to fail: fetching the shared plotly.js that is not there
    pg.errors = [e for e in pg.errors if "plotly.min.js" not in e and "ERR_FILE_NOT_FOUND" not in e]
    pg.clean()
