"""The simulator's JSON codec: exactly ``json``'s semantics, without its per-call Python overhead.

Every simulated message (and every persisted record) crosses a JSON text, so no object is ever shared
between the sender and the receiver, tuples arrive as lists and integer dict keys as strings -- just as
over the real TCP transport. That round trip is on the hottest path of the simulator, and the ``json``
module's convenience wrappers (``JSONEncoder.encode`` building a fresh C encoder per call,
``JSONDecoder.decode`` matching whitespace before and after) cost about as much as the C encoding and
scanning themselves. Here both C objects are built once and called directly.

The output is byte-identical to ``json.dumps(obj, separators=(",", ":"))`` (``ensure_ascii``, NaN
allowed, insertion-ordered keys), and decoding a text this module produced gives what ``json.loads``
gives. The one difference: the circular-reference check is off, so a self-containing message fails with
``RecursionError`` instead of ``ValueError`` -- either way it is refused, and it is not JSON-able.
"""

from __future__ import annotations

import json
from json import encoder as _enc
from json import scanner as _scan
from typing import Any

_default = json.JSONEncoder().default  # raises TypeError naming the type that is not JSON-able
_c_make_encoder: Any = getattr(_enc, "c_make_encoder", None)  # the C accelerators (absent from typeshed)
_c_make_scanner: Any = getattr(_scan, "c_make_scanner", None)

if _c_make_encoder is not None and _c_make_scanner is not None:
    _c_encode = _c_make_encoder(
        None, _default, _enc.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    _c_scan = _c_make_scanner(json.JSONDecoder())
else:  # pragma: no cover - CPython always has them
    _c_encode = _c_scan = None
_slow_encode = json.JSONEncoder(separators=(",", ":")).encode


def encode(obj: Any) -> str:
    """Compact JSON text of ``obj`` (same bytes as ``json.dumps(obj, separators=(",", ":"))``)."""
    if _c_encode is None:  # pragma: no cover
        return _slow_encode(obj)
    return "".join(_c_encode(obj, 0))


def decode(text: str) -> Any:
    """A fresh object tree from a text produced by :func:`encode` (what ``json.loads`` returns)."""
    if _c_scan is None:  # pragma: no cover
        return json.loads(text)
    try:
        obj, end = _c_scan(text, 0)
    except StopIteration:
        return json.loads(text)  # not valid JSON: let ``json`` raise its usual error
    if end != len(text):
        return json.loads(text)  # trailing data or whitespace (never from encode): same
    return obj
