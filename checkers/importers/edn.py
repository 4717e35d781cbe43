"""A small EDN reader, enough for Jepsen and Knossos history files.

Jepsen writes histories as EDN; we read them into plain Python values so the rest of the project never
sees EDN: keywords become strings without the colon (``:ok`` -> ``"ok"``), ``nil`` -> ``None``, vectors
and lists -> ``list``, maps -> ``dict`` (unhashable keys become tuples), sets -> ``frozenset``,
strings, ints, floats, ``true``/``false``. ``;`` comments and ``#_`` discards are skipped, commas are
whitespace, and any other ``#tag`` (``#jepsen.history.Op{...}``, ``#inst "..."``) is read as the value it
tags, since history files only use tags to name record types.

The reader is iterative (no recursion limit on deep or long files) and remembers the line on which each
element of a top-level collection starts, because importers must report errors as ``file:line``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<ws>[\s,]+)
    |(?P<comment>;[^\n]*)
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<badstring>")
    |(?P<open>\#\{|[\[\(\{])
    |(?P<close>[\]\)\}])
    |(?P<discard>\#_)
    |(?P<tag>\#[A-Za-z][^\s,\[\]\(\)\{\}";]*)
    |(?P<char>\\(?:newline|space|tab|return|.))
    |(?P<atom>[^\s,\[\]\(\)\{\}";\#][^\s,\[\]\(\)\{\}";]*)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_INT = re.compile(r"[+-]?\d+N?\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\d*\.\d+|\d+)(?:[eE][+-]?\d+)?M?\Z")
_RATIO = re.compile(r"[+-]?\d+/\d+\Z")
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
_CLOSER = {"[": "]", "(": ")", "{": "}", "#{": "}"}


class EdnError(ValueError):
    """Malformed EDN; ``line`` is the 1-based line of the offending text."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Form:
    """One top-level EDN value, the line it starts on, and (for collections) its elements' lines."""

    value: Any
    line: int
    item_lines: tuple[int, ...] = ()


def _hashable(v: Any) -> Any:
    """Map keys and set members must be hashable: lists become tuples, dicts frozen item tuples."""
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted(((_hashable(k), _hashable(x)) for k, x in v.items()), key=repr))
    return v


def _unescape(body: str, line: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise EdnError(line, f"bad escape \\{nxt} in string")
    return "".join(out)


def _atom(text: str, line: int) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text[0] == ":":
        if len(text) == 1:
            raise EdnError(line, "empty keyword ':'")
        return text[1:]
    if _INT.match(text):
        return int(text.rstrip("N"))
    if _FLOAT.match(text):
        return float(text.rstrip("M"))
    if _RATIO.match(text):
        num, den = text.split("/")
        return int(num) / int(den)
    if text[0].isdigit():
        raise EdnError(line, f"malformed number {text!r}")
    return text  # a symbol: keep its name


class _Frame:
    __slots__ = ("items", "line", "lines", "opener")

    def __init__(self, opener: str, line: int) -> None:
        self.opener = opener
        self.items: list[Any] = []
        self.lines: list[int] = []
        self.line = line


def read_all(text: str) -> list[Form]:
    """Read every top-level EDN value of ``text``; raises ``EdnError`` naming the line."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect_right(newlines, pos - 1) + 1 if newlines else 1

    forms: list[Form] = []
    stack: list[_Frame] = []
    pending_discards: list[int] = []  # stack depths at which a #_ waits for its value
    pending_tags: list[int] = []

    def emit(value: Any, line: int, item_lines: tuple[int, ...] = ()) -> None:
        depth = len(stack)
        while pending_tags and pending_tags[-1] == depth:
            pending_tags.pop()  # a tag names the record type; keep the value
        if pending_discards and pending_discards[-1] == depth:
            pending_discards.pop()
            return
        if stack:
            stack[-1].items.append(value)
            stack[-1].lines.append(line)
        else:
            forms.append(Form(value, line, item_lines))

    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        assert m is not None  # the "other" branch matches any character
        kind = m.lastgroup
        tok = m.group()
        start = pos
        pos = m.end()
        if kind in ("ws", "comment"):
            continue
        line = line_of(start)
        if kind == "string":
            emit(_unescape(tok[1:-1], line), line)
        elif kind == "badstring":
            raise EdnError(line, "unterminated string")
        elif kind == "open":
            stack.append(_Frame(tok, line))
        elif kind == "close":
            if not stack:
                raise EdnError(line, f"unexpected {tok!r}")
            frame = stack.pop()
            if _CLOSER[frame.opener] != tok:
                raise EdnError(line, f"{frame.opener!r} opened on line {frame.line} closed by {tok!r}")
            emit(_build(frame), frame.line, tuple(frame.lines))
        elif kind == "discard":
            pending_discards.append(len(stack))
        elif kind == "tag":
            pending_tags.append(len(stack))
        elif kind == "char":
            body = tok[1:]
            emit(_CHARS.get(body, body), line)
        elif kind == "atom":
            emit(_atom(tok, line), line)
        else:
            raise EdnError(line, f"unexpected character {tok!r}")
    if stack:
        raise EdnError(stack[-1].line, f"{stack[-1].opener!r} is never closed")
    if pending_discards:
        raise EdnError(line_of(n), "#_ with nothing to discard")
    return forms


def _build(frame: _Frame) -> Any:
    items = frame.items
    if frame.opener in ("[", "("):
        return items
    if frame.opener == "#{":
        return frozenset(_hashable(x) for x in items)
    if len(items) % 2:
        raise EdnError(frame.line, "map literal has an odd number of forms")
    return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}


def loads(text: str) -> Any:
    """Read exactly one EDN value from ``text``."""
    forms = read_all(text)
    if len(forms) != 1:
        raise EdnError(1, f"expected one EDN value, found {len(forms)}")
    return forms[0].value
