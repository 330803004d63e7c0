"""Token n-gram model: one prediction per order, from hashed context counts.

Each order k predicts from the counts of tokens seen after the last k tokens, with a
Witten-Bell escape ``d / (n + d)`` (d distinct followers, n occurrences): a context seen
often with few followers is trusted, a fresh one defers to the LLM. The mixer weighs the
orders separately, so it learns which orders to trust on this file.
"""

from __future__ import annotations

from lmzip.models.counts import ContextCounts
from lmzip.models.sparse import SparsePrediction


class TokenNGram:
    def __init__(self, counts: ContextCounts, orders: tuple[int, ...]) -> None:
        self.counts = counts
        self.orders = orders

    def predict(self, history: list[int]) -> list[SparsePrediction | None]:
        out: list[SparsePrediction | None] = []
        for order in self.orders:
            c = self.counts.lookup(history, order)
            if not c:
                out.append(None)
                continue
            n = sum(c.values())
            d = len(c)
            out.append(SparsePrediction.from_counts(c, d / (n + d)))
        return out
