#!/usr/bin/env python3
"""A Maelstrom-protocol test node in plain Python (stdlib only), written for splitbrain's own tests.

Usage: ``pynode.py WORKLOAD [BUG]``. It speaks JSON lines on stdin/stdout, logs on stderr, and keeps
durable state in files in its working directory. Correct behaviour unless BUG names a planted one:

* ``echo``; bug ``replay-cache``: keeps every reply, keyed by the request's ``msg_id``, in a file, and
  answers a request whose msg_id it has seen before with the stored reply (meant to make retries
  idempotent); but a msg_id is only unique per sender (and here per life of the node), so after a
  restart new requests get the echoes of old ones
* ``unique-ids``: ``<node>-<boot id>-<counter>``; bug ``collide``: ``<node>-<counter>`` (repeats after
  a restart)
* ``lin-kv``: every op is proxied to the ``lin-kv`` service; bug ``local-reads``: reads are answered from
  what this node itself wrote; bug ``forgetful``: ``n1`` holds the data in memory only (the others
  forward to it) and forgets it on a restart; ``durable``: the same design with the data on disk
* ``g-set`` / ``broadcast``: store durably, gossip the whole set to every peer every 100 ms; bug
  ``no-retry`` (broadcast): forward each new message once to the topology neighbours and never again;
  bug ``memory`` (g-set): delta gossip — every 100 ms each peer is sent the elements it has not
  acknowledged yet (so partitions are survived) — with the set and the delta bookkeeping in memory
  only: a restarted node starts empty, and its peers, which saw all their deltas acknowledged, never
  send it the old elements again
* ``g-counter`` / ``pn-counter``: per-node totals (durable) merged by max, gossiped every 100 ms; bug
  ``kv-rmw`` (g-counter): the counter is one value in the ``seq-kv`` service, and an add reads it and
  writes back the sum with a plain write (no cas), so concurrent adds overwrite each other (and as
  ``seq-kv`` may answer a read with an older value, so do adds far apart); bug
  ``net-max`` (pn-counter): each node keeps one net total (increments minus decrements) and peers merge
  totals by max, so a total that went down is replaced by its older, larger value
* ``kafka``: every log on ``n1`` (on disk; the others forward to it); bug ``forgetful``: in memory only
* ``txn-list-append`` / ``txn-rw-register``: the whole database is one value in ``lin-kv``, updated
  with cas and retried; bug ``blind-write``: the new database is written back with a plain write
  instead of a cas, 20 ms after the read (the node's own work), so of two concurrent transactions the
  later write erases the earlier one's effects;
  bug ``cached-reads``: a read-only transaction is answered from this node's copy of the database as of
  its own last transaction through ``lin-kv`` (which may be far behind the other nodes' commits)
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

WORKLOAD = sys.argv[1] if len(sys.argv) > 1 else "echo"
BUG = sys.argv[2] if len(sys.argv) > 2 else ""
LOCK = threading.RLock()
BLIND_WRITE_WORK = 0.02  # seconds between a blind-write transaction's read and its write
# This run's first msg_id: random, so no restart reuses an earlier run's ids. Messages sent to a node
# while it is down reach it when it is back, so a reply to the previous run's request 7 must not be taken
# for the reply to this run's request 7 (a lin-kv read would return another key's value).
FIRST_MSG_ID = int.from_bytes(os.urandom(4), "big") << 20
STATE: dict = {"node": None, "nodes": [], "next": FIRST_MSG_ID, "pending": {}, "neighbours": []}


def log(text: str) -> None:
    print(f"[{STATE['node']}] {text}", file=sys.stderr, flush=True)


def send(dest: str, body: dict) -> None:
    with LOCK:
        sys.stdout.write(json.dumps({"src": STATE["node"], "dest": dest, "body": body}) + "\n")
        sys.stdout.flush()


def reply(msg: dict, body: dict) -> None:
    send(msg["src"], {**body, "in_reply_to": msg["body"]["msg_id"]})


def rpc(dest: str, body: dict, callback) -> None:
    """Send a request and call ``callback(reply_body)`` when the reply arrives (never, if it is lost)."""
    with LOCK:
        STATE["next"] += 1
        mid = STATE["next"]
        STATE["pending"][mid] = callback
    send(dest, {**body, "msg_id": mid})


def load(name: str, default):
    try:
        with open(name) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def load_lines(name: str) -> list:
    try:
        with open(name) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except OSError:
        return []


def save(name: str, value) -> None:
    with open(name + ".tmp", "w") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(name + ".tmp", name)


# ------------------------------------------------------------------------------------------ workloads

BOOT = f"{os.getpid()}{int(time.time() * 1000) % 100000}"
DATA: dict = {"counter": 0, "kv": {}, "set": set(), "totals": {}, "unacked": {}, "replies": {}, "cache": {}}


def handle_echo(msg: dict) -> None:
    body = msg["body"]
    if BUG == "replay-cache":
        key = str(body["msg_id"])
        if key not in DATA["replies"]:
            DATA["replies"][key] = {"type": "echo_ok", "echo": body["echo"]}
            with open("replies.jsonl", "a") as f:
                f.write(json.dumps([key, DATA["replies"][key]]) + "\n")
        reply(msg, DATA["replies"][key])
        return
    reply(msg, {"type": "echo_ok", "echo": body["echo"]})


def handle_unique(msg: dict) -> None:
    DATA["counter"] += 1
    ident = (
        f"{STATE['node']}-{DATA['counter']}"
        if BUG == "collide"
        else f"{STATE['node']}-{BOOT}-{DATA['counter']}"
    )
    reply(msg, {"type": "generate_ok", "id": ident})


def handle_kv(msg: dict) -> None:
    body = msg["body"]
    kind = body["type"]
    if BUG in ("forgetful", "durable"):
        if STATE["node"] != "n1":  # forward to n1 and relay its answer
            fwd = {k: v for k, v in body.items() if k != "msg_id"}
            rpc(
                "n1",
                {**fwd, "type": "fwd-" + kind},
                lambda r: reply(msg, {k: v for k, v in r.items() if k != "in_reply_to"}),
            )
            return
        kv_apply(msg, kind)
        return
    if BUG == "local-reads" and kind == "read":
        key = str(body["key"])
        if key in DATA["kv"]:
            reply(msg, {"type": "read_ok", "value": DATA["kv"][key]})
        else:
            reply(msg, {"type": "error", "code": 20, "text": "not here"})
        return

    def done(r: dict) -> None:
        if r.get("type") in ("write_ok", "cas_ok"):
            DATA["kv"][str(body["key"])] = body["value"] if kind == "write" else body["to"]
        reply(msg, {k: v for k, v in r.items() if k not in ("in_reply_to", "msg_id")})

    fwd = {k: v for k, v in body.items() if k != "msg_id"}
    rpc("lin-kv", fwd, done)


def kv_apply(msg: dict, kind: str) -> None:
    """n1 of the forgetful/durable designs: apply the op to its own map."""
    body = msg["body"]
    kind = kind.removeprefix("fwd-")
    key = str(body["key"])
    kv = DATA["kv"]
    if kind == "read":
        if key not in kv:
            reply(msg, {"type": "error", "code": 20, "text": "no such key"})
        else:
            reply(msg, {"type": "read_ok", "value": kv[key]})
        return
    if kind == "write":
        kv[key] = body["value"]
    elif kind == "cas":
        if key not in kv:
            reply(msg, {"type": "error", "code": 20, "text": "no such key"})
            return
        if kv[key] != body["from"]:
            reply(msg, {"type": "error", "code": 22, "text": f"value is {kv[key]}"})
            return
        kv[key] = body["to"]
    if BUG == "durable":
        save("kv.json", kv)
    reply(msg, {"type": f"{kind}_ok"})


def handle_set(msg: dict) -> None:
    body = msg["body"]
    kind = body["type"]
    if kind in ("add", "broadcast"):
        element = body["element" if kind == "add" else "message"]
        new = element not in DATA["set"]
        DATA["set"].add(element)
        if BUG == "memory":  # no file; queue the element for every peer until it acknowledges it
            for peer in STATE["nodes"]:
                if peer != STATE["node"]:
                    DATA["unacked"].setdefault(peer, set()).add(element)
        else:
            save("set.json", sorted(DATA["set"]))
        if BUG == "no-retry" and new:
            for peer in STATE["neighbours"]:
                send(peer, {"type": "pass-on", "elements": [element]})
        reply(msg, {"type": f"{kind}_ok"})
    elif kind == "read":
        field = "messages" if WORKLOAD == "broadcast" else "value"
        reply(msg, {"type": "read_ok", field: sorted(DATA["set"])})
    elif kind == "topology":
        STATE["neighbours"] = body["topology"].get(STATE["node"], [])
        reply(msg, {"type": "topology_ok"})
    elif kind == "delta":
        DATA["set"].update(body["elements"])
        send(msg["src"], {"type": "delta-ack", "elements": body["elements"]})
    elif kind == "delta-ack":
        DATA["unacked"].get(msg["src"], set()).difference_update(body["elements"])
    elif kind in ("gossip", "pass-on"):
        fresh = [e for e in body["elements"] if e not in DATA["set"]]
        if fresh:
            DATA["set"].update(fresh)
            save("set.json", sorted(DATA["set"]))
            if kind == "pass-on":
                for peer in STATE["neighbours"]:
                    if peer != msg["src"]:
                        send(peer, {"type": "pass-on", "elements": fresh})


def handle_counter(msg: dict) -> None:
    body = msg["body"]
    kind = body["type"]
    totals = DATA["totals"]
    me = STATE["node"]
    if BUG == "kv-rmw":  # no gossip in this design: every node reads and writes the one counter
        if kind in ("add", "read"):
            counter_in_kv(msg)
        return
    if BUG == "net-max":
        if kind == "add":
            totals[me] = totals.get(me, 0) + body["delta"]
            save("totals.json", totals)
            reply(msg, {"type": "add_ok"})
        elif kind == "read":
            reply(msg, {"type": "read_ok", "value": sum(totals.values())})
        elif kind == "gossip":
            for node, total in body["totals"].items():
                totals[node] = max(totals.get(node, total), total)
        return
    if kind == "add":
        inc, dec = totals.get(me, [0, 0])
        delta = body["delta"]
        totals[me] = [inc + max(delta, 0), dec + max(-delta, 0)]
        save("totals.json", totals)
        reply(msg, {"type": "add_ok"})
    elif kind == "read":
        reply(msg, {"type": "read_ok", "value": sum(i - d for i, d in totals.values())})
    elif kind == "gossip":
        for node, (inc, dec) in body["totals"].items():
            old = totals.get(node, [0, 0])
            totals[node] = [max(old[0], inc), max(old[1], dec)]


def counter_in_kv(msg: dict) -> None:
    """Bug ``kv-rmw``: the counter is the ``seq-kv`` key ``counter``; an add reads it, then writes."""
    body = msg["body"]

    def current(r: dict) -> int | None:
        if r.get("type") == "read_ok":
            return int(r["value"])
        return 0 if r.get("code") == 20 else None

    def then_write(r: dict) -> None:
        value = current(r)
        if value is None:
            reply(msg, {"type": "error", "code": 11, "text": "seq-kv unavailable"})
            return
        write = {"type": "write", "key": "counter", "value": value + body["delta"]}
        rpc(
            "seq-kv",
            write,
            lambda w: reply(
                msg,
                {"type": "add_ok"}
                if w.get("type") == "write_ok"
                else {"type": "error", "code": 11, "text": "seq-kv unavailable"},
            ),
        )

    def answer(r: dict) -> None:
        value = current(r)
        if value is None:
            reply(msg, {"type": "error", "code": 11, "text": "seq-kv unavailable"})
        else:
            reply(msg, {"type": "read_ok", "value": value})

    rpc("seq-kv", {"type": "read", "key": "counter"}, then_write if body["type"] == "add" else answer)


def handle_txn(msg: dict) -> None:
    txn = msg["body"]["txn"]
    if BUG == "cached-reads" and all(f == "r" for f, _, _ in txn):
        reply(msg, {"type": "txn_ok", "txn": run_txn(txn, dict(DATA["cache"]))})
        return

    def attempt() -> None:
        rpc("lin-kv", {"type": "read", "key": "root"}, lambda r: apply(r))

    def apply(r: dict) -> None:
        if r.get("type") == "error" and r.get("code") != 20:
            reply(msg, {"type": "error", "code": 11, "text": "lin-kv unavailable"})
            return
        old = r.get("value") if r.get("type") == "read_ok" else None
        db = dict(old or {})
        result = run_txn(txn, db)
        if BUG == "blind-write":
            # the write goes out after the node's own work on the transaction (20 ms here): a read-modify-
            # write without cas loses whatever another node committed in between
            threading.Timer(BLIND_WRITE_WORK, rpc, ("lin-kv", {"type": "write", "key": "root", "value": db},
                                                    lambda c: finish(c, result, db))).start()
            return
        cas = {"type": "cas", "key": "root", "from": old, "to": db, "create_if_not_exists": old is None}
        rpc("lin-kv", cas, lambda c: finish(c, result, db))

    def finish(c: dict, result: list, db: dict) -> None:
        if c.get("type") in ("cas_ok", "write_ok"):
            DATA["cache"] = db
            reply(msg, {"type": "txn_ok", "txn": result})
        elif c.get("code") in (20, 22):
            attempt()
        else:
            reply(msg, {"type": "error", "code": 11, "text": "lin-kv unavailable"})

    attempt()


def run_txn(txn: list, db: dict) -> list:
    """Apply ``txn`` to ``db`` (in place); the micro-ops with their reads filled in."""
    result = []
    for f, k, v in txn:
        key = str(k)
        if f == "r" and WORKLOAD == "txn-rw-register":
            result.append([f, k, db.get(key)])
        elif f == "r":
            result.append([f, k, list(db.get(key, []))])
        elif f == "w":
            db[key] = v
            result.append([f, k, v])
        else:
            db[key] = [*db.get(key, []), v]
            result.append([f, k, v])
    return result


def handle_kafka(msg: dict) -> None:
    """All logs live on n1 (on disk, unless the bug ``forgetful``); the others forward to it."""
    body = msg["body"]
    if STATE["node"] != "n1":
        fwd = {k: v for k, v in body.items() if k != "msg_id"}
        rpc(
            "n1",
            {**fwd, "type": "fwd-" + body["type"]},
            lambda r: reply(msg, {k: v for k, v in r.items() if k not in ("in_reply_to", "msg_id")}),
        )
        return
    kafka_apply(msg, body["type"])


def kafka_apply(msg: dict, kind: str) -> None:
    body = msg["body"]
    kind = kind.removeprefix("fwd-")
    logs, committed = DATA["logs"], DATA["committed"]
    if kind == "send":
        log_ = logs.setdefault(str(body["key"]), [])
        log_.append(body["msg"])
        if BUG != "forgetful":
            save("kafka.json", {"logs": logs, "committed": committed})
        reply(msg, {"type": "send_ok", "offset": len(log_) - 1})
    elif kind == "poll":
        out = {
            k: [[i, m] for i, m in enumerate(logs.get(k, [])) if i >= start]
            for k, start in body["offsets"].items()
        }
        reply(msg, {"type": "poll_ok", "msgs": out})
    elif kind == "commit_offsets":
        for k, off in body["offsets"].items():
            committed[k] = max(committed.get(k, 0), off)
        if BUG != "forgetful":
            save("kafka.json", {"logs": logs, "committed": committed})
        reply(msg, {"type": "commit_offsets_ok"})
    elif kind == "list_committed_offsets":
        reply(
            msg,
            {
                "type": "list_committed_offsets_ok",
                "offsets": {k: committed[k] for k in body["keys"] if k in committed},
            },
        )


HANDLERS = {
    "echo": handle_echo,
    "unique-ids": handle_unique,
    "lin-kv": handle_kv,
    "g-set": handle_set,
    "broadcast": handle_set,
    "g-counter": handle_counter,
    "pn-counter": handle_counter,
    "txn-list-append": handle_txn,
    "txn-rw-register": handle_txn,
    "kafka": handle_kafka,
}


def gossip_forever() -> None:
    while True:
        time.sleep(0.1)
        with LOCK:
            peers = [n for n in STATE["nodes"] if n != STATE["node"]]
            if BUG == "memory":
                for p, elements in DATA["unacked"].items():
                    if elements:
                        send(p, {"type": "delta", "elements": sorted(elements)})
            elif WORKLOAD in ("g-set", "broadcast") and BUG != "no-retry":
                for p in peers:
                    send(p, {"type": "gossip", "elements": sorted(DATA["set"])})
            elif WORKLOAD in ("g-counter", "pn-counter") and BUG != "kv-rmw":
                for p in peers:
                    send(p, {"type": "gossip", "totals": DATA["totals"]})


def main() -> None:
    for line in sys.stdin:
        msg = json.loads(line)
        body = msg["body"]
        with LOCK:
            if body.get("type") == "init":
                STATE["node"], STATE["nodes"] = body["node_id"], body["node_ids"]
                DATA["set"] = set(load("set.json", [])) if BUG != "memory" else set()
                if BUG == "replay-cache":
                    DATA["replies"] = dict(load_lines("replies.jsonl"))
                DATA["totals"] = load("totals.json", {})
                DATA["kv"] = load("kv.json", {}) if BUG == "durable" else {}
                kafka = load("kafka.json", {}) if BUG != "forgetful" else {}
                DATA["logs"], DATA["committed"] = kafka.get("logs", {}), kafka.get("committed", {})
                log(f"init as {STATE['node']} of {STATE['nodes']}, workload {WORKLOAD} {BUG}")
                reply(msg, {"type": "init_ok"})
                threading.Thread(target=gossip_forever, daemon=True).start()
                continue
            if "in_reply_to" in body:
                callback = STATE["pending"].pop(body["in_reply_to"], None)
                if callback is not None:
                    callback(body)
                continue
            if body.get("type", "").startswith("fwd-"):
                (kafka_apply if WORKLOAD == "kafka" else kv_apply)(msg, body["type"])
                continue
            HANDLERS[WORKLOAD](msg)


if __name__ == "__main__":
    main()
