"""coder.lanes: the compiled multi-lane range coder is constriction's, bit for bit.

The oracles are coder/range.py (constriction's queue RangeEncoder / RangeDecoder with
exact integer frequencies) and coder/quantize.py::quantize_log2q. Every test compares the
lane coder with them: the same bytes, the same decoded symbols, the same failures.
"""

import threading

import constriction
import numpy as np
import pytest

from lmzip.coder.lanes import (
    LaneDecoder,
    LaneEncoder,
    _c,
    quantize_log2q_rows,
    quantizer_paths,
)
from lmzip.coder.quantize import EXP2_FRAC, TOTAL, quantize_log2q, quantize_probabilities
from lmzip.coder.range import RangeDecoder, RangeEncoder

LIMIT = 1 << 61
ZERO_D = 32 << 16


@pytest.fixture(params=quantizer_paths())
def path(request):
    before = _c.path()
    _c.set_path(request.param)
    yield request.param
    _c.set_path(before)


# -- helpers ------------------------------------------------------------------------------


def _ref_decode(data: bytes, tables) -> tuple[list[int], bool]:
    """constriction (through coder/range.py): the symbols decoded before a failure, and
    whether one happened."""
    out = []
    try:
        dec = RangeDecoder(data)
        for t in tables:
            out.append(dec.decode(t))
    except ValueError:
        return out, True
    return out, False


def _lane_decode(data: bytes, tables, log2q=False) -> tuple[list[int], bool]:
    out = []
    try:
        dec = LaneDecoder([data])
        for t in tables:
            step = dec.decode_log2q if log2q else dec.decode
            out.append(int(step([0], t[None])[0]))
    except ValueError:
        return out, True
    return out, False


