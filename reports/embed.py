"""Embedding data in HTML safely: JSON inside ``<script>`` and JavaScript sources inlined into a page.

A ``<script>`` element ends at the first ``</script`` whatever the JavaScript around it means, and
``<!--`` switches the HTML parser into a mode where ``<script`` inside it changes where the element
ends; U+2028/U+2029 were line terminators in older JavaScript. So every ``<``, ``>`` and ``&`` and the
two separators are written as ``\\uXXXX`` escapes: the JSON decodes to the same value and no history,
spec or node-log value can close the element or open a new one.
"""

from __future__ import annotations

import json
import re
from typing import Any

_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")
_CLOSE_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)


def script_json(value: Any) -> str:
    """Compact JSON for a ``<script type="application/json">`` element (cannot end or alter the element)."""
    text = json.dumps(value, separators=(",", ":"), default=str, allow_nan=False)
    return _UNSAFE_RE.sub(lambda m: _UNSAFE[m.group(0)], text)


def inline_js(source: str) -> str:
    """A JavaScript source made safe to inline between ``<script>`` tags.

    ``</script`` can only occur inside a string, regular expression or comment of valid code, where
    ``<\\/script`` means the same thing.
    """
    return _CLOSE_SCRIPT.sub(r"<\\/\1", source).replace("<!--", "<\\!--")
