"""models.xlanes (the compiled "ensemble-x1" over lanes): bit-identical to
``XEnsemblePredictor`` per lane (shared=False) and to ``models/xlanes_ref.py``
(shared=True), on both compiled paths, with lanes stepping in ragged subsets."""

import copy
import zlib

import numpy as np
import pytest

from lmzip.coder import RangeDecoder, RangeEncoder, quantize_log2q
from lmzip.coder.quantize import exp2_weights
from lmzip.models import _xlanes
from lmzip.models.fixedpoint import log2q_int, logaddexp2q
from lmzip.models.xensemble import XEnsemblePredictor
from lmzip.models.xlanes import LaneEnsemble
from lmzip.models.xlanes_ref import RefLaneEnsemble

PATHS = ["scalar"] + (["avx2"] if _xlanes.have_avx2() else [])

# -- explicit params (never the package defaults, which get retuned) -------------------------

BIAS = {"lr": 968166, "limit": 756388, "lr_boost": 5808996, "lr_half": 8000, "fast_lr": 0, "fast_shift": 0}
MIXER = {"lr": 363, "lr_shift": 20, "conf_edges": [19661, 39322, 58982], "w_min": -262144, "w_max": 524288,
         "lr_boost": 5816, "lr_half": 2000, "ctx2": None}
MATCH = {"min_len": 4, "max_len": 64, "slots_log2": 20, "length_buckets": [0, 1, 2, 4, 8, 16, 32]}
BASE = {
    "kind": "ensemble-x1",
    "counts": {"slots_log2": 18, "max_candidates": 24},
    "bias": BIAS,
    "ngram": None,
    "ppm": {"max_order": 6, "escape": "C"},
    "match": None,
    "mixer": MIXER,
    "min_escape": 107374,
    "logp_floor": -(64 << 16),
}


def variant(base: dict, **changes) -> dict:
    """``base`` with keys replaced (None, a value) or, for dicts, updated."""
    p = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(p.get(key), dict):
            p[key].update(copy.deepcopy(value))
        else:
            p[key] = copy.deepcopy(value)
    return p


def params(**changes) -> dict:
    return variant(BASE, **changes)


ALL = params(ngram={"orders": [2, 3, 4]}, match=MATCH,
             bias={"lr_boost": 2000000, "lr_half": 100, "fast_lr": 900000, "fast_shift": 6},
             mixer={"lr_boost": 3000, "lr_half": 100})
TINY = {"slots_log2": 3, "max_candidates": 2}  # collisions and evictions all the time

CONFIGS = {
    "bias+ppm+mixer": BASE,
    "no schedule": params(bias={"lr_boost": 0, "lr_half": 0}, mixer={"lr": 727, "lr_boost": 0, "lr_half": 0}),
    "all": ALL,
    "all, tiny tables": variant(ALL, counts=TINY, match={"slots_log2": 3, "max_len": 6}),
    "none": params(bias=None, ppm=None),
    "bias only, clipped": params(ppm=None, bias={"limit": 3000}),
    "ppm D only": params(bias=None, ppm={"max_order": 3, "escape": "D"}, counts=TINY),
    "ngram only": params(bias=None, ppm=None, ngram={"orders": [3, 1, 3]}, counts={"max_candidates": 3}),
    "match only": params(bias=None, ppm=None, match={**MATCH, "min_len": 2, "length_buckets": [3, 0, 9, 1]}),
    "ctx2 order C": variant(ALL, mixer={"ctx2": "ppm_order"}),
    "ctx2 agree D": variant(ALL, ppm={"max_order": 5, "escape": "D"}, mixer={"ctx2": "ppm_agree"}),
    "ctx2 escape D": variant(ALL, ppm={"max_order": 4, "escape": "D"}, mixer={"ctx2": "ppm_escape"}, counts=TINY),
    "odd ranges": params(ngram={"orders": [1]}, min_escape=1 << 29, logp_floor=-(1 << 16),
                         mixer={"conf_edges": [65536, 0], "w_min": 0, "w_max": 70000, "lr": 1 << 24,
                                "lr_shift": 1, "lr_boost": 1 << 24, "lr_half": 1},
                         bias={"limit": 1 << 22, "lr": 1 << 24, "lr_boost": 1 << 24, "lr_half": 1 << 30}),
    "escape >= 1": params(min_escape=1 << 30, match=MATCH, ngram={"orders": [2]}),
    "no edges": params(mixer={"conf_edges": []}, match=MATCH),
}

