"""The exact backend: lanes of SmolLM2 on the exact core, giving integer logits.

A backend holds ``n_lanes`` independent sequences. One ``step`` advances any subset of
lanes by one token each (one batched model call) and returns int32 log2q logits
[B, V]. A lane whose window is full slides first (drop ``discard`` slots after the first
``keep``), a pure function of its token count, so encoder and decoder slide alike.

The arithmetic is ``reference.py``'s; the compiled kernel computes the same bits faster.
``LMZIP_KERNEL=reference|scalar|avx2|avxvnni|avx512|neon`` forces a path (``auto`` or unset:
the fastest this CPU runs).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from lmzip.formats.errors import ModelError
from lmzip.models.exact import arith
from lmzip.models.exact.reference import ReferenceModel
from lmzip.models.exact.weights import ExactWeights

KERNEL_ENV = "LMZIP_KERNEL"
#: Threads per kernel, fixed (unset: lmzip decides; cores not busy with another chunk
#: help the running ones, see ``lmzip/_cores.py``). Never changes a bit.
THREADS_ENV = "LMZIP_KERNEL_THREADS"
PATHS = ("reference", "scalar", "avx2", "avxvnni", "avx512", "neon")


@dataclass(frozen=True)
class Window:
    """Slots per lane, and how a full window slides: keep ``keep`` (the BOS), drop ``drop``."""

    n_ctx: int
    keep: int = 1
    drop: int = 0  # 0: n_ctx // 4

    def __post_init__(self) -> None:
        drop = self.drop or max(1, self.n_ctx // 4)
        object.__setattr__(self, "drop", drop)
        if self.n_ctx < 16 or self.keep < 1 or self.keep + drop >= self.n_ctx:
            raise ValueError(f"bad window: n_ctx={self.n_ctx} keep={self.keep} drop={drop}")


def _compiled():
    try:
        from lmzip.models.exact import kernel
    except ImportError:
        return None
    return kernel


def available_paths() -> list[str]:
    """Kernel paths this machine can run, fastest last ("reference" is always there)."""
    kernel = _compiled()
    return ["reference"] + (list(kernel.available_paths()) if kernel is not None else [])


def fixed_kernel_threads() -> int | None:
    """``$LMZIP_KERNEL_THREADS`` when it is set (a fixed thread count per kernel), else None."""
    if not os.environ.get(THREADS_ENV, "").strip():
        return None
    return kernel_threads()


def kernel_threads(requested: int | None = None) -> int:
    """Threads for one kernel: ``requested``, else ``$LMZIP_KERNEL_THREADS``, else 1."""
    if requested is not None:
        return max(1, int(requested))
    text = os.environ.get(THREADS_ENV, "1").strip()
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise ModelError(f"{THREADS_ENV}={text!r} must be a number of threads from 1 to 256")
    return int(text)


def choose_path(requested: str | None = None) -> str:
    """The kernel path to use: ``requested``, else ``$LMZIP_KERNEL``, else the fastest."""
    want = (requested or os.environ.get(KERNEL_ENV) or "auto").strip().lower()
    have = available_paths()
    if want == "auto":
        return have[-1]
    if want not in PATHS:
        raise ModelError(f"{KERNEL_ENV}={want!r} is not a kernel path (choose from {', '.join(PATHS)} or auto)")
    if want not in have:
        raise ModelError(f"kernel path {want!r} cannot run on this machine (available: {', '.join(have)})")
    return want


class ExactBackend:
    """``n_lanes`` lanes over one loaded model on one kernel path.

    ``n_threads`` is the kernel's thread pool; ``threads``, when given, is called before
    every step and says how many of them that step uses (clamped to 1..n_threads): the
    caller's share of the cores at that moment; if it has an ``observe`` method, that is
    told how long each kernel step took. None of this changes a bit of the logits.
    """

    def __init__(self, weights: ExactWeights, window: Window, n_lanes: int = 1,
                 path: str | None = None, n_threads: int | None = None,
                 threads: Callable[[], int] | None = None) -> None:
        self.weights = weights
        self.window = window
        self.n_lanes = n_lanes
        self.path = choose_path(path)
        self.bos = int(weights.gguf.meta.get("tokenizer.ggml.bos_token_id", 1))
        self.slides = np.zeros(n_lanes, dtype=np.int64)
        self.n_threads = kernel_threads(n_threads)
        self._share = threads
        if self.path == "reference":
            self._ref = ReferenceModel(weights, window.n_ctx)
            self._caches = [self._ref.new_cache() for _ in range(n_lanes)]
            self._kernel = None
        else:
            kernel = _compiled()
            self._kernel = kernel.KernelModel(weights, window.n_ctx, n_lanes, self.path, self.n_threads)

    @property
    def threads(self) -> int:
        """The kernel threads a step uses now (1 on the reference path)."""
        return 1 if self._kernel is None else self._kernel.threads

    def set_threads(self, k: int) -> None:
        """Use ``k`` of the ``n_threads`` kernel threads (clamped) from the next step on."""
        k = min(max(1, int(k)), self.n_threads)
        if self._kernel is not None and k != self._kernel.threads:
            self._kernel.set_threads(k)

    def n_past(self, lane: int) -> int:
        return self._caches[lane].n_past if self._kernel is None else int(self._kernel.n_past(lane))

    def reset(self, lane: int) -> None:
        """Empty a lane's window."""
        self.slides[lane] = 0
        if self._kernel is None:
            self._caches[lane].clear()
        else:
            self._kernel.reset(lane)

    def _slide(self, lane: int) -> None:
        w = self.window
        if self._kernel is None:
            self._ref.slide(self._caches[lane], w.keep, w.drop)
        else:
            self._kernel.slide(lane, w.keep, w.drop)
        self.slides[lane] += 1

    def step(self, lanes: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Feed ``tokens[i]`` to lane ``lanes[i]``; int32 log2q logits [B, V] for each lane's next token."""
        lanes = np.ascontiguousarray(lanes, dtype=np.int32)
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        for lane in lanes:
            if self.n_past(int(lane)) >= self.window.n_ctx:
                self._slide(int(lane))
        if self._kernel is None:
            logits = self._ref.step(tokens, [self._caches[int(i)] for i in lanes])
        else:
            observe = None
            if self._share is not None and self.n_threads > 1:
                self.set_threads(self._share())
                # a tuner that times the steps (lmzip._cores.ThreadTuner)
                observe = getattr(self._share, "observe", None)
            start = time.perf_counter()
            logits = self._kernel.step(lanes, tokens)
            if observe is not None:
                observe(time.perf_counter() - start)
        return arith.logits_to_log2q(logits)


class ExactSession:
    """One lane as a single stream: ``reset() -> logits`` (BOS fed), ``feed(token) -> logits``.

    The shape the single-stream predictors use (int32 log2q logits [V])."""

    def __init__(self, backend: ExactBackend, lane: int = 0) -> None:
        self.backend = backend
        self.lane = np.array([lane], dtype=np.int32)

    @property
    def slides(self) -> int:
        return int(self.backend.slides[self.lane[0]])

    def reset(self) -> np.ndarray:
        self.backend.reset(int(self.lane[0]))
        return self.feed(self.backend.bos)

    def feed(self, token: int) -> np.ndarray:
        return self.backend.step(self.lane, np.array([token], dtype=np.int32))[0]
