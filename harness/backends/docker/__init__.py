"""The ``docker`` backend: each node is a container on a per-run internal bridge network (DESIGN §4).

Modules: ``image`` (the node image, built from Debian packages and cached by recipe hash), ``mirror``
(which apt mirror the build uses), ``labels`` (what marks our objects and who owns them), ``cluster``
(network, volumes, containers), ``firewall`` (iptables rules for partitions and packet loss), ``wire``
(TCP client and control requests), ``backend`` (the Backend and fault capabilities), ``cleanup``
(remove a run, sweep orphans, remove everything), ``commands``/``cli`` (``splitbrain image`` and
``splitbrain cleanup``) and ``bench`` (start time and throughput). The Docker SDK is imported lazily,
so the harness imports without it.
"""
