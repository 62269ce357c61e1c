"""Rendezvous: how processes started separately find each other (lesson 18), as
``torch.distributed.rendezvous``.

Before any collective can run, the processes of a job must meet: agree on a shared key-value
*store* (see ``_store.py``), and each learn its rank and the number of processes.  PyTorch calls
this the *rendezvous*, and picks the method from the scheme of a URL -- the ``init_method`` of
``init_process_group``:

* ``env://`` -- ``MASTER_ADDR`` and ``MASTER_PORT`` (rank 0 serves a ``TCPStore`` there), ``RANK``
  and ``WORLD_SIZE`` from the environment (what ``torchrun`` sets);
* ``tcp://host:port`` -- a ``TCPStore`` at that address, served by rank 0;
* ``file:///shared/path`` -- a ``FileStore`` on a file every process can open.

``rendezvous(url, rank, world_size)`` adds ``rank`` and ``world_size`` to the URL's query string
(``tcp://h:p?rank=0&world_size=2``) and calls the *handler* registered for the scheme: a generator
that yields ``(store, rank, world_size)``.  ``register_rendezvous_handler(scheme, handler)`` adds
a scheme of your own (a job scheduler's address book, say).  ``init_process_group`` takes the
first triple of ``next(rendezvous(init_method, rank, world_size, timeout=timeout))``.

Asking a handler for a second triple is a *re*-rendezvous, which none of the three built-in
methods can do; they raise, as PyTorch's do.
"""
from __future__ import annotations

import numbers
import os
from datetime import timedelta
from typing import Any, Callable, Iterator
from urllib.parse import urlparse, urlunparse

from ._group import default_pg_timeout
from ._store import FileStore, TCPStore

__all__ = ["register_rendezvous_handler", "rendezvous"]

_rendezvous_handlers: dict = {}


def register_rendezvous_handler(scheme: Any, handler: Any) -> None:
    """Make ``rendezvous`` (and ``init_process_group(init_method=...)``) call ``handler(url,
    **kwargs)`` for URLs ``scheme://...``.  ``handler`` must be a generator function yielding
    ``(store, rank, world_size)``; the rank and world size reach it in the URL's query
    (``?rank=0&world_size=2``).  A scheme can be registered once."""
    if scheme in _rendezvous_handlers:
        raise RuntimeError(f"Rendezvous handler for {scheme}:// already registered")
    _rendezvous_handlers[scheme] = handler


def _query_to_dict(query: str) -> dict:
    """``"rank=0&world_size=1"`` -> ``{"rank": "0", "world_size": "1"}``."""
    return {pair[0]: pair[1] for pair in (p.split("=") for p in filter(None, query.split("&")))}


def _rendezvous_helper(url: str, rank: int, world_size_opt: int | None, **kwargs: Any) -> Iterator:
    """Put ``rank``/``world_size`` (when given) into the URL's query and call its scheme's handler.
    ``world_size_opt=None`` is a dynamic group: the size is left to the environment (``env://``)."""
    result = urlparse(url)
    if world_size_opt is None:
        world_size = -1
        if result.scheme == "env":
            rank = int(os.environ.get("RANK", rank))
            world_size = int(os.environ.get("WORLD_SIZE", world_size))
    else:
        world_size = world_size_opt
    if rank != -1 or world_size != -1 or world_size_opt is None:
        query = _query_to_dict(result.query)
        if "rank" in query or "world_size" in query:
            raise AssertionError(f"The url: {url} has node-specific arguments(rank, world_size) already.")
        if rank != -1:
            query["rank"] = str(rank)
        if world_size != -1 or world_size_opt is None:
            query["world_size"] = str(world_size)
        result = result._replace(query="&".join(f"{k}={v}" for k, v in query.items()))
        url = urlunparse(result)
    if result.scheme not in _rendezvous_handlers:
        raise RuntimeError(f"No rendezvous handler for {result.scheme}://")
    return _rendezvous_handlers[result.scheme](url, **kwargs)


def rendezvous(url: str, rank: int = -1, world_size: int = -1, **kwargs: Any) -> Iterator:
    """The iterator of ``(store, rank, world_size)`` triples of ``url``'s rendezvous handler
    (``-1``: not given, the handler finds it -- ``env://`` reads ``RANK``/``WORLD_SIZE``).
    ``kwargs`` go to the handler (the built-in ones take ``timeout``, a ``timedelta``)."""
    if not isinstance(url, (str, bytes)):
        raise RuntimeError(f"`url` must be a string. {type(url)}: {url}")
    if not isinstance(rank, numbers.Integral):
        raise RuntimeError(f"`rank` must be an integer. {rank}")
    if not isinstance(world_size, numbers.Integral):
        raise RuntimeError(f"`world_size` must be an integer. {world_size}")
    return _rendezvous_helper(url, rank, world_size, **kwargs)


def _error(method: str, msg: str) -> ValueError:
    return ValueError(f"Error initializing torch.distributed using {method}:// rendezvous: {msg}")


def _rank_and_size(method: str, query: dict) -> tuple:
    if "rank" not in query:
        raise _error(method, "rank parameter missing")
    if "world_size" not in query:
        raise _error(method, "world size parameter missing")
    return int(query["rank"]), int(query["world_size"])


def _tcp_store(host: str, port: int, rank: int, world_size: int, timeout: timedelta) -> TCPStore:
    """Rank 0 serves the store, the others connect to it (PyTorch's ``_create_c10d_store``)."""
    if not 0 <= port < 2 ** 16:
        raise ValueError(f"port must have value from 0 to 65535 but was {port}.")
    return TCPStore(host, port, world_size, rank == 0, timeout, multi_tenant=True)


def _file_rendezvous_handler(url: str, **kwargs: Any) -> Iterator:
    result = urlparse(url)
    if not result.path:
        raise _error("file", "path missing")
    rank, world_size = _rank_and_size("file", _query_to_dict(result.query))
    yield FileStore(result.path, world_size), rank, world_size
    raise RuntimeError("Unable to perform rerendezvous using file:// method")


def _tcp_rendezvous_handler(url: str, timeout: timedelta = default_pg_timeout, **kwargs: Any) -> Iterator:
    result = urlparse(url)
    if result.port is None:
        raise _error("tcp", "port number missing")
    rank, world_size = _rank_and_size("tcp", _query_to_dict(result.query))
    if result.hostname is None:
        raise AssertionError("hostname cannot be None")
    yield _tcp_store(result.hostname, result.port, rank, world_size, timeout), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using tcp:// method")


def _env_rendezvous_handler(url: str, timeout: timedelta = default_pg_timeout, **kwargs: Any) -> Iterator:
    def env(var: str) -> str:
        value = os.environ.get(var)
        if not value:
            raise _error("env", f"environment variable {var} expected, but not set")
        return value

    query = _query_to_dict(urlparse(url).query)
    rank = int(query["rank"]) if "rank" in query else int(env("RANK"))
    world_size = int(query["world_size"]) if "world_size" in query else int(env("WORLD_SIZE"))
    host, port = env("MASTER_ADDR"), int(env("MASTER_PORT"))
    yield _tcp_store(host, port, rank, world_size, timeout), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using env:// method")


_builtin: dict[str, Callable] = {"tcp": _tcp_rendezvous_handler, "env": _env_rendezvous_handler,
                                 "file": _file_rendezvous_handler}
for _scheme, _handler in _builtin.items():
    register_rendezvous_handler(_scheme, _handler)
