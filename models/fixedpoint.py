"""Deterministic integer primitives of the exact ensemble ("ensemble-x1").

Everything here is integer arithmetic (numpy int64 element-wise ops and integer sums, or
Python ints), so every machine computes the same numbers; no float, no libm, no BLAS.
The tables are built at import time with ``decimal`` (its ``ln``/``exp`` are correctly
rounded by specification, so the tables are identical on every machine and Python) and
are checked against hard-coded checksums by ``tests/test_fixedpoint.py``.
These definitions are part of the archive format: changing any of them changes the bits
of every "ensemble-x1" archive and needs a new predictor kind.

Units
-----
* **log2q**: a base-2 logarithm in units of 2**-16 bit. The integer ``L`` stands for the
  value ``2**(L / 65536)``; ``LOG2Q_ONE = 65536`` is one bit.
* **Q30 / Q62**: a probability ``p`` held as the integer ``floor(p * 2**30)`` (or 2**62).

Primitives
----------
* ``exp2q(x)``, x <= 0 (log2q): ``EXP2_FRAC[(-x) & 0xFFFF] >> min((-x) >> 16, 63)``,
  ~ ``2**31 * 2**(x / 65536)`` (Q31). Same definition as
  :func:`lmzip.coder.quantize.exp2_weights`, which it re-uses.
* ``log2q(x)``, integer x >= 1: ~ ``65536 * log2(x)``, within 0.52 of the exact value
  (see :func:`log2q` for the exact recipe).
* ``logaddexp2q(a, b)``: ~ ``65536 * log2(2**(a/65536) + 2**(b/65536))``.
* ``softmax_q30(z)``: probabilities in Q30 and ``log2q(sum 2**z)`` of a log2q vector.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

import numpy as np

from lmzip.coder.quantize import EXP2_BITS, EXP2_FRAC, EXP2_HI, EXP2_LO, LOG2Q_BITS, LOG2Q_ONE
from lmzip.coder.quantize import _ZERO_D, _exp2_into, exp2_weight, exp2_weights

__all__ = [
    "LOG2Q_BITS", "LOG2Q_ONE", "EXP2_BITS", "EXP2_HI", "EXP2_LO", "EXP2_FRAC",
    "LOG2_TABLE", "LOG2_TABLE_BITS", "LOG2_INDEX_BITS",
    "exp2q", "exp2q_int", "log2q", "log2q_int", "logaddexp2q", "softmax_q30",
    "Q30", "Q62",
]

Q30 = 1 << 30
Q62 = 1 << 62

#: log2 table: LOG2_TABLE[i] = round(2**24 * log2(1 + i / 1024)), i = 0..1024 (Q24 bits).
LOG2_INDEX_BITS = 10
LOG2_TABLE_BITS = 24
_MANT_BITS = 30  # log2q normalizes x to a mantissa in [2**30, 2**31)
_FRAC_BITS = _MANT_BITS - LOG2_INDEX_BITS  # 20 interpolation bits below the table index


def _log2_table() -> np.ndarray:
    ctx = Context(prec=60, rounding=ROUND_HALF_EVEN)
    ln2 = ctx.ln(Decimal(2))
    scale = Decimal(1 << LOG2_TABLE_BITS)
    n = 1 << LOG2_INDEX_BITS
    out = []
    for i in range(n + 1):
        x = ctx.divide(Decimal(n + i), Decimal(n))
        v = ctx.multiply(ctx.divide(ctx.ln(x), ln2), scale)
        out.append(int(v.to_integral_value(rounding=ROUND_HALF_EVEN)))
    return np.array(out, dtype=np.int64)


LOG2_TABLE = _log2_table()
LOG2_TABLE.setflags(write=False)
_LT = [int(v) for v in LOG2_TABLE]  # Python-int copy for the scalar path


# -- exp2 ---------------------------------------------------------------------------------

def exp2q(x: np.ndarray) -> np.ndarray:
    """Q31 weights ``~ 2**31 * 2**(x / 65536)`` of a log2q int array ``x <= 0`` (int64).

    Exactly ``exp2_weights(-x)``: ``EXP2_FRAC[(-x) & 0xFFFF] >> min((-x) >> 16, 63)``.
    ``x == 0`` gives 2**31; ``x <= -32 * 65536`` gives 0.
    """
    return exp2_weights(np.negative(np.asarray(x, dtype=np.int64)))


def exp2q_int(x: int) -> int:
    """Scalar twin of :func:`exp2q` (Python int ``x <= 0``)."""
    return exp2_weight(-int(x))


# -- log2 ---------------------------------------------------------------------------------

_POW2 = np.array([1 << k for k in range(63)], dtype=np.int64)


def _bit_length_minus1(x: np.ndarray) -> np.ndarray:
    """floor(log2(x)) of an int64 array x >= 1 (integer comparisons against 2**k)."""
    return np.searchsorted(_POW2, x, side="right").astype(np.int64) - 1


def log2q(x: np.ndarray) -> np.ndarray:
    """``~ 65536 * log2(x)`` of an int64 array ``x >= 1`` (returns int64).

    Definition: ``e = floor(log2 x)``; the mantissa ``m = x << (30 - e)`` (e <= 30) or
    ``x >> (e - 30)`` (e > 30, truncating) lies in [2**30, 2**31); with ``t = m - 2**30``,
    ``i = t >> 20``, ``f = t & (2**20 - 1)``:
    ``y = LOG2_TABLE[i] * 2**20 + (LOG2_TABLE[i + 1] - LOG2_TABLE[i]) * f`` (Q44 bits), and
    ``log2q(x) = e * 65536 + ((y + 2**27) >> 28)``.
    Error against the exact ``65536 * log2(x)``: below 0.52.
    """
    x = np.asarray(x, dtype=np.int64)
    if x.size and int(x.min()) < 1:
        raise ValueError("log2q needs x >= 1")
    e = _bit_length_minus1(x)
    lshift = np.maximum(_MANT_BITS - e, 0)
    rshift = np.maximum(e - _MANT_BITS, 0)
    m = (x << lshift) >> rshift
    t = m - (1 << _MANT_BITS)
    i = t >> _FRAC_BITS
    f = t & ((1 << _FRAC_BITS) - 1)
    lo = LOG2_TABLE[i]
    y = (lo << _FRAC_BITS) + (LOG2_TABLE[i + 1] - lo) * f
    shift = LOG2_TABLE_BITS + _FRAC_BITS - LOG2Q_BITS  # 28
    return (e << LOG2Q_BITS) + ((y + (1 << (shift - 1))) >> shift)


def log2q_int(x: int) -> int:
    """Scalar twin of :func:`log2q` for a Python int ``x >= 1`` (any size; identical
    results to the array version for x < 2**63)."""
    x = int(x)
    if x < 1:
        raise ValueError("log2q needs x >= 1")
    e = x.bit_length() - 1
    m = x << (_MANT_BITS - e) if e <= _MANT_BITS else x >> (e - _MANT_BITS)
    t = m - (1 << _MANT_BITS)
    i = t >> _FRAC_BITS
    f = t & ((1 << _FRAC_BITS) - 1)
    lo = _LT[i]
    y = (lo << _FRAC_BITS) + (_LT[i + 1] - lo) * f
    shift = LOG2_TABLE_BITS + _FRAC_BITS - LOG2Q_BITS
    return (e << LOG2Q_BITS) + ((y + (1 << (shift - 1))) >> shift)


_LOG2Q_2_31 = EXP2_BITS << LOG2Q_BITS  # log2q(2**31), exactly


def logaddexp2q(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``~ 65536 * log2(2**(a/65536) + 2**(b/65536))`` for log2q int64 arrays.

    Definition: ``max(a, b) + log2q(2**31 + exp2q(-|a - b|)) - 31 * 65536``.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    top = np.maximum(a, b)
    d = np.abs(a - b)
    return top + log2q((1 << EXP2_BITS) + exp2_weights(d)) - _LOG2Q_2_31


# -- softmax ------------------------------------------------------------------------------

def softmax_q30(z: np.ndarray, out: np.ndarray | None = None,
                work: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, int, int]:
    """Probabilities of the log2q vector ``z`` (int64), in Q30, and its log-sum-exp.

    Definition: ``top = max(z)``, ``w = exp2q(z - top)`` (Q31, ``w[argmax] = 2**31``),
    ``s = sum(w)`` (exact integer), ``r = 2**62 // s``, ``p = (w * r) >> 32`` (Q30) and
    ``lse = top + log2q(s) - 31 * 65536`` (~ log2q of ``sum 2**z``).
    Returns ``(p, lse, pmax)`` with ``pmax = (2**31 * r) >> 32`` (the largest p).
    ``out`` (for p) and ``work`` (two arrays): optional int64 arrays shaped like ``z``,
    all distinct from ``z``, to spare allocations.
    """
    top = int(z.max())
    if work is None:
        work = (np.empty(z.shape, dtype=np.int64), np.empty(z.shape, dtype=np.int64))
    if out is None:
        out = np.empty(z.shape, dtype=np.int64)
    c, i = work
    np.subtract(top, z, out=c)
    np.minimum(c, _ZERO_D, out=c)
    w = _exp2_into(c, i, out)
    s = int(w.sum())
    r = (1 << 62) // s
    w *= r
    w >>= 32
    lse = top + log2q_int(s) - _LOG2Q_2_31
    return w, lse, ((1 << EXP2_BITS) * r) >> 32
