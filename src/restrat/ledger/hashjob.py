"""The digests and hash chain of an import, computed beside it.

Hashing a million events costs seconds of pure Python work that needs no database. A thread does not help:
it holds the GIL that the writer must take back after every row SQLite steps. A forked process runs on the
other core instead: it inherits the events without copying or pickling them and sends back two byte strings.
Small imports, and platforms without fork, hash in line.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from multiprocessing.connection import Connection

import pyarrow as pa

from restrat.ledger.chain import Canonical, chain, digests

IN_CHILD_FROM_EVENTS = 50_000
_DIGEST = 32


def digest_and_chain(c: Canonical, previous: bytes) -> tuple[pa.Array, pa.Array]:
    """Each event's digest and the chain links after previous, as Arrow binary arrays."""
    dig = digests(c)
    return pa.array(dig, type=pa.binary()), pa.array(chain(dig, previous=previous), type=pa.binary())


def _hashes(blob: bytes) -> pa.Array:
    """32-byte hashes laid end to end, as a binary array, without a Python object per hash."""
    n = len(blob) // _DIGEST
    return pa.Array.from_buffers(pa.binary(_DIGEST), n, [None, pa.py_buffer(blob)]).cast(pa.binary())


def _child(pipe: Connection, make: Callable[[], Canonical], previous: bytes) -> None:
    dig, links = digest_and_chain(make(), previous)
    pipe.send_bytes(b"".join(dig) + b"".join(links))
    pipe.close()


def worth_a_child(events: int) -> bool:
    """Whether hashing this many events beside the import pays for a forked process."""
    return events >= IN_CHILD_FROM_EVENTS and "fork" in mp.get_all_start_methods()


class HashJob:
    """Hash the events that make() describes in a forked process; result() waits for (digests, links)."""

    def __init__(self, make: Callable[[], Canonical], previous: bytes, *, events: int) -> None:
        self._events = events
        ctx = mp.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(send, make, previous), daemon=True, name="restrat-hash")
        self._proc.start()
        send.close()

    def result(self) -> tuple[pa.Array, pa.Array]:
        """The digests and chain links, in event order."""
        try:
            blob = self._recv.recv_bytes()
        except EOFError:
            blob = b""
        finally:
            self._recv.close()
            self._proc.join()
        if self._proc.exitcode != 0 or len(blob) != 2 * _DIGEST * self._events:
            raise RuntimeError(f"the hashing process failed (exit code {self._proc.exitcode})")
        half = _DIGEST * self._events
        return _hashes(blob[:half]), _hashes(blob[half:])

    def cancel(self) -> None:
        """Stop the process when its result is no longer wanted (the import failed)."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._recv.close()
