"""PPM over tokens: blend down from the longest seen context, with exclusion.

Method C escapes (``d / (n + d)``); each lower order predicts only tokens no higher order
already predicted (exclusion), with the escape mass left over. What is left after order 1
goes to the base distribution (the LLM) as this model's escape.
"""

from __future__ import annotations

from lmzip.models.counts import ContextCounts
from lmzip.models.sparse import SparsePrediction


class TokenPPM:
    def __init__(self, counts: ContextCounts, max_order: int) -> None:
        self.counts = counts
        self.orders = tuple(sorted((k for k in counts.orders if k <= max_order), reverse=True))

    def predict(self, history: list[int]) -> SparsePrediction | None:
        mass: dict[int, float] = {}
        remaining = 1.0
        for order in self.orders:
            c = self.counts.lookup(history, order)
            if not c:
                continue
            fresh = {t: n for t, n in c.items() if t not in mass}  # exclusion
            if not fresh:
                continue
            n = sum(fresh.values())
            d = len(fresh)
            scale = remaining / (n + d)
            for t, k in fresh.items():
                mass[t] = k * scale
            remaining *= d / (n + d)
        if not mass:
            return None
        return SparsePrediction.from_counts(mass, remaining)
