"""Key-value stores: how processes that share no MPI launcher find each other (lesson 18).

NCCL needs every process to start from the same 128-byte id that rank 0 creates.  Without
``mpiexec`` to pass it around, PyTorch uses a *store*: a tiny key-value table that every process
can reach.  ``set(key, value)`` writes, ``get(key)`` waits until the key exists (or the timeout
passes), ``add(key, n)`` is an atomic counter (used as a barrier: each rank adds 1 and waits for
``world_size``).  Three kinds, with PyTorch's names:

* ``TCPStore(host_name, port, world_size, is_master)`` -- rank 0 serves the table over TCP
  (``init_method="env://"`` or ``"tcp://host:port"``);
* ``FileStore(file_name, world_size)`` -- records appended to a file on a shared file system,
  under an exclusive lock (``init_method="file:///path"``);
* ``HashStore()`` -- a dict in this process (tests, threads);
* ``PrefixStore(prefix, store)`` -- the keys of ``store`` under ``prefix/``.

Which store a job uses is decided by the URL of ``init_method``: see ``rendezvous.py``.
"""
from __future__ import annotations

import datetime
import fcntl
import os
import socket
import socketserver
import struct
import threading
import time
from typing import Any

from ._group import DistNetworkError, DistStoreError

_DEFAULT = datetime.timedelta(seconds=300)


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class Store:
    """The interface: ``set``, ``get`` (blocking), ``add``, ``check``, ``wait``, ``delete_key``,
    ``num_keys``.  Subclasses implement ``_set``, ``_try_get``, ``_add``, ``_delete``, ``_keys``."""

    def __init__(self, timeout: datetime.timedelta = _DEFAULT) -> None:
        self.timeout = timeout

    def set(self, key: str, value: Any) -> None:
        self._set(key, _b(value))

    def get(self, key: str) -> bytes:
        self.wait([key])
        value = self._try_get(key)
        assert value is not None
        return value

    def add(self, key: str, amount: int) -> int:
        return self._add(key, int(amount))

    def check(self, keys: list) -> bool:
        return all(self._try_get(k) is not None for k in keys)

    def wait(self, keys: list, timeout: datetime.timedelta | None = None) -> None:
        limit = (timeout or self.timeout).total_seconds()
        deadline = time.monotonic() + limit
        while not self.check(keys):
            if time.monotonic() > deadline:
                raise DistStoreError(f"{type(self).__name__}: timed out after {limit:g} s waiting for "
                                   f"the keys {keys} (did every process start?)")
            time.sleep(0.01)

    def delete_key(self, key: str) -> bool:
        return self._delete(key)

    def num_keys(self) -> int:
        return len(self._keys())

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        self.timeout = timeout


