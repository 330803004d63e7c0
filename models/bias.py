"""Adaptive log-space bias head: one additive bias per vocabulary entry on the LLM logits.

Learned online by SGD on the cross-entropy of the biased LLM distribution:
``grad_b = softmax(z + b) - onehot(token)``. It learns what the file over- or under-uses
relative to the model's prior (names, spelling conventions, formatting tokens).
"""

from __future__ import annotations

import numpy as np


class BiasHead:
    def __init__(self, n_vocab: int, lr: float = 0.02, limit: float = 4.0) -> None:
        self.bias = np.zeros(n_vocab, dtype=np.float64)
        self.lr = lr
        self.limit = limit

    def apply(self, logp: np.ndarray) -> np.ndarray:
        """Biased, renormalized log-probabilities. (V,) -> (V,)"""
        z = logp + self.bias
        z -= z.max()
        p = np.exp(z)
        total = p.sum()
        self._probs = p / total  # kept for the update: softmax(z + b)
        return z - np.log(total)

    def update(self, token: int) -> None:
        grad = self._probs
        grad[token] -= 1.0
        self.bias -= self.lr * grad
        np.clip(self.bias, -self.limit, self.limit, out=self.bias)

