"""models.ensemble and its components: behaviour, determinism, encoder/decoder symmetry."""

import copy

import numpy as np
import pytest

from lmzip._config import CodingConfig
from lmzip._engine import decode_tokens, encode_tokens
from lmzip._runtime import Runtime
from lmzip.coder import TOTAL, quantize_binary
from lmzip.models.calibration import TreeCalibrator
from lmzip.models.counts import ContextCounts
from lmzip.models.ensemble import COMPONENTS, SKIP_DEFAULT, EnsemblePredictor, ensemble_params
from lmzip.models.match import TokenMatch
from lmzip.models.mixer import Mixer
from lmzip.models.ppm import TokenPPM
from lmzip.models.sparse import SparsePrediction

V = 300


class FakeLLM:
    """Deterministic pseudo-logits that depend on the previous token (no model needed)."""

    def __init__(self, n_vocab: int = V) -> None:
        self.table = np.random.default_rng(0).normal(0, 3, size=(n_vocab + 1, n_vocab)).astype(np.float32)

    def reset(self):
        return self.table[-1].copy()

    def feed(self, token):
        return self.table[token].copy()

    def feed_many(self, tokens):
        return self.table[tokens[-1]].copy()


def stream(n=600, seed=1):
    """Tokens with repeats, so the online models have something to learn."""
    rng = np.random.default_rng(seed)
    phrase = rng.integers(0, V, 12).tolist()
    out = []
    while len(out) < n:
        out.extend(phrase if rng.random() < 0.5 else rng.integers(0, V, 5).tolist())
    return out[:n]


class Recorder:
    def __init__(self, inner):
        self.inner, self.logps = inner, []
        self.calibrator = inner.calibrator

    def reset(self):
        self.inner.reset()

    def predict(self):
        z = self.inner.predict()
        self.logps.append(z.copy())
        return z

    def update(self, t):
        self.inner.update(t)


CONFIGS = {"all": ensemble_params(), **{f"no {c}": ensemble_params(**{c: None}) for c in COMPONENTS if c != "skip"},
           "linear": ensemble_params(mixer={**ensemble_params()["mixer"], "kind": "linear"}),
           "skip": ensemble_params(skip=SKIP_DEFAULT)}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_configuration_round_trips_with_identical_distributions(name):
    tokens = stream()
    enc = Recorder(EnsemblePredictor(FakeLLM(), V, copy.deepcopy(CONFIGS[name])))
    payload = encode_tokens(enc, tokens)
    dec = Recorder(EnsemblePredictor(FakeLLM(), V, copy.deepcopy(CONFIGS[name])))
    assert decode_tokens(dec, payload, len(tokens)) == tokens
    assert all(np.array_equal(a, b) for a, b in zip(enc.logps, dec.logps))


def test_online_models_learn_repeats():
    tokens = stream(1500)
    sizes = {}
    for name, params in (("llm-like", ensemble_params(ngram=None, ppm=None, match=None, bias=None, calibration=None)),
                         ("all", ensemble_params())):
        sizes[name] = len(encode_tokens(EnsemblePredictor(FakeLLM(), V, params), tokens))
    assert sizes["all"] < 0.7 * sizes["llm-like"]


def test_mixer_with_silent_inputs_is_the_llm():
    logp = np.log(np.random.default_rng(2).dirichlet(np.ones(V)))
    for kind in ("geometric", "linear"):
        m = Mixer(3, 1, kind)
        assert np.allclose(m.mix(logp, [None, None], 0), logp)


def test_mixer_learns_to_trust_a_good_model():
    rng = np.random.default_rng(3)
    m = Mixer(2, 1, "geometric", lr=0.01)
    for _ in range(300):
        logp = np.log(rng.dirichlet(np.ones(V)))
        truth = int(rng.integers(V))
        oracle = SparsePrediction(np.array([truth]), np.ones(1), 0.05)
        m.mix(logp, [oracle], 0)
        m.update(truth)
    assert m.weights[0, 1] > 0.5


def test_ppm_blends_orders_with_exclusion():
    counts = ContextCounts((1, 2))
    hist = [5, 6, 7, 5, 6, 8, 5, 6]
    for i, t in enumerate(hist[1:], start=1):
        counts.update(hist[:i], t)
    pred = TokenPPM(counts, 2).predict(hist)
    # after (5, 6): 7 and 8 seen once each; order 1 after 6 adds nothing new (exclusion)
    assert set(pred.tokens.tolist()) == {7, 8}
    assert abs(pred.probs.sum() - 1) < 1e-12 and 0 < pred.escape < 1


