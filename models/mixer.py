"""Online mixing of the LLM with sparse online models, in two flavours.

``geometric``: log p(t) = sum_i w_i log p_i(t) - log Z  (logistic mixing in the log
domain, as PAQ-family mixers do for bits, here over the whole vocabulary). Weights follow
the gradient of the code length: dL/dw_i = E_p[log p_i] - log p_i(token).

``linear``: p(t) = sum_i w_i p_i(t) with Hedge (exponential weights) updates
w_i <- w_i * p_i(token)^eta, renormalized and floored.

Both evaluate dense vectors only for the LLM term; every sparse input contributes on its
few candidate tokens plus a scalar, so a step costs a handful of O(V) numpy passes.
Weight sets are selected by a small context (LLM confidence bucket x match state), so
the mixer can trust the match model more when the LLM is unsure, and so on.
Deterministic: fixed operation order, numpy element-wise ops and sums, no BLAS.
"""

from __future__ import annotations

import numpy as np

from lmzip.models.sparse import SparsePrediction


class Mixer:
    def __init__(self, n_inputs: int, n_sets: int, kind: str = "geometric", lr: float = 0.02,
                 eta: float = 0.5, floor: float = 0.002) -> None:
        if kind not in ("geometric", "linear"):
            raise ValueError(f"unknown mixer kind {kind!r}")
        self.kind = kind
        self.n_inputs = n_inputs  # input 0 is the (dense) LLM
        self.lr, self.eta, self.floor = lr, eta, floor
        init = np.zeros(n_inputs)
        init[0] = 1.0
        if kind == "linear":
            init = np.full(n_inputs, 1.0 / n_inputs)
        self.weights = np.tile(init, (n_sets, 1))  # (n_sets, n_inputs)
        self._ctx = 0
        self._state: tuple | None = None

    def mix(self, logp_llm: np.ndarray, inputs: list[SparsePrediction | None], ctx: int) -> np.ndarray:
        """Mixed log-probabilities (V,). ``inputs`` has n_inputs - 1 entries (None: abstain)."""
        self._ctx = ctx
        w = self.weights[ctx]
        if self.kind == "geometric":
            return self._mix_geometric(logp_llm, inputs, w)
        return self._mix_linear(logp_llm, inputs, w)

    # -- geometric ----------------------------------------------------------------------
    def _mix_geometric(self, logp_llm, inputs, w) -> np.ndarray:
        # Off its support, input i is log(e_i) + logp_llm; on it, a correction.
        total_w = w[0]
        const = 0.0
        corrections = []
        for i, pred in enumerate(inputs, start=1):
            if pred is None:
                total_w += w[i]  # abstaining == predicting the LLM distribution
                corrections.append(None)
                continue
            log_e = np.log(pred.escape)
            base = logp_llm[pred.tokens]
            on = np.log(pred.escape * np.exp(base) + (1.0 - pred.escape) * pred.probs)
            corr = on - log_e - base  # (k,)
            total_w += w[i]
            const += w[i] * log_e
            corrections.append((pred.tokens, corr, log_e))
        z = total_w * logp_llm  # (V,)
        for i, c in enumerate(corrections, start=1):
            if c is not None:
                np.add.at(z, c[0], w[i] * c[1])  # tokens are distinct; add.at keeps it explicit
        z -= z.max()
        p = np.exp(z)
        total = p.sum()
        p /= total
        z -= np.log(total)  # z is now log p: no log pass over the vocabulary needed
        self._state = (logp_llm, corrections, p, z)
        return z

    def _update_geometric(self, token: int) -> None:
        logp_llm, corrections, p, _ = self._state
        w = self.weights[self._ctx]
        # Element-wise product + numpy sum, never BLAS dot: BLAS reduction order can depend
        # on its threading, and both sides must get identical numbers.
        e_llm = float((p * logp_llm).sum())  # E_p[log p_llm]
        grad = np.empty(self.n_inputs)
        grad[0] = e_llm - logp_llm[token]
        for i, c in enumerate(corrections, start=1):
            if c is None:
                grad[i] = grad[0]
                continue
            tokens, corr, log_e = c
            expected = log_e + e_llm + float((p[tokens] * corr).sum())
            hit = np.nonzero(tokens == token)[0]
            actual = log_e + logp_llm[token] + (float(corr[hit[0]]) if hit.size else 0.0)
            grad[i] = expected - actual
        w -= self.lr * grad
        np.clip(w, -4.0, 8.0, out=w)

    # -- linear ---------------------------------------------------------------------------
    def _mix_linear(self, logp_llm, inputs, w) -> np.ndarray:
        p_llm = np.exp(logp_llm)
        llm_share = w[0]
        extras = []
        for i, pred in enumerate(inputs, start=1):
            if pred is None:
                llm_share += w[i]
                extras.append(None)
                continue
            llm_share += w[i] * pred.escape
            extras.append(pred)
        p = llm_share * p_llm
        for i, pred in enumerate(extras, start=1):
            if pred is not None:
                np.add.at(p, pred.tokens, w[i] * (1.0 - pred.escape) * pred.probs)
        p /= p.sum()
        self._state = (p_llm, extras, p, None)
        return np.log(np.maximum(p, 1e-300))

    def _update_linear(self, token: int) -> None:
        p_llm, extras, _, _ = self._state
        w = self.weights[self._ctx]
        q = np.empty(self.n_inputs)
        q[0] = p_llm[token]
        for i, pred in enumerate(extras, start=1):
            if pred is None:
                q[i] = p_llm[token]
                continue
            hit = np.nonzero(pred.tokens == token)[0]
            own = float(pred.probs[hit[0]]) if hit.size else 0.0
            q[i] = (1.0 - pred.escape) * own + pred.escape * p_llm[token]
        w *= np.maximum(q, 1e-12) ** self.eta
        w /= w.sum()
        w *= 1.0 - self.floor * self.n_inputs
        w += self.floor

    def update(self, token: int) -> None:
        if self._state is None:
            return
        if self.kind == "geometric":
            self._update_geometric(token)
        else:
            self._update_linear(token)
        self._state = None
