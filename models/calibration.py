"""Micro-diffusion calibration: correct the final distribution along a binary tree.

A token id is coded as its 16 binary decisions in a complete binary tree over the
vocabulary (padded to 2^16 leaves; decisions into the padding are forced and cost
nothing). At each node the model's probability of "left" is

    p = mass(left subtree) / mass(node)          (from one cumulative sum per token)

and is denoised in a few refinement steps. Each step bins the decision by (depth,
confidence, stretch(p)) and moves it in the logit domain toward what that bin has
actually produced: ``s' = s + n/(n+k) * (logit(mean outcome) - logit(mean prediction))``,
an empirical-Bayes (Tweedie) estimate of the clean probability given the noisy one,
shrunk James-Stein style toward "no correction" while the bin has little evidence.
Working in the logit domain keeps near-certain decisions near-certain (an additive
probability correction there costs bits on every token). This is Midicoth's byte-level
denoiser carried over to token decisions. Statistics update after every coded bit,
identically on both sides.
"""

from __future__ import annotations

import math

import numpy as np

DEPTH = 16
_P_MIN = 1e-6

# Defaults (the header stores the values actually used). Refinement steps bin by
# (depth, confidence bucket if use_conf, stretch bucket): (use_conf, stretch buckets).
STEPS = ((False, 12), (True, 12), (False, 24))
S_MAX = 7.0  # decisions with |stretch(p)| beyond this are left alone
CONF_EDGES = (0.3, 0.6, 0.9)  # the token distribution's max probability -> 4 buckets


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class TreeCalibrator:
    def __init__(self, n_vocab: int, shrink: float = 32.0, steps=STEPS, s_max: float = S_MAX,
                 conf_edges=CONF_EDGES) -> None:
        if n_vocab > 1 << DEPTH:
            raise ValueError("vocabulary larger than the calibration tree")
        self.n_vocab = n_vocab
        self.shrink = shrink
        self.steps = tuple((bool(c), int(n)) for c, n in steps)
        self.s_max = float(s_max)
        self.conf_edges = tuple(conf_edges)
        # per step and bin (depth, conf, bucket): outcome sum, prediction sum, count
        n_conf = len(self.conf_edges) + 1
        self.hits = [np.zeros((DEPTH, n_conf, n)) for _, n in self.steps]
        self.preds = [np.zeros((DEPTH, n_conf, n)) for _, n in self.steps]
        self.counts = [np.zeros((DEPTH, n_conf, n)) for _, n in self.steps]
        self._cdf: np.ndarray | None = None

    # -- one token ------------------------------------------------------------------------
    def begin(self, logp: np.ndarray) -> None:
        """Start a token's walk from the final log-probabilities (V,)."""
        p = np.exp(logp - logp.max())
        self._cdf = np.concatenate(([0.0], np.cumsum(p)))  # (V+1,)
        pmax = float(p.max()) / float(self._cdf[-1])
        self._conf = sum(pmax >= edge for edge in self.conf_edges)
        self._lo, self._size, self._depth = 0, 1 << DEPTH, 0
        self._bins: list[tuple[int, int, int, float]] | None = None

    def done(self) -> bool:
        return self._size == 1

    @property
    def token(self) -> int:
        return self._lo

    def forced(self) -> bool:
        """Is the next decision forced (its right half lies wholly in the padding)?"""
        return self._lo + self._size // 2 >= self.n_vocab

    def bit_of(self, token: int) -> int:
        return 1 if token >= self._lo + self._size // 2 else 0

    def left_probability(self) -> float:
        """Calibrated P(bit == 0) for the current node."""
        lo, half = self._lo, self._size // 2
        cdf = self._cdf
        hi = min(lo + self._size, self.n_vocab)
        node = cdf[hi] - cdf[lo]
        p = (cdf[lo + half] - cdf[lo]) / node if node > 0 else 0.5
        p = min(1.0 - _P_MIN, max(_P_MIN, p))
        s = _logit(p)
        s_max = self.s_max
        if not -s_max < s < s_max:
            self._bins = None
            return p
        d, c = self._depth, self._conf
        bins = []
        for step, (use_conf, n) in enumerate(self.steps):
            cb = c if use_conf else 0
            b = min(n - 1, max(0, int((s + s_max) * n / (2.0 * s_max))))
            p_in = 1.0 / (1.0 + math.exp(-s))
            bins.append((step, cb, b, p_in))
            cnt = self.counts[step][d, cb, b]
            if cnt > 0:
                y_mean = (self.hits[step][d, cb, b] + 0.5) / (cnt + 1.0)
                p_mean = (self.preds[step][d, cb, b] + 0.5) / (cnt + 1.0)
                s += (cnt / (cnt + self.shrink)) * (_logit(y_mean) - _logit(p_mean))
                s = -s_max if s < -s_max else (s_max if s > s_max else s)
        self._bins = bins
        return 1.0 / (1.0 + math.exp(-s))

    def push(self, bit: int) -> None:
        """Record the coded bit: update statistics (if the bit was coded) and descend."""
        if self._bins is not None:
            y = 1.0 - bit  # outcome of "left"
            d = self._depth
            for step, cb, b, p_in in self._bins:
                self.hits[step][d, cb, b] += y
                self.preds[step][d, cb, b] += p_in
                self.counts[step][d, cb, b] += 1
            self._bins = None
        half = self._size // 2
        if bit:
            self._lo += half
        self._size = half
        self._depth += 1

