"""Commands the CLI prints for the user to paste (replay lines), spelled so that they run as printed."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def as_invoked(command: str) -> str:
    """``command`` (stored as ``splitbrain ...``) spelled the way this process was started when a bare
    ``splitbrain`` would not be found: run as ``.venv/bin/splitbrain`` without an activated venv, the
    printed replay line must still run when pasted as it is."""
    prog = sys.argv[0] if sys.argv else ""
    if not command.startswith("splitbrain ") or Path(prog).name != "splitbrain" or shutil.which("splitbrain"):
        return command
    return shlex.quote(prog) + command[len("splitbrain"):]
