"""Many independent range-coded streams ("lanes"), one symbol per lane per call, compiled.

Each lane is exactly the stream that :class:`lmzip.coder.range.RangeEncoder` (constriction's
``stream.queue.RangeEncoder``: u32 words, u64 state, 24-bit precision) makes from the same
sequence of (symbol, frequency table): the same words, and :class:`LaneDecoder` reads
constriction's streams symbol for symbol. The coder lives in ``_lanecoder.c`` /
``lanecore.h`` (ported from constriction's ``src/stream/queue.rs``); one call codes one
symbol in each of B lanes with the GIL released, so stepping B lanes costs one Python call
instead of B constriction calls and B 49152-entry model constructions.

Frequencies come either as integer tables (``encode`` / ``decode``: each row ``>= 1`` and
summing to ``2**24``, as :mod:`lmzip.coder.range` requires) or as integer log2q logits
(``encode_log2q`` / ``decode_log2q``), quantized row by row exactly as
:func:`lmzip.coder.quantize.quantize_log2q` does, fused with the coding step.

Semantics worth knowing:

* The lanes of one call must be distinct (a lane advances one symbol per step); their
  order does not matter. An empty call (B = 0) does nothing.
* A call that fails (``ValueError``: bad arguments, a bad frequency row, a logit beyond
  +-2**61, data no symbol owns) changes no lane: the call is all or nothing.
* ``finish(lane)`` returns what ``RangeEncoder.finish()`` would return at that point and
  leaves the lane open: encoding may continue, as with constriction's ``get_compressed``.
* **Reading past the end.** As in constriction, a decoder that needs words beyond its
  stream's end reads zeros, never raises for that, and never reads outside the stream:
  a valid stream decodes its last symbols only that way (it needs up to one word more
  than the encoder wrote, two for an empty stream), and a truncated stream decodes to the
  same symbols, or the same ``ValueError``, as constriction would give.
  :meth:`LaneDecoder.words_past_end` counts the zero words a lane has used; a caller that
  knows a lane is complete can treat more than 1 (more than 2 for a lane with no words)
  as a sign of truncation.
"""

from __future__ import annotations

import operator
from typing import Sequence

import numpy as np

from lmzip.coder import _lanecoder as _c
from lmzip.coder.quantize import EXP2_FRAC, TOTAL

_c.set_exp2(np.ascontiguousarray(EXP2_FRAC, dtype=np.int64))

# Table dtypes the C code reads as they are (native byte order).
_KIND = {np.dtype(np.int32): 0, np.dtype(np.int64): 1, np.dtype(np.uint32): 2, np.dtype(np.uint64): 3}
_LOG2Q_LIMIT = 1 << 61
_MAX_LOG2Q_V = TOTAL // 2 - 1
_MAX_V = TOTAL - 2  # constriction's categorical model takes fewer than 2**24 - 1 symbols

__all__ = ["LaneEncoder", "LaneDecoder", "quantize_log2q_rows", "quantizer_paths"]


def _indices(x, what: str) -> np.ndarray:
    """A 1-D integer array as contiguous int64 (values are range-checked in C)."""
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {a.shape}")
    if a.size == 0:
        return np.empty(0, dtype=np.int64)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integers, got {a.dtype}")
    if a.dtype.kind == "u" and a.dtype.itemsize == 8 and int(a.max()) >= 1 << 63:
        raise ValueError(f"{what} out of range")
    return np.ascontiguousarray(a, dtype=np.int64)


def _table(x, what: str, log2q: bool) -> tuple[np.ndarray, int]:
    """A 2-D integer table as a contiguous array the C code reads directly, and its kind."""
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{what} must be 2-D (B, V), got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integers, got {a.dtype}")
    native = a.dtype.newbyteorder("=")
    if native.itemsize <= 2:  # int8/16, uint8/16: exact in int32
        target = np.dtype(np.int32)
    elif log2q and native == np.dtype(np.uint32):
        target = np.dtype(np.int64)
    elif log2q and native == np.dtype(np.uint64):
        if a.size and int(a.max()) > _LOG2Q_LIMIT:
            raise ValueError("log2q logits out of range (+-2**61)")
        target = np.dtype(np.int64)
    else:
        target = native
    a = np.ascontiguousarray(a, dtype=target)
    return a, _KIND[target]


def _check_batch(lanes: np.ndarray, table: np.ndarray, third: np.ndarray | None) -> None:
    b = lanes.shape[0]
    if table.shape[0] != b or (third is not None and third.shape[0] != b):
        raise ValueError(
            f"lanes ({b}), table rows ({table.shape[0]})"
            + ("" if third is None else f" and symbols ({third.shape[0]})")
            + " must match"
        )


