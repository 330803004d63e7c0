"""The one predict → code → update loop, shared by encoder and decoder.

Both directions walk the same function; they differ only in the callback that turns a
frequency table into a token (encode the known token, or decode one). That is how the
decoder is guaranteed to see exactly the distributions the encoder used.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from lmzip.coder import RangeDecoder, RangeEncoder, quantize_logits
from lmzip.models.predictor import Predictor


def _walk(
    predictor: Predictor,
    n_tokens: int,
    step: Callable[[int, np.ndarray], int],
    tick: Callable[[int], None] | None = None,
) -> None:
    predictor.reset()
    for i in range(n_tokens):
        freqs = quantize_logits(predictor.predict())
        token = step(i, freqs)
        predictor.update(token)
        if tick is not None:
            tick(i)


def encode_tokens(
    predictor: Predictor, tokens: Sequence[int], tick: Callable[[int], None] | None = None
) -> bytes:
    encoder = RangeEncoder()

    def step(i: int, freqs: np.ndarray) -> int:
        encoder.encode(tokens[i], freqs)
        return tokens[i]

    _walk(predictor, len(tokens), step, tick)
    return encoder.finish()


def decode_tokens(
    predictor: Predictor, payload: bytes, n_tokens: int, tick: Callable[[int], None] | None = None
) -> list[int]:
    decoder = RangeDecoder(payload)
    out: list[int] = []

    def step(i: int, freqs: np.ndarray) -> int:
        token = decoder.decode(freqs)
        out.append(token)
        return token

    _walk(predictor, n_tokens, step, tick)
    return out
