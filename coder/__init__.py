"""Entropy coding: probabilities to integer frequencies, and range coding with constriction.

This package knows nothing about models, files or containers. It turns a probability
vector into an exact integer frequency table (``quantize``) and moves symbols in and out
of a 32-bit-word range-coded bitstream (``range``).
"""

from lmzip.coder.quantize import (
    LOG2Q_ONE,
    PRECISION,
    TOTAL,
    exp2_weight,
    exp2_weights,
    quantize_binary,
    quantize_log2q,
    quantize_logits,
    quantize_probabilities,
)
from lmzip.coder.range import RangeDecoder, RangeEncoder

__all__ = [
    "PRECISION",
    "TOTAL",
    "quantize_probabilities",
    "quantize_logits",
    "quantize_binary",
    "quantize_log2q",
    "exp2_weights",
    "exp2_weight",
    "LOG2Q_ONE",
    "RangeEncoder",
    "RangeDecoder",
]