class HashStore(Store):
    """A store in this process's memory (thread-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self._data: dict = {}
        self._lock = threading.Lock()

    def _set(self, key: str, value: bytes) -> None:
        with self._lock:
            self._data[key] = value

    def _try_get(self, key: str) -> bytes | None:
        with self._lock:
            return self._data.get(key)

    def _add(self, key: str, amount: int) -> int:
        with self._lock:
            n = int(self._data.get(key, b"0")) + amount
            self._data[key] = str(n).encode()
            return n

    def _delete(self, key: str) -> bool:
        with self._lock:
            return self._data.pop(key, None) is not None

    def _keys(self) -> list:
        with self._lock:
            return list(self._data)


class FileStore(Store):
    """Records ``(key, value)`` appended to ``file_name`` under ``flock``; the last one wins."""

    def __init__(self, file_name: str, world_size: int = -1) -> None:
        super().__init__()
        self.path = file_name
        self.world_size = world_size
        open(self.path, "ab").close()

    def _locked(self, write: bool):
        f = open(self.path, "a+b" if write else "rb")
        fcntl.flock(f, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        return f

    def _read(self, f: Any) -> dict:
        f.seek(0)
        raw, data, at = f.read(), {}, 0
        while at + 8 <= len(raw):
            nk, nv = struct.unpack_from("<ii", raw, at)
            at += 8
            key = raw[at:at + nk].decode()
            at += nk
            if nv < 0:
                data.pop(key, None)
            else:
                data[key] = raw[at:at + nv]
                at += nv
        return data

    def _append(self, f: Any, key: str, value: bytes | None) -> None:
        k = key.encode()
        f.seek(0, os.SEEK_END)
        f.write(struct.pack("<ii", len(k), -1 if value is None else len(value)) + k + (value or b""))
        f.flush()

    def _set(self, key: str, value: bytes) -> None:
        with self._locked(True) as f:
            self._append(f, key, value)

    def _try_get(self, key: str) -> bytes | None:
        with self._locked(False) as f:
            return self._read(f).get(key)

    def _add(self, key: str, amount: int) -> int:
        with self._locked(True) as f:
            n = int(self._read(f).get(key, b"0")) + amount
            self._append(f, key, str(n).encode())
            return n

    def _delete(self, key: str) -> bool:
        with self._locked(True) as f:
            found = key in self._read(f)
            self._append(f, key, None)
            return found

    def _keys(self) -> list:
        with self._locked(False) as f:
            return list(self._read(f))


# TCP protocol: request = op (1 byte) + key length (4) + key + value length (4) + value;
# reply = status (1 byte: 1 found / 0 missing) + value length (4) + value.
_SET, _GET, _ADD, _DEL, _KEYS = range(5)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("TCPStore: the connection closed")
        buf += chunk
    return buf


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        table: HashStore = self.server.table  # type: ignore[attr-defined]
        sock = self.request
        try:
            while True:
                op = _recv_exact(sock, 1)[0]
                (nk,) = struct.unpack("<i", _recv_exact(sock, 4))
                key = _recv_exact(sock, nk).decode()
                (nv,) = struct.unpack("<i", _recv_exact(sock, 4))
                value = _recv_exact(sock, nv)
                found, out = 1, b""
                if op == _SET:
                    table._set(key, value)
                elif op == _GET:
                    got = table._try_get(key)
                    found, out = (0, b"") if got is None else (1, got)
                elif op == _ADD:
                    out = str(table._add(key, int(value))).encode()
                elif op == _DEL:
                    found = int(table._delete(key))
                elif op == _KEYS:
                    out = str(len(table._keys())).encode()
                sock.sendall(bytes([found]) + struct.pack("<i", len(out)) + out)
        except ConnectionError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class TCPStore(Store):
    """A store served over TCP by the process created with ``is_master=True`` (rank 0)."""

    def __init__(self, host_name: str, port: int, world_size: int | None = None, is_master: bool = False,
                 timeout: datetime.timedelta = _DEFAULT, wait_for_workers: bool = True,
                 multi_tenant: bool = False, master_listen_fd: int | None = None,
                 use_libuv: bool = True) -> None:
        super().__init__(timeout)
        self.host, self.port, self.world_size = host_name, int(port), world_size
        self._server = None
        if is_master:
            self._server = _Server(("", self.port), _Handler)
            self._server.table = HashStore()  # type: ignore[attr-defined]
            self.port = self._server.server_address[1]
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=timeout.total_seconds())
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise DistNetworkError(f"TCPStore: could not reach {self.host}:{self.port} within "
                                       f"{timeout.total_seconds():g} s ({e})") from e
                time.sleep(0.05)
        self._lock = threading.Lock()

    def _call(self, op: int, key: str, value: bytes = b"") -> tuple:
        k = key.encode()
        with self._lock:
            self._sock.sendall(bytes([op]) + struct.pack("<i", len(k)) + k + struct.pack("<i", len(value)) + value)
            found = _recv_exact(self._sock, 1)[0]
            (n,) = struct.unpack("<i", _recv_exact(self._sock, 4))
            return found, _recv_exact(self._sock, n)

    def _set(self, key: str, value: bytes) -> None:
        self._call(_SET, key, value)

    def _try_get(self, key: str) -> bytes | None:
        found, value = self._call(_GET, key)
        return value if found else None

    def _add(self, key: str, amount: int) -> int:
        return int(self._call(_ADD, key, str(amount).encode())[1])

    def _delete(self, key: str) -> bool:
        return bool(self._call(_DEL, key)[0])

    def _keys(self) -> list:
        return [None] * int(self._call(_KEYS, "")[1])


class PrefixStore(Store):
    """``store`` with every key written as ``prefix/key``."""

    def __init__(self, prefix: str, store: Store) -> None:
        super().__init__(store.timeout)
        self.prefix, self.underlying_store = prefix, store

    def _k(self, key: str) -> str:
        return f"{self.prefix}/{key}"

    def _set(self, key: str, value: bytes) -> None:
        self.underlying_store._set(self._k(key), value)

    def _try_get(self, key: str) -> bytes | None:
        return self.underlying_store._try_get(self._k(key))

    def _add(self, key: str, amount: int) -> int:
        return self.underlying_store._add(self._k(key), amount)

    def _delete(self, key: str) -> bool:
        return self.underlying_store._delete(self._k(key))

    def _keys(self) -> list:
        return self.underlying_store._keys()

