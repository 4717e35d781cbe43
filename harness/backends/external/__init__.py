"""Third-party systems under test (etcd, redis), written on the public plugin API (:mod:`harness.api`).

Nothing here is special to the harness: each system's descriptor (``systems_under_test/etcd``,
``systems_under_test/redis``) names, per backend, the backend class that starts, stops, faults and
reaches its nodes, exactly as a plugin's would. The shared bases (``local_base`` = ``LocalProcesses``,
``docker_nodes`` = ``DockerProcesses``, ``procs``, ``http``) are exported by ``harness.api``.
"""
