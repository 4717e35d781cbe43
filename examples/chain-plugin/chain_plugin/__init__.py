"""An example splitbrain plugin: chain replication (``core``), its descriptor (``system``), a workload.

This package's ``__init__`` imports nothing: inside a container only the standard library,
``systems_under_test`` and this package are there, and importing ``chain_plugin.core`` runs this file.
"""
