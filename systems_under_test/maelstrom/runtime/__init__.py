"""The shim host for external programs (real I/O: processes, sockets); see :mod:`.shim`."""
