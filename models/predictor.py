"""Predictors: what the coding loop asks for the next token's distribution.

Every predictor follows one small protocol — ``reset()``, ``predict()``, ``update(token)``
— and ``predict`` returns unnormalized log-probabilities, shape (n_vocab,): integer log2q
(2**-16 bit units) on the exact backend, float64 nats on the v1 llama.cpp backend.
The coding loop quantizes them; predictors never see the coder.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np



class Predictor(Protocol):
    def reset(self) -> None: ...
    def predict(self) -> np.ndarray: ...
    def update(self, token: int) -> None: ...


class LLMPredictor:
    """The language model alone.

    Evaluation is lazy: ``update`` only records the token, and the next ``predict``
    feeds it. So the last token of a chunk is never evaluated, on either side.
    """

    def __init__(self, session) -> None:
        self.session = session
        self._pending: int | None = None
        self._logits: np.ndarray | None = None

    def reset(self) -> None:
        self._logits = self.session.reset()
        self._pending = None

    def predict(self) -> np.ndarray:
        if self._pending is not None:
            self._logits = self.session.feed(self._pending)
            self._pending = None
        assert self._logits is not None, "predict() before reset()"
        if self._logits.dtype.kind == "i":
            return self._logits  # exact backend: integer log2q logits, quantized as they are
        return self._logits.astype(np.float64)

    def update(self, token: int) -> None:
        self._pending = token