# -- inputs ---------------------------------------------------------------------------------


def hashed_row(n: int, key: int) -> np.ndarray:
    h = (np.arange(n, dtype=np.uint64) + np.uint64(key * 1000003 + 7)) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return h


def logits_row(rng: np.random.Generator, V: int, prev: int, kind: str, recent: list[int] = ()) -> np.ndarray:
    if kind == "llm":  # depends on the previous token, so the online models can learn
        u = (hashed_row(V, prev + 1) >> np.uint64(44)).astype(np.int64)
        return (-(u * u >> 17)).astype(np.int32)
    if kind == "random":
        return rng.integers(-(1 << 26), 1 << 26, V).astype(np.int32)
    if kind == "peaked":
        row = rng.integers(-(1 << 20), 1, V)
        row[rng.integers(0, V, 2)] += 1 << 24
        return row.astype(np.int32)
    if kind == "ties":
        row = rng.choice(np.array([0, 0, -65536, -(40 << 16)]), V)
        if rng.random() < 0.3:
            row[:] = 0
        return row.astype(np.int32)
    if kind == "tied recent":  # equal maxima on recent tokens: first-maximum rules matter
        row = np.full(V, -(3 << 16), dtype=np.int64)
        row[list(recent[-6:]) or [0]] = 5 << 16
        return row.astype(np.int32)
    if kind == "window":  # for test_wide_mixer_outputs: z2 about 2**32 below its top
        row = rng.integers(-(1 << 25), -(1 << 24) - (1 << 23), V)
        row[: V // 3] = rng.integers(-12832640, -12732640, V // 3)
        row[V // 3: 2 * V // 3] = rng.integers(-4040000, -3940000, V // 3)
        row[rng.integers(0, V, 2)] = 0
        return row.astype(np.int32)
    if kind == "low":  # everything near the bottom of int32
        return rng.integers(-(1 << 31), -(1 << 31) + (1 << 21), V).astype(np.int32)
    if kind == "extreme":
        row = rng.integers(-(1 << 31), 1 << 31, V, dtype=np.int64)
        row[rng.integers(0, V, 3)] = (1 << 31) - 1
        row[rng.integers(0, V, 3)] = -(1 << 31)
        return row.astype(np.int32)
    raise ValueError(kind)


KINDS = ["llm"] * 6 + ["random", "peaked", "ties", "tied recent", "low", "extreme"]


def token_stream(rng: np.random.Generator, n: int, V: int) -> list[int]:
    """Repeated phrases and noise, so PPM, n-grams and the match model have work."""
    phrases = [rng.integers(0, V, int(rng.integers(3, 12))).tolist() for _ in range(4)]
    out: list[int] = []
    while len(out) < n:
        if rng.random() < 0.6:
            out.extend(phrases[int(rng.integers(0, 4))])
        else:
            out.extend(rng.integers(0, V, int(rng.integers(1, 6))).tolist())
    return out[:n]


class GivenLogits:
    def reset(self):
        return None

    def feed(self, token):
        raise AssertionError("not fed")


def py_predict(pred: XEnsemblePredictor, row: np.ndarray) -> np.ndarray:
    """XEnsemblePredictor.predict with the given LLM logits for this step."""
    pred._pending, pred._logits = None, row
    return pred.predict()


def single(p: dict, V: int) -> XEnsemblePredictor:
    pred = XEnsemblePredictor(GivenLogits(), V, copy.deepcopy(p))
    pred.reset()
    return pred


# -- the harness ------------------------------------------------------------------------------


def run_lanes(p: dict, V: int, n_lanes: int, shared: bool, steps: int, seed: int, path: str = "auto",
              kinds=KINDS, check_state: bool = True) -> LaneEnsemble:
    """Drive LaneEnsemble and its reference with the same ragged schedule; compare every
    output row and, at the end, every lane's state."""
    rng = np.random.default_rng(seed)
    ens = LaneEnsemble(copy.deepcopy(p), V, n_lanes, shared, path=path)
    ens.reset()
    if shared:
        ref = RefLaneEnsemble(copy.deepcopy(p), V, n_lanes, True)
    else:
        preds = [single(p, V) for _ in range(n_lanes)]
    streams = [token_stream(rng, steps + 2, V) for _ in range(n_lanes)]
    pos = [0] * n_lanes
    ens.widest = 0  # the widest output row seen
    ens.wraps = 0  # entries 2**32 .. 2**32 + 2**21 below their row's top
    for step in range(steps):
        k = int(rng.integers(1, n_lanes + 1))
        lanes = rng.permutation(n_lanes)[:k].astype(np.int32)
        logits = np.stack([logits_row(rng, V, streams[l][pos[l] - 1] if pos[l] else -1,
                                      kinds[0] if len(kinds) == 1 else str(rng.choice(kinds)),
                                      streams[l][max(0, pos[l] - 30):pos[l]]) for l in lanes])
        z = ens.predict(lanes, logits)
        if shared:
            want = ref.predict(lanes, logits)
        else:
            want = np.empty_like(z)
            for j, lane in enumerate(lanes):
                want[j] = py_predict(preds[lane], logits[j])
        ens.widest = max(ens.widest, int((z.max(axis=1) - z.min(axis=1)).max()))
        d = z.max(axis=1, keepdims=True) - z
        ens.wraps += int(((d >= 1 << 32) & (d < (1 << 32) + (1 << 21))).sum())
        if not np.array_equal(z, want):
            j = int(np.flatnonzero((z != want).any(axis=1))[0])
            bad = np.flatnonzero(z[j] != want[j])
            raise AssertionError(f"step {step}, lane {lanes[j]}: {bad.size} entries differ, first at {bad[0]}: "
                                 f"{z[j, bad[0]]} != {want[j, bad[0]]}")
        # most predicted lanes are updated (in another order); some are not (their next
        # predict replaces the pending one); now and then a lane is updated unpredicted
        upd = [int(l) for l in lanes if rng.random() < 0.85]
        if rng.random() < 0.15:
            upd.append(int(rng.integers(0, n_lanes)))
            upd = list(dict.fromkeys(upd))
        rng.shuffle(upd)
        tokens = [streams[l][pos[l]] for l in upd]
        for l in upd:
            pos[l] += 1
        ens.update(upd, tokens)
        if shared:
            ref.update(upd, tokens)
        else:
            for l, t in zip(upd, tokens):
                preds[l].update(t)
    if check_state:
        for lane in range(n_lanes):
            s = ens.state(lane)
            pred = ref.core if shared else preds[lane]
            history = ref.lanes[lane].history if shared else pred.history
            match = ref.lanes[lane].match if shared else pred.match
            assert s["history"] == history
            assert s["n_updates"] == pred.n_updates
            assert list(s["weights"]) == [w for row in pred.weights for w in row]
            if pred.ctx2 is not None:
                assert list(s["weights2"]) == [w for row in pred.weights2 for w in row]
            if pred.bias is not None:
                assert np.array_equal(s["bias"], pred.bias)
            if getattr(pred, "fast", None) is not None:
                assert np.array_equal(s["fast"], pred.fast)
            if pred.counts is not None:
                assert s["contexts"] == sum(len(t) for t in pred.counts.tables.values())
                assert s["candidates"] == sum(len(c) for t in pred.counts.tables.values() for _, c in t.values())
            if match is not None:
                assert (s["match_ptr"], s["match_len"], s["match_predicted"]) == (match.ptr, match.length,
                                                                                  match.predicted)
                assert list(s["hits"]) == match.hits and list(s["trials"]) == match.trials
                assert s["positions"] == len(match.positions)
    return ens


# -- primitives -------------------------------------------------------------------------------


def test_exp2_matches_the_quantizer_everywhere():
    """exp2w of every d up to past 32 bits, scalar and through both vector passes."""
    d = np.concatenate([np.arange((32 << 16) + 70000, dtype=np.int64),
                        (1 << 32) - 1 - np.arange(100, dtype=np.int64)])
    want = exp2_weights(d)
    for kind in (0, 3, 4) if _xlanes.have_avx2() else (0,):
        out = np.empty_like(d)
        _xlanes.primitives(kind, d, d, out)
        assert np.array_equal(out, want), kind


def test_log2q_and_logaddexp2q_match_fixedpoint():
    rng = np.random.default_rng(5)
    xs = [1, 2, 3, (1 << 30) - 1, 1 << 30, (1 << 31) - 1, 1 << 31, (1 << 31) + 1, (1 << 62), (1 << 63) - 1]
    xs += [(1 << k) + o for k in range(63) for o in (-1, 0, 1) if 1 <= (1 << k) + o < (1 << 63)]
    xs += rng.integers(1, 1 << 63, 20000, dtype=np.int64).tolist()
    xs += (rng.integers(1, 1 << 20, 20000, dtype=np.int64) << rng.integers(0, 40, 20000)).tolist()
    x = np.array(xs, dtype=np.int64)
    out = np.empty_like(x)
    _xlanes.primitives(1, x, x, out)
    assert out.tolist() == [log2q_int(int(v)) for v in x]
    a = rng.integers(-(1 << 26), 1 << 26, 50000, dtype=np.int64)
    b = a + rng.integers(-(40 << 16), 40 << 16, 50000, dtype=np.int64)
    b[:100] = a[:100]
    out = np.empty_like(a)
    _xlanes.primitives(2, a, b, out)
    assert np.array_equal(out, logaddexp2q(a, b))


# -- shared=False: each lane is an XEnsemblePredictor ---------------------------------------------


@pytest.mark.parametrize("name", list(CONFIGS))
def test_independent_lanes_equal_the_python_predictor(name):
    run_lanes(CONFIGS[name], V=61, n_lanes=5, shared=False, steps=160, seed=zlib.crc32(name.encode()))


@pytest.mark.parametrize("path", PATHS)
def test_paths_agree_with_python_on_a_wider_vocabulary(path):
    run_lanes(ALL, V=1003, n_lanes=3, shared=False, steps=120, seed=11, path=path)
    for V in (5, 8, 9):  # shorter than one vector, exactly one, one and a tail
        run_lanes(ALL, V=V, n_lanes=2, shared=False, steps=40, seed=V, path=path)
    run_lanes(CONFIGS["ctx2 agree D"], V=1003, n_lanes=3, shared=True, steps=120, seed=12, path=path)


@pytest.mark.parametrize("path", PATHS)
def test_negative_weights_lower_the_top_token(path):
    """PPM is always wrong and the LLM's top token is PPM's candidate: the PPM weight goes
    negative and its correction lowers the top of z2, so the maximum must be found anew."""
    V = 512
    p = params(bias=None, mixer={"lr": 1 << 16, "lr_boost": 0, "lr_half": 0})
    ens = LaneEnsemble(copy.deepcopy(p), V, 1, False, path=path)
    ens.reset()
    pred = single(p, V)
    follower = {}  # token -> the token that followed it last
    prev, fresh, rescans = 0, 1, 0
    for step in range(400):
        row = np.zeros(V, dtype=np.int32)  # not confident: another weight set
        if prev == 0:  # confident, on the token PPM puts first (and wrongly)
            row -= 8 << 16
            row[follower.get(0, 0)] = 0
        z = ens.predict([0], row[None])[0]
        assert np.array_equal(z, py_predict(pred, row)), step
        rescans += prev == 0 and int(z[follower.get(0, 0)]) < int(z.max())  # the top went down
        token = fresh if prev == 0 else 0  # 0 x 0 y 0 z ...: 0 is never followed by its old follower
        if prev == 0:
            fresh = fresh % (V - 1) + 1
        follower[prev] = token
        ens.update([0], [token])
        pred.update(token)
        prev = token
    assert min(w[1] for w in pred.weights) < 0 and rescans > 10


@pytest.mark.parametrize("path", PATHS)
def test_ppm_agree_takes_the_first_maximum(path):
    """ctx2 "ppm_agree" compares PPM's top token with the first maximum of p1: tied LLM
    maxima at 2, 5 and 9 never agree with PPM's 5 or 9 (the last maximum would)."""
    V = 32
    p = variant(CONFIGS["ctx2 agree D"], bias=None)  # a bias would break the ties
    ens = LaneEnsemble(copy.deepcopy(p), V, 1, False, path=path)
    ens.reset()
    pred = single(p, V)
    rng = np.random.default_rng(14)
    prev = 9
    for step in range(300):
        row = np.full(V, -(4 << 16), dtype=np.int32)
        if step % 3:
            row[[2, 5, 9]] = 0
        else:
            row[14 - prev] = 0  # a single maximum on PPM's choice: agree
        z = ens.predict([0], row[None])[0]
        assert np.array_equal(z, py_predict(pred, row)), step
        token = 14 - prev if rng.random() < 0.9 else int(rng.integers(0, V))
        ens.update([0], [token])
        pred.update(token)
        prev = token if token in (5, 9) else 9
    assert any(pred.weights2[2 * k] != pred.weights2[2 * k + 1] for k in range(len(pred.weights2) // 2))


@pytest.mark.parametrize("path", PATHS)
def test_wide_mixer_outputs(path):
    """Mixer weights at their limits on many inputs and a deep logp floor: z2 spans more
    than 32 bits (the vector path's 32-bit shortcut must step aside)."""
    p = params(bias=None, ppm=None, ngram={"orders": list(range(1, 21))}, logp_floor=-(1 << 24),
               mixer={"lr": 1 << 24, "lr_shift": 1, "lr_boost": 0, "lr_half": 0, "w_min": -(1 << 20),
                      "w_max": 1 << 20, "conf_edges": []})
    ens = run_lanes(p, V=300, n_lanes=2, shared=False, steps=150, seed=15, path=path,
                    kinds=["window", "window", "peaked", "extreme", "llm"])
    assert ens.widest >= 1 << 32 and ens.wraps > 0  # where z2 mod 2**32 would mislead


def test_one_lane_full_vocabulary():
    run_lanes(ALL, V=49152, n_lanes=1, shared=False, steps=16, seed=3, kinds=["llm"])


def test_sixty_four_lanes():
    run_lanes(CONFIGS["all, tiny tables"], V=40, n_lanes=64, shared=False, steps=30, seed=4)
    run_lanes(CONFIGS["all, tiny tables"], V=40, n_lanes=64, shared=True, steps=30, seed=5)


def test_long_stream_one_lane():
    """Many tokens in one lane: schedules decay, tables fill, evict and collide."""
    run_lanes(CONFIGS["ctx2 escape D"], V=23, n_lanes=1, shared=False, steps=900, seed=6)


# -- shared=True: the Python twin ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONFIGS))
def test_shared_lanes_equal_the_python_twin(name):
    run_lanes(CONFIGS[name], V=61, n_lanes=5, shared=True, steps=160, seed=zlib.crc32(name.encode()) + 1)


@pytest.mark.parametrize("name", ["all", "ctx2 agree D"])
def test_shared_twin_with_one_lane_is_the_single_predictor(name):
    """The twin's definition reduces to XEnsemblePredictor for one lane."""
    rng = np.random.default_rng(8)
    V = 50
    ref = RefLaneEnsemble(copy.deepcopy(CONFIGS[name]), V, 1, True)
    pred = single(CONFIGS[name], V)
    ens = LaneEnsemble(copy.deepcopy(CONFIGS[name]), V, 1, True)
    ens.reset()
    prev = -1
    for t in token_stream(rng, 200, V):
        row = logits_row(rng, V, prev, "llm")
        want = py_predict(pred, row)
        assert np.array_equal(ref.predict([0], row[None])[0], want)
        assert np.array_equal(ens.predict([0], row[None])[0], want)
        pred.update(t)
        ref.update([0], [t])
        ens.update([0], [t])
        prev = t


def test_repeated_lanes_in_one_call():
    """A lane listed twice: predict gives the same row twice; update counts the second
    token without a mixer step (no pending prediction left), in both modes."""
    V = 30
    for shared in (False, True):
        p = CONFIGS["all"]
        ens = LaneEnsemble(copy.deepcopy(p), V, 3, shared)
        ens.reset()
        ref = RefLaneEnsemble(copy.deepcopy(p), V, 3, shared)
        rng = np.random.default_rng(9)
        for _ in range(40):
            lanes = [0, 2, 0, 1]
            logits = np.stack([logits_row(rng, V, -1, "random") for _ in lanes])
            z = ens.predict(lanes, logits)
            assert np.array_equal(z, ref.predict(lanes, logits))
            upd, toks = [2, 0, 0, 1, 2], rng.integers(0, V, 5).tolist()
            ens.update(upd, toks)
            ref.update(upd, toks)
        assert ens.state(0)["history"] == (ref.lanes[0].history if shared else ref.preds[0].history)


def test_shared_lanes_learn_from_each_other():
    """Shared: one lane's tokens reach another lane's PPM; independent: they do not."""
    V = 40
    phrase = [3, 17, 5, 29, 11, 8]
    outs = {}
    for shared in (False, True):
        ens = LaneEnsemble(copy.deepcopy(BASE), V, 2, shared)
        ens.reset()
        flat = np.zeros((1, V), dtype=np.int32)
        for _ in range(10):
            for t in phrase:
                ens.predict([0], flat)
                ens.update([0], [t])
        for t in phrase[:3]:
            ens.predict([1], flat)
            ens.update([1], [t])
        outs[shared] = ens.predict([1], flat)[0]
    assert int(np.argmax(outs[True])) == phrase[3]
    assert outs[True][phrase[3]] - np.delete(outs[True], phrase[3]).max() > \
        outs[False][phrase[3]] - np.delete(outs[False], phrase[3]).max()


# -- coding, reset, bounds ---------------------------------------------------------------------


@pytest.mark.parametrize("shared", [False, True])
def test_round_trip_through_the_range_coder(shared):
    V, n_lanes = 97, 4
    rng = np.random.default_rng(10)
    data = [token_stream(rng, n, V) for n in (0, 5, 80, 131)]

    def logits(lane, prev):
        return logits_row(rng, V, prev + 1000 * lane, "llm")

    enc = LaneEnsemble(copy.deepcopy(ALL), V, n_lanes, shared)
    enc.reset()
    coders = [RangeEncoder() for _ in range(n_lanes)]
    prev = [-1] * n_lanes
    for step in range(max(map(len, data))):
        lanes = [l for l in range(n_lanes) if step < len(data[l])]
        z = enc.predict(lanes, np.stack([logits(l, prev[l]) for l in lanes]))
        for j, l in enumerate(lanes):
            coders[l].encode(data[l][step], quantize_log2q(z[j]))
        enc.update(lanes, [data[l][step] for l in lanes])
        prev = [data[l][step] if l in lanes else prev[l] for l in range(n_lanes)]
    payloads = [c.finish() for c in coders]

    dec = LaneEnsemble(copy.deepcopy(ALL), V, n_lanes, shared)
    dec.reset()
    decoders = [RangeDecoder(p) for p in payloads]
    out: list[list[int]] = [[] for _ in range(n_lanes)]
    prev = [-1] * n_lanes
    for step in range(max(map(len, data))):
        lanes = [l for l in range(n_lanes) if step < len(data[l])]
        z = dec.predict(lanes, np.stack([logits(l, prev[l]) for l in lanes]))
        toks = [decoders[l].decode(quantize_log2q(z[j])) for j, l in enumerate(lanes)]
        dec.update(lanes, toks)
        for l, t in zip(lanes, toks):
            out[l].append(t)
            prev[l] = t
    assert out == data


def test_reset_and_reset_lane():
    V = 50
    rng = np.random.default_rng(12)
    rows = [np.stack([logits_row(rng, V, i, "llm") for _ in range(3)]) for i in range(60)]
    toks = [rng.integers(0, V, 3).tolist() for _ in range(60)]

    def run(ens):
        outs = []
        for r, t in zip(rows, toks):
            outs.append(ens.predict([0, 1, 2], r))
            ens.update([0, 1, 2], t)
        return outs

    for shared in (False, True):
        ens = LaneEnsemble(copy.deepcopy(ALL), V, 3, shared)
        ens.reset()
        first = run(ens)
        ens.reset()
        assert all(np.array_equal(a, b) for a, b in zip(first, run(ens)))
    # reset_lane on independent lanes: that lane starts afresh, the others go on
    ens = LaneEnsemble(copy.deepcopy(ALL), V, 2, False)
    ens.reset()
    fresh = LaneEnsemble(copy.deepcopy(ALL), V, 1, False)
    fresh.reset()
    for r, t in zip(rows[:20], toks):
        ens.predict([0, 1], r[:2])
        ens.update([0, 1], t[:2])
    ens.reset_lane(1)
    for r, t in zip(rows[20:], toks[20:]):
        assert np.array_equal(ens.predict([1], r[1:2]), fresh.predict([0], r[1:2]))
        ens.update([1], t[1:2])
        fresh.update([0], t[1:2])
    assert ens.state(1)["history"] == fresh.state(0)["history"]
    assert len(ens.state(0)["history"]) == 20
    # shared: reset_lane clears the lane's history, not the shared tables
    ens = LaneEnsemble(copy.deepcopy(ALL), V, 2, True)
    ens.reset()
    for r, t in zip(rows[:20], toks):
        ens.predict([0, 1], r[:2])
        ens.update([0, 1], t[:2])
    before = ens.state(1)
    ens.reset_lane(1)
    after = ens.state(1)
    assert after["history"] == [] and after["n_updates"] == before["n_updates"] == 40
    assert after["contexts"] == before["contexts"] and np.array_equal(after["bias"], before["bias"])


def test_bounded_memory():
    V = 64
    p = variant(ALL, counts={"slots_log2": 4, "max_candidates": 3}, match={"slots_log2": 5})
    ens = LaneEnsemble(p, V, 2, True)
    ens.reset()
    rng = np.random.default_rng(13)
    flat = np.zeros((2, V), dtype=np.int32)
    for _ in range(3000):
        ens.predict([0, 1], flat)
        ens.update([0, 1], rng.integers(0, V, 2))
    contexts, candidates = ens.table_sizes(0)
    assert contexts <= 1 << 4 and candidates <= 3
    assert ens.state(0)["positions"] <= 1 << 5 and ens.state(1)["positions"] <= 1 << 5
    # the full vocabulary with 64 lanes: logp1, p1 and the bias per lane, no dense tables
    big = LaneEnsemble(copy.deepcopy(BASE), 49152, 64, False)
    assert big.memory_bytes() < 64 << 20
    assert LaneEnsemble(copy.deepcopy(BASE), 49152, 64, True).memory_bytes() < 32 << 20


# -- refusals and argument checks ------------------------------------------------------------


@pytest.mark.parametrize("change", [
    {"counts": {"slots_log2": 18, "max_candidates": 5000}},
    {"counts": {"slots_log2": 18, "max_candidates": 0}},
    {"counts": {"slots_log2": -1, "max_candidates": 24}},
    {"ngram": {"orders": [0, 2]}},
    {"ngram": {"orders": [65]}},
    {"ppm": {"max_order": 65, "escape": "C"}},
    {"ppm": {"max_order": 0, "escape": "C"}},
    {"match": {**MATCH, "min_len": 0}},
    {"match": {**MATCH, "length_buckets": []}},
    {"mixer": {**MIXER, "conf_edges": list(range(70))}},
])
def test_unsupported_params_are_refused(change):
    with pytest.raises(ValueError, match="not supported by the compiled ensemble"):
        LaneEnsemble(params(**change), 50, 2, False)


def test_bad_params_raise_like_the_python_predictor():
    for p, err in [({**BASE, "kind": "ensemble-v1"}, ValueError),
                   (params(ppm={"max_order": 3, "escape": "X"}), ValueError),
                   (params(mixer={"ctx2": "nonsense"}), ValueError),
                   (params(ppm=None, mixer={"ctx2": "ppm_order"}), ValueError),
                   (params(min_escape=0), ValueError),
                   (params(bias={"fast_lr": 5, "fast_shift": 0}), ValueError),
                   ({k: v for k, v in BASE.items() if k != "mixer"}, KeyError)]:
        with pytest.raises(err):
            XEnsemblePredictor(GivenLogits(), 50, copy.deepcopy(p))
        with pytest.raises(err):
            LaneEnsemble(copy.deepcopy(p), 50, 2, False)


def test_argument_checks():
    ens = LaneEnsemble(copy.deepcopy(BASE), 20, 3, False)
    ens.reset()
    ok = np.zeros((2, 20), dtype=np.int32)
    with pytest.raises(IndexError):
        ens.predict([0, 3], ok)
    with pytest.raises(IndexError):
        ens.update([-1], [0])
    with pytest.raises(ValueError):
        ens.update([0], [20])
    with pytest.raises(ValueError):
        ens.predict([0, 1], ok[:1])
    with pytest.raises(ValueError):
        ens.predict([0, 1], ok.astype(np.float32))
    with pytest.raises(ValueError):
        ens.predict([0, 1], ok.astype(np.int64) + (1 << 40))
    with pytest.raises(ValueError):
        ens.predict([0, 1], ok, out=np.empty((2, 20), dtype=np.int32))
    out = np.empty((2, 20), dtype=np.int64)
    assert ens.predict(np.array([1, 2], dtype=np.int64), ok.astype(np.int16), out=out) is out
    with pytest.raises(ValueError):
        LaneEnsemble(copy.deepcopy(BASE), 20, 3, False, path="sse9")
