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

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from checkers.history import HistoryError, Op, iter_jsonl_lines
from checkers.importers.elle_json import parse_json_array
from checkers.importers.jepsen import parse_edn_history
from checkers.importers.porcupine import looks_like_etcd_log, parse_etcd_log

FORMATS = ("jsonl", "elle-json", "jepsen-edn", "porcupine-kv", "porcupine-etcd-log")

__all__ = ["FORMATS", "HistoryError", "detect_format", "load_history", "load_history_with_format",
           "parse_text",
           "validate_ops"]

MAX_BYTES = int(os.environ.get("SPLITBRAIN_MAX_HISTORY_BYTES", str(512 * 1024 * 1024)))
"""A history larger than this is refused: reading stops there (an endless input must not hang ``check``)."""
MAX_DEPTH = 64  # nesting of an op's value; Jepsen's deepest (transactions of micro-ops) is 4
MAX_INT = 2**63  # Jepsen histories hold Java longs; anything larger is not a history value

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


def read_bounded(p: Path, limit: int | None = None) -> str:
    """The text of ``p``, read in chunks up to ``limit`` bytes; ``HistoryError`` for binary or endless
    input."""
    limit = MAX_BYTES if limit is None else limit
    chunks: list[bytes] = []
    size = 0
    try:
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                if b"\0" in chunk:
                    line = b"".join(chunks).count(b"\n") + chunk[: chunk.index(b"\0")].count(b"\n") + 1
                    raise HistoryError(f"{p}:{line}: a NUL byte: this is a binary file, not a history")
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise HistoryError(f"{p}: stopped reading after {limit} bytes: larger than any history "
                                       "we check (SPLITBRAIN_MAX_HISTORY_BYTES raises the bound)")
    except OSError as e:
        raise HistoryError(f"{p}: cannot read ({e.strerror or e})") from None
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise HistoryError(f"{p}:{line}: not a UTF-8 text file ({e.reason})") from None


def load_history_with_format(path: str | Path) -> tuple[str, list[Op]]:
    """Read a history file, returning the detected format name and the ops (validated, see
    ``validate_ops``)."""
    p = Path(path)
    if p.is_dir():
        raise HistoryError(f"{p}: a directory, not a history file")
    text = read_bounded(p)
    fmt = detect_format(text)
    try:
        if fmt == "jsonl":
            ops = list(iter_jsonl_lines(text.splitlines(keepends=True), str(p)))
        else:
            ops = parse_text(text, str(p), fmt)
    except RecursionError:
        raise HistoryError(f"{p}: values nested too deeply to read") from None
    except HistoryError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as e:  # a reader's edge: still the file's fault
        raise HistoryError(f"{p}: cannot read as {fmt or 'a history'} ({type(e).__name__}: {e})") from None
    validate_ops(ops, str(p))
    return fmt or "unknown", ops


def validate_ops(ops: Iterable[Op], name: str) -> None:
    """Shape checks every checker relies on, so none of them meets a value it cannot even compare.

    ``process`` is an integer, a string (it keys dictionaries) or absent (elle-cli writes such files; ops
    without one are paired by position where a checker needs pairs), ``f`` a string, and a value nests at
    most ``MAX_DEPTH`` deep with integers of at most 64 bits. ``HistoryError`` names the op's index.
    """
    for i, op in enumerate(ops):
        where = f"{name}: op {op.index if op.index >= 0 else i}"
        if op.process is not None and (isinstance(op.process, bool) or not isinstance(op.process, int | str)):
            raise HistoryError(
                f"{where}: field process must be an integer or a string, got {_brief(op.process)}"
            )
        if not isinstance(op.f, str):
            raise HistoryError(f"{where}: field f must be a string, got {_brief(op.f)}")
        problem = _value_problem(op.value)
        if problem:
            raise HistoryError(f"{where}: field value {problem}")


def _value_problem(value: Any) -> str | None:
    """Why a value cannot be a history value (too deep, a huge integer), without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nests deeper than {MAX_DEPTH} levels"
        if isinstance(v, int) and not isinstance(v, bool) and not -MAX_INT <= v < MAX_INT:
            return "holds an integer beyond 64 bits"
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for kv in v.items() for x in kv)
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend((x, depth + 1) for x in v)
    return None


def _brief(v: Any) -> str:
    text = repr(v)
    return f"{type(v).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def load_history(path: str | Path) -> list[Op]:
    """Read a history file of any supported format into ops (``HistoryError`` names file:line)."""
    return load_history_with_format(path)[1]
