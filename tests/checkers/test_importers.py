"""Importers: every corpus file loads into DESIGN §5 ops; formats are detected; errors name file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import corpus_manifest

from checkers.history import TYPES, HistoryError, Op, pairs, write_jsonl
from checkers.importers import detect_format, load_history, load_history_with_format
from checkers.importers.edn import EdnError, loads, read_all

ROWS = corpus_manifest()


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_every_corpus_file_loads_in_its_format(corpus: Path, row: dict[str, str]) -> None:
    fmt, ops = load_history_with_format(corpus / row["path"])
    assert fmt == row["format"]
    assert ops and all(op.type in TYPES and isinstance(op.f, str) for op in ops)
    assert all(not op.f.startswith(":") and not op.type.startswith(":") for op in ops)
    pairs(ops)  # well formed: every completion matches an invocation
    json.dumps([op.to_dict() for op in ops], default=str)


def test_bank_file_keeps_maps_with_plain_keys(corpus: Path) -> None:
    ops = load_history(corpus / "jepsen/bank.edn")
    transfer = next(op for op in ops if op.f == "transfer")
    assert set(transfer.value) == {"from", "to", "amount"}
    read = next(op for op in ops if op.f == "read" and op.type == "ok")
    assert sum(read.value.values()) == 100 and all(isinstance(k, int) for k in read.value)
    assert ops[0].index == 0 and ops[1].time > ops[0].time


def test_elle_json_values_are_micro_op_lists(corpus: Path) -> None:
    ops = load_history(corpus / "elle/list-append/list-append-anomaly-g0-cycle.json")
    assert ops[0].f == "txn" and ops[0].value == [["append", 1, 1], ["append", 2, 1]]
    assert ops[5].value == [["r", 1, [1, 2]], ["r", 2, [2, 1]]]


def test_etcd_log_crashed_ops_keep_their_invocation_value(corpus: Path) -> None:
    ops = load_history(corpus / "porcupine/etcd/etcd_000.log")
    info = [op for op in ops if op.type == "info"]
    assert info and all(op.error == "timed-out" for op in info)
    by_proc = {}
    for op in ops:
        if op.type == "invoke":
            by_proc[op.process] = op
        elif op.type == "info":
            assert op.value == by_proc[op.process].value


def test_porcupine_kv_folds_the_key_into_the_value(corpus: Path) -> None:
    ops = load_history(corpus / "porcupine/kv/c01-ok.txt")
    assert all(isinstance(op.value, list) and len(op.value) == 2 for op in ops)
    assert all(isinstance(op.value[0], str) for op in ops)


def test_edn_reader_covers_the_literal_forms() -> None:
    v = loads('[{:a 1, :b nil} #{1 2} (3 -4.5 "x\\ny") #_ 7 #inst "2020" true :k/v 1/2 \\a {[1 2] 3} 5N]')
    assert v == [{"a": 1, "b": None}, frozenset({1, 2}), [3, -4.5, "x\ny"], "2020", True, "k/v", 0.5, "a",
                 {(1, 2): 3}, 5]
    forms = read_all("; comment\n{:x 1}\n\n{:x 2} ; trailing\n")
    assert [f.line for f in forms] == [2, 4] and forms[1].value == {"x": 2}
    with pytest.raises(EdnError) as e:
        read_all('[{:a 1}\n {:b 2]\n')
    assert e.value.line == 2


def test_jsonl_round_trip(tmp_path: Path) -> None:
    ops = [Op(0, 5, "invoke", 0, "write", ["k", 1], node="n1"), Op(1, 9, "ok", 0, "write", ["k", 1])]
    p = tmp_path / "history.jsonl"
    write_jsonl(p, ops)
    assert detect_format(p.read_text()) == "jsonl"
    assert load_history(p) == ops


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("open.edn", "[{:process 1, :type :invoke, :f :read}\n {:process 1, :type :ok\n", ":2:"),
        ("odd.edn", "{:process 1, :type :invoke, :f :read}\n{:process 1 :type}\n", ":2:"),
        ("badtype.edn", "{:process 1, :type :invoke, :f :read}\n{:process 1, :type :done, :f :read}\n",
         ":2:"),
        ("noproc.edn", "[{:process 1, :type :invoke, :f :read}\n\n {:type :ok, :f :read}]\n", ":3:"),
        ("badnum.edn", "{:process 1, :type :invoke, :f :read, :value 12ab}\n", ":1:"),
        ("str.edn", '{:process 1, :type :invoke, :f :read, :value "abc}\n', ":1:"),
        ("elle.json", '[{"index":0,"process":0,"type":"invoke","value":[]},\n {"index":1,"type":"ok"}]\n',
         ":2:"),
        ("elle2.json", '[{"index":0,"process":0,"type":"invoke","value":[]},\n {"index":1,,}]\n', ":2:"),
        ("h.jsonl", '{"index":0,"type":"invoke","process":0,"f":"read","value":null}\n{"index":1,\n', ":2:"),
        ("etcd.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0 ok read 3\n", ":2:"),
        ("etcd2.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t[1\n",
         ":2:"),
        ("weird.txt", "\n\nhello world\n", ":3:"),
        ("empty.txt", "", ":1:"),
    ],
)
def test_malformed_inputs_name_file_and_line(tmp_path: Path, name: str, text: str, where: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(HistoryError) as e:
        load_history(p)
    msg = str(e.value)
    assert msg.startswith(str(p) + where), msg
    assert len(msg) > len(str(p) + where) + 5


def test_missing_file_is_a_history_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot read"):
        load_history(tmp_path / "nope.edn")
