"""The one predict → code → update loop, shared by encoder and decoder.

Both directions walk the same function; they differ only in the callback that turns a
frequency table into a token (encode the known token, or decode one). That is how the
decoder is guaranteed to see exactly the distributions the encoder used.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from lmzip.coder import RangeDecoder, RangeEncoder, quantize_binary, quantize_log2q, quantize_logits
from lmzip.models.predictor import Predictor

# step(i, freqs, calibrator) -> the coded token (categorical) or bit (tree).
Step = Callable[[int, np.ndarray, object], int]


def _walk(predictor: Predictor, n_tokens: int, step: Step, tick: Callable[[int], None] | None = None) -> None:
    predictor.reset()
    calibrator = getattr(predictor, "calibrator", None)
    for i in range(n_tokens):
        logp = predictor.predict()
        if calibrator is None:
            # Integer log2q (exact backend) is quantized with integer arithmetic only.
            freqs = quantize_log2q(logp) if logp.dtype.kind == "i" else quantize_logits(logp)
            token = step(i, freqs, None)
        else:
            # Tree coding: the token as up to 16 calibrated binary decisions.
            calibrator.begin(logp)
            while not calibrator.done():
                if calibrator.forced():
                    calibrator.push(0)
                    continue
                bit = step(i, quantize_binary(calibrator.left_probability()), calibrator)
                calibrator.push(bit)
            token = calibrator.token
        predictor.update(token)
        if tick is not None:
            tick(token)


def encode_tokens(
    predictor: Predictor, tokens: Sequence[int], tick: Callable[[int], None] | None = None
) -> bytes:
    encoder = RangeEncoder()

    def step(i: int, freqs: np.ndarray, calibrator) -> int:
        symbol = tokens[i] if calibrator is None else calibrator.bit_of(tokens[i])
        encoder.encode(symbol, freqs)
        return symbol

    _walk(predictor, len(tokens), step, tick)
    return encoder.finish()


def decode_tokens(
    predictor: Predictor, payload: bytes, n_tokens: int, tick: Callable[[int], None] | None = None
) -> list[int]:
    decoder = RangeDecoder(payload)
    out: list[int] = []

    def step(i: int, freqs: np.ndarray, calibrator) -> int:
        return decoder.decode(freqs)

    def record(token: int) -> None:
        out.append(token)
        if tick is not None:
            tick(token)

    _walk(predictor, n_tokens, step, record)
    return out
