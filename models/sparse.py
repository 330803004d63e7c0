"""The one shape every online model predicts in.

An online model knows only a few candidate tokens, so it predicts a *sparse*
distribution ``q`` over ``tokens`` plus an escape mass ``escape`` that it hands to a base
distribution (the LLM's). As a full distribution over the vocabulary::

    p(t) = (1 - escape) * q(t) + escape * p_base(t)        (q(t) = 0 off the support)

which is a proper distribution for any base, so mixers can treat every model alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Escape is kept away from 0 so log(escape) stays finite in the log-domain mixer.
MIN_ESCAPE = 1e-4


@dataclass(frozen=True)
class SparsePrediction:
    tokens: np.ndarray  # int64 (k,), distinct token ids
    probs: np.ndarray  # float64 (k,), sums to 1
    escape: float  # mass given to the base distribution, in [MIN_ESCAPE, 1]

    @staticmethod
    def from_counts(counts: dict[int, float], escape: float) -> "SparsePrediction":
        tokens = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        weights = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return SparsePrediction(tokens, weights / weights.sum(), min(1.0, max(MIN_ESCAPE, escape)))
