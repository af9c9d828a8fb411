"""Refuse network access in this process: socket connections (but Unix sockets) and
name lookups raise. Installed in the test process by conftest.py and in every Python
process the tests start by sitecustomize.py beside it, so a passing test proves the code
under test never connected anywhere."""

import socket

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _refuse(self, address, *args):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address, *args)
    raise ConnectionRefusedError(f"synchrony tests: network access attempted ({address!r})")


def _refuse_ex(self, address, *args):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect_ex(self, address, *args)
    raise ConnectionRefusedError(f"synchrony tests: network access attempted ({address!r})")


def _no_lookup(host, *args, **kwargs):
    raise ConnectionRefusedError(f"synchrony tests: name lookup attempted ({host!r})")


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse_ex
socket.getaddrinfo = _no_lookup
socket.create_connection = lambda address, *a, **k: _refuse(socket.socket(), address)
