"""The comparison report renders every section, colours verdicts, links runs and escapes every value."""

from __future__ import annotations

from pathlib import Path

from harness.apps.campaign import summary
from harness.apps.campaign.loader import build_campaign
from harness.apps.campaign.model import CellRecord, Status
from reports.campaign_report import campaign_links, render_campaign_report, write_campaign_report


def _doc() -> dict:
    camp = build_campaign(
        {
            "campaign": {"name": "r<1>", "description": "<script>alert(1)</script>"},
            "matrix": [
                {"systems": ["replication", "replication:async"], "faults": ["partition"], "seeds": 2}
            ],
        }
    )
    recs = {}
    for i, cell in enumerate(camp.cells):
        status = Status.INVALID if cell.planted_bug else Status.VALID
        if i == 0:
            status = Status.CRASHED
        recs[cell.id] = CellRecord(
            cell.id,
            status,
            0,
            f"runs/{cell.id}/x",
            1.5,
            {
                "throughput": 12.0,
                "latency_p50_ms": 3.0,
                "latency_p99_ms": 9.0,
                "availability_faults": 0.5,
                "first_violation_s": 1.25,
            },
            error="boom <b>bold</b>" if i == 0 else None,
        )
    return summary.report_doc(camp, recs)


def test_report_has_matrix_implementations_and_zoo_and_escapes() -> None:
    doc = _doc()
    html = render_campaign_report(doc)
    for section in ('id="matrix"', 'id="implementations"', 'id="zoo"', 'id="controls"'):
        assert section in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html and "r&lt;1&gt;" in html
    matrix = html.split('id="matrix"')[1].split('id="implementations"')[0]
    assert matrix.count('class="cell s-invalid"') == 2 and matrix.count('class="cell s-crashed"') == 1
    assert "runs/" in html and "/report.html" in html
    assert "2 of 2" in html  # replication:async caught in both seeds
    assert "crashed cells" in html  # exit code 255 in words


def test_links_for_the_store_index(tmp_path: Path) -> None:
    assert campaign_links(tmp_path) == []
    directory = tmp_path / "campaigns" / "r" / "20260101T000000"
    directory.mkdir(parents=True)
    write_campaign_report(directory, _doc())
    (links,) = campaign_links(tmp_path)
    assert links["path"] == "campaigns/r/20260101T000000/report.html"
    assert links["exit_code"] == 255 and links["outcome"] == "crashed cells" and links["totals"]["cells"] == 4


def test_terminal_display_and_summary_tables() -> None:
    import io

    from rich.console import Console

    from harness.apps.campaign.display import LiveDisplay, print_summary

    camp = build_campaign(
        {"matrix": [{"systems": ["replication", "replication:async"], "faults": ["partition"]}]}
    )
    good, bug = camp.cells
    buf = io.StringIO()
    live = LiveDisplay(camp, {}, Console(file=buf, force_terminal=True, width=120))
    for cell, status in ((good, Status.INVALID), (bug, Status.INVALID)):
        live("start", cell, None)
        live("done", cell, CellRecord(cell.id, status, 1, None, 1.0, {}))
    live.close()
    assert live.surprises == 1 and live.crashed == 0 and live.running == 0
    assert "unexpected 1" in buf.getvalue()
    out = io.StringIO()
    print_summary(camp, live.records, Console(file=out, width=160))
    text = out.getvalue()
    assert "replication:async *" in text and "broken" in text and "caught" in text


def test_summary_tables_are_not_cut_to_80_columns_outside_a_terminal() -> None:
    import io

    from rich.console import Console

    from harness.apps.campaign.display import print_summary

    long_names = ["replication:split-brain", "hashring:lost-handoff", "paxos:minority-accept"]
    camp = build_campaign({"matrix": [{"systems": long_names,
                                       "faults": ["partition:primaries", "kill:majority"],
                                       "backends": ["sim", "local"]}]})
    records = {c.id: CellRecord(c.id, Status.INVALID, 1, 2.5, 3.0, {}) for c in camp.cells}
    out = io.StringIO()
    print_summary(camp, records, Console(file=out, width=80))  # what a CI log or a pipe gets
    lines = out.getvalue().splitlines()
    assert max(len(ln) for ln in lines) > 80, "the table kept its natural width"
    for name in long_names:
        assert any(name + " *" in ln for ln in lines), f"{name} is on one line, not wrapped"
    assert not any("…" in ln for ln in lines), "no cell was truncated"