class LaneEncoder:
    """``n_lanes`` independent range encoders, stepped together."""

    def __init__(self, n_lanes: int) -> None:
        self._c = _c.Encoder(operator.index(n_lanes))

    @property
    def n_lanes(self) -> int:
        return self._c.n_lanes

    def encode(self, lanes, freqs, symbols) -> None:
        """Encode ``symbols[j]`` into lane ``lanes[j]`` under frequency row ``freqs[j]``.

        ``freqs`` is ``[B, V]`` integers (int32/int64/uint32/uint64 are read in place),
        each ``>= 1``, every row summing to ``2**24``; ``2 <= V <= 2**24 - 2``.
        """
        self._step(lanes, freqs, symbols, False)

    def encode_log2q(self, lanes, z, symbols) -> None:
        """As :meth:`encode` with ``freqs[j] = quantize_log2q(z[j])`` (fused, exact).

        ``z`` is ``[B, V]`` integer log2q logits (int32 or int64 read in place), ``2 <= V <
        2**23``, values within +-2**61.
        """
        self._step(lanes, z, symbols, True)

    def _step(self, lanes, table, symbols, log2q: bool) -> None:
        lanes = _indices(lanes, "lanes")
        symbols = _indices(symbols, "symbols")
        table, kind = _table(table, "logits" if log2q else "freqs", log2q)
        _check_batch(lanes, table, symbols)
        self._c.encode(lanes, table, symbols, table.shape[1], kind, log2q)

    def finish(self, lane: int) -> bytes:
        """Lane ``lane``'s stream so far (little-endian u32 words), the bytes
        ``RangeEncoder.finish()`` gives. The lane stays open."""
        return self._c.finish(operator.index(lane))

    def symbols(self, lane: int) -> int:
        """How many symbols lane ``lane`` has coded."""
        return self._c.state(operator.index(lane))[5]


class LaneDecoder:
    """One range decoder per stream (``bytes``, as :meth:`LaneEncoder.finish` or
    ``RangeEncoder.finish()`` made them), stepped together."""

    def __init__(self, streams: Sequence[bytes]) -> None:
        self._c = _c.Decoder(list(streams))

    @property
    def n_lanes(self) -> int:
        return self._c.n_lanes

    def decode(self, lanes, freqs) -> np.ndarray:
        """The next symbol of each lane in ``lanes`` under ``freqs[j]``, as int32[B]."""
        return self._step(lanes, freqs, False)

    def decode_log2q(self, lanes, z) -> np.ndarray:
        """As :meth:`decode` with ``freqs[j] = quantize_log2q(z[j])``."""
        return self._step(lanes, z, True)

    def _step(self, lanes, table, log2q: bool) -> np.ndarray:
        lanes = _indices(lanes, "lanes")
        table, kind = _table(table, "logits" if log2q else "freqs", log2q)
        _check_batch(lanes, table, None)
        out = np.empty(lanes.shape[0], dtype=np.int32)
        self._c.decode(lanes, table, out, table.shape[1], kind, log2q)
        return out

    def words_past_end(self, lane: int) -> int:
        """Zero words lane ``lane`` has read beyond its stream's end (see the module doc)."""
        return self._c.state(operator.index(lane))[4]

    def symbols(self, lane: int) -> int:
        """How many symbols lane ``lane`` has decoded."""
        return self._c.state(operator.index(lane))[5]


def quantize_log2q_rows(z, dtype=np.int64) -> np.ndarray:
    """``quantize_log2q`` of each row of ``z`` ([B, V] integers), bit for bit, as ``[B, V]``
    ``dtype`` (int64, like ``quantize_log2q``, or uint32). Raises ``ValueError`` where
    ``quantize_log2q`` would for some row."""
    a, kind = _table(z, "logits", True)
    b, v = a.shape
    if v < 2 or v > _MAX_LOG2Q_V:
        raise ValueError(f"need 2..{_MAX_LOG2Q_V} logits per row, got shape {a.shape}")
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.int64), np.dtype(np.uint32)):
        raise ValueError(f"dtype must be int64 or uint32, got {dtype}")
    out = np.empty((b, v), dtype=dtype)
    if b:
        _c.quantize_rows(a, out, v, kind, dtype == np.dtype(np.int64))
    return out


def quantizer_paths() -> tuple[str, ...]:
    """The quantizer loops this CPU can run ('scalar', and 'avx2' where supported); they
    compute identical results."""
    return tuple(_c.paths())