def _skewed(rng, v: int) -> np.ndarray:
    """A random frequency table, from flat to very peaked."""
    kind = rng.integers(6)
    if kind == 0:  # one symbol holds nearly all the mass
        f = np.ones(v, dtype=np.int64)
        f[rng.integers(v)] += TOTAL - v
        return f
    if kind == 1 and v <= 1 << 16:  # near-uniform
        f = np.full(v, TOTAL // v, dtype=np.int64)
        f[: TOTAL - int(f.sum())] += 1
        return f
    return quantize_probabilities(rng.random(v) ** float(rng.choice([1, 4, 16, 64])))


def _symbol(rng, f: np.ndarray) -> int:
    """Mostly likely symbols, often the least likely ones (they stress carries and renorms)."""
    if rng.random() < 0.35:
        return int(rng.choice(np.flatnonzero(f == f.min())))
    return int(rng.choice(f.shape[0], p=f / f.sum()))


def _everything(enc: LaneEncoder) -> list:
    return [(enc.finish(l), enc._c.state(l)) for l in range(enc.n_lanes)]


def _dec_states(dec: LaneDecoder) -> list:
    return [dec._c.state(l) for l in range(dec.n_lanes)]


# -- the quantizer ------------------------------------------------------------------------


def test_exp2_table_property():
    """The C code takes 'first max of z' as 'first max weight': weight 2**31 only at d == 0."""
    assert int(EXP2_FRAC[0]) == 1 << 31
    assert int(EXP2_FRAC[1:].max()) < 1 << 31 and int(EXP2_FRAC.min()) > 0


@pytest.mark.parametrize("v", [2, 3, 7, 8, 9, 63, 64, 65, 127, 1000, 4099, 49152])
def test_quantize_rows_random(path, v):
    rng = np.random.default_rng(v)
    for scale in (1, 300, 65536, 6 * 65536, 40 * 65536):
        z = np.round(rng.standard_normal((4, v)) * scale).astype(np.int64) + int(rng.integers(-1 << 40, 1 << 40))
        z32 = np.clip(z - z.max(axis=1, keepdims=True) + (1 << 30), -(1 << 31), (1 << 31) - 1).astype(np.int32)
        for arr in (z, z32):
            got = quantize_log2q_rows(arr)
            got32 = quantize_log2q_rows(arr, dtype=np.uint32)
            assert got.dtype == np.int64 and got32.dtype == np.uint32
            for r in range(arr.shape[0]):
                want = quantize_log2q(arr[r])
                np.testing.assert_array_equal(got[r], want)
                np.testing.assert_array_equal(got32[r].astype(np.int64), want)


def test_quantize_rows_ties_and_exact_divisions(path):
    """Ties at the maximum (the deficit goes to the first), and rows where w * F / T is an
    integer (every power-of-two V with equal logits), where a reciprocal that is off by one
    would show."""
    rng = np.random.default_rng(1)
    rows = []
    for k in range(1, 17):
        rows.append(np.zeros(1 << k, dtype=np.int64))  # w F / T = F / V exactly
        rows.append(np.full(1 << k, 12345, dtype=np.int64))
    for v in (2, 3, 5, 64, 65, 1000, 49152):
        for _ in range(6):
            levels = rng.integers(-3 * 65536, 1, size=int(rng.integers(1, 4)))
            z = rng.choice(np.append(levels, 0), size=v).astype(np.int64)
            rows.append(z)
        z = np.zeros(v, dtype=np.int64)
        z[-1] = 1  # the max at the end
        rows.append(z)
        z = np.full(v, -(1 << 20), dtype=np.int64)
        z[[0, v - 1]] = 0  # two maxima, first and last
        rows.append(z)
        z = np.full(v, -1, dtype=np.int64)
        z[v // 2 :] = 0  # half at the max: the first max is in the middle
        rows.append(z)
    for z in rows:
        want = quantize_log2q(z)
        np.testing.assert_array_equal(quantize_log2q_rows(z[None])[0], want)
        if np.all(np.abs(z) < 1 << 30):
            np.testing.assert_array_equal(quantize_log2q_rows(z[None].astype(np.int32))[0], want)


def test_quantize_rows_extremes(path):
    """Huge spreads, the +-2**61 bounds, and d at the table and zero-weight boundaries."""
    edges = [0, 1, 255, 256, 65535, 65536, 65537, ZERO_D - 1, ZERO_D, ZERO_D + 1, 1 << 40, 2 * LIMIT]
    rows = [
        np.array([LIMIT, -LIMIT], dtype=np.int64),
        np.array([-LIMIT, LIMIT, -LIMIT, LIMIT], dtype=np.int64),
        np.array([-LIMIT, -LIMIT + 1], dtype=np.int64),
        np.array([LIMIT - d for d in edges], dtype=np.int64),
        np.array([-LIMIT + 2 * LIMIT - d for d in edges][::-1], dtype=np.int64),
        np.full(100, -LIMIT, dtype=np.int64),
    ]
    rng = np.random.default_rng(2)
    for _ in range(20):
        z = rng.integers(-LIMIT, LIMIT + 1, size=int(rng.integers(2, 300)), dtype=np.int64)
        z[rng.integers(z.shape[0])] = LIMIT if rng.random() < 0.5 else z.max()
        rows.append(z)
        # a cluster near the top, the rest far away
        z = rng.integers(-LIMIT, LIMIT, size=500, dtype=np.int64)
        z[:50] = z.max() - rng.integers(0, 2 * ZERO_D, size=50)
        rows.append(z)
    for z in rows:
        np.testing.assert_array_equal(quantize_log2q_rows(z[None])[0], quantize_log2q(z))
    # int32 extremes
    z = np.array([[2**31 - 1, -(2**31), 0, -1, 2**31 - 2, -(2**31) + 1]], dtype=np.int32)
    np.testing.assert_array_equal(quantize_log2q_rows(z)[0], quantize_log2q(z[0]))


def test_quantize_rows_dtypes(path):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 100, size=(3, 50))
    for dt in (np.int8, np.int16, np.uint8, np.uint16, np.uint32, np.uint64, np.int32, ">i4", ">i8", "<u4"):
        z = base.astype(dt)
        got = quantize_log2q_rows(z)
        for r in range(3):
            np.testing.assert_array_equal(got[r], quantize_log2q(z[r]))
    # non-contiguous input
    z = rng.integers(-(10**6), 10**6, size=(4, 200)).astype(np.int32)[:, ::2]
    got = quantize_log2q_rows(z)
    for r in range(4):
        np.testing.assert_array_equal(got[r], quantize_log2q(z[r]))
    assert quantize_log2q_rows(np.zeros((0, 5), dtype=np.int32)).shape == (0, 5)


@pytest.mark.parametrize(
    "bad",
    [
        np.array([[LIMIT + 1, 0]], dtype=np.int64),
        np.array([[0, -LIMIT - 1]], dtype=np.int64),
        np.array([[0, 1], [0, LIMIT + 1]], dtype=np.int64),
        np.array([[LIMIT + 1, 0]], dtype=np.uint64),
        np.array([[0.0, 1.0]]),
        np.array([[True, False]]),
        np.zeros((2, 1), dtype=np.int32),
    ],
)
def test_quantize_rows_rejects_rows_quantize_log2q_rejects(path, bad):
    with pytest.raises(ValueError):
        quantize_log2q_rows(bad)
    with pytest.raises(ValueError):  # and the oracle rejects one of the rows
        for row in bad:
            quantize_log2q(row)


@pytest.mark.parametrize("shape", [(5,), (1, 2, 3), ()])
def test_quantize_rows_needs_a_matrix(shape):
    with pytest.raises(ValueError):
        quantize_log2q_rows(np.zeros(shape, dtype=np.int32))
    with pytest.raises(ValueError):
        quantize_log2q_rows(np.zeros((2, 4), dtype=np.int32), dtype=np.int32)


def test_quantize_rows_alphabet_limit():
    with pytest.raises(ValueError):
        quantize_log2q_rows(np.zeros((1, TOTAL // 2), dtype=np.int8))
    with pytest.raises(ValueError):
        quantize_log2q(np.zeros(TOTAL // 2, dtype=np.int8))


# -- the coder against constriction --------------------------------------------------------


def test_interleaved_lanes_match_constriction_step_by_step():
    """Random subsets of lanes in random order per step, random alphabets per step; after
    every step each stepped lane's (lower, range) equals constriction's and its finished
    stream equals RangeEncoder.finish(); then both decoders read all streams."""
    rng = np.random.default_rng(4)
    n_lanes, steps = 7, 160
    enc = LaneEncoder(n_lanes)
    refs = [RangeEncoder() for _ in range(n_lanes)]
    tables = [[] for _ in range(n_lanes)]
    symbols = [[] for _ in range(n_lanes)]
    inverted_seals = 0
    for _ in range(steps):
        lanes = rng.permutation(n_lanes)[: rng.integers(0, n_lanes + 1)]
        v = int(rng.choice([2, 3, 5, 17, 256, 1000]))
        freqs = np.stack([_skewed(rng, v) for _ in lanes]) if len(lanes) else np.zeros((0, v), np.int64)
        syms = np.array([_symbol(rng, f) for f in freqs], dtype=np.int32)
        dtype = rng.choice([np.int64, np.int32, np.uint32, np.uint64])
        enc.encode(lanes.astype(np.int32), freqs.astype(dtype), syms)
        for lane, f, s in zip(lanes, freqs, syms):
            refs[lane].encode(int(s), f)
            tables[lane].append(f)
            symbols[lane].append(int(s))
            lower, rng_, n_inv, *_ = enc._c.state(int(lane))
            assert refs[lane]._encoder.pos()[1] == (lower, rng_)
            inverted_seals += n_inv > 0
            assert enc.finish(int(lane)) == refs[lane].finish()
    assert inverted_seals > 0  # the carry path ran (long chains: test_long_carry_chains)
    streams = [enc.finish(l) for l in range(n_lanes)]
    for l in range(n_lanes):
        assert enc.symbols(l) == len(symbols[l])
        assert _ref_decode(streams[l], tables[l]) == (symbols[l], False)
    # ours decodes (constriction's == our) streams, lanes interleaved in random order
    dec = LaneDecoder(streams)
    pos = [0] * n_lanes
    while any(p < len(symbols[l]) for l, p in enumerate(pos)):
        live = [l for l in rng.permutation(n_lanes) if pos[l] < len(symbols[l]) and rng.random() < 0.7]
        # one call needs one alphabet size: group by V
        by_v = {}
        for l in live:
            by_v.setdefault(tables[l][pos[l]].shape[0], []).append(l)
        for group in by_v.values():
            out = dec.decode(group, np.stack([tables[l][pos[l]] for l in group]))
            for l, s in zip(group, out):
                assert s == symbols[l][pos[l]]
                pos[l] += 1
    for l in range(n_lanes):
        assert dec.symbols(l) == len(symbols[l])
        assert dec.words_past_end(l) <= (1 if streams[l] else 2)


def test_long_carry_chains():
    """Steer encoders into long runs of undecided words (EncoderSituation::Inverted with
    many words): while the interval wraps past 2**64, code the symbol whose sub-interval
    still straddles it. Streams, states and seals (in either carry direction) must match
    constriction at every step."""
    rng = np.random.default_rng(14)
    v = 4096
    tables = []
    for big in (0, v - 1, v // 2):
        f = np.ones(v, dtype=np.int64)
        f[big] = TOTAL - v + 1
        tables.append(f)
    tables.append(quantize_probabilities(rng.random(v) ** 32))
    cdfs = [np.concatenate([[0], np.cumsum(t)]) for t in tables]
    deepest, seals = 0, set()
    for lane_seed in range(6):
        enc, ref = LaneEncoder(1), RangeEncoder()
        coded = []
        for _ in range(300):
            k = int(rng.integers(len(tables)))
            f, cdf = tables[k], cdfs[k]
            lower, range_, n_inv, *_ = enc._c.state(0)
            if lower + range_ >= 1 << 64 and rng.random() < 0.97:
                # the symbol owning quantile (2**64 - lower - 1) // scale straddles 2**64
                q = ((1 << 64) - lower - 1) // (range_ >> 24)
                s = int(np.searchsorted(cdf, q, side="right")) - 1
            else:
                s = _symbol(rng, f)
            enc.encode([0], f[None], [s])
            ref.encode(s, f)
            coded.append((f, s))
            lower, range_, n_inv, *_ = enc._c.state(0)
            assert ref._encoder.pos()[1] == (lower, range_)
            deepest = max(deepest, n_inv)
            if n_inv > 1:
                seals.add(lower + (1 << 32) - 1 >= 1 << 64)  # which way the seal resolves
            assert enc.finish(0) == ref.finish()
        data = enc.finish(0)
        want = ([c for _, c in coded], False)
        assert _lane_decode(data, [f for f, _ in coded]) == want == _ref_decode(data, [f for f, _ in coded])
    assert deepest >= 4 and seals == {True, False}


@pytest.mark.parametrize("v", [2, 3, 49152])
def test_extreme_tables(v):
    rng = np.random.default_rng(v)
    peaked = np.ones(v, dtype=np.int64)
    peaked[0] = TOTAL - v + 1
    peaked_last = peaked[::-1].copy()
    ones_but_one = np.ones(v, dtype=np.int64)
    ones_but_one[v // 2] = TOTAL - v + 1
    flat = np.full(v, TOTAL // v, dtype=np.int64)
    flat[: TOTAL - int(flat.sum())] += 1
    kinds = [peaked, peaked_last, ones_but_one, flat]
    n = 300 if v < 100 else 40
    enc = LaneEncoder(3)
    refs = [RangeEncoder() for _ in range(3)]
    seqs = [[] for _ in range(3)]
    for i in range(n):
        lanes = np.array([0, 1, 2])
        fs = np.stack([kinds[(i + l) % 4] if l < 2 else kinds[int(rng.integers(4))] for l in lanes])
        # lane 0: always the rarest symbol; lane 1: always the likeliest; lane 2: mixed
        syms = np.array([int(np.argmin(fs[0])), int(np.argmax(fs[1])), _symbol(rng, fs[2])])
        enc.encode(lanes, fs, syms)
        for l in lanes:
            refs[l].encode(int(syms[l]), fs[l])
            seqs[l].append((fs[l], int(syms[l])))
    for l in range(3):
        data = enc.finish(l)
        assert data == refs[l].finish()
        tables = [f for f, _ in seqs[l]]
        want = [s for _, s in seqs[l]]
        assert _lane_decode(data, tables) == (want, False)
        assert _ref_decode(data, tables) == (want, False)


def test_largest_alphabet():
    """V = 2**24 - 2 is the largest alphabet constriction takes; 2**24 - 1 fails in both."""
    v = TOTAL - 2
    f = np.ones((1, v), dtype=np.int32)
    f[0, [0, v - 1]] = 2
    enc, ref = LaneEncoder(1), RangeEncoder()
    for s in (v - 1, 1, 0):
        enc.encode([0], f, [s])
        ref.encode(s, f[0])
    data = ref.finish()
    assert enc.finish(0) == data
    assert list(LaneDecoder([data]).decode([0], f)) == [v - 1]
    del ref
    g = np.ones((1, TOTAL - 1), dtype=np.int32)
    g[0, 0] = 2
    with pytest.raises(ValueError):
        LaneEncoder(1).encode([0], g, [0])
    with pytest.raises(ValueError):
        RangeEncoder().encode(0, g[0])


def test_empty_and_single_symbol_streams():
    rng = np.random.default_rng(5)
    enc = LaneEncoder(3)
    assert enc.finish(0) == RangeEncoder().finish() == b""
    enc.encode([], np.zeros((0, 4), np.int64), [])  # an empty step changes nothing
    assert enc.finish(0) == b""
    for v in (2, 300):
        f = _skewed(rng, v)
        for s in (0, v - 1, int(np.argmin(f))):
            e = LaneEncoder(1)
            e.encode([0], f[None], [s])
            r = RangeEncoder()
            r.encode(s, f)
            assert e.finish(0) == r.finish()
            d = LaneDecoder([e.finish(0)])
            assert d.decode([0], f[None])[0] == s
            assert d.words_past_end(0) <= 1
    # decoding an empty stream reads zeros, as constriction does
    tables = [_skewed(rng, 50) for _ in range(10)]
    got = _lane_decode(b"", tables)
    assert got == _ref_decode(b"", tables)
    d = LaneDecoder([b""])
    assert d.words_past_end(0) == 2
    # a one-word stream
    tables = [_skewed(rng, 7) for _ in range(6)]
    assert _lane_decode(b"\x01\x02\x03\x04", tables) == _ref_decode(b"\x01\x02\x03\x04", tables)


def test_decoding_constriction_streams_made_directly():
    """Streams made by constriction's own API (not through our helper)."""
    rng = np.random.default_rng(6)
    streams, tables, syms = [], [], []
    for _ in range(4):
        enc = constriction.stream.queue.RangeEncoder()
        ts = [_skewed(rng, int(rng.choice([2, 30, 4000]))) for _ in range(60)]
        ss = [_symbol(rng, t) for t in ts]
        for s, t in zip(ss, ts):
            enc.encode(s, constriction.stream.model.Categorical((t - 1).astype(np.float64), perfect=False))
        streams.append(enc.get_compressed().astype("<u4").tobytes())
        tables.append(ts)
        syms.append(ss)
    for data, ts, ss in zip(streams, tables, syms):
        assert _lane_decode(data, ts) == (ss, False)


@pytest.mark.parametrize("zdtype", [np.int32, np.int64])
def test_log2q_fused_matches_quantize_then_constriction(path, zdtype):
    rng = np.random.default_rng(7)
    n_lanes = 5
    for v, steps in ((2, 60), (3, 60), (1000, 40), (49152, 4)):
        enc = LaneEncoder(n_lanes)
        refs = [RangeEncoder() for _ in range(n_lanes)]
        logs = [[] for _ in range(n_lanes)]
        for _ in range(steps):
            lanes = rng.permutation(n_lanes)[: rng.integers(1, n_lanes + 1)]
            scale = float(rng.choice([10, 65536, 10 * 65536]))
            z = np.round(rng.standard_normal((len(lanes), v)) * scale).astype(zdtype)
            freqs = [quantize_log2q(row) for row in z]
            syms = np.array([_symbol(rng, f) for f in freqs])
            enc.encode_log2q(lanes, z, syms)
            for l, row, f, s in zip(lanes, z, freqs, syms):
                refs[l].encode(int(s), f)
                logs[l].append((row, f, int(s)))
        for l in range(n_lanes):
            data = enc.finish(l)
            assert data == refs[l].finish()
            want = [s for _, _, s in logs[l]]
            assert _lane_decode(data, [row for row, _, _ in logs[l]], log2q=True) == (want, False)
            assert _ref_decode(data, [f for _, f, _ in logs[l]]) == (want, False)


def test_log2q_batch_decode_all_lanes_at_once(path):
    rng = np.random.default_rng(8)
    b, v, steps = 16, 700, 12
    zs = [np.round(rng.standard_normal((b, v)) * 5 * 65536).astype(np.int32) for _ in range(steps)]
    syms = [rng.integers(0, v, b) for _ in range(steps)]
    enc = LaneEncoder(b)
    for z, s in zip(zs, syms):
        enc.encode_log2q(np.arange(b), z, s)
    dec = LaneDecoder([enc.finish(l) for l in range(b)])
    order = rng.permutation(b)
    for z, s in zip(zs, syms):
        np.testing.assert_array_equal(dec.decode_log2q(order, z[order]), s[order])


# -- argument checking and all-or-nothing calls --------------------------------------------


def _filled_encoder(rng, n=4, v=10):
    enc = LaneEncoder(n)
    for _ in range(5):
        enc.encode(np.arange(n), np.stack([_skewed(rng, v) for _ in range(n)]), rng.integers(0, v, n))
    return enc


def test_encoder_rejects_bad_arguments_and_changes_nothing():
    rng = np.random.default_rng(9)
    enc = _filled_encoder(rng)
    before = _everything(enc)
    good = np.stack([_skewed(rng, 10) for _ in range(3)])
    bad_sum = good.copy()
    bad_sum[2, 0] += 1
    bad_zero = good.copy()
    bad_zero[1, 3] -= bad_zero[1, 3]
    bad_zero[1, 4] += good[1, 3]
    bad_neg = good.copy()
    bad_neg[2, 0] = -1
    bad_neg[2, 1] += good[2, 0] + 1
    cases = [
        ([0, 1, 4], good, [0, 0, 0]),  # lane out of range
        ([0, -1, 2], good, [0, 0, 0]),
        ([0, 1, 1], good, [0, 0, 0]),  # duplicate lane
        ([0, 1, 2], good, [0, 10, 0]),  # symbol out of range
        ([0, 1, 2], good, [0, -1, 0]),
        ([0, 1], good, [0, 0]),  # row count
        ([0, 1, 2], good, [0, 0]),
        ([0, 1, 2], good[:, :1], [0, 0, 0]),  # V = 1
        ([0, 1, 2], good[0], [0, 0, 0]),  # 1-D
        ([0, 1, 2], good.astype(np.float64), [0, 0, 0]),
        ([0.0, 1.0, 2.0], good, [0, 0, 0]),
        ([0, 1, 2], good, [0.0, 0.0, 0.0]),
        ([0, 1, 2], bad_sum, [0, 0, 0]),  # sums to 2**24 + 1 (last row: lanes 0, 1 coded first)
        ([0, 1, 2], bad_zero, [0, 0, 0]),
        ([0, 1, 2], bad_neg, [0, 0, 0]),
        ([0, 1, 2], np.full((3, 10), 1 << 40), [0, 0, 0]),
    ]
    for lanes, freqs, syms in cases:
        with pytest.raises(ValueError):
            enc.encode(lanes, freqs, syms)
        assert _everything(enc) == before
    z = rng.integers(-1000, 1000, size=(3, 10)).astype(np.int64)
    z[2, 5] = LIMIT + 1
    with pytest.raises(ValueError):
        enc.encode_log2q([0, 1, 2], z, [0, 0, 0])
    assert _everything(enc) == before
    for lane in (4, -1):
        with pytest.raises(ValueError):
            enc.finish(lane)
    with pytest.raises(ValueError):
        LaneEncoder(-1)


def test_decoder_rejects_bad_arguments_and_changes_nothing():
    rng = np.random.default_rng(10)
    enc = _filled_encoder(rng, n=3, v=10)
    streams = [enc.finish(l) for l in range(3)]
    for bad in (streams[0][:-1], streams[0] + b"\x00", b"\x00\x00\x00"):
        with pytest.raises(ValueError):
            LaneDecoder([streams[1], bad])
        with pytest.raises(ValueError):
            RangeDecoder(bad)
    with pytest.raises(ValueError):
        LaneDecoder([streams[0], 12])
    dec = LaneDecoder(streams)
    dec.decode([0, 1, 2], np.stack([_skewed(rng, 10) for _ in range(3)]))
    before = _dec_states(dec)
    good = np.stack([_skewed(rng, 10) for _ in range(3)])
    bad_sum = good.copy()
    bad_sum[2, 0] += 1
    for lanes, freqs in [([0, 1, 3], good), ([0, 0, 1], good), ([0, 1, 2], bad_sum), ([0, 1], good)]:
        with pytest.raises(ValueError):
            dec.decode(lanes, freqs)
        assert _dec_states(dec) == before
    z = rng.integers(-1000, 1000, size=(3, 10)).astype(np.int64)
    z[2, 0] = -LIMIT - 1
    with pytest.raises(ValueError):
        dec.decode_log2q([0, 1, 2], z)
    assert _dec_states(dec) == before
    # an undecodable point in the last lane: no lane advances
    bad = LaneDecoder([streams[0], b"\xff" * 8])
    st = _dec_states(bad)
    with pytest.raises(ValueError):
        bad.decode([0, 1], good[:2])
    assert _dec_states(bad) == st
    with pytest.raises(ValueError):
        RangeDecoder(b"\xff" * 8).decode(good[1])


# -- corrupt and truncated streams: the same symbols and failures as constriction ----------


def _mutate(rng, data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.integers(10)
    if kind >= 8:  # every word from some point on all ones: the point climbs to the top of
        # the interval, into the sliver [scale * 2**24, range) that no symbol owns
        i = 4 * int(rng.integers(min(2, len(b) // 4), len(b) // 4 + 1))
        b = b[:i] + b"\xff" * max(8, len(b) - i)
    elif kind == 0 and b:  # flip bits
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(len(b) * 8))
            b[i // 8] ^= 1 << (i % 8)
    elif kind == 1 and b:  # replace a word
        i = int(rng.integers(len(b) // 4))
        b[4 * i : 4 * i + 4] = rng.bytes(4)
    elif kind == 2:  # truncate (to a whole number of words)
        b = b[: 4 * int(rng.integers(0, len(b) // 4 + 1))]
    elif kind == 3:  # append words
        b += rng.bytes(4 * int(rng.integers(1, 4)))
    elif kind == 4 and b:  # saturate a word: points near the top of the range
        i = int(rng.integers(len(b) // 4))
        b[4 * i : 4 * i + 4] = b"\xff\xff\xff\xff"
    elif kind == 5:  # random garbage
        b = bytearray(rng.bytes(4 * int(rng.integers(0, 12))))
    elif kind == 6:  # a length that is not a multiple of 4
        b = b[: max(0, len(b) - int(rng.integers(1, 4)))] if b else bytearray(b"\x00")
    else:  # ones in the tail
        b = b[:-4] + b"\xff\xff\xff\xff" if b else bytearray(b"\xff" * 8)
    return bytes(b)


def test_fuzz_corrupt_streams_decode_exactly_like_constriction():
    rng = np.random.default_rng(11)
    bases = []
    for i in range(12):
        v = int(rng.choice([2, 3, 6, 40, 300]))
        tables = [_skewed(rng, v) for _ in range(int(rng.integers(5, 40)))]
        enc = RangeEncoder()
        for t in tables:
            enc.encode(_symbol(rng, t), t)
        bases.append((enc.finish(), tables))
    failures = mid_stream = truncations = 0
    for _ in range(3000):
        data, tables = bases[int(rng.integers(len(bases)))]
        bad = _mutate(rng, data)
        # decode beyond the encoded symbols too (past the end, words read as zeros)
        tables = tables + [tables[int(k)] for k in rng.integers(0, len(tables), int(rng.integers(0, 20)))]
        want = _ref_decode(bad, tables)
        got = _lane_decode(bad, tables)
        assert got == want, (bad, data)
        failures += want[1]
        mid_stream += want[1] and len(bad) % 4 == 0  # a point no symbol owns
        truncations += len(bad) < len(data)
    # mid-stream failures are rare by nature: the points no symbol owns are the top
    # (range mod 2**24) of the interval, at most ~1/256 of it (see the next test)
    assert failures > 100 and mid_stream > 10 and truncations > 100


def test_points_no_symbol_owns_fail_mid_stream():
    """Points in the sliver [scale * 2**24, range) that no symbol owns, reached at step k:
    V = 2 tables whose symbol 0 (left = 0) shrinks the range without a renormalization, so
    the point stays the first two words while the range narrows down onto it. Both decoders
    fail at step k; one below the sliver, both decode k + 1 symbols."""
    rng = np.random.default_rng(15)
    hits = 0
    for _ in range(300):
        ranges, probs = [(1 << 64) - 1], []
        while True:
            p = int(rng.integers(2, 1 << 20))
            nxt = (ranges[-1] >> 24) * p
            if nxt < 1 << 32:
                break
            probs.append(p)
            ranges.append(nxt)
        k = int(rng.integers(1, len(ranges))) if len(ranges) > 1 else 0
        scale = ranges[k] >> 24
        if ranges[k] - scale * TOTAL == 0:
            continue
        tables = [np.array([p, TOTAL - p]) for p in probs[:k]] + [np.array([1 << 23, 1 << 23])]
        bad = int(rng.integers(scale * TOTAL, ranges[k]))
        good = scale * TOTAL - 1 - int(rng.integers(0, min(scale * TOTAL, 1 << 20)))
        for point, fails in ((bad, True), (good, False)):
            data = np.array([point >> 32, point & 0xFFFFFFFF], dtype="<u4").tobytes()
            data += rng.bytes(4 * int(rng.integers(0, 3)))
            want = _ref_decode(data, tables)
            assert _lane_decode(data, tables) == want
            assert want[1] == fails and want[0][:k] == [0] * k and len(want[0]) == k + (not fails)
            hits += fails
    assert hits > 100


def test_fuzz_corrupt_streams_log2q(path):
    rng = np.random.default_rng(12)
    v = 50
    zs = [np.round(rng.standard_normal(v) * float(rng.choice([3, 40, 65536 * 8]))).astype(np.int32) for _ in range(30)]
    freqs = [quantize_log2q(z) for z in zs]
    enc = RangeEncoder()
    for f in freqs:
        enc.encode(_symbol(rng, f), f)
    data = enc.finish()
    failures = 0
    for _ in range(400):
        bad = _mutate(rng, data)
        want = _ref_decode(bad, freqs)
        assert _lane_decode(bad, zs, log2q=True) == want
        failures += want[1]
    assert failures > 20
    # a first point no symbol owns (2**64 - 1 >= (2**40 - 1) * 2**24)
    assert _lane_decode(b"\xff" * 8, zs, log2q=True) == _ref_decode(b"\xff" * 8, freqs) == ([], True)


# -- threads ---------------------------------------------------------------------------------


def test_threads_code_independent_coders_concurrently():
    """The GIL is released in the loops: two threads with their own coders give the same
    streams as one thread."""
    rng = np.random.default_rng(13)
    b, v = 8, 4096
    zs = [np.round(rng.standard_normal((b, v)) * 3 * 65536).astype(np.int32) for _ in range(6)]
    ss = [rng.integers(0, v, b) for _ in range(6)]

    def run(out, i):
        enc = LaneEncoder(b)
        for z, s in zip(zs, ss):
            enc.encode_log2q(np.arange(b), z, s)
        out[i] = [enc.finish(l) for l in range(b)]

    out = [None, None, None]
    run(out, 2)
    threads = [threading.Thread(target=run, args=(out, i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out[0] == out[1] == out[2]


def test_raw_binding_checks_buffers():
    """The compiled entry points check what coder/lanes.py normally guarantees."""
    i64 = np.zeros(1, dtype=np.int64)
    table = np.full((1, 4), TOTAL // 4, dtype=np.int64)
    enc = _c.Encoder(2)
    enc.encode(i64, table, i64, 4, 1, False)  # well formed
    misaligned = np.frombuffer(bytearray(17), dtype=np.uint8)[1:].view(np.int64)
    for args in [
        (i64, table, i64, 5, 1, False),  # table size != B * V
        (i64, table, i64, 4, 0, False),  # kind: int32 view of an int64 table
        (i64, table, i64, 4, 7, False),  # unknown kind
        (i64, table, i64, 4, 2, True),  # log2q needs int32 / int64
        (i64, table, np.zeros(2, np.int64), 4, 1, False),
        (np.zeros(1, np.int32), table, i64, 4, 1, False),
        (misaligned, table, i64, 4, 1, False),
        (i64, table, i64, 1, 1, False),
        (i64, table, i64, TOTAL, 1, False),
    ]:
        with pytest.raises(ValueError):
            enc.encode(*args)
    dec = _c.Decoder([b""])
    with pytest.raises(ValueError):
        dec.decode(i64, table, bytes(4), 4, 1, False)  # read-only out
    with pytest.raises(ValueError):
        dec.decode(i64, table, np.zeros(1, np.int64), 4, 1, False)  # out of the wrong size
    with pytest.raises(ValueError):
        _c.quantize_rows(np.zeros((2, 4), np.int32), np.zeros((2, 3), np.int64), 4, 0, True)
    with pytest.raises(ValueError):
        _c.quantize_rows(np.zeros((2, 4), np.int32), np.zeros((2, 4), np.uint32), 4, 0, True)
    other = np.array(EXP2_FRAC, dtype=np.int64)
    other[5] -= 1
    with pytest.raises(ValueError):
        _c.set_exp2(other)
    _c.set_exp2(np.ascontiguousarray(EXP2_FRAC, dtype=np.int64))  # the same table again: fine
    with pytest.raises(ValueError):
        _c.set_path("avx512")
