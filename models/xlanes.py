"""The exact ensemble ("ensemble-x1") for many lanes at once, compiled (``_xlanes.c``).

``LaneEnsemble`` runs the predictor of ``models/xensemble.py`` for ``n_lanes`` lanes:
one call predicts (or updates) every listed lane of a step in C with the GIL released,
with no per-lane Python. The LLM is not part of it: the caller passes each lane's int32
log2q logits. The arithmetic is the integer recipe written out in ``xensemble.py``'s
docstring, bit for bit (``tests/test_xlanes.py`` checks it against the Python).

Two modes
---------
* ``shared=False``: every lane has its own complete state (bias, fast bias, mixer
  weights, update counter, PPM / n-gram counts, match model, history). Lane i's outputs
  are exactly those of a separate ``XEnsemblePredictor`` fed lane i's logits and tokens.
* ``shared=True``: the lanes of a group learn together. One bias vector (and one fast
  bias), one mixer weight table (and second weight family), one count table (PPM and
  n-gram) and one update counter ``n`` serve all lanes; each lane keeps its own history,
  its own match model (positions in its own history, its own hit records) and its own
  predict state. ``predict(lanes, ...)`` reads the shared state as it is (predict never
  changes it). ``update(lanes, tokens)`` applies the lanes' updates one after the other
  in the order listed: for each (lane, token), if the lane has a pending prediction, the
  mixer step and the bias step with the learning rates of the current ``n`` (from that
  lane's predict state), then ``n += 1``; then ``counts.update(lane's history, token)``,
  then the token is appended to the lane's history and the lane's match model is
  updated. Each lane's contexts (PPM, n-gram, match) come from its own history.
  ``models/xlanes_ref.py`` is the pure-Python twin built from ``xensemble.py``'s pieces.

In both modes, as in ``XEnsemblePredictor``, an update without a prediction since the
lane's last update only counts the token (no mixer or bias step, ``n`` unchanged), and a
second predict replaces the first one's pending state. A new ``LaneEnsemble`` starts
fresh (``reset`` is only needed to start over).

Memory: per lane 8 bytes per vocabulary entry (logp1 and p1 kept from predict to update)
plus, per model (each lane, or the group), 4 bytes per entry of bias (12 with the fast
bias) and the count tables, which grow with the contexts actually seen and are bounded
by ``2**slots_log2`` contexts per order and ``max_candidates`` tokens per context.

Every ``ensemble-x1`` option is supported (bias with schedule and fast bias, n-gram
orders, PPM escapes C and D, the match model, mixer ctx2 ``ppm_order`` / ``ppm_agree`` /
``ppm_escape``). Limits of the compiled tables, beyond which the constructor raises
``ValueError("... not supported by the compiled ensemble")``: context orders and match
``min_len`` in 1..64, at most 61 n-gram orders, ``max_candidates`` 1..4096, at most 64
confidence edges and match length buckets; counts are uint32 and a lane's history is
below 2**31 tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lmzip.coder.quantize import EXP2_FRAC
from lmzip.models import _xlanes
from lmzip.models.fixedpoint import LOG2_TABLE
from lmzip.models.xensemble import XENSEMBLE_KIND, _check_ranges

__all__ = ["LaneEnsemble", "compiled_config"]

# the int64 config vector of _xlanes.c (enum CF_*), in this order
_CFG_FIELDS = (
    "min_escape", "logp_floor",
    "has_bias", "bias_lr", "bias_limit", "bias_boost", "bias_half", "fast_lr", "fast_shift",
    "slots_log2", "max_candidates",
    "has_ngram", "has_ppm", "max_order", "method_d",
    "has_match", "min_len", "max_len", "match_slots_log2",
    "mix_lr", "mix_shift", "w_min", "w_max", "mix_boost", "mix_half", "ctx2",
)
_CTX2 = {None: 0, "ppm_order": 1, "ppm_agree": 2, "ppm_escape": 3}
assert len(_CFG_FIELDS) == _xlanes.CF_N

_xlanes.init_tables(np.ascontiguousarray(EXP2_FRAC, dtype=np.int64), np.ascontiguousarray(LOG2_TABLE, dtype=np.int64))

_I64 = np.int64


def compiled_config(params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The C config of ``params``: (cfg, ngram_orders, conf_edges, length_buckets), int64.

    Reads the same keys as ``XEnsemblePredictor._build`` (a missing key is a
    ``KeyError``) and raises the same ``ValueError`` for a bad kind, range, escape
    method or ctx2."""
    p = params
    if p.get("kind") != XENSEMBLE_KIND:
        raise ValueError(f"unknown predictor kind {p.get('kind')!r}")
    _check_ranges(p)
    f = dict.fromkeys(_CFG_FIELDS, 0)
    f["min_escape"] = int(p["min_escape"]) << 32
    f["logp_floor"] = int(p["logp_floor"])
    if p["bias"]:
        b = p["bias"]
        f.update(has_bias=1, bias_lr=int(b["lr"]), bias_limit=int(b["limit"]) << 8, bias_boost=int(b["lr_boost"]),
                 bias_half=int(b["lr_half"]), fast_lr=int(b["fast_lr"]), fast_shift=int(b["fast_shift"]))
    ngram_orders: list[int] = []
    if p["ngram"]:
        f["has_ngram"] = 1
        ngram_orders = [int(k) for k in p["ngram"]["orders"]]
    if p["ppm"]:
        escape = p["ppm"]["escape"]
        if escape not in ("C", "D"):
            raise ValueError(f"unknown PPM escape method {escape!r}")
        f.update(has_ppm=1, max_order=int(p["ppm"]["max_order"]), method_d=int(escape == "D"))
    if ngram_orders or (p["ppm"] and f["max_order"] >= 1):
        c = p["counts"]
        f.update(slots_log2=int(c["slots_log2"]), max_candidates=int(c["max_candidates"]))
    buckets: list[int] = []
    if p["match"]:
        m = p["match"]
        f.update(has_match=1, min_len=int(m["min_len"]), max_len=int(m["max_len"]),
                 match_slots_log2=int(m["slots_log2"]))
        buckets = [int(e) for e in m["length_buckets"]]
    mx = p["mixer"]
    f.update(mix_lr=int(mx["lr"]), mix_shift=int(mx["lr_shift"]), w_min=int(mx["w_min"]), w_max=int(mx["w_max"]),
             mix_boost=int(mx["lr_boost"]), mix_half=int(mx["lr_half"]))
    ctx2 = mx["ctx2"]
    if ctx2 is not None and (not p["ppm"] or ctx2 not in _CTX2):
        raise ValueError(f"mixer ctx2 {ctx2!r} needs the PPM model")
    f["ctx2"] = _CTX2[ctx2]
    edges = [int(e) for e in mx["conf_edges"]]
    for name, seq in (("n-gram orders", ngram_orders), ("length buckets", buckets)):
        if any(not -(1 << 62) <= v < (1 << 62) for v in seq):
            raise ValueError(f"{name} not supported by the compiled ensemble")
    values = [f[k] for k in _CFG_FIELDS]
    if any(not -(1 << 63) <= v < (1 << 63) for v in values):
        raise ValueError("parameter not supported by the compiled ensemble")
    return (np.array(values, dtype=_I64), np.array(ngram_orders, dtype=_I64), np.array(edges, dtype=_I64),
            np.array(buckets, dtype=_I64))


