"""Deterministic, integer-exact quantization of probability vectors.

The range coder needs integer frequencies that sum to exactly ``TOTAL = 2**24`` with every
symbol at least 1 (so any symbol can be coded, even one the model thought impossible).
Encoder and decoder must compute *identical* tables from identical inputs, so the only
floating-point steps are element-wise (``exp``, a multiply, ``floor``); every reduction
is done on integers, where summation order cannot change the result.
"""

from __future__ import annotations

import threading

import numpy as np

PRECISION = 24
TOTAL = 1 << PRECISION
# Probabilities are first mapped to integer weights in [0, 2**WEIGHT_BITS]. 31 bits keeps
# ``weight * free_mass`` below 2**55, far inside int64.
WEIGHT_BITS = 31


def quantize_probabilities(probs: np.ndarray) -> np.ndarray:
    """Return int64 frequencies (each >= 1, sum == 2**24) approximating ``probs``.

    ``probs`` is any non-negative float vector (it need not be normalized). NaN, inf or
    negative entries raise ``ValueError``: a broken model must never silently code.
    """
    p = np.asarray(probs, dtype=np.float64)
    n = p.shape[0]
    if p.ndim != 1 or n < 2 or n >= TOTAL // 2:
        raise ValueError(f"need a 1-D probability vector with 2..{TOTAL // 2} entries, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probabilities must be finite and non-negative")
    peak = p.max()
    if peak <= 0:
        weights = np.ones(n, dtype=np.int64)
    else:
        # Divide by the maximum first (so a denormal peak cannot overflow the scale),
        # then scale: the largest weight is exactly 2**31.
        weights = np.floor((p / peak) * float(1 << WEIGHT_BITS)).astype(np.int64)
    return _weights_to_frequencies(weights)