def test_counts_memory_is_bounded():
    counts = ContextCounts((1, 2), slots_log2=4, max_candidates=3)
    rng = np.random.default_rng(4)
    hist = rng.integers(0, 1000, 5000).tolist()
    for i in range(1, len(hist)):
        counts.update(hist[:i], hist[i])
    for table in counts.tables.values():
        assert len(table) <= 16
        assert all(len(c) <= 3 for _, c in table.values())


def test_match_model_predicts_the_continuation():
    m = TokenMatch(min_len=3)
    hist: list[int] = []
    seq = [1, 2, 3, 4, 5, 9, 9, 1, 2, 3]
    for t in seq:
        m.predict(hist)
        hist.append(t)
        m.update(hist, t)
    pred = m.predict(hist)
    assert pred is not None and pred.tokens.tolist() == [4]


def test_tree_walk_spells_every_token_and_forces_padding():
    cal = TreeCalibrator(V)
    logp = np.log(np.random.default_rng(5).dirichlet(np.ones(V)))
    for token in (0, 1, V // 2, V - 1):
        cal.begin(logp)
        coded = 0
        while not cal.done():
            if cal.forced():
                assert cal.bit_of(token) == 0
                cal.push(0)
                continue
            f = quantize_binary(cal.left_probability())
            assert f.sum() == TOTAL and f.min() >= 1
            cal.push(cal.bit_of(token))
            coded += 1
        assert cal.token == token
        assert coded <= 9  # V = 300 < 2^9: the top 7 decisions are forced


def test_uncalibrated_tree_reproduces_the_distribution():
    cal = TreeCalibrator(V, shrink=1e12)  # no evidence is ever enough: pure decomposition
    p = np.random.default_rng(6).dirichlet(np.ones(V))
    token = 123
    cal.begin(np.log(p))
    prob = 1.0
    while not cal.done():
        if cal.forced():
            cal.push(0)
            continue
        left = cal.left_probability()
        bit = cal.bit_of(token)
        prob *= left if bit == 0 else 1 - left
        cal.push(bit)
    assert abs(prob - p[token]) < 1e-9


def test_unknown_predictor_kind_is_rejected():
    with pytest.raises(ValueError):
        EnsemblePredictor(FakeLLM(), V, {"kind": "ensemble-v9"})


# ----------------------------------------------------------------------------- live model

TEXT = (b"The Mock Turtle sighed deeply, and began, in a voice sometimes choked with sobs, "
        b"to sing this:-- 'Beautiful Soup, so rich and green, Waiting in a hot tureen! "
        b"Beautiful Soup, so rich and green, Waiting in a hot tureen!'\n") * 2


@pytest.fixture(scope="module")
def runtime():
    return Runtime(None, 1)


@pytest.mark.parametrize("skip", [None, SKIP_DEFAULT], ids=["no-skip", "skip"])
def test_live_symmetry_with_every_component_across_slides(runtime, skip):
    # A 64-token window slides several times; with skip on, batches of skipped tokens
    # are fed at the same moments on both sides.
    predictor = ensemble_params(skip=skip)
    # ensemble-v1 runs on the v1 (llama.cpp) backend: it still decodes old archives.
    config = CodingConfig(level=6, chunk_size=1 << 16, n_ctx=64, keep=1, discard=16, predictor=predictor,
                          backend="llama.cpp")
    tokens = runtime.tokenizer.encode(TEXT)
    enc = Recorder(runtime.predictor(config))
    payload = encode_tokens(enc, tokens)
    if skip:
        assert enc.inner.skipped > 0
    assert runtime.predictor(config).llm.slides >= 2
    dec = Recorder(runtime.predictor(config))
    assert decode_tokens(dec, payload, len(tokens)) == tokens
    assert all(np.array_equal(a, b) for a, b in zip(enc.logps, dec.logps))


def test_decoder_takes_hyperparameters_from_the_header():
    import lmzip
    from lmzip.models import xensemble

    data = TEXT[:120]
    codec = lmzip.Codec(level=5, threads=1)
    blob = codec.compress(data)
    saved = copy.deepcopy(xensemble.DEFAULT_PARAMS)
    try:
        xensemble.DEFAULT_PARAMS["mixer"]["lr"] = 1  # a changed default must not matter
        xensemble.DEFAULT_PARAMS["ppm"] = None
        assert lmzip.Codec(level=5, threads=1).decompress(blob) == data
    finally:
        xensemble.DEFAULT_PARAMS.clear()
        xensemble.DEFAULT_PARAMS.update(saved)
