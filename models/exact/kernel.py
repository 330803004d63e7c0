"""The compiled exact kernel: ``ReferenceModel``'s bits, fast.

``KernelModel`` holds the repacked weights and the KV caches of ``n_lanes`` lanes in C
(``_kernel.c``) and advances any subset of them by one token per ``step``, exactly like
``reference.ReferenceModel.step`` (same float32 operations in the same order, integer
sums), on one of the paths ``scalar``, ``avx2``, ``avxvnni`` (AVX-VNNI), ``avx512`` (AVX-512
VNNI) or ``neon`` (``auto``: the
fastest this CPU runs). Each vector path checks itself against the scalar path on
synthetic data on first use; a path that disagrees is disabled with a warning.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from lmzip.models.exact import _kernel, arith
from lmzip.models.exact.weights import ExactWeights, QMatrix

#: All kernel paths, slowest first.
PATHS = ("scalar", "avx2", "avxvnni", "avx512", "neon")
_KIND = {"q4_1": _kernel.KIND_Q4_1, "q8_0": _kernel.KIND_Q8_0}

_checked: dict[str, tuple[bool, str]] = {}
_check_lock = threading.Lock()


def _passes_selftest(path: str) -> bool:
    with _check_lock:
        if path not in _checked:
            ok, msg = _kernel.selftest(path)
            _checked[path] = (bool(ok), msg)
            if not ok:
                warnings.warn(f"lmzip's exact kernel: the {path} path disagrees with the scalar path ({msg}); "
                              f"it is disabled", RuntimeWarning, stacklevel=4)
    return _checked[path][0]


def available_paths() -> list[str]:
    """The paths this CPU runs that pass their self-test, slowest first ("scalar" always)."""
    have = _kernel.cpu_paths()
    return [p for p in PATHS if p in have and (p == "scalar" or _passes_selftest(p))]


def resolve_path(path: str = "auto") -> str:
    """``auto`` -> the fastest available path; a named path is checked (ValueError when this
    CPU cannot run it); a path that fails its self-test falls back to ``scalar``."""
    path = path.strip().lower()
    if path == "auto":
        return available_paths()[-1]
    if path not in PATHS:
        raise ValueError(f"unknown kernel path {path!r} (choose from {', '.join(PATHS)} or auto)")
    if path not in _kernel.cpu_paths():
        raise ValueError(f"kernel path {path!r} cannot run on this CPU (available: {', '.join(available_paths())})")
    if path != "scalar" and not _passes_selftest(path):
        return "scalar"
    return path


def _mat(m: QMatrix) -> tuple[int, int, int, np.ndarray]:
    return (_KIND[m.kind], m.n, m.k, np.ascontiguousarray(m.raw))


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _i32(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers")
    return np.ascontiguousarray(a.reshape(-1), dtype=np.int32)


class KernelModel:
    """SmolLM2 over ``n_lanes`` lanes of ``n_ctx`` positions each, on one kernel path.

    ``step(lanes, tokens)`` feeds ``tokens[i]`` to lane ``lanes[i]`` (distinct lanes, any
    subset, any order) and returns float32 logits [B, V], bit for bit those of
    ``ReferenceModel.step``; ``slide``, ``reset`` and ``n_past`` act on one lane.
    ``n_threads`` > 1 starts a pool that splits matrix rows and attention heads over
    threads (same bits); ``set_threads(k)`` makes the next steps use only ``k`` of them
    (the others sleep), again with the same bits. The GIL is released during a step.
    """

    def __init__(self, weights: ExactWeights, n_ctx: int, n_lanes: int = 1, path: str = "auto",
                 n_threads: int = 1) -> None:
        c = weights.config
        if n_ctx < 1 or n_lanes < 1 or n_threads < 1:
            raise ValueError(f"bad sizes: n_ctx={n_ctx} n_lanes={n_lanes} n_threads={n_threads}")
        self.path = resolve_path(path)
        self.n_ctx, self.n_lanes, self.n_threads = int(n_ctx), int(n_lanes), int(n_threads)
        self.n_vocab = c.n_vocab
        cos, sin = arith.rope_tables(n_ctx, c.head_dim, c.rope_base)
        layers = [
            (_f32(l.attn_norm), _f32(l.ffn_norm), _mat(l.wq), _mat(l.wk), _mat(l.wv), _mat(l.wo),
             _mat(l.w_gate), _mat(l.w_up), _mat(l.w_down))
            for l in weights.layers
        ]
        self._model = _kernel.Model(
            self.path, self.n_ctx, self.n_lanes, self.n_threads,
            (c.n_layer, c.n_embd, c.n_ff, c.n_head, c.n_kv_head, c.n_vocab), float(c.norm_eps),
            _f32(cos), _f32(sin), _mat(weights.token_embd), _mat(weights.output), _f32(weights.output_norm),
            layers,
        )

    @property
    def threads(self) -> int:
        """The threads a step uses now (1..n_threads)."""
        return self._model.threads

    def set_threads(self, k: int) -> None:
        """Use ``k`` (1..n_threads) of the pool's threads from the next step on."""
        self._model.set_threads(int(k))

    def reset(self, lane: int) -> None:
        """Empty a lane's window."""
        self._model.reset(int(lane))

    def n_past(self, lane: int) -> int:
        """Positions filled in a lane's window."""
        return self._model.n_past(int(lane))

    def slide(self, lane: int, keep: int, drop: int) -> None:
        """``ReferenceModel.slide``: drop slots [keep, keep+drop), move the rest down."""
        self._model.slide(int(lane), int(keep), int(drop))

    def copy_lane(self, dst: int, src: int, source: KernelModel | None = None) -> None:
        """Lane ``dst`` becomes a copy of lane ``src`` of ``source`` (default: this model;
        any path, same weights and n_ctx): its window and position."""
        other = self if source is None else source
        self._model.copy_lane(int(dst), other._model, int(src))

    def step(self, lanes, tokens) -> np.ndarray:
        """One token for each of the given lanes; float32 logits [B, V]."""
        lanes = _i32(lanes, "lanes")
        tokens = _i32(tokens, "tokens")
        if lanes.shape != tokens.shape:
            raise ValueError(f"{len(lanes)} lanes but {len(tokens)} tokens")
        out = np.empty((len(lanes), self.n_vocab), dtype=np.float32)
        self._model.step(lanes, tokens, out)
        return out


