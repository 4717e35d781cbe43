"""Read any history file we know into DESIGN §5 ops; the format is detected from the content.

Formats: our ``history.jsonl``; Elle JSON (one JSON array of ops); Jepsen EDN (``history.edn``, Knossos
data files: a vector or list of maps, or one map per line, ``;`` comments, ``:index`` optional);
Porcupine's kv logs (EDN maps with a ``:key``: folded into ``[key, value]``); Porcupine's etcd Jepsen
logs (``INFO  jepsen.util - ...`` lines). Every malformed input raises ``HistoryError`` with
``file:line: what is wrong``.

Detection looks only at the first meaningful characters: ``{"`` is JSON lines, ``[{"`` or ``[ {"`` a
JSON array, ``{:``, ``[``, ``(`` (after ``;`` comments) EDN, a ``jepsen.util -`` logger line an etcd log.
"""

from __future__ import annotations

import re
from pathlib import Path

from checkers.history import HistoryError, Op, read_jsonl
from checkers.importers.elle_json import parse_json_array
from checkers.importers.jepsen import parse_edn_history
from checkers.importers.porcupine import looks_like_etcd_log, parse_etcd_log

FORMATS = ("jsonl", "elle-json", "jepsen-edn", "porcupine-kv", "porcupine-etcd-log")

__all__ = ["FORMATS", "HistoryError", "detect_format", "load_history", "load_history_with_format",
           "parse_text"]

_SKIP = re.compile(r"(?:[\s,]+|;[^\n]*)*")


def detect_format(text: str) -> str | None:
    """Name the format of a history text (one of ``FORMATS``), or None when it is none we know."""
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    if looks_like_etcd_log(first_line):
        return "porcupine-etcd-log"
    stripped = text.lstrip()
    if stripped.startswith('{"') or re.match(r'\{\s*"', stripped):
        return "jsonl"
    if re.match(r'\[\s*(\{\s*"|\])', stripped):
        return "elle-json"
    pos = _SKIP.match(text).end()  # type: ignore[union-attr]
    head = text[pos : pos + 2]
    if head[:1] in ("[", "(", "{"):
        if re.search(r"(?m)^\s*[\[\(]?\s*\{[^\n]*:key\s", text[pos : pos + 4000]):
            return "porcupine-kv"
        return "jepsen-edn"
    return None


def parse_text(text: str, name: str, fmt: str | None = None) -> list[Op]:
    """Parse a history given as text; ``name`` is used in error messages."""
    fmt = fmt or detect_format(text)
    if fmt == "porcupine-etcd-log":
        return parse_etcd_log(text, name)
    if fmt == "elle-json":
        return parse_json_array(text, name)
    if fmt in ("jepsen-edn", "porcupine-kv"):
        return parse_edn_history(text, name)
    if fmt == "jsonl":
        raise HistoryError(f"{name}: JSON lines must be read from a file (use load_history)")
    if not text.strip():
        raise HistoryError(f"{name}:1: empty history file")
    line = text[: _SKIP.match(text).end()].count("\n") + 1  # type: ignore[union-attr]
    raise HistoryError(
        f"{name}:{line}: unrecognised history format (expected history.jsonl, Elle JSON, Jepsen EDN, "
        "or a Porcupine log)"
    )


def load_history_with_format(path: str | Path) -> tuple[str, list[Op]]:
    """Read a history file, returning the detected format name and the ops."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise HistoryError(f"{p}:1: not a UTF-8 text file ({e.reason})") from None
    except OSError as e:
        raise HistoryError(f"{p}: cannot read ({e.strerror})") from None
    fmt = detect_format(text)
    if fmt == "jsonl":
        return fmt, read_jsonl(p)
    return fmt or "unknown", parse_text(text, str(p), fmt)


def load_history(path: str | Path) -> list[Op]:
    """Read a history file of any supported format into ops (``HistoryError`` names file:line)."""
    return load_history_with_format(path)[1]
