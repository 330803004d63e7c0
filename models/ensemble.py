"""The ensemble predictor: SmolLM2 plus online models, mixed, then calibrated.

    logits --log_softmax--> [bias head] --> mixer(LLM, n-gram orders, PPM, match) --> logp
    logp --> [tree calibrator, in the coding loop] --> bits

Every component can be switched off, and every hyperparameter comes from the ``params``
dict that the archive header stores, so a decoder never relies on defaults.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from lmzip.models.bias import BiasHead
from lmzip.models.calibration import TreeCalibrator
from lmzip.models.counts import ContextCounts
from lmzip.models.match import TokenMatch
from lmzip.models.mixer import Mixer
from lmzip.models.ngram import TokenNGram
from lmzip.models.ppm import TokenPPM

ENSEMBLE_KIND = "ensemble-v1"

DEFAULT_PARAMS: dict[str, Any] = {
    "kind": ENSEMBLE_KIND,
    "counts": {"slots_log2": 18, "max_candidates": 24},
    "bias": {"lr": 0.02, "limit": 4.0},
    "ngram": {"orders": [2, 3, 4]},
    "ppm": {"max_order": 6},
    "match": {"min_len": 4, "max_len": 64, "slots_log2": 20, "length_buckets": [0, 1, 2, 4, 8, 16, 32]},
    "mixer": {"kind": "geometric", "lr": 0.001, "eta": 0.5, "floor": 0.002, "conf_edges": [0.3, 0.6, 0.9]},
    "calibration": {"shrink": 32.0, "steps": [[False, 12], [True, 12], [False, 24]], "s_max": 7.0,
                    "conf_edges": [0.3, 0.6, 0.9]},
    "skip": None,
}

COMPONENTS = ("bias", "ngram", "ppm", "match", "calibration", "skip")

# Confidence skip (off by default: see the README's ablation). When the match model is
# in a long match whose length bucket has been right at least ``min_hit`` of the time,
# the LLM is not run for that token; skipped tokens reach the KV cache later, fed as one
# batch right before the next LLM prediction. Both the decision and the batch are
# functions of already-coded tokens, so the decoder reproduces them exactly.
SKIP_DEFAULT = {"min_bucket": 5, "min_hit": 0.9, "max_pending": 16}


def ensemble_params(**overrides: Any) -> dict[str, Any]:
    """Default params with components switched off (``ngram=None``) or changed."""
    params = copy.deepcopy(DEFAULT_PARAMS)
    for key, value in overrides.items():
        if key not in params:
            raise KeyError(f"unknown ensemble parameter {key!r}")
        params[key] = value
    return params


def _match_state(bucket: int) -> int:
    return 0 if bucket == 0 else (1 if bucket < 4 else 2)  # none / short / long (bucket >= 4)

N_MATCH_STATES = 4  # the three above, and 3 = "LLM skipped: its prediction is stale"


def batch_size(params: dict[str, Any]) -> int:
    """The llama.cpp batch size this predictor needs (1 unless skip is on)."""
    skip = params.get("skip") if params.get("kind") == ENSEMBLE_KIND else None
    return int(skip["max_pending"]) if skip else 1


class EnsemblePredictor:
    """``reset`` / ``predict`` / ``update`` around an LLM logits source.

    ``llm`` is anything with ``reset() -> logits`` and ``feed(token) -> logits`` (a
    ``LlamaSession``, or a replay of cached logits in the ablation script).
    """

    def __init__(self, llm: Any, n_vocab: int, params: dict[str, Any]) -> None:
        if params.get("kind") != ENSEMBLE_KIND:
            raise ValueError(f"unknown predictor kind {params.get('kind')!r}")
        self.llm = llm
        self.n_vocab = n_vocab
        self.params = params
        self._build()

    def _build(self) -> None:
        p = self.params
        n_vocab = self.n_vocab
        orders: set[int] = set()
        if p.get("ngram"):
            orders |= set(p["ngram"]["orders"])
        if p.get("ppm"):
            orders |= set(range(1, int(p["ppm"]["max_order"]) + 1))
        counts = None
        if orders:
            c = p["counts"]
            counts = ContextCounts(tuple(sorted(orders)), int(c["slots_log2"]), int(c["max_candidates"]))
        self.counts = counts
        self.bias = BiasHead(n_vocab, **p["bias"]) if p.get("bias") else None
        self.ngram = TokenNGram(counts, tuple(p["ngram"]["orders"])) if p.get("ngram") else None
        self.ppm = TokenPPM(counts, int(p["ppm"]["max_order"])) if p.get("ppm") else None
        self.match = TokenMatch(**p["match"]) if p.get("match") else None
        n_inputs = 1 + (len(self.ngram.orders) if self.ngram else 0) + bool(self.ppm) + bool(self.match)
        m = p["mixer"]
        self.conf_edges = tuple(m["conf_edges"])
        n_sets = (len(self.conf_edges) + 1) * N_MATCH_STATES
        self.skipped = 0
        self.mixer = Mixer(n_inputs, n_sets, m["kind"], m["lr"], m["eta"], m["floor"])
        self.skip = p.get("skip") or None
        if self.skip and not self.match:
            raise ValueError("confidence skip needs the match model")
        if self.skip:
            # In the skipped state the LLM's logits are stale: start those weight sets
            # from the match model's own distribution rather than from the LLM.
            for conf in range(len(self.conf_edges) + 1):
                row = self.mixer.weights[conf * N_MATCH_STATES + 3]
                row[:] = 0.0
                row[n_inputs - 1] = 1.0
        cal = p.get("calibration")
        self.calibrator = TreeCalibrator(n_vocab, **cal) if cal else None
        self.history: list[int] = []
        self._pending: list[int] = []
        self._logits: np.ndarray | None = None

    def reset(self) -> None:
        self._build()  # fresh online state for every chunk
        self._logits = self.llm.reset()

    def _skip_now(self) -> bool:
        skip, match = self.skip, self.match
        if not skip or match.predicted_next(self.history) < 0:
            return False
        b = match.next_bucket()
        return (b >= skip["min_bucket"] and match.hit_rate(b) >= skip["min_hit"]
                and len(self._pending) < skip["max_pending"])

    def predict(self) -> np.ndarray:
        """Final log-probabilities (V,) float64."""
        skipping = self._skip_now()
        if self._pending and not skipping:
            if len(self._pending) == 1:
                self._logits = self.llm.feed(self._pending[0])
            else:
                self._logits = self.llm.feed_many(self._pending)
            self._pending = []
        self.skipped += skipping
        z = self._logits.astype(np.float64)
        z -= z.max()
        logp = z - np.log(np.exp(z).sum())
        if self.bias is not None:
            logp = self.bias.apply(logp)
        inputs = []
        h = self.history
        if self.ngram is not None:
            inputs.extend(self.ngram.predict(h))
        if self.ppm is not None:
            inputs.append(self.ppm.predict(h))
        match_state = 0
        if self.match is not None:
            inputs.append(self.match.predict(h))
            match_state = 3 if skipping else _match_state(self.match.bucket)
        conf = 0
        pmax = float(np.exp(logp.max()))
        for edge in self.conf_edges:
            conf += pmax >= edge
        return self.mixer.mix(logp, inputs, conf * N_MATCH_STATES + match_state)

    def update(self, token: int) -> None:
        self.mixer.update(token)
        if self.bias is not None:
            self.bias.update(token)
        if self.counts is not None:
            self.counts.update(self.history, token)
        self.history.append(token)
        if self.match is not None:
            self.match.update(self.history, token)
        self._pending.append(token)