# -- single operations, for tests ------------------------------------------------------

def matmul(x: np.ndarray, w: QMatrix, path: str = "scalar") -> np.ndarray:
    """``reference.matmul(x, w)`` on a kernel path: x [B, k] float32 -> [B, n]."""
    x = _f32(x)
    if x.ndim != 2 or x.shape[1] != w.k:
        raise ValueError(f"x must be [B, {w.k}]")
    out = np.empty((x.shape[0], w.n), dtype=np.float32)
    _kernel.matmul(resolve_path(path), _KIND[w.kind], w.n, w.k, np.ascontiguousarray(w.raw), x, out)
    return out


def attend(q: np.ndarray, k: np.ndarray, sk: np.ndarray, v: np.ndarray, sv: np.ndarray,
           path: str = "scalar") -> np.ndarray:
    """``reference.attend`` for r query heads sharing one cache: q [r, 64] (or [64]),
    k [n, 64] int16 range, v [n, 64] int8 range, sk/sv [n] -> [r, 64] (or [64])."""
    q = _f32(q)
    single = q.ndim == 1
    q = q.reshape(-1, 64)
    k, v = np.asarray(k), np.asarray(v)
    if np.abs(k).max(initial=0) > 32767 or np.abs(v).max(initial=0) > 127:
        raise ValueError("keys must be int16 values in +-32767 and values int8 in +-127")
    out = np.empty(q.shape, dtype=np.float32)
    _kernel.attend(resolve_path(path), q, np.ascontiguousarray(k, dtype=np.int16), _f32(sk),
                   np.ascontiguousarray(v, dtype=np.int8), _f32(sv), out)
    return out[0] if single else out


def silu(g: np.ndarray, path: str = "scalar") -> np.ndarray:
    """``arith.silu(g)`` on a kernel path (float32, any shape)."""
    g = _f32(g)
    out = np.empty_like(g)
    _kernel.silu(resolve_path(path), g, out)
    return out


def rms_scale(x: np.ndarray, eps: np.float32, path: str = "scalar") -> np.ndarray:
    """``arith.rms_scale(x, eps)`` on a kernel path: x [..., n] -> [...]."""
    x = _f32(x)
    out = np.empty(x.shape[:-1], dtype=np.float32)
    _kernel.rms_scale(x, x.shape[-1], float(np.float32(eps)), out, resolve_path(path))
    return out
