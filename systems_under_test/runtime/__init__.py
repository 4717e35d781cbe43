"""The real node host: runs one sans-IO core as a networked OS process (DESIGN §3).

``python -m systems_under_test.runtime --system S --node n1 --listen H:P --peers ... --control H:P
--data-dir DIR --log FILE --seed N`` serves clients and peers on ``--listen`` (newline-framed JSON),
carries out the core's effects (timers on the asyncio loop, ``Persist`` as fsynced appends to
``DIR/durable.jsonl``), and answers a control channel that applies cooperative faults (partition
drops, packet delay/loss/duplication, clock offset). Standard library only: it runs in a bare
container.
"""
