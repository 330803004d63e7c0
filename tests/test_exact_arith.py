"""The exact arithmetic's primitives and tables (models/exact/arith.py).

The hashes pin the definition: they were computed once and must never change, on any
machine (a change means archives made with ``exact-v1`` no longer decode)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from lmzip.models.exact import arith

F32 = np.float32


def _sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_rope_table_is_pinned_and_accurate():
    cos, sin = arith.rope_tables(4096, 64, 100000.0)
    assert _sha(cos, sin) == ROPE_SHA
    p = np.arange(4096)[:, None]
    theta = 100000.0 ** (-2 * np.arange(32) / 64)
    assert np.abs(cos - np.cos(p * theta)).max() < 1e-7
    assert np.abs(sin - np.sin(p * theta)).max() < 1e-7


def test_exp2_is_pinned_and_accurate():
    u = -(np.arange(0, 1 << 20, dtype=np.int64)).astype(F32) / F32(4096)
    e = arith.exp2(u)
    assert e.dtype == F32
    assert _sha(e) == EXP2_SHA
    exact = np.exp2(u.astype(np.float64))
    ok = u >= arith.EXP2_MIN
    assert np.max(np.abs(e[ok] / exact[ok] - 1)) < 2e-7
    assert (e[~ok] == 0).all()
    assert arith.exp2(np.array([0.0], dtype=F32))[0] == 1.0
    assert (np.diff(e[ok]) <= 0).all()  # monotone on a fine grid


def test_silu_is_pinned_and_accurate():
    g = np.arange(-(1 << 19), 1 << 19).astype(F32) / F32(8192)
    y = arith.silu(g)
    assert _sha(y) == SILU_SHA
    ref = g.astype(np.float64) / (1 + np.exp(-g.astype(np.float64)))
    assert np.max(np.abs(y - ref)) < 2e-6


def test_quantize_blocks_zero_and_extremes():
    x = np.zeros((2, 64), dtype=F32)
    x[0, :32] = np.linspace(-3, 5, 32)
    x[1, 40] = F32(3e38)
    x[1, 41] = F32(1e-40)  # denormal next to a huge value
    q, s = arith.quantize_blocks(x)
    assert q.dtype == np.int32 and s.shape == (2, 2)
    assert q[0, :32].max() == 127 and s[0, 1] == 0 and (q[0, 32:] == 0).all()
    assert q[1, 40] == 127 and q[1, 41] == 0
    assert np.abs(q).max() <= 127


def test_rms_scale_matches_float64_and_handles_zero():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((50, 576)) * rng.uniform(1e-3, 1e3, (50, 1))).astype(F32)
    r = arith.rms_scale(x, F32(1e-5))
    ref = 1 / np.sqrt((x.astype(np.float64) ** 2).mean(-1) + 1e-5)
    assert np.max(np.abs(r / ref - 1)) < 1e-6
    zero = arith.rms_scale(np.zeros((1, 576), dtype=F32), F32(1e-5))
    assert zero[0] == F32(1 / math.sqrt(F32(1e-5)))


def test_rms_scale_ignores_summation_order():
    """The sum of squares is an integer sum: permuting the row cannot change a bit."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 576)).astype(F32) * F32(37.5)
    perm = rng.permutation(576)
    assert np.array_equal(arith.rms_scale(x, F32(1e-5)), arith.rms_scale(x[:, perm], F32(1e-5)))


def test_rope_then_unrope_is_close():
    cos, sin = arith.rope_tables(64, 64, 100000.0)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 64)).astype(F32)
    y = arith.unrope(arith.rope(x, cos[17], sin[17]), cos[17], sin[17])
    assert np.abs(y - x).max() < 1e-5


def test_logits_to_log2q():
    y = np.array([0.0, 1.0, -1.0, 1e30, -1e30], dtype=F32)
    L = arith.logits_to_log2q(y)
    assert L.dtype == np.int32
    assert L[0] == 0 and L[1] == 94548 and L[2] == -94548
    assert L[3] == 2 ** 30 and L[4] == -(2 ** 30)


@pytest.mark.parametrize("n", [0, 1, 2 ** 24 - 1, 2 ** 24 + 1, 2 ** 40 + 12345])
def test_to_f32_rounds_once(n):
    assert arith.to_f32(np.array([n], dtype=np.int64))[0] == F32(float(n))


ROPE_SHA = "eed28ea0981bef3c202bfc3d5a0910b974a778f0a378ddbc2a51ac7a22264cda"
EXP2_SHA = "da4962f34a31ebbaba854eff76124114de8c1fa59f53372235d8002b8ce23b91"
SILU_SHA = "4e8faacffc34a4e472c0586e49d0a56c2c4a31f607a954e61946c572817e64ef"
