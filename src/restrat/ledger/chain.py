"""Tamper evidence: a digest of each event's canonical content and a hash chain over the digests (pure).

The canonical content is built column-wise with Arrow (fields joined by unit separators, floats as their
IEEE-754 bytes), so the same bytes come out of a file being imported and out of the stored rows at verify.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

GENESIS = bytes(32)
_US, _RS, _GS = b"\x1f", b"\x1e", b"\x1d"


@dataclass
class Canonical:
    """Column-wise canonical content of events; `in_ev`/`out_ev` are event positions, sorted ascending."""

    uid: list[str] | np.ndarray | pa.Array
    kind: list[str] | np.ndarray | pa.Array
    at: np.ndarray  # int64 epoch seconds
    facility: list[str] | np.ndarray | pa.Array
    partner: list[str | None] | np.ndarray | pa.Array
    ref_uid: list[str | None] | np.ndarray | pa.Array
    declared_kg: np.ndarray  # float64, NaN when absent
    quota_ref: list[str | None] | np.ndarray | pa.Array
    licence_ref: list[str | None] | np.ndarray | pa.Array
    country: list[str | None] | np.ndarray | pa.Array
    note: list[str | None] | np.ndarray | pa.Array
    declared_comp: list[bytes | None] | pa.Array  # packed float32 or None
    in_ev: np.ndarray
    in_batch: list[str] | np.ndarray | pa.Array
    in_kg: np.ndarray
    out_ev: np.ndarray
    out_batch: list[str] | np.ndarray | pa.Array
    out_form: list[str] | np.ndarray | pa.Array
    out_kg: np.ndarray
    out_reo_kg: np.ndarray
    out_comp: list[bytes] | pa.Array  # packed float32 per output


def _bin(values: object) -> pa.Array:
    arr = pa.array(values, type=pa.binary()) if not isinstance(values, pa.Array) else values.cast(pa.binary())
    return pc.fill_null(arr, b"")


def _f64(values: np.ndarray) -> pa.Array:
    data = np.ascontiguousarray(values, dtype="<f8")
    return pa.Array.from_buffers(pa.binary(8), len(data), [None, pa.py_buffer(data.tobytes())]).cast(pa.binary())


def _i64(values: np.ndarray) -> pa.Array:
    data = np.ascontiguousarray(values, dtype="<i8")
    return pa.Array.from_buffers(pa.binary(8), len(data), [None, pa.py_buffer(data.tobytes())]).cast(pa.binary())


def _grouped(parts: pa.Array, ev: np.ndarray, n: int, sep: bytes) -> pa.Array:
    """Join the parts of each event (ev sorted ascending) into one binary value per event."""
    counts = np.bincount(ev, minlength=n) if len(ev) else np.zeros(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), parts)
    return pc.binary_join(lists, sep)


def digests(c: Canonical) -> list[bytes]:
    """sha256 of each event's canonical content, in event order."""
    n = len(c.at)
    header = pc.binary_join_element_wise(
        _bin(c.uid), _bin(c.kind), _i64(c.at), _bin(c.facility), _bin(c.partner), _bin(c.ref_uid),
        _f64(c.declared_kg), _bin(c.quota_ref), _bin(c.licence_ref), _bin(c.country), _bin(c.note),
        _bin(c.declared_comp), _US)
    ins = pc.binary_join_element_wise(_bin(c.in_batch), _f64(c.in_kg), _US)
    outs = pc.binary_join_element_wise(_bin(c.out_batch), _bin(c.out_form), _f64(c.out_kg), _f64(c.out_reo_kg),
                                       _bin(c.out_comp), _US)
    content = pc.binary_join_element_wise(header, _grouped(ins, np.asarray(c.in_ev), n, _RS),
                                          _grouped(outs, np.asarray(c.out_ev), n, _RS), _GS)
    sha = hashlib.sha256
    return [sha(x).digest() for x in content.to_pylist()]


def chain(digest_list: list[bytes], *, previous: bytes = GENESIS) -> list[bytes]:
    """The hash chain: each link is sha256(previous link + digest)."""
    out = []
    sha = hashlib.sha256
    prev = previous
    for d in digest_list:
        prev = sha(prev + d).digest()
        out.append(prev)
    return out


def pack_comp(comp: np.ndarray) -> pa.Array:
    """Pack (n, 17) fractions into 68-byte little-endian float32 values, one per row (an Arrow binary array)."""
    data = np.ascontiguousarray(comp, dtype="<f4")
    width = data.shape[1] * 4 if data.ndim == 2 else 68
    return pa.Array.from_buffers(pa.binary(width), len(data), [None, pa.py_buffer(data.tobytes())]).cast(pa.binary())


def unpack_comp(values: list[bytes], *, width: int = 17) -> np.ndarray:
    """(n, 17) float64 fractions from packed float32 values."""
    if not values:
        return np.zeros((0, width))
    return np.frombuffer(b"".join(values), dtype="<f4").reshape(-1, width).astype(np.float64)
