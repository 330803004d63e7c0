"""Token match model: find the longest earlier occurrence of the recent context and
predict the token that followed it.

A hash of the last ``min_len`` tokens points at the latest position where they occurred.
While the prediction keeps coming true the match simply extends. Confidence is learned:
each match-length bucket keeps its own hit record, so the model trusts long matches only
as far as they have actually been right in this file.
"""

from __future__ import annotations

import numpy as np

from lmzip.models.counts import context_hash
from lmzip.models.sparse import SparsePrediction

LENGTH_BUCKETS = (0, 1, 2, 4, 8, 16, 32)  # default; bucket i: length >= edges[i]


class TokenMatch:
    def __init__(self, min_len: int = 4, max_len: int = 64, slots_log2: int = 20,
                 length_buckets=LENGTH_BUCKETS) -> None:
        self.edges = tuple(int(e) for e in length_buckets)
        self.min_len = min_len
        self.max_len = max_len
        self.positions: dict[int, int] = {}  # hashed slot -> position; bounded by slots
        self.mask = (1 << slots_log2) - 1
        self.ptr = -1  # index in history of the predicted token
        self.length = 0
        # hit record per length bucket, with a 1-hit / 2-trial prior
        self.hits = [1.0] * len(self.edges)
        self.trials = [2.0] * len(self.edges)
        self.predicted = -1

    def predict(self, history: list[int]) -> SparsePrediction | None:
        self.predicted = -1
        if self.ptr < 0 or self.ptr >= len(history):
            return None
        token = history[self.ptr]
        self.predicted = token
        b = self.length_bucket(self.length)
        p_hit = self.hits[b] / self.trials[b]
        return SparsePrediction(np.array([token], dtype=np.int64), np.ones(1), 1.0 - p_hit)

    def length_bucket(self, length: int) -> int:
        b = 0
        for i, edge in enumerate(self.edges):
            if length >= edge:
                b = i
        return b

    def predicted_next(self, history: list[int]) -> int:
        """The token the match predicts next, or -1 (no state change)."""
        return history[self.ptr] if 0 <= self.ptr < len(history) else -1

    def next_bucket(self) -> int:
        return self.length_bucket(self.length)

    def hit_rate(self, bucket: int) -> float:
        return self.hits[bucket] / self.trials[bucket]

    @property
    def bucket(self) -> int:
        """Match state for the mixer's weight-set selection (0: no match)."""
        return 0 if self.predicted < 0 else self.length_bucket(self.length)

    def update(self, history: list[int], token: int) -> None:
        """``history`` already ends with ``token``."""
        if self.predicted >= 0:
            b = self.length_bucket(self.length)
            self.trials[b] += 1
            if self.predicted == token:
                self.hits[b] += 1
        n = len(history)
        if self.predicted >= 0 and self.predicted == token:
            self.ptr += 1
            self.length = min(self.length + 1, self.max_len)
        else:
            self.ptr = -1
            self.length = 0
        if n >= self.min_len:
            h = context_hash(history, self.min_len)
            if self.ptr < 0:
                cand = self.positions.get(h & self.mask)
                if cand is not None:
                    # verify and measure the match backwards from the candidate
                    length = 0
                    while length < self.max_len and cand - 1 - length >= 0 and \
                            history[cand - 1 - length] == history[n - 1 - length]:
                        length += 1
                    if length >= self.min_len:
                        self.ptr, self.length = cand, length
            self.positions[h & self.mask] = n  # the token after this context will sit at index n
