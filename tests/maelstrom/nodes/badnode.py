#!/usr/bin/env python3
"""Deliberately misbehaving Maelstrom-protocol programs, for the harness's bad-program tests.

Usage: ``badnode.py MODE``. Every mode but ``no-init`` answers ``init`` and then echoes (workload echo):

* ``no-init``: writes a line to stderr and never answers init
* ``garbage``: before every reply, writes a non-JSON line and a message without ``dest`` to stdout
* ``exit-midrun``: exits with status 7 after answering 20 echoes
* ``flood``: after init, writes endless stdout lines (long non-JSON and valid messages to nobody), and
  still answers echoes
* ``unknown-reply``: answers every echo twice, the second time to a msg_id nobody sent
* ``weird-code``: answers every echo with an error code outside Maelstrom's table (99)
"""

import json
import sys
import threading

MODE = sys.argv[1]
NODE = {"id": None}
LOCK = threading.Lock()


def out(obj) -> None:
    with LOCK:
        sys.stdout.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        sys.stdout.flush()


def flood() -> None:
    junk = "x" * 200_000
    while True:
        out(junk)
        out({"src": NODE["id"], "dest": "nowhere", "body": {"type": "spam", "pad": "y" * 1000}})


def main() -> None:
    answered = 0
    for line in sys.stdin:
        msg = json.loads(line)
        body = msg["body"]
        if body["type"] == "init":
            if MODE == "no-init":
                print("badnode: booting forever, never answering init", file=sys.stderr, flush=True)
                continue
            NODE["id"] = body["node_id"]
            out(
                {
                    "src": NODE["id"],
                    "dest": msg["src"],
                    "body": {"type": "init_ok", "in_reply_to": body["msg_id"]},
                }
            )
            if MODE == "flood":
                threading.Thread(target=flood, daemon=True).start()
            continue
        reply = {
            "src": NODE["id"],
            "dest": msg["src"],
            "body": {"type": "echo_ok", "echo": body.get("echo"), "in_reply_to": body["msg_id"]},
        }
        if MODE == "garbage":
            out("this is not json {")
            out({"src": NODE["id"], "body": {"type": "echo_ok"}})
        if MODE == "weird-code":
            reply["body"] = {
                "type": "error",
                "code": 99,
                "text": "made-up code",
                "in_reply_to": body["msg_id"],
            }
        out(reply)
        if MODE == "unknown-reply":
            out({**reply, "body": {**reply["body"], "in_reply_to": 10_000_000 + body["msg_id"]}})
        answered += 1
        if MODE == "exit-midrun" and answered >= 20:
            print("badnode: exiting on purpose", file=sys.stderr, flush=True)
            sys.exit(7)


if __name__ == "__main__":
    main()
