"""Deterministic, integer-exact quantization of probability vectors.

The range coder needs integer frequencies that sum to exactly ``TOTAL = 2**24`` with every
symbol at least 1 (so any symbol can be coded, even one the model thought impossible).
Encoder and decoder must compute *identical* tables from identical inputs, so the only
floating-point steps are element-wise (``exp``, a multiply, ``floor``); every reduction
is done on integers, where summation order cannot change the result.
"""

from __future__ import annotations

import numpy as np

PRECISION = 24
TOTAL = 1 << PRECISION
# Probabilities are first mapped to integer weights in [0, 2**WEIGHT_BITS]. 31 bits keeps
# ``weight * free_mass`` below 2**55, far inside int64.
WEIGHT_BITS = 31


def quantize_probabilities(probs: np.ndarray) -> np.ndarray:
    """Return int64 frequencies (each >= 1, sum == 2**24) approximating ``probs``.

    ``probs`` is any non-negative float vector (it need not be normalized). NaN, inf or
    negative entries raise ``ValueError``: a broken model must never silently code.
    """
    p = np.asarray(probs, dtype=np.float64)
    n = p.shape[0]
    if p.ndim != 1 or n < 2 or n >= TOTAL // 2:
        raise ValueError(f"need a 1-D probability vector with 2..{TOTAL // 2} entries, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probabilities must be finite and non-negative")
    peak = p.max()
    if peak <= 0:
        weights = np.ones(n, dtype=np.int64)
    else:
        # Divide by the maximum first (so a denormal peak cannot overflow the scale),
        # then scale: the largest weight is exactly 2**31.
        weights = np.floor((p / peak) * float(1 << WEIGHT_BITS)).astype(np.int64)
    return _weights_to_frequencies(weights)


def quantize_logits(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax ``logits`` and quantize, in one pass (same contract as ``quantize_probabilities``)."""
    z = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite")
    z = (z - z.max()) / temperature
    weights = np.floor(np.exp(z) * float(1 << WEIGHT_BITS)).astype(np.int64)
    return _weights_to_frequencies(weights)


def _weights_to_frequencies(weights: np.ndarray) -> np.ndarray:
    n = weights.shape[0]
    free = TOTAL - n  # every symbol first gets 1; the rest is shared by weight
    total_weight = int(weights.sum())  # integer sum: order-independent
    if total_weight <= 0:
        weights = np.ones(n, dtype=np.int64)
        total_weight = n
    freqs = (weights * free) // total_weight + 1
    # Floors leave a small deficit (< n); give it to the most probable symbol, which
    # costs the least in code length. argmax returns the first maximum: deterministic.
    deficit = TOTAL - int(freqs.sum())
    freqs[int(np.argmax(weights))] += deficit
    return freqs


def quantize_binary(p_zero: float) -> np.ndarray:
    """Frequencies [f0, f1] for one binary decision with P(0) = ``p_zero``: each >= 1."""
    f0 = int(p_zero * TOTAL)  # floor for p >= 0
    f0 = min(TOTAL - 1, max(1, f0))
    return np.array([f0, TOTAL - f0], dtype=np.int64)
