"""Online models over lanes: the protocol the lane coding loop drives.

A lane model turns the LLM's integer logits for the lanes of one step into the integer
log2q values the quantizer codes, and learns from the tokens that were coded:

* ``reset()``: fresh online state for a new chunk.
* ``predict(lanes, logits) -> z``: ``lanes`` int32 [B] (which lanes step, in order),
  ``logits`` int32 log2q [B, V]; returns integer log2q values [B, V].
* ``update(lanes, tokens)``: the coded tokens int32 [B] of the same lanes.

``LLMOnly`` is the language model alone. ``PerLanePredictors`` runs one single-stream
predictor (e.g. ``XEnsemblePredictor``) per lane in Python: the readable twin of the
compiled ``models/xlanes.py`` (unshared lanes), used by tests and as the definition.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import numpy as np


class LaneModel(Protocol):
    def reset(self) -> None: ...
    def predict(self, lanes: np.ndarray, logits: np.ndarray) -> np.ndarray: ...
    def update(self, lanes: np.ndarray, tokens: np.ndarray) -> None: ...


class LLMOnly:
    """The language model alone: its logits are coded as they are."""

    def reset(self) -> None:
        pass

    def predict(self, lanes: np.ndarray, logits: np.ndarray) -> np.ndarray:
        return logits

    def update(self, lanes: np.ndarray, tokens: np.ndarray) -> None:
        pass


class _Handoff:
    """The "LLM" of a per-lane predictor: hands over the logits the loop got for the lane."""

    def __init__(self) -> None:
        self.logits: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        return self.logits

    def feed(self, token: int) -> np.ndarray:
        return self.logits


class PerLanePredictors:
    """One single-stream predictor per lane, each fed the logits the loop gives it.

    ``make(llm)`` builds a predictor around an object with ``reset() -> logits`` and
    ``feed(token) -> logits`` (the protocol of ``models/predictor.py``'s predictors).
    A predictor evaluates lazily (``update`` records the token, the next ``predict``
    feeds it), which matches the loop: it steps the model for a lane only when the
    lane has another token to code.
    """

    def __init__(self, make: Callable[[Any], Any], n_lanes: int) -> None:
        self._handoffs = [_Handoff() for _ in range(n_lanes)]
        self._predictors = [make(h) for h in self._handoffs]
        self._started = [False] * n_lanes

    def reset(self) -> None:
        self._started = [False] * len(self._predictors)

    def predict(self, lanes: np.ndarray, logits: np.ndarray) -> np.ndarray:
        rows = []
        for row, lane in zip(logits, lanes):
            lane = int(lane)
            self._handoffs[lane].logits = row
            pred = self._predictors[lane]
            if not self._started[lane]:
                pred.reset()
                self._started[lane] = True
            rows.append(np.asarray(pred.predict(), dtype=np.int64))
        return np.stack(rows)

    def update(self, lanes: np.ndarray, tokens: np.ndarray) -> None:
        for lane, token in zip(lanes, tokens):
            self._predictors[int(lane)].update(int(token))
