#!/usr/bin/env python3
"""The program the routing benchmark runs on every node: tokens passed around a ring of nodes.

Maelstrom protocol on stdin/stdout. ``start {tokens}`` (from a client) puts that many tokens on the
ring from this node; a ``token`` message is forwarded at once to the next node in ``node_ids`` order;
``stats`` answers how many tokens this node forwarded and the gaps (seconds) between consecutive
arrivals of token 0 (one lap of the ring). ``ping`` is answered directly (for the no-network baseline).
"""

import json
import sys
import time


def main() -> None:
    me, ring, nxt = "", [], ""
    forwarded = 0
    last_seen_zero = None
    laps: list[float] = []
    out = sys.stdout
    for line in sys.stdin:
        msg = json.loads(line)
        body = msg["body"]
        kind = body["type"]
        if kind == "token":
            forwarded += 1
            if body["id"] == 0:
                now = time.perf_counter()
                if last_seen_zero is not None:
                    laps.append(now - last_seen_zero)
                last_seen_zero = now
            out.write(f'{{"src":"{me}","dest":"{nxt}","body":{{"type":"token","id":{body["id"]}}}}}\n')
            out.flush()
            continue
        reply = {"in_reply_to": body.get("msg_id")}
        if kind == "init":
            me, ring = body["node_id"], body["node_ids"]
            nxt = ring[(ring.index(me) + 1) % len(ring)]
            reply["type"] = "init_ok"
        elif kind == "start":
            for i in range(body["first"], body["first"] + body["tokens"]):
                out.write(f'{{"src":"{me}","dest":"{nxt}","body":{{"type":"token","id":{i}}}}}\n')
            reply["type"] = "start_ok"
        elif kind == "stats":
            reply.update(type="stats_ok", forwarded=forwarded, laps=laps[-2000:])
        elif kind == "ping":
            reply["type"] = "pong"
        out.write(json.dumps({"src": me, "dest": msg["src"], "body": reply}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
