"""Preloaded by a Dask worker's forkserver: load the worker's main module once, before any cell forks.

``multiprocessing`` re-runs the parent's main script in every child that it starts through a forkserver
unless the server already has that main loaded, and the server is meant to load it when ``"__main__"`` is
preloaded — but CPython's forkserver never receives the path (it asks ``get_preparation_data`` for a key
that function does not return). Under ``dask worker`` the main is the ``dask`` command, whose imports
(the CLI, click, entry points) then cost every cell about half a second. The worker names its main in
``SPLITBRAIN_FORKSERVER_MAIN`` (``path:...`` or ``name:...``) before starting the server, and importing
this module loads it, as the server should have.
"""

from __future__ import annotations

import os
from multiprocessing import process, spawn

ENV = "SPLITBRAIN_FORKSERVER_MAIN"


def load_main(how: str) -> None:
    """Make ``how`` (``path:FILE`` / ``name:MODULE``) this process's ``__main__`` as a child's would be."""
    kind, _, what = how.partition(":")
    fixup = {"path": spawn.import_main_path, "name": getattr(spawn, "_fixup_main_from_name", None)}.get(kind)
    if not what or fixup is None:
        return
    process.current_process()._inheriting = True  # what the forkserver sets for the same call
    try:
        fixup(what)
    finally:
        del process.current_process()._inheriting


if os.environ.get(ENV):
    load_main(os.environ[ENV])
