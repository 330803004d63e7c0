"""Pure-Python twin of ``models/xlanes.py`` (``LaneEnsemble``), for tests.

Built from ``models/xensemble.py``'s own pieces, so it defines the lane semantics in
terms of the single-stream predictor:

* ``shared=False``: one ``XEnsemblePredictor`` per lane, fed the caller's logits.
* ``shared=True``: one ``XEnsemblePredictor`` (the "core") holds the group's bias, fast
  bias, mixer weights, counts and update counter; each lane holds its history, its
  ``XMatch`` and its pending predict state. A lane's predict or update swaps the lane's
  pieces into the core and calls the core's own ``predict`` / ``update``; predict state
  arrays are copied out, since the core reuses its work arrays. ``update(lanes, tokens)``
  runs the lanes in the order listed (see ``xlanes.py`` for the definition).

Slow (pure Python/numpy per lane and token): only for checking the compiled version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lmzip.models.xensemble import XEnsemblePredictor, XMatch


class _GivenLogits:
    """An "LLM" whose logits the caller sets before each predict."""

    def reset(self) -> None:
        return None

    def feed(self, token: int) -> None:  # never called: the caller clears _pending
        raise AssertionError("the lane ensemble is fed logits, not tokens")


class _Lane:
    def __init__(self, params: dict[str, Any]) -> None:
        self.history: list[int] = []
        m = params["match"]
        self.match = XMatch(m["min_len"], m["max_len"], m["slots_log2"], m["length_buckets"],
                            int(params["min_escape"]) << 32) if m else None
        self.state: tuple | None = None


class RefLaneEnsemble:
    """Same interface as ``LaneEnsemble`` (predict returns a new array)."""

    def __init__(self, params: dict[str, Any], n_vocab: int, n_lanes: int, shared: bool) -> None:
        self.params = params
        self.n_vocab, self.n_lanes, self.shared = int(n_vocab), int(n_lanes), bool(shared)
        self.reset()

    def _predictor(self) -> XEnsemblePredictor:
        p = XEnsemblePredictor(_GivenLogits(), self.n_vocab, self.params)
        p.reset()
        return p

    def reset(self) -> None:
        if self.shared:
            self.core = self._predictor()
            self.lanes = [_Lane(self.params) for _ in range(self.n_lanes)]
        else:
            self.preds = [self._predictor() for _ in range(self.n_lanes)]

    def reset_lane(self, lane: int) -> None:
        if self.shared:
            self.lanes[lane] = _Lane(self.params)
        else:
            self.preds[lane] = self._predictor()

    def _enter(self, lane: int) -> XEnsemblePredictor:
        """The core with the lane's pieces swapped in."""
        core, ls = self.core, self.lanes[lane]
        core.history = ls.history
        core.match = ls.match
        core._pending = None
        return core

    def predict(self, lanes: Any, logits: np.ndarray) -> np.ndarray:
        lanes = [int(x) for x in np.asarray(lanes).reshape(-1)]
        out = np.empty((len(lanes), self.n_vocab), dtype=np.int64)
        for j, lane in enumerate(lanes):
            row = np.asarray(logits[j], dtype=np.int32)
            if self.shared:
                core = self._enter(lane)
                core._logits = row
                out[j] = core.predict()
                ctx, ctx2, logp1, p1, p2, tokens, corr, segments = core._state
                core._state = None
                self.lanes[lane].state = (ctx, ctx2, logp1.copy(), p1.copy(), p2.copy(), tokens, corr, segments)
            else:
                pred = self.preds[lane]
                pred._pending = None
                pred._logits = row
                out[j] = pred.predict()
        return out

    def update(self, lanes: Any, tokens: Any) -> None:
        lanes = [int(x) for x in np.asarray(lanes).reshape(-1)]
        tokens = [int(x) for x in np.asarray(tokens).reshape(-1)]
        for lane, token in zip(lanes, tokens):
            if self.shared:
                core = self._enter(lane)
                core._state, self.lanes[lane].state = self.lanes[lane].state, None
                core.update(token)  # mixer, bias, n += 1, counts, history, match
                core._pending = None
            else:
                pred = self.preds[lane]
                pred.update(token)
                pred._pending = None
