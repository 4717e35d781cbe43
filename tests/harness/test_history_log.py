"""The live history: numbering, loop-clock times, streaming to disk, round trip, torn tails."""

from __future__ import annotations

import asyncio
from pathlib import Path

from checkers.history import HistoryError, read_jsonl
from harness.run.history_log import HistoryLog


def test_streamed_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    log = HistoryLog(path)

    async def go() -> None:
        log.start_clock()
        log.append("invoke", 0, "write", ["k0", 1], node="n1")
        # flushed as it happens: the file already holds the line before the log is closed
        assert path.read_text().count("\n") == 1
        await asyncio.sleep(0.01)
        log.append("ok", 0, "write", ["k0", 1], node="n1")
        log.append("info", "nemesis", "start-partition", {"n1": ["n2"], "n2": ["n1"]})
        log.append("info", 0, "cas", ["k0", [1, 2]], node="n1", error=["indefinite", "timeout"])

    asyncio.run(go())
    log.close()
    ops = read_jsonl(path)
    assert ops == log.ops
    assert [op.index for op in ops] == [0, 1, 2, 3]
    assert ops[1].time - ops[0].time >= 10_000_000  # ns on the loop clock
    assert ops[2].value == {"n1": ["n2"], "n2": ["n1"]} and ops[3].error == ["indefinite", "timeout"]
    assert (log.counts.invoke, log.counts.ok, log.counts.info, log.counts.nemesis) == (1, 1, 1, 1)


def test_torn_last_line_is_skipped_but_a_bad_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    log = HistoryLog(path)

    async def go() -> None:
        log.append("invoke", 0, "read", ["k0", None])
        log.append("ok", 0, "read", ["k0", None])

    asyncio.run(go())
    log.close()
    with path.open("a") as fh:
        fh.write('{"index": 2, "time": 5, "ty')
    assert len(read_jsonl(path)) == 2
    path.write_text(path.read_text().replace('"ok"', '"okay"', 1))
    try:
        read_jsonl(path)
    except HistoryError as e:
        assert f"{path}:2" in str(e)
    else:
        raise AssertionError("a bad complete line must be rejected")
