"""models.xensemble ("ensemble-x1"): integer-only state, encoder/decoder symmetry through
the real range coder, bounded memory, learning, and a pinned payload."""

import copy
import hashlib

import numpy as np
import pytest

from lmzip.coder import TOTAL, RangeDecoder, RangeEncoder, quantize_log2q
from lmzip.models.xensemble import (
    COMPONENTS,
    MATCH_DEFAULT,
    NGRAM_DEFAULT,
    XENSEMBLE_KIND,
    XEnsemblePredictor,
    xensemble_params,
)

V = 300


def hashed(n: int, seed: int) -> np.ndarray:
    """Integer-only pseudo-random uint64 (identical on every machine and numpy)."""
    h = (np.arange(n, dtype=np.uint64) + np.uint64(seed * 1000003)) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return h


class FakeIntLLM:
    """int32 log2q logits that depend on the previous token (no model needed)."""

    def __init__(self, n_vocab: int = V) -> None:
        self.n_vocab = n_vocab
        self.fed: list[int] = []

    def _row(self, prev: int) -> np.ndarray:
        u = (hashed(self.n_vocab, prev + 1) >> np.uint64(44)).astype(np.int64)  # 20 bits
        return (-(u * u >> 17)).astype(np.int32)  # 0 .. -2**23 (-128 bits)

    def reset(self) -> np.ndarray:
        self.fed = []
        return self._row(-1)

    def feed(self, token: int) -> np.ndarray:
        self.fed.append(int(token))
        return self._row(int(token))


def stream(n: int = 500, seed: int = 1, n_vocab: int = V) -> list[int]:
    """Tokens with repeated phrases, so the online models have something to learn."""
    h = hashed(4 * n + 12, seed)
    phrase = [int(x) % n_vocab for x in h[:12]]
    out: list[int] = []
    j = 12
    while len(out) < n:
        if int(h[j]) & 1:
            out.extend(phrase)
        else:
            out.extend(int(x) % n_vocab for x in h[j + 1:j + 6])
        j += 6
    return out[:n]


class Recorder:
    """Wraps a predictor and keeps every distribution it produced."""

    def __init__(self, inner):
        self.inner, self.outputs = inner, []

    def reset(self):
        self.inner.reset()

    def predict(self):
        z = self.inner.predict()
        self.outputs.append(z.copy())
        return z

    def update(self, t):
        self.inner.update(t)


def encode(predictor, tokens) -> bytes:
    enc = RangeEncoder()
    predictor.reset()
    for t in tokens:
        enc.encode(t, quantize_log2q(predictor.predict()))
        predictor.update(t)
    return enc.finish()


def decode(predictor, payload: bytes, n: int) -> list[int]:
    dec = RangeDecoder(payload)
    predictor.reset()
    out = []
    for _ in range(n):
        t = dec.decode(quantize_log2q(predictor.predict()))
        predictor.update(t)
        out.append(t)
    return out


ALL = xensemble_params(bias=xensemble_params()["bias"], ppm={"max_order": 6, "escape": "C"}, ngram=NGRAM_DEFAULT,
                       match=MATCH_DEFAULT)

def variant(ctx2: str, escape: str) -> dict:
    """ALL with every optional mechanism on: schedules, fast bias, mixer ctx2, PPM escape."""
    p = copy.deepcopy(ALL)
    p["bias"].update(lr_boost=2000000, lr_half=100, fast_lr=900000, fast_shift=6)
    p["mixer"].update(lr_boost=3000, lr_half=100, ctx2=ctx2)
    p["ppm"]["escape"] = escape
    return p


CONFIGS = {"default": xensemble_params(), "all": ALL,
           **{f"all - {c}": {**copy.deepcopy(ALL), c: None} for c in COMPONENTS},
           "none": xensemble_params(bias=None, ppm=None, ngram=None, match=None),
           "variant order C": variant("ppm_order", "C"), "variant agree D": variant("ppm_agree", "D"),
           "variant escape D": variant("ppm_escape", "D")}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_round_trip_with_identical_distributions(name):
    tokens = stream()
    enc = Recorder(XEnsemblePredictor(FakeIntLLM(), V, copy.deepcopy(CONFIGS[name])))
    payload = encode(enc, tokens)
    dec = Recorder(XEnsemblePredictor(FakeIntLLM(), V, copy.deepcopy(CONFIGS[name])))
    assert decode(dec, payload, len(tokens)) == tokens
    assert len(enc.outputs) == len(dec.outputs) == len(tokens)
    assert all(np.array_equal(a, b) for a, b in zip(enc.outputs, dec.outputs))


def test_outputs_and_state_are_integers():
    pred = XEnsemblePredictor(FakeIntLLM(), V, copy.deepcopy(ALL))
    pred.reset()
    for t in stream(200):
        z = pred.predict()
        assert isinstance(z, np.ndarray) and z.dtype == np.int64 and z.shape == (V,)
        pred.update(t)
    assert pred.bias.dtype == np.int64
    assert all(type(w) is int for row in pred.weights for w in row)
    assert all(type(x) is int for x in pred.match.hits + pred.match.trials)
    assert any(row != pred.weights[-1] for row in pred.weights)  # the mixer did learn


