"""Every Elle history of the labelled corpus gets Elle's verdict, anomaly names and weakest violated models.

The manifest's ``note`` column reads ``anomalies=A;B; not=m1,m2``: the anomaly types Elle reports and the
weakest consistency models it says the history violates. The bank history (listed in the corpus README,
not in the manifest) must pass the bank checker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import corpus_manifest

from checkers import bank, importers
from checkers.elle import check

ELLE_ROWS = [r for r in corpus_manifest() if r["check"].startswith("elle:")]


def _expected(note: str) -> tuple[set[str], list[str]]:
    anomalies = re.search(r"anomalies=([^ ]*?);? not=", note)
    models = re.search(r"not=([\w,-]+)", note)
    assert anomalies and models, note
    return {a for a in anomalies.group(1).split(";") if a}, sorted(models.group(1).split(","))


def test_corpus_has_elle_rows(corpus: Path) -> None:
    assert len(ELLE_ROWS) >= 6


@pytest.mark.parametrize("row", ELLE_ROWS, ids=[r["path"] for r in ELLE_ROWS])
def test_elle_corpus_verdict_and_names(corpus: Path, row: dict[str, str]) -> None:
    history = importers.load_history(corpus / row["path"])
    m = re.match(r"elle:([\w-]+)\(([\w-]+)\)", row["check"])
    assert m, row["check"]
    workload, model = m.group(1), m.group(2)
    r = check(history, workload, consistency_models=[model])
    assert r.valid == (row["expected"] == "valid")
    anomalies, not_models = _expected(row["note"])
    assert set(r.details["anomaly-types"]) == anomalies
    assert r.details["not"] == not_models
    assert r.explanation


def test_bank_corpus_is_valid(corpus: Path) -> None:
    path = corpus / "jepsen" / "bank.edn"
    if not path.is_file():
        pytest.skip("jepsen/bank.edn not in this corpus")
    history = importers.load_history(path)
    r = bank.check(history)
    assert r.valid is True
    assert r.details["total"] == 100
    assert r.details["reads"] > 100
    assert len(r.details["series"]["total"]) == r.details["reads"]
    # The same history judged against a wrong total fails on every read.
    wrong = bank.check(history, total=99)
    assert wrong.valid is False and wrong.details["errors"]["wrong-total"]["count"] == r.details["reads"]
