"""A/B benchmark of the linearizability checker against another revision, on the etcd corpus.

Wall-clock comparisons on a shared machine are noise; this runs both checkers in one process,
alternating, and compares CPU time (``time.process_time``), minimum and lower quartile over the
rounds. The other revision's ``checkers`` package is taken with ``git archive`` into a temporary
directory and imported under another name, with its own importers (so each side reads the logs as its
revision does: a failed cas is an observation only in revisions that say so).

    python bench/lincheck_ab.py [--base main] [--rounds 25] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lincheck import find_corpus


def load_base(rev: str, into: Path) -> Any:
    """Import revision ``rev``'s ``checkers`` as ``basecheckers`` (a copy under ``into``)."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", rev, "checkers"], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    src = into / "checkers"
    dst = into / "basecheckers"
    src.rename(dst)
    for py in dst.rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        py.write_text(re.sub(r"\bcheckers(?=[.\s])", "basecheckers", text), encoding="utf-8")
    sys.path.insert(0, str(into))
    import basecheckers.linearizability as lin  # type: ignore[import-not-found]
    from basecheckers import importers  # type: ignore[import-not-found]

    return importers, lin


def cpu_ms(lin: Any, histories: list[Any], **kw: Any) -> float:
    t = time.process_time()
    for h in histories:
        lin.check(h, "cas-register", time_limit=60, **kw)
    return (time.process_time() - t) * 1000


def main(argv: list[str] | None = None) -> int:
    """Print min and lower quartile CPU ms of both sides (and ours with failed cas dropped)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="main", help="the revision to compare with (default: main)")
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--corpus", help="the labelled corpus directory (default: ../shared/corpus)")
    args = ap.parse_args(argv)
    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("labelled corpus not found (use --corpus DIR or $SPLITBRAIN_CORPUS)", file=sys.stderr)
        return 2
    files = sorted((corpus / "porcupine" / "etcd").glob("*.log"))
    with tempfile.TemporaryDirectory() as tmp:
        base_imp, base_lin = load_base(args.base, Path(tmp))
        import checkers.importers as our_imp
        import checkers.linearizability as our_lin

        base_h = [base_imp.load_history(f) for f in files]
        our_h = [our_imp.load_history(f) for f in files]
        runs: dict[str, list[float]] = {"base": [], "ours": [], "ours, failed cas dropped": []}
        for _ in range(args.rounds):
            runs["base"].append(cpu_ms(base_lin, base_h))
            runs["ours"].append(cpu_ms(our_lin, our_h))
            runs["ours, failed cas dropped"].append(cpu_ms(our_lin, our_h, failed_cas="drop"))
    print(
        f"etcd corpus, {len(files)} files, CPU ms over {args.rounds} alternating rounds (base = {args.base})"
    )
    for name, xs in runs.items():
        xs.sort()
        print(f"  {name:26s} min {xs[0]:7.1f}   lower quartile {xs[len(xs) // 4]:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