def _int32_vector(x: Any, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise ValueError(f"{what} must be a 1-D integer array")
    if a.dtype != np.int32:
        if a.size and (int(a.min()) < -(1 << 31) or int(a.max()) >= (1 << 31)):
            raise ValueError(f"{what} out of int32 range")
        a = a.astype(np.int32)
    return np.ascontiguousarray(a)


class LaneEnsemble:
    """``reset`` / ``predict`` / ``update`` of "ensemble-x1" for ``n_lanes`` lanes.

    ``path``: "auto" (AVX2 when the CPU has it), "scalar" or "avx2"; every path gives
    the same bits.
    """

    def __init__(self, params: dict[str, Any], n_vocab: int, n_lanes: int, shared: bool,
                 path: str = "auto") -> None:
        self.params = params
        self.n_vocab, self.n_lanes, self.shared = int(n_vocab), int(n_lanes), bool(shared)
        cfg, orders, edges, buckets = compiled_config(params)
        self._c = _xlanes.Ensemble(self.n_vocab, self.n_lanes, self.shared, cfg, orders, edges, buckets, path)

    @property
    def path(self) -> str:
        return self._c.path

    def reset(self) -> None:
        """Fresh online state for every lane (as ``XEnsemblePredictor.reset``)."""
        self._c.reset()

    def reset_lane(self, lane: int) -> None:
        """Fresh state for one lane: all of it (shared=False), or its history, match
        model and pending prediction (shared=True: the group's shared state stays)."""
        self._c.reset_lane(int(lane))

    def predict(self, lanes: Any, logits: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """int64 log2q values [B, V] (unnormalized, for ``quantize_log2q``): row j is
        lane ``lanes[j]``'s prediction from its LLM logits ``logits[j]`` (int32 [B, V])."""
        lanes = _int32_vector(lanes, "lanes")
        B, V = lanes.shape[0], self.n_vocab
        logits = np.asarray(logits)
        if logits.shape != (B, V) or logits.dtype.kind not in "iu":
            raise ValueError(f"logits must be an integer array of shape {(B, V)}, got {logits.dtype} {logits.shape}")
        if logits.dtype != np.int32:
            if logits.size and (int(logits.min()) < -(1 << 31) or int(logits.max()) >= (1 << 31)):
                raise ValueError("logits out of int32 range")
            logits = logits.astype(np.int32)
        logits = np.ascontiguousarray(logits)
        if out is None:
            out = np.empty((B, V), dtype=np.int64)
        elif out.shape != (B, V) or out.dtype != np.int64 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous int64 array of shape {(B, V)}")
        self._c.predict(lanes, logits, out)
        return out

    def update(self, lanes: Any, tokens: Any) -> None:
        """``XEnsemblePredictor.update(tokens[j])`` for lane ``lanes[j]``, in order."""
        lanes = _int32_vector(lanes, "lanes")
        tokens = _int32_vector(tokens, "tokens")
        if tokens.shape != lanes.shape:
            raise ValueError("lanes and tokens differ in length")
        self._c.update(lanes, tokens)

    def state(self, lane: int) -> dict[str, Any]:
        """The lane's state (its model's, in shared mode), for tests and diagnostics."""
        s = self._c.state(int(lane))
        s["bias"] = None if s["bias"] is None else np.frombuffer(s["bias"], dtype=np.int32).astype(np.int64)
        s["fast"] = None if s["fast"] is None else np.frombuffer(s["fast"], dtype=np.int64).copy()
        s["history"] = np.frombuffer(s["history"], dtype=np.int32).tolist()
        return s

    def table_sizes(self, lane: int) -> tuple[int, int]:
        """(most contexts in one order's table, most candidates of one context)."""
        return self._c.table_sizes(int(lane))

    def memory_bytes(self) -> int:
        """Bytes held by the compiled state (tables, work arrays, histories)."""
        return self._c.memory()
