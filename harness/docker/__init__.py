"""The ``docker`` backend: each node is a container on a per-run internal bridge network (DESIGN §4).

Modules: ``image`` (build the node image from Debian packages, cached by recipe hash), ``mirror`` (which
apt mirror the build uses), ``labels`` (what marks our objects and who owns them), ``firewall``
(iptables rules for partitions and packet loss), ``cleanup`` (remove runs, sweep orphans) and
``backend`` (the cluster). The Docker SDK is imported lazily so the rest of the harness imports without it.
"""