def quantize_logits(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax ``logits`` and quantize, in one pass (same contract as ``quantize_probabilities``)."""
    z = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite")
    z = (z - z.max()) / temperature
    weights = np.floor(np.exp(z) * float(1 << WEIGHT_BITS)).astype(np.int64)
    return _weights_to_frequencies(weights)


def _weights_to_frequencies(weights: np.ndarray) -> np.ndarray:
    n = weights.shape[0]
    free = TOTAL - n  # every symbol first gets 1; the rest is shared by weight
    total_weight = int(weights.sum())  # integer sum: order-independent
    if total_weight <= 0:
        weights = np.ones(n, dtype=np.int64)
        total_weight = n
    freqs = (weights * free) // total_weight + 1
    # Floors leave a small deficit (< n); give it to the most probable symbol, which
    # costs the least in code length. argmax returns the first maximum: deterministic.
    deficit = TOTAL - int(freqs.sum())
    freqs[int(np.argmax(weights))] += deficit
    return freqs


def quantize_binary(p_zero: float) -> np.ndarray:
    """Frequencies [f0, f1] for one binary decision with P(0) = ``p_zero``: each >= 1."""
    f0 = int(p_zero * TOTAL)  # floor for p >= 0
    f0 = min(TOTAL - 1, max(1, f0))
    return np.array([f0, TOTAL - f0], dtype=np.int64)


# -- integer-only quantization of log2q logits ("ensemble-x1" and the exact backend) --------
#
# A log2q value is a base-2 logarithm in units of 2**-16 bit: an integer L stands for a
# weight proportional to 2**(L / 65536). Turning such integers into frequencies uses no
# floating point at all, so every machine computes identical tables: an exp2 from two
# 256-entry integer tables (built with ``decimal``, whose exp/ln are correctly rounded by
# specification), integer shifts, and ``_weights_to_frequencies``.

LOG2Q_BITS = 16
LOG2Q_ONE = 1 << LOG2Q_BITS  # one bit
EXP2_BITS = 31  # exp2 weights are Q31: the largest weight is exactly 2**31


def _exp2_table(step_log2: int) -> np.ndarray:
    """``round(2**31 * 2**(-i / 2**step_log2))`` for i in 0..255, as int64.

    Computed with ``decimal`` at 60 significant digits (``ln`` and ``exp`` are correctly
    rounded, so the result is the same on every machine and Python), then rounded half
    to even to an integer. The values are part of the archive format.
    """
    from decimal import ROUND_HALF_EVEN, Context, Decimal

    ctx = Context(prec=60, rounding=ROUND_HALF_EVEN)
    ln2 = ctx.ln(Decimal(2))
    scale = Decimal(1 << EXP2_BITS)
    out = []
    for i in range(256):
        x = ctx.divide(ctx.multiply(ln2, Decimal(-i)), Decimal(1 << step_log2))
        v = ctx.multiply(ctx.exp(x), scale)
        out.append(int(v.to_integral_value(rounding=ROUND_HALF_EVEN)))
    return np.array(out, dtype=np.int64)


#: EXP2_HI[i] = round(2**31 * 2**(-i/256)), EXP2_LO[j] = round(2**31 * 2**(-j/65536)).
EXP2_HI = _exp2_table(8)
EXP2_LO = _exp2_table(16)
#: EXP2_FRAC[f] = (EXP2_HI[f >> 8] * EXP2_LO[f & 255] + 2**30) >> 31 for f in 0..65535:
#: the Q31 mantissa of 2**(-f/65536). Derived from the two tables by integer arithmetic
#: (it only saves ``exp2_weights`` a second table look-up).
_f = np.arange(1 << LOG2Q_BITS, dtype=np.int64)
EXP2_FRAC = (EXP2_HI[_f >> 8] * EXP2_LO[_f & 255] + (1 << (EXP2_BITS - 1))) >> EXP2_BITS
del _f
EXP2_FRAC.setflags(write=False)
EXP2_HI.setflags(write=False)
EXP2_LO.setflags(write=False)
_MAX_SHIFT = 63
_LOG2Q_LIMIT = 1 << 61
_ZERO_D = 32 << LOG2Q_BITS  # exp2_weights(d) == 0 for every d >= this


def exp2_weights(d: np.ndarray) -> np.ndarray:
    """Integer ``2**31 * 2**(-d / 65536)`` for an int64 array ``d >= 0`` (log2q units).

    Defined exactly as ``EXP2_FRAC[d & 0xFFFF] >> min(d >> 16, 63)``: the fractional
    part of the exponent from the table, the integer part as a right shift (truncating).
    ``d == 0`` gives exactly 2**31; ``d >= 32 * 65536`` gives 0. Returns int64.
    """
    d = np.asarray(d, dtype=np.int64)
    c = np.empty(d.shape, dtype=np.int64)
    i = np.empty(d.shape, dtype=np.int64)
    out = np.empty(d.shape, dtype=np.int64)
    np.minimum(d, _ZERO_D, out=c)
    return _exp2_into(c, i, out)


def _exp2_into(c: np.ndarray, i: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``exp2_weights`` of ``c`` (int64, 0 <= c <= 32 * 65536: clamped by the caller,
    which changes nothing since every d >= 32 * 65536 gives 0) into ``out``; ``c`` is
    overwritten and ``i`` is a work array. Three distinct arrays."""
    np.bitwise_and(c, LOG2Q_ONE - 1, out=i)
    EXP2_FRAC.take(i, out=out, mode="clip")  # indices are in range; "clip" avoids a buffer
    c >>= LOG2Q_BITS
    out >>= c
    return out


def exp2_weight(d: int) -> int:
    """Scalar twin of :func:`exp2_weights` (Python ints, identical results)."""
    if d < 0:
        raise ValueError("exp2_weight needs d >= 0")
    return int(EXP2_FRAC[d & (LOG2Q_ONE - 1)]) >> min(d >> LOG2Q_BITS, _MAX_SHIFT)


_scratch = threading.local()


def _work(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three int64 work arrays of length n, reused per thread. On machines where freshly
    allocated large arrays page-fault (glibc returns them to the OS on free), that costs
    more than the arithmetic on them."""
    bufs = getattr(_scratch, "bufs", None)
    if bufs is None or bufs[0].shape[0] != n:
        bufs = tuple(np.empty(n, dtype=np.int64) for _ in range(3))
        _scratch.bufs = bufs
    return bufs


def quantize_log2q(logits: np.ndarray) -> np.ndarray:
    """Frequencies (int64, each >= 1, sum == 2**24) for integer log2q logits.

    ``logits`` is a 1-D integer array (int32 or int64) of unnormalized base-2
    log-probabilities in units of 2**-16 bit; only differences matter, so adding a
    constant changes nothing. Weights are ``exp2_weights(max(L) - L)`` (the largest is
    exactly 2**31), then frequencies exactly as ``_weights_to_frequencies``:
    ``(w * (2**24 - n)) // sum(w) + 1``, the rounding deficit added to the first
    largest weight. Integer arithmetic only: identical on every machine. Non-integer
    input, or values beyond +-2**61, raise ``ValueError``.
    """
    z = np.asarray(logits)
    n = z.shape[0] if z.ndim == 1 else 0
    if z.ndim != 1 or n < 2 or n >= TOTAL // 2:
        raise ValueError(f"need a 1-D logit vector with 2..{TOTAL // 2} entries, got shape {z.shape}")
    if z.dtype.kind not in "iu":
        raise ValueError(f"log2q logits must be integers, got {z.dtype}")
    top, bottom = int(z.max()), int(z.min())
    if top > _LOG2Q_LIMIT or bottom < -_LOG2Q_LIMIT:
        raise ValueError("log2q logits out of range (+-2**61)")
    c, i, w = _work(n)
    np.subtract(top, z, out=c, dtype=np.int64)
    np.minimum(c, _ZERO_D, out=c)
    return _frequencies_from(_exp2_into(c, i, w))


def _frequencies_from(weights: np.ndarray) -> np.ndarray:
    """``_weights_to_frequencies`` (identical results) for weights with a positive sum."""
    n = weights.shape[0]
    total_weight = int(weights.sum())
    if total_weight <= 0:
        return _weights_to_frequencies(weights)
    freqs = np.multiply(weights, TOTAL - n)
    freqs //= total_weight
    freqs += 1
    freqs[int(np.argmax(weights))] += TOTAL - int(freqs.sum())
    return freqs