def test_no_float_math_on_the_prediction_path(monkeypatch):
    """predict, update and quantize_log2q never call a transcendental, a float reduction
    or BLAS, and never see a float array (numpy's float functions are booby-trapped)."""
    def boom(*args, **kwargs):
        raise AssertionError("float math on the prediction path")

    for name in ("exp", "exp2", "expm1", "log", "log2", "log1p", "logaddexp", "logaddexp2", "dot",
                 "matmul", "einsum", "inner", "tensordot", "sqrt", "power", "float_power", "true_divide"):
        monkeypatch.setattr(np, name, boom)
    for params in (variant("ppm_agree", "D"), variant("ppm_escape", "C"), xensemble_params()):
        pred = XEnsemblePredictor(FakeIntLLM(), V, copy.deepcopy(params))
        pred.reset()
        for t in stream(120):
            z = pred.predict()
            assert z.dtype.kind == "i"
            f = quantize_log2q(z)
            assert f.dtype.kind == "i"
            pred.update(t)
        assert pred.bias.dtype.kind == "i" and pred._p1.dtype.kind == "i" and pred._p2.dtype.kind == "i"


def test_lazy_feeding_never_feeds_the_last_token():
    llm = FakeIntLLM()
    tokens = stream(50)
    encode(XEnsemblePredictor(llm, V, xensemble_params()), tokens)
    assert llm.fed == tokens[:-1]


def test_reset_gives_fresh_state():
    tokens = stream(300)
    pred = XEnsemblePredictor(FakeIntLLM(), V, copy.deepcopy(ALL))
    a = encode(pred, tokens)
    assert encode(pred, tokens) == a  # the second run starts from scratch


def test_learns_repetitive_text():
    tokens = stream(800)
    sizes = {name: len(encode(XEnsemblePredictor(FakeIntLLM(), V, copy.deepcopy(p)), tokens))
             for name, p in (("none", CONFIGS["none"]), ("default", CONFIGS["default"]), ("all", ALL))}
    assert sizes["default"] < 0.8 * sizes["none"]
    assert sizes["all"] < 0.8 * sizes["none"]


def test_bounded_memory():
    p = copy.deepcopy(ALL)
    p["counts"] = {"slots_log2": 4, "max_candidates": 3}
    p["match"] = {**MATCH_DEFAULT, "slots_log2": 5}
    pred = XEnsemblePredictor(FakeIntLLM(), V, p)
    pred.reset()
    for t in stream(1500, seed=3):
        pred.predict()
        pred.update(t)
    for table in pred.counts.tables.values():
        assert len(table) <= 1 << 4
        assert all(len(c) <= 3 for _, c in table.values())
    assert len(pred.match.positions) <= 1 << 5
    assert len(pred.weights) == 12 and pred.bias.shape == (V,)
    limit = p["bias"]["limit"] << 8
    assert int(np.abs(pred.bias).max()) <= limit


def test_params_are_required_and_checked():
    with pytest.raises(ValueError):
        XEnsemblePredictor(FakeIntLLM(), V, {**xensemble_params(), "kind": "ensemble-v1"})
    broken = xensemble_params()
    del broken["mixer"]
    with pytest.raises(KeyError):
        XEnsemblePredictor(FakeIntLLM(), V, broken)
    with pytest.raises(KeyError):
        xensemble_params(nonsense=1)
    assert xensemble_params()["kind"] == XENSEMBLE_KIND


def test_params_are_json_integers():
    """The header stores params as canonical JSON: no floats anywhere."""

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        else:
            assert x is None or isinstance(x, (int, str, bool)), x

    walk(ALL)
    walk(xensemble_params())


def test_full_vocabulary_smoke():
    """V = 49152 (SmolLM2's vocabulary): codes, round-trips, and frequencies are valid."""
    n_vocab = 49152
    tokens = stream(40, n_vocab=n_vocab)
    payload = encode(XEnsemblePredictor(FakeIntLLM(n_vocab), n_vocab, copy.deepcopy(ALL)), tokens)
    pred = XEnsemblePredictor(FakeIntLLM(n_vocab), n_vocab, copy.deepcopy(ALL))
    assert decode(pred, payload, len(tokens)) == tokens
    f = quantize_log2q(pred.predict())
    assert int(f.sum()) == TOTAL and int(f.min()) >= 1


# Explicit params (not the defaults, which may be retuned): the payload they give on
# this integer-only input is pinned, so any change to the arithmetic is caught.
PINNED_PARAMS = {
    "kind": "ensemble-x1",
    "counts": {"slots_log2": 18, "max_candidates": 24},
    "bias": {"lr": 484083, "limit": 378194, "lr_boost": 0, "lr_half": 0, "fast_lr": 0, "fast_shift": 0},
    "ngram": {"orders": [2, 3, 4]},
    "ppm": {"max_order": 6, "escape": "C"},
    "match": {"min_len": 4, "max_len": 64, "slots_log2": 20, "length_buckets": [0, 1, 2, 4, 8, 16, 32]},
    "mixer": {"lr": 727, "lr_shift": 20, "conf_edges": [19661, 39322, 58982], "w_min": -262144, "w_max": 524288,
              "lr_boost": 0, "lr_half": 0, "ctx2": None},
    "min_escape": 107374,
    "logp_floor": -(64 << 16),
}
PINNED_PAYLOAD = "8ed3b2b4a65425b0a9ed7348e858d9c566ba97b9dec9828850075e33b4b596bf"


def test_pinned_payload():
    payload = encode(XEnsemblePredictor(FakeIntLLM(), V, copy.deepcopy(PINNED_PARAMS)), stream(400))
    assert hashlib.sha256(payload).hexdigest() == PINNED_PAYLOAD
