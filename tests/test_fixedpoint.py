"""models.fixedpoint and coder.quantize_log2q: exact integer primitives of ensemble-x1.

Floats appear here only to *check* the integer results against the real functions.
"""

import hashlib
import math

import numpy as np
import pytest

from lmzip.coder import TOTAL, quantize_log2q, quantize_logits
from lmzip.coder import quantize as q
from lmzip.models import fixedpoint as fp

V = 49152

# sha256 of each table as little-endian int64, and its sum: a change to any table (which
# would change every ensemble-x1 archive) fails here.
TABLE_CHECKSUMS = {
    "EXP2_HI": ("cba044330b10077895c65d12b46ae3a2173d340cb616bf1f8908de98726be3dc", 397102106376),
    "EXP2_LO": ("9339d31f24d0666e9d03e7564da17d2a505f7351cc35c3c5ff6ebe8531456737", 549015127377),
    "EXP2_FRAC": ("a921b8c0fbb969dbda28bfc40741cbdfc34e9f11b7e944b78abac2393343c1cf", 101521175128252),
    "LOG2_TABLE": ("a24215e3a1ce03ee44746332c01dc073af74e4267ec46fbd8ee99a8d7d4214c4", 9582813927),
}


def _tables():
    return {"EXP2_HI": q.EXP2_HI, "EXP2_LO": q.EXP2_LO, "EXP2_FRAC": q.EXP2_FRAC, "LOG2_TABLE": fp.LOG2_TABLE}


@pytest.mark.parametrize("name", sorted(TABLE_CHECKSUMS))
def test_table_checksums(name):
    t = _tables()[name]
    assert t.dtype == np.int64
    digest, total = TABLE_CHECKSUMS[name]
    assert hashlib.sha256(t.astype("<i8").tobytes()).hexdigest() == digest
    assert int(t.sum()) == total


def test_tables_recomputed_in_pure_python_decimal_at_higher_precision():
    """The tables are the correctly rounded values: the pure-Python decimal module at 80
    digits (a different implementation from the C one used at import) agrees."""
    import _pydecimal as D

    ctx = D.Context(prec=80, rounding=D.ROUND_HALF_EVEN)
    ln2 = ctx.ln(D.Decimal(2))

    def rnd(x):
        return int(x.to_integral_value(rounding=D.ROUND_HALF_EVEN))

    for i in range(0, 256, 5):
        hi = ctx.multiply(ctx.exp(ctx.divide(ctx.multiply(ln2, D.Decimal(-i)), D.Decimal(256))), D.Decimal(2 ** 31))
        lo = ctx.multiply(ctx.exp(ctx.divide(ctx.multiply(ln2, D.Decimal(-i)), D.Decimal(65536))), D.Decimal(2 ** 31))
        assert rnd(hi) == int(q.EXP2_HI[i]) and rnd(lo) == int(q.EXP2_LO[i])
    for i in range(0, 1025, 7):
        v = ctx.multiply(ctx.divide(ctx.ln(ctx.divide(D.Decimal(1024 + i), D.Decimal(1024))), ln2), D.Decimal(2 ** 24))
        assert rnd(v) == int(fp.LOG2_TABLE[i])


def test_exp2_frac_is_the_product_of_the_two_tables():
    f = np.arange(65536)
    expect = [(int(q.EXP2_HI[x >> 8]) * int(q.EXP2_LO[x & 255]) + (1 << 30)) >> 31 for x in f[::61]]
    assert q.EXP2_FRAC[::61].tolist() == expect
    assert int(q.EXP2_FRAC[0]) == 1 << 31 and bool(np.all(np.diff(q.EXP2_FRAC) < 0))


def test_exp2_accuracy_and_scalar_twin():
    d = np.concatenate([np.arange(0, 3 << 16, 13), np.random.default_rng(0).integers(0, 40 << 16, 20000)])
    w = fp.exp2q(-d)
    assert w.dtype == np.int64
    ref = 2.0 ** 31 * np.exp2(-d / 65536.0)
    # the table is accurate to ~1 unit of Q31; the integer shift truncates
    assert np.all(np.abs(w - ref) <= 2.0 + ref * 2.0 ** -29)
    assert int(fp.exp2q(np.array([0]))[0]) == 1 << 31
    assert int(fp.exp2q(np.array([-(32 << 16)]))[0]) == 0
    assert int(fp.exp2q(np.array([-(1 << 40)]))[0]) == 0  # huge shifts are clamped, not UB
    for x in d[::97]:
        assert fp.exp2q_int(-int(x)) == int(fp.exp2q(np.array([-x]))[0])


