"""The exact arithmetic of lmzip's model core ("exact-v1"): primitives and tables.

Every number that decides a probability is computed here, in ``reference.py`` and in
the compiled kernel with *the same operations in the same order*. The rule:

* integers wherever a value is a sum over many terms (dot products, norms, attention
  sums): integer sums are exact, so their order (SIMD width, threads, GPU) is free;
* float32 only element-wise, each operation an IEEE-754 binary32 op rounded to nearest
  even (``+ - * /``, ``sqrt`` in float64, ``floor``, ``rint``, conversions), never fused
  (the C kernel is compiled with ``-ffp-contract=off``) and never a library
  transcendental: ``exp2`` is a fixed polynomial defined below, and the RoPE and
  quantizer tables are built from integer / ``decimal`` arithmetic, identical on every
  machine.

This file is the definition; changing any constant or the order of any operation
changes the bits of every archive and needs a new backend name.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from functools import lru_cache

import numpy as np

F32 = np.float32
F64 = np.float64

#: Backend name recorded in the archive header for this arithmetic.
BACKEND_NAME = "exact-v1"

#: log2(e) rounded to float32.
LOG2E = F32(float.fromhex("0x1.715476p+0"))
#: Integer logits are log2-probabilities in units of 2**-16 bit ("log2q").
LOG2Q_ONE = 1 << 16
#: float32 factor from a natural-log logit to log2q: LOG2E * 65536 (exact: power of two).
LOGIT_TO_LOG2Q = F32(LOG2E * F32(65536.0))

#: 2**f on [0, 1), Horner from the highest coefficient (relative error < 1e-7).
EXP2_COEFFS = tuple(F32(float.fromhex(h)) for h in (
    "0x1.cacdf6p-13", "0x1.44bd44p-10", "0x1.3d5826p-7", "0x1.c67ee4p-5",
    "0x1.ebfdf8p-3", "0x1.62e428p-1", "0x1.000000p+0",
))
#: Below this argument exp2 is defined as 0 (keeps every result a normal float).
EXP2_MIN = F32(-125.0)

#: Activation blocks: int8 per 32 values with one float32 scale, like ggml's Q8.
QBLOCK = 32
Q8_MAX = F32(127.0)
#: Keys are cached as int16 per head vector (precise enough to be re-rotated on a slide).
K_MAX = F32(32767.0)
V_MAX = F32(127.0)
#: Softmax weights are integers in [0, 2**16].
SOFTMAX_ONE = 1 << 16
#: Attention-times-V weights are integers in [0, 2**15], relative to the largest.
AV_ONE = 1 << 15


# -- element-wise primitives (numpy float32) ------------------------------------------

def rint(x: np.ndarray) -> np.ndarray:
    """Round to nearest, ties to even (IEEE default), element-wise."""
    return np.rint(x)


def pow2_f32(n: np.ndarray) -> np.ndarray:
    """2**n as float32 for integer n in [-126, 127], built from the exponent bits."""
    return ((np.asarray(n, dtype=np.int32) + 127) << 23).astype(np.int32).view(F32)


def exp2(u: np.ndarray) -> np.ndarray:
    """2**u for float32 u <= 0: ``n = floor(u)``, ``f = u - n``, a fixed polynomial in f
    (Horner, multiply then add, each rounded), times ``2**n``; 0 below ``EXP2_MIN``."""
    u = np.asarray(u, dtype=F32)
    small = u < EXP2_MIN
    u = np.where(small, F32(0.0), u)
    n = np.floor(u)
    f = u - n  # exact for |u| < 2**23
    p = np.full_like(f, EXP2_COEFFS[0])
    for c in EXP2_COEFFS[1:]:
        p = p * f
        p = p + c
    out = p * pow2_f32(n.astype(np.int32))
    return np.where(small, F32(0.0), out)


def silu(g: np.ndarray) -> np.ndarray:
    """g * sigmoid(g) with one exp2 of a non-positive argument:
    ``e = exp2(-|g| * LOG2E)``; g >= 0: ``g / (1 + e)``; g < 0: ``(g * e) / (1 + e)``."""
    g = np.asarray(g, dtype=F32)
    e = exp2(-np.abs(g) * LOG2E)
    den = F32(1.0) + e
    num = np.where(g >= 0, g, g * e)
    return num / den


def quantize_blocks(x: np.ndarray, qmax: np.float32 = Q8_MAX) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-32 block quantization of the last axis.

    ``s = max|x| / qmax`` per block; ``q = clip(rint(x / s), -qmax, qmax)`` (0 where s == 0).
    x: [..., K] float32 -> q: [..., K] int32, s: [..., K/32] float32
    """
    shape = x.shape
    xb = np.asarray(x, dtype=F32).reshape(*shape[:-1], shape[-1] // QBLOCK, QBLOCK)
    s = np.abs(xb).max(axis=-1) / qmax
    return _quantize_with(xb, s, qmax).reshape(shape), s


def quantize_vector(x: np.ndarray, qmax: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """One scale per vector (last axis): x: [..., D] -> q: [..., D] int32, s: [...] float32."""
    x = np.asarray(x, dtype=F32)
    s = np.abs(x).max(axis=-1) / qmax
    return _quantize_with(x, s, qmax), s


def _quantize_with(x: np.ndarray, s: np.ndarray, qmax: np.float32) -> np.ndarray:
    safe = np.where(s > 0, s, F32(1.0))[..., None]
    q = np.clip(rint(x / safe), -qmax, qmax)
    q = np.where((s > 0)[..., None], q, F32(0.0))
    return q.astype(np.int32)


def rms_scale(x: np.ndarray, eps: np.float32) -> np.ndarray:
    """1/sqrt(mean(x**2) + eps) per row, from an exact integer sum of squares.

    ``e`` with ``2**(e-1) <= max|x| < 2**e``; ``X = rint(x * 2**(24-e))`` (float64, exact
    scaling) as int64 (|X| <= 2**24); ``ss = sum X**2`` (exact); then in float64
    ``v = (ss / n) * 2**(2(e-24)) + eps`` and ``r = float32(1 / sqrt(v))``. A zero row
    gives ``r = float32(1 / sqrt(eps))``.
    x: [..., n] float32 -> r: [...] float32
    """
    x = np.asarray(x, dtype=F32)
    n = x.shape[-1]
    a = np.abs(x).max(axis=-1)
    _, e = np.frexp(a)
    e = e.astype(np.int64)
    up = np.ldexp(F64(1.0), (24 - e))[..., None]
    xi = np.rint(x.astype(F64) * up).astype(np.int64)
    ss = (xi * xi).sum(axis=-1)
    v = (ss.astype(F64) / F64(n)) * np.ldexp(F64(1.0), 2 * (e - 24)) + F64(eps)
    v = np.where(a > 0, v, F64(eps))
    return (F64(1.0) / np.sqrt(v)).astype(F32)


def rmsnorm(x: np.ndarray, weight: np.ndarray, eps: np.float32) -> np.ndarray:
    """``(x * r) * weight`` element-wise with ``r = rms_scale(x)``. [..., n] -> [..., n]"""
    r = rms_scale(x, eps)
    return (np.asarray(x, dtype=F32) * r[..., None]) * weight


def to_f32(n: np.ndarray) -> np.ndarray:
    """An integer (|n| < 2**53) to float32: via float64 (exact), then one rounding."""
    return np.asarray(n).astype(F64).astype(F32)


def logits_to_log2q(y: np.ndarray) -> np.ndarray:
    """float32 logits -> int32 log2q: ``rint(y * LOGIT_TO_LOG2Q)``, clamped to +-2**30."""
    z = rint(np.asarray(y, dtype=F32) * LOGIT_TO_LOG2Q)
    return np.clip(z, F32(-(2 ** 30)), F32(2 ** 30)).astype(np.int32)


# -- tables -----------------------------------------------------------------------------

_ROT_BITS = 100


def _decimal_cos_sin(theta: Decimal) -> tuple[Decimal, Decimal]:
    """Taylor series, |theta| <= 1; the context precision decides the accuracy."""
    c = s = Decimal(0)
    term = Decimal(1)
    k = 0
    while True:
        if k % 4 == 0:
            c += term
        elif k % 4 == 1:
            s += term
        elif k % 4 == 2:
            c -= term
        else:
            s -= term
        k += 1
        term = term * theta / k
        if abs(term) < Decimal(10) ** -45:
            return c, s


@lru_cache(maxsize=8)
def rope_tables(n_pos: int, head_dim: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of ``p * theta_i`` for p < n_pos, i < head_dim/2, as float32 [n_pos, head_dim/2].

    ``theta_i = base**(-2i/head_dim)`` in 60-digit decimal arithmetic, cos/sin of theta_i
    by Taylor series, then ``p * theta_i`` by repeated rotation in 100-bit fixed point with
    floor shifts (exact integer arithmetic), then rounded to float64 and to float32.
    Identical on every machine: no libm.
    """
    half = head_dim // 2
    one = 1 << _ROT_BITS
    step_c, step_s = [], []
    with localcontext() as ctx:
        ctx.prec = 60
        b = Decimal(repr(float(base)))
        for i in range(half):
            theta = b ** (Decimal(-2 * i) / Decimal(head_dim))
            c, s = _decimal_cos_sin(theta)
            step_c.append(int((c * one).to_integral_value()))
            step_s.append(int((s * one).to_integral_value()))
    cos = np.empty((n_pos, half), dtype=F64)
    sin = np.empty((n_pos, half), dtype=F64)
    cur_c, cur_s = [one] * half, [0] * half
    scale = float(one)
    for p in range(n_pos):
        cos[p] = [c / scale for c in cur_c]  # int / float: correctly rounded float64
        sin[p] = [s / scale for s in cur_s]
        cur_c, cur_s = (
            [(c * sc - s * ss) >> _ROT_BITS for c, s, sc, ss in zip(cur_c, cur_s, step_c, step_s)],
            [(c * ss + s * sc) >> _ROT_BITS for c, s, sc, ss in zip(cur_c, cur_s, step_c, step_s)],
        )
    cos32, sin32 = cos.astype(F32), sin.astype(F32)
    cos32.setflags(write=False)
    sin32.setflags(write=False)
    return cos32, sin32


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs (ggml's "normal" RoPE): for pair (a, b) and angle (c, s):
    ``a' = a*c - b*s``, ``b' = a*s + b*c``.  x: [..., D], cos/sin: broadcastable to [..., D/2]"""
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = (a * cos) - (b * sin)
    out[..., 1::2] = (a * sin) + (b * cos)
    return out


def unrope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """The inverse rotation used when the window slides: ``a' = a*c + b*s``, ``b' = b*c - a*s``."""
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = (a * cos) + (b * sin)
    out[..., 1::2] = (b * cos) - (a * sin)
    return out
