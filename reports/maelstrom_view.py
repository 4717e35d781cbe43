"""The run report's "External program" section: what the shims counted for a ``maelstrom`` run.

Maelstrom users read message counts and msgs-per-op to judge how chatty their protocol is, and need to
see when their program wrote garbage, answered msg_ids nobody asked, or died on its own. The backend
writes those counters to ``maelstrom.json`` next to the node logs; this turns them into table rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from checkers.history import Op

COLUMNS = (
    ("client_requests", "client requests"),
    ("msgs_out", "msgs sent"),
    ("service_msgs", "to services"),
    ("msgs_in", "msgs received"),
    ("dropped_in", "dropped (partition)"),
    ("dropped_out", "dropped (loss)"),
    ("malformed", "bad output lines"),
    ("unknown_dest", "to unknown dest"),
    ("unknown_reply", "replies to unknown msg_id"),
    ("stdin_dropped", "dropped (stdin full)"),
)


def maelstrom_view(run_dir: Path | None, ops: Sequence[Op]) -> dict[str, Any] | None:
    """Rows per node and totals from ``run_dir/maelstrom.json``; None when the run has none."""
    if run_dir is None:
        return None
    try:
        doc = json.loads((run_dir / "maelstrom.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rows = []
    for node, info in sorted(doc.get("nodes", {}).items()):
        lives = info.get("incarnations", [])
        cells = [sum(int(life.get(k, 0) or 0) for life in lives) for k, _ in COLUMNS]
        rows.append(
            {"node": node, "lives": len(lives), "exited": info.get("exited_on_its_own", 0), "cells": cells}
        )
    totals = doc.get("totals", {})
    completed = sum(1 for op in ops if op.is_client and op.type == "ok")
    sent = int(totals.get("msgs_out", 0) or 0)
    return {
        "program": " ".join(str(p) for p in doc.get("program", [])),
        "headers": [label for _, label in COLUMNS],
        "rows": rows,
        "totals": [int(totals.get(k, 0) or 0) for k, _ in COLUMNS],
        "exited": int(totals.get("exited_on_its_own", 0) or 0),
        "msgs_per_op": f"{sent / completed:.2f}" if completed else "n/a",
        "bad_output": int(totals.get("malformed", 0) or 0) + int(totals.get("unknown_reply", 0) or 0),
    }