def test_log2q_accuracy_and_scalar_twin():
    rng = np.random.default_rng(1)
    x = np.concatenate([np.arange(1, 3000), rng.integers(1, 2 ** 62, 20000),
                        [(1 << k) for k in range(63)], [(1 << k) - 1 for k in range(1, 63)], [2 ** 63 - 1]])
    x = x.astype(np.int64)
    l = fp.log2q(x)
    assert l.dtype == np.int64
    ref = np.array([65536.0 * math.log2(int(v)) for v in x])
    assert np.abs(l - ref).max() < 0.52
    assert all(fp.log2q_int(int(v)) == int(r) for v, r in zip(x, l))
    assert fp.log2q_int(1) == 0 and fp.log2q_int(1 << 40) == 40 << 16
    with pytest.raises(ValueError):
        fp.log2q(np.array([0]))
    with pytest.raises(ValueError):
        fp.log2q_int(0)


def test_logaddexp2q_accuracy():
    rng = np.random.default_rng(2)
    a = rng.integers(-(60 << 16), 0, 20000)
    b = rng.integers(-(60 << 16), 0, 20000)
    r = fp.logaddexp2q(a, b)
    ref = 65536.0 * np.logaddexp2(a / 65536.0, b / 65536.0)
    assert np.abs(r - ref).max() < 1.6
    assert np.array_equal(r, fp.logaddexp2q(b, a))


def test_softmax_q30():
    rng = np.random.default_rng(3)
    z = rng.integers(-(20 << 16), 20 << 16, V)
    p, lse, pmax = fp.softmax_q30(z)
    assert p.dtype == np.int64 and pmax == int(p.max())
    assert (1 << 30) - V <= int(p.sum()) <= 1 << 30
    ref = z.max() + 65536.0 * math.log2(float(np.exp2((z - z.max()) / 65536.0).sum()))
    assert abs(lse - ref) < 2
    pf = np.exp2((z - z.max()) / 65536.0)
    pf /= pf.sum()
    assert np.abs(p / 2.0 ** 30 - pf).max() < 1e-6


# -- quantize_log2q ----------------------------------------------------------------------

def _logits(seed=0, n=V, scale=4.0):
    return np.rint(np.random.default_rng(seed).normal(0, scale, n) * 94548.0).astype(np.int32)


@pytest.mark.parametrize("seed", range(5))
def test_quantize_log2q_total_min_dtype(seed):
    L = _logits(seed, scale=1.0 + 3 * seed)
    f = quantize_log2q(L)
    assert f.dtype == np.int64 and f.shape == L.shape
    assert int(f.sum()) == TOTAL and int(f.min()) >= 1


def test_quantize_log2q_shift_invariant_and_dtype_independent():
    L = _logits(7)
    f = quantize_log2q(L)
    for c in (1, -1, 12345, -(1 << 30), 1 << 33):
        assert np.array_equal(f, quantize_log2q(L.astype(np.int64) + c))
    assert np.array_equal(f, quantize_log2q(L.astype(np.int64)))
    assert np.array_equal(f, quantize_log2q(L.copy()))


def test_quantize_log2q_monotone():
    L = _logits(8)
    f = quantize_log2q(L)
    order = np.argsort(L, kind="stable")
    assert np.all(np.diff(f[order][:-1]) >= 0)  # the argmax also gets the rounding deficit
    assert int(np.argmax(f)) == int(np.argmax(L))


def test_quantize_log2q_matches_float_quantizer():
    z = np.random.default_rng(9).normal(0, 3, V).astype(np.float32)
    L = np.rint(z * np.float32(1.4426950408889634 * 65536)).astype(np.int32)
    fi, ff = quantize_log2q(L), quantize_logits(z)
    assert np.abs(fi - ff).max() <= 2 + int(ff.max()) >> 16


def test_quantize_log2q_edge_cases():
    assert quantize_log2q(np.array([0, 0], dtype=np.int32)).tolist() == [TOTAL // 2, TOTAL // 2]
    f = quantize_log2q(np.array([0, -(1 << 30)], dtype=np.int32))  # certain: the other gets 1
    assert f.tolist() == [TOTAL - 1, 1]
    for bad in (np.zeros(5, dtype=np.float64), np.zeros(1, dtype=np.int32), np.zeros((2, 2), dtype=np.int32),
                np.array([0, 1 << 62], dtype=np.int64)):
        with pytest.raises(ValueError):
            quantize_log2q(bad)


def integer_logits(seed: int, n: int = V) -> np.ndarray:
    """Peaky pseudo-random int32 log2q logits from integer hashing only (the same on
    every machine and numpy version, unlike float samplers)."""
    i = np.arange(n, dtype=np.uint64)
    h = (i + np.uint64(seed)) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    u = (h >> np.uint64(40)).astype(np.int64)  # 24 random bits
    return (-(u * u >> 23)).astype(np.int32)  # 0 .. -2**25: up to 512 bits below the top


def test_quantize_log2q_pinned():
    """A fixed input gives fixed frequencies (format pin)."""
    f = quantize_log2q(integer_logits(11))
    assert int(f.sum()) == TOTAL
    assert hashlib.sha256(f.astype("<i8").tobytes()).hexdigest() == PINNED_FREQS


PINNED_FREQS = "51024e3af9a0bd88983481ef9090f122372b58822af9e3212d15d628db6a2005"
