"""The exact ensemble ("ensemble-x1"): the float ensemble's twin in integer arithmetic.

    L (int32 log2q logits) --+bias--> z1 --softmax--> logp1 --mixer(LLM, n-gram, PPM, match)--> z2

Same structure as ``models/ensemble.py`` ("ensemble-v1", kept to decode old archives),
but every number that decides a probability is an integer: logits and log-probabilities
in log2q units (2**-16 bit), probabilities in Q30/Q62, mixer weights in Q16, the bias in
2**-24 bit, counts as ints, learning rates as an integer times a power of two. The
primitives (exp2q, log2q, logaddexp2q, softmax_q30) are defined in
``models/fixedpoint.py``; numpy is used only for element-wise integer ops and integer
sums, which are exact and independent of summation order, so encoder and decoder agree
on every machine. ``>>`` is a floor shift everywhere (Python ints and numpy int64 alike).

Every component can be switched off (``xensemble_params(ppm=None)``), and every
hyperparameter comes from the ``params`` dict that the archive header stores: the
decoder never uses defaults (a missing key is a ``KeyError``). Measured in
``scripts/xablation.py``: the bias head and PPM earn their place; the n-gram and match
models, the fast bias, PPM escape D and the second mixer context did not and are off.

Components:

* **bias head**: one additive bias per vocabulary entry on the LLM logits, learned by
  SGD on the code length, ``b += lr_t * (onehot(token) - p1)`` with
  ``p1 = softmax(L + b)``, clipped to +-limit.
* **n-gram** (orders k): counts of tokens after the last k tokens, Witten-Bell escape.
* **PPM**: blend down from the longest seen context (orders max_order..1) with
  exclusion, method C (or D) escapes.
* **match**: the token that followed the latest earlier occurrence of the context;
  confidence is the hit record of its match-length bucket.
* **mixer** (geometric, log domain): ``z2 = W * logp1 + sum_i w_i * corr_i`` where
  ``W = sum_i w_i`` and ``corr_i`` is input i's log-ratio to the LLM on its few
  candidate tokens; the weight set is selected by (LLM confidence bucket x match state)
  and follows the code-length gradient ``E_p2[log p_i] - log p_i(token)``.

Sparse models predict ``p(t) = (1 - e) q(t) + e p1(t)`` (``q = mass / total`` on a few
candidates, escape ``e`` to the biased LLM), like ``models/sparse.py``.

The exact recipe, per token (n = tokens coded so far in the chunk)
------------------------------------------------------------------
predict:

1. ``z1 = int64(L) + ((b + f) >> 8)`` (``b`` the bias, ``f`` the fast bias, both in
   2**-24 bit; absent terms are 0). ``p1, lse1, pmax = softmax_q30(z1)``;
   ``logp1 = max(z1 - lse1, logp_floor)``.
2. Sparse inputs, in this order: one per n-gram order (as listed), PPM, match. Each is
   ``(tokens, masses >= 1, total = sum(masses), E)`` with the escape ``E`` in Q62 raised
   to at least ``min_escape << 32``; ``E >= 2**62`` (or no prediction) is "abstain".
   n-gram: masses = counts, ``E = d * 2**62 // (n + d)``. PPM, from the longest order
   down, with ``R = 2**62`` and only tokens not yet predicted: method C
   ``mass = max(1, k * R // (n + d))``, ``R = R * d // (n + d)``; method D
   ``mass = max(1, (2k - 1) * R // 2n)``, ``R = R * d // 2n``; ``E = R``. Match:
   ``E = (trials - hits) * 2**62 // trials`` of its length bucket, mass 1.
3. Weight set ``ctx = conf * 3 + match_state`` with ``conf = #{edges: pmax >= edge << 14}``;
   ``w = weights[ctx]`` (plus ``weights2[ctx2]`` when ``ctx2`` is on); ``W = sum(w)``.
4. ``z2 = W * logp1``; for every live input i and candidate t:
   ``a = log2q(E) - 62 * 65536 + logp1[t]``,
   ``c = log2q(2**62 - E) - 62 * 65536 - log2q(total) + log2q(mass_t)``,
   ``corr = logaddexp2q(a, c) - a`` and ``z2[t] += w_i * corr``. Then ``z2 >>= 16``.
5. ``p2 = softmax_q30(z2)``; the output is ``z2`` (coded with ``quantize_log2q``).

update(token):

1. ``g0 = (sum(p2 * logp1) >> 30) - logp1[token]``; abstaining inputs get ``g0``;
   live input i: ``g0 + (sum_t(p2[t] * corr_t) >> 30) - corr_token`` (0 when the token
   is not a candidate).
2. ``lr_t = lr + lr_boost * lr_half // (lr_half + n)`` (``lr`` if ``lr_half == 0``);
   ``w_i = clip(w_i - ((g_i * lr_t + 2**(lr_shift - 1)) >> lr_shift), w_min, w_max)``
   for the weight set(s) used.
3. Bias (its own ``lr_t``): ``b -= (p1 * lr_t + 2**29) >> 30``; ``b[token] += lr_t``;
   ``b = clip(b, -limit << 8, limit << 8)``. Fast bias: ``f -= f >> fast_shift``, then
   the same step with ``fast_lr`` and no clip.
4. Counts (``models/counts.py``), history, then the match model are updated.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from lmzip.models.counts import ContextCounts, context_hash
from lmzip.models.fixedpoint import LOG2Q_BITS, Q62, log2q, log2q_int, logaddexp2q, softmax_q30

XENSEMBLE_KIND = "ensemble-x1"

DEFAULT_PARAMS: dict[str, Any] = {
    "kind": XENSEMBLE_KIND,
    "counts": {"slots_log2": 18, "max_candidates": 24},
    # Bias step per unit gradient, in 2**-24 bit: lr + lr_boost * lr_half // (lr_half + n)
    # after n tokens; 968166 = 0.04 nats, 5808996 = 0.24 nats. limit 756388 = 8 nats (log2q).
    # fast_lr / fast_shift: an extra leaky bias (off: measured no gain).
    "bias": {"lr": 968166, "limit": 756388, "lr_boost": 5808996, "lr_half": 8000, "fast_lr": 0, "fast_shift": 0},
    "ngram": None,  # measured: no gain (scripts/xablation.py); NGRAM_DEFAULT to switch on
    "ppm": {"max_order": 6, "escape": "C"},
    "match": None,  # measured: no gain; MATCH_DEFAULT to switch on
    # dw = round(grad_log2q * lr_t / 2**lr_shift), lr_t = lr + lr_boost * lr_half // (lr_half + n);
    # 363 / 2**20 per log2q = 0.0005 per nat. conf edges 0.3 / 0.6 / 0.9 in Q16; weights
    # in Q16 (65536 = 1.0), clipped to [w_min, w_max]; ctx2: optional second weight family
    # selected by PPM state ("ppm_order", "ppm_agree", "ppm_escape"; off: no gain).
    "mixer": {"lr": 363, "lr_shift": 20, "conf_edges": [19661, 39322, 58982],
              "w_min": -262144, "w_max": 524288, "lr_boost": 5816, "lr_half": 2000, "ctx2": None},
    # sparse models' escape is at least min_escape (Q30: 107374 ~ 1e-4)
    "min_escape": 107374,
    # log p1 is clamped below at this (log2q: -64 bits), so products stay in int64
    "logp_floor": -(64 << LOG2Q_BITS),
}

COMPONENTS = ("bias", "ngram", "ppm", "match")
NGRAM_DEFAULT = {"orders": [2, 3, 4]}
MATCH_DEFAULT = {"min_len": 4, "max_len": 64, "slots_log2": 20, "length_buckets": [0, 1, 2, 4, 8, 16, 32]}
N_MATCH_STATES = 3  # no / short / long match (as ensemble-v1, without its skip state)

_LOG2Q_62 = 62 << LOG2Q_BITS


def xensemble_params(**overrides: Any) -> dict[str, Any]:
    """Default params with components switched off (``ppm=None``) or changed."""
    params = copy.deepcopy(DEFAULT_PARAMS)
    for key, value in overrides.items():
        if key not in params:
            raise KeyError(f"unknown ensemble-x1 parameter {key!r}")
        params[key] = copy.deepcopy(value)
    return params


# -- sparse models --------------------------------------------------------------------------
# Each predicts (tokens, masses, total, escape): q(t) = masses / total on ``tokens`` (int64
# arrays, distinct tokens, masses >= 1) and an escape in Q62; or None (abstain).

Sparse = tuple[np.ndarray, np.ndarray, int, int]


def _sparse(tokens: list[int], masses: list[int], escape: int, min_escape: int) -> Sparse | None:
    escape = max(min_escape, escape)
    if escape >= Q62:
        return None  # all mass to the LLM: the same as abstaining
    return (np.array(tokens, dtype=np.int64), np.array(masses, dtype=np.int64), sum(masses), escape)


class XNGram:
    """One prediction per order: counts after the last k tokens, escape d / (n + d)."""

    def __init__(self, counts: ContextCounts, orders: tuple[int, ...], min_escape: int) -> None:
        self.counts, self.orders, self.min_escape = counts, orders, min_escape

    def predict(self, history: list[int]) -> list[Sparse | None]:
        out: list[Sparse | None] = []
        for order in self.orders:
            c = self.counts.lookup(history, order)
            if not c:
                out.append(None)
                continue
            n = sum(c.values())
            d = len(c)
            out.append(_sparse(list(c.keys()), list(c.values()), d * Q62 // (n + d), self.min_escape))
        return out


class XPPM:
    """PPM over tokens, method C escapes, exclusion; masses and escape in Q62."""

    def __init__(self, counts: ContextCounts, max_order: int, min_escape: int, escape: str = "C") -> None:
        if escape not in ("C", "D"):
            raise ValueError(f"unknown PPM escape method {escape!r}")
        self.method_d = escape == "D"
        self.counts = counts
        self.orders = tuple(sorted((k for k in counts.orders if k <= max_order), reverse=True))
        self.min_escape = min_escape
        self.order_found = 0  # longest context order seen at the last predict (0: none)

    def predict(self, history: list[int]) -> Sparse | None:
        mass: dict[int, int] = {}
        remaining = Q62
        self.order_found = 0
        for order in self.orders:
            c = self.counts.lookup(history, order)
            if not c:
                continue
            self.order_found = max(self.order_found, order)
            fresh = [(t, k) for t, k in c.items() if t not in mass]  # exclusion
            if not fresh:
                continue
            n = sum(k for _, k in fresh)
            if self.method_d:  # PPMD: (2k - 1) / 2n, escape d / 2n
                for t, k in fresh:
                    mass[t] = max(1, (2 * k - 1) * remaining // (2 * n))
                remaining = remaining * len(fresh) // (2 * n)
            else:  # method C: k / (n + d), escape d / (n + d)
                nd = n + len(fresh)
                for t, k in fresh:
                    mass[t] = max(1, k * remaining // nd)
                remaining = remaining * len(fresh) // nd
        if not mass:
            return None
        return _sparse(list(mass.keys()), list(mass.values()), remaining, self.min_escape)


class XMatch:
    """Token match model with integer hit records per match-length bucket."""

    def __init__(self, min_len: int, max_len: int, slots_log2: int, length_buckets: list[int],
                 min_escape: int) -> None:
        self.edges = tuple(int(e) for e in length_buckets)
        self.min_len, self.max_len = int(min_len), int(max_len)
        self.mask = (1 << int(slots_log2)) - 1
        self.min_escape = min_escape
        self.positions: dict[int, int] = {}  # hashed slot -> position; bounded by slots
        self.ptr = -1  # index in history of the predicted token
        self.length = 0
        self.hits = [1] * len(self.edges)  # 1-hit / 2-trial prior
        self.trials = [2] * len(self.edges)
        self.predicted = -1

    def length_bucket(self, length: int) -> int:
        b = 0
        for i, edge in enumerate(self.edges):
            if length >= edge:
                b = i
        return b

    @property
    def bucket(self) -> int:
        return 0 if self.predicted < 0 else self.length_bucket(self.length)

    def predict(self, history: list[int]) -> Sparse | None:
        self.predicted = -1
        if self.ptr < 0 or self.ptr >= len(history):
            return None
        token = history[self.ptr]
        self.predicted = token
        b = self.length_bucket(self.length)
        miss = (self.trials[b] - self.hits[b]) * Q62 // self.trials[b]
        return _sparse([token], [1], miss, self.min_escape)

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
                    length = 0
                    while length < self.max_len and cand - 1 - length >= 0 and \
                            history[cand - 1 - length] == history[n - 1 - length]:
                        length += 1
                    if length >= self.min_len:
                        self.ptr, self.length = cand, length
            self.positions[h & self.mask] = n


def _check_ranges(p: dict[str, Any]) -> None:
    """Reject params whose products could leave int64 (a header is data, not trusted)."""
    def ok(value: Any, lo: int, hi: int) -> bool:
        return type(value) is int and lo <= value <= hi

    checks = [ok(p["min_escape"], 1, 1 << 30), ok(p["logp_floor"], -(1 << 24), -(1 << 16))]
    if p["bias"]:
        b = p["bias"]
        checks += [ok(b["lr"], 0, 1 << 24), ok(b["lr_boost"], 0, 1 << 24), ok(b["lr_half"], 0, 1 << 30),
                   ok(b["limit"], 0, 1 << 22), ok(b["fast_lr"], 0, 1 << 24), ok(b["fast_shift"], 0, 30)]
        if b["fast_lr"] and not b["fast_shift"]:
            checks.append(False)  # a fast bias must leak
    m = p["mixer"]
    checks += [ok(m["lr"], 0, 1 << 24), ok(m["lr_boost"], 0, 1 << 24), ok(m["lr_half"], 0, 1 << 30),
               ok(m["lr_shift"], 1, 40), ok(m["w_min"], -(1 << 20), 0), ok(m["w_max"], 0, 1 << 20),
               all(ok(e, 0, 1 << 16) for e in m["conf_edges"])]
    if not all(checks):
        raise ValueError("ensemble-x1 parameter out of range")


def _schedule(lr: int, boost: int, half: int, n: int) -> int:
    """Learning rate after n updates: ``lr + boost * half // (half + n)`` (boost decays
    to half its size after ``half`` updates; ``half == 0``: constant ``lr``)."""
    return lr + boost * half // (half + n) if half > 0 else lr


def _match_state(bucket: int) -> int:
    return 0 if bucket == 0 else (1 if bucket < 4 else 2)


# -- the predictor --------------------------------------------------------------------------

class XEnsemblePredictor:
    """``reset`` / ``predict`` / ``update`` around an integer-logit LLM.

    ``llm`` has ``reset() -> logits`` and ``feed(token) -> logits``, logits an integer
    array (V,) in log2q units. Evaluation is lazy as in ``LLMPredictor``: ``update``
    records the token and the next ``predict`` feeds it, so the last token of a chunk
    is never fed. ``predict`` returns int64 log2q values (V,), unnormalized, for
    ``lmzip.coder.quantize_log2q``.
    """

    def __init__(self, llm: Any, n_vocab: int, params: dict[str, Any]) -> None:
        if params.get("kind") != XENSEMBLE_KIND:
            raise ValueError(f"unknown predictor kind {params.get('kind')!r}")
        self.llm = llm
        self.n_vocab = int(n_vocab)
        self.params = params
        self._build()
        self._logits: np.ndarray | None = None

    def _build(self) -> None:
        p = self.params
        _check_ranges(p)
        min_escape = int(p["min_escape"]) << 32  # Q30 -> Q62
        self.logp_floor = int(p["logp_floor"])
        orders: set[int] = set()
        if p["ngram"]:
            orders |= {int(k) for k in p["ngram"]["orders"]}
        if p["ppm"]:
            orders |= set(range(1, int(p["ppm"]["max_order"]) + 1))
        counts = None
        if orders:
            c = p["counts"]
            counts = ContextCounts(tuple(sorted(orders)), int(c["slots_log2"]), int(c["max_candidates"]))
        self.counts = counts
        self.bias = None
        if p["bias"]:
            self.bias = np.zeros(self.n_vocab, dtype=np.int64)  # 2**-24 bit
            self.bias_lr = int(p["bias"]["lr"])
            self.bias_limit = int(p["bias"]["limit"]) << 8
            self.bias_boost, self.bias_half = int(p["bias"]["lr_boost"]), int(p["bias"]["lr_half"])
            # optional fast, leaky bias (recency): decays by 2**-fast_shift per token
            self.fast_lr, self.fast_shift = int(p["bias"]["fast_lr"]), int(p["bias"]["fast_shift"])
            self.fast = np.zeros(self.n_vocab, dtype=np.int64) if self.fast_lr else None
        self.ngram = XNGram(counts, tuple(int(k) for k in p["ngram"]["orders"]), min_escape) if p["ngram"] else None
        self.ppm = XPPM(counts, int(p["ppm"]["max_order"]), min_escape, p["ppm"]["escape"]) if p["ppm"] else None
        m = p["match"]
        self.match = XMatch(m["min_len"], m["max_len"], m["slots_log2"], m["length_buckets"], min_escape) \
            if m else None
        self.n_inputs = 1 + (len(self.ngram.orders) if self.ngram else 0) + bool(self.ppm) + bool(self.match)
        mx = p["mixer"]
        self.conf_edges = tuple(int(e) << 14 for e in mx["conf_edges"])  # Q16 -> Q30
        self.mix_lr, self.mix_shift = int(mx["lr"]), int(mx["lr_shift"])
        self.w_min, self.w_max = int(mx["w_min"]), int(mx["w_max"])
        self.mix_boost, self.mix_half = int(mx["lr_boost"]), int(mx["lr_half"])
        n_sets = (len(self.conf_edges) + 1) * N_MATCH_STATES
        self.weights = [[1 << 16] + [0] * (self.n_inputs - 1) for _ in range(n_sets)]
        # optional second weight family, added to the first: selected by PPM state
        self.ctx2 = mx["ctx2"]
        if self.ctx2 is not None:
            if self.ppm is None or self.ctx2 not in ("ppm_order", "ppm_agree", "ppm_escape"):
                raise ValueError(f"mixer ctx2 {self.ctx2!r} needs the PPM model")
            n2 = (int(p["ppm"]["max_order"]) + 1) * (2 if self.ctx2 == "ppm_agree" else 1)
            if self.ctx2 == "ppm_escape":
                n2 = 8
            self.weights2 = [[0] * self.n_inputs for _ in range(n2)]
        self.n_updates = 0
        self.history: list[int] = []
        self._pending: int | None = None
        self._state: tuple | None = None
        # work arrays, reused every token (p1, p2 and z1 = log p1 live until update)
        self._z1, self._p1, self._p2, self._c, self._i = (
            np.empty(self.n_vocab, dtype=np.int64) for _ in range(5))

    def reset(self) -> None:
        self._build()  # fresh online state for every chunk
        self._logits = self.llm.reset()

    # -- predict ------------------------------------------------------------------------
    def predict(self) -> np.ndarray:
        """Final log2q values (V,) int64 (unnormalized)."""
        if self._pending is not None:
            self._logits = self.llm.feed(self._pending)
            self._pending = None
        z1, c, i = self._z1, self._c, self._i
        np.copyto(z1, self._logits)
        if self.bias is not None:
            if self.fast is not None:
                np.add(self.bias, self.fast, out=c)
                c >>= 8
            else:
                np.right_shift(self.bias, 8, out=c)
            z1 += c
        p1, lse1, pmax = softmax_q30(z1, out=self._p1, work=(c, i))
        logp1 = z1
        logp1 -= lse1
        np.maximum(logp1, self.logp_floor, out=logp1)

        h = self.history
        inputs: list[Sparse | None] = []
        if self.ngram is not None:
            inputs.extend(self.ngram.predict(h))
        if self.ppm is not None:
            inputs.append(self.ppm.predict(h))
        match_state = 0
        if self.match is not None:
            inputs.append(self.match.predict(h))
            match_state = _match_state(self.match.bucket)
        conf = 0
        for edge in self.conf_edges:
            conf += pmax >= edge
        ctx = conf * N_MATCH_STATES + match_state
        w = self.weights[ctx]
        ctx2 = 0
        if self.ctx2 is not None:
            ctx2 = self.ppm.order_found
            if self.ctx2 == "ppm_escape":  # -log2(escape) in whole bits, 0..7
                ppm_in = inputs[-1 - bool(self.match)]
                ctx2 = 0 if ppm_in is None else min(7, 62 - ppm_in[3].bit_length() + 1)
            elif self.ctx2 == "ppm_agree":
                ppm_in = inputs[-1 - bool(self.match)]
                top = int(ppm_in[0][int(np.argmax(ppm_in[1]))]) if ppm_in is not None else -1
                ctx2 = 2 * ctx2 + (top == int(np.argmax(p1)))
            w = [x + y for x, y in zip(w, self.weights2[ctx2])]

        total_w = sum(w)
        z2 = logp1 * total_w
        live = [(i, s) for i, s in enumerate(inputs, start=1) if s is not None]
        corr = tokens = None
        segments: list[tuple[int, int, int]] = []
        if live:
            tokens = np.concatenate([s[0] for _, s in live])
            masses = np.concatenate([s[1] for _, s in live])
            log_e = np.empty(tokens.shape[0], dtype=np.int64)
            log_1me_q = np.empty(tokens.shape[0], dtype=np.int64)
            wcol = np.empty(tokens.shape[0], dtype=np.int64)
            start = 0
            for i, (toks, _, total, esc) in live:
                end = start + toks.shape[0]
                segments.append((i, start, end))
                log_e[start:end] = log2q_int(esc) - _LOG2Q_62
                # log2((1 - e) * q(t)) = log2(1 - e) - log2(total) + log2(mass)
                log_1me_q[start:end] = log2q_int(Q62 - esc) - _LOG2Q_62 - log2q_int(total)
                wcol[start:end] = w[i]
                start = end
            a = log_e + logp1[tokens]  # log2(e * p1(t))
            b = log_1me_q + log2q(masses)  # log2((1 - e) q(t))
            corr = logaddexp2q(a, b) - a  # >= 0: log2 p_i(t) - log2 e - log2 p1(t)
            np.add.at(z2, tokens, wcol * corr)
        z2 >>= 16
        p2, _, _ = softmax_q30(z2, out=self._p2, work=(self._c, self._i))
        self._state = (ctx, ctx2, logp1, p1, p2, tokens, corr, segments)
        return z2

    # -- update -------------------------------------------------------------------------
    def update(self, token: int) -> None:
        token = int(token)
        if self._state is not None:
            ctx, ctx2, logp1, p1, p2, tokens, corr, segments = self._state
            self._state = None
            # mixer: gradient of the code length with respect to each weight
            work = np.multiply(p2, logp1, out=self._c)
            e_llm = int(work.sum()) >> 30  # E_p2[log p1], log2q
            g0 = e_llm - int(logp1[token])
            grads = [g0] * self.n_inputs
            for i, start, end in segments:
                toks = tokens[start:end]
                c = corr[start:end]
                expected = int((p2[toks] * c).sum()) >> 30
                hit = np.flatnonzero(toks == token)
                actual = int(c[hit[0]]) if hit.size else 0
                grads[i] = g0 + expected - actual
            n = self.n_updates
            self.n_updates = n + 1
            lr = _schedule(self.mix_lr, self.mix_boost, self.mix_half, n)
            shift = self.mix_shift
            half = 1 << (shift - 1)
            deltas = [(g * lr + half) >> shift for g in grads]
            lo, hi = self.w_min, self.w_max
            for w in (self.weights[ctx], self.weights2[ctx2]) if self.ctx2 is not None else (self.weights[ctx],):
                for i, dlt in enumerate(deltas):
                    v = w[i] - dlt
                    w[i] = lo if v < lo else (hi if v > hi else v)
            # bias head: b += lr * (onehot - p1)
            if self.bias is not None:
                blr = _schedule(self.bias_lr, self.bias_boost, self.bias_half, n)
                step = np.multiply(p1, blr, out=self._c)
                step += 1 << 29
                step >>= 30
                b = self.bias
                b -= step
                b[token] += blr
                np.minimum(b, self.bias_limit, out=b)
                np.maximum(b, -self.bias_limit, out=b)
                if self.fast is not None:
                    fb = self.fast
                    step = np.right_shift(fb, self.fast_shift, out=self._c)
                    fb -= step
                    step = np.multiply(p1, self.fast_lr, out=self._c)
                    step += 1 << 29
                    step >>= 30
                    fb -= step
                    fb[token] += self.fast_lr
        if self.counts is not None:
            self.counts.update(self.history, token)
        self.history.append(token)
        if self.match is not None:
            self.match.update(self.history, token)
        self._pending = token
