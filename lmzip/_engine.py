"""The one predict → code → update loop, shared by encoder and decoder.

Both directions walk the same function; they differ only in the callback that turns a
distribution into a token (encode the known token, or decode one). That is how the
decoder is guaranteed to see exactly the distributions the encoder used.

``code_lanes`` is the loop of exact archives, for any number of lanes (one lane is the
single-stream schedule, in the same code): every step advances the lanes that still
have tokens by one token each, with one batched model call. ``_walk`` is the loop of
format-v1 archives (llama.cpp logits, optional tree coding), kept to decode them.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from lmzip.models.lanes import LaneModel

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


# -- lanes ------------------------------------------------------------------------------

# coder_step(lanes, z, t) -> the tokens int32 [B] of these lanes at step t, where z is the
# integer log2q distribution [B, V] of each lane's token.
LaneStep = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def code_lanes(backend, model: LaneModel, n_tokens: Sequence[int], step: LaneStep,
               tick: Callable[[np.ndarray], None] | None = None) -> None:
    """Code lanes with ``n_tokens[i]`` tokens each, all advancing in lockstep.

    ``backend`` is an exact backend (``models/exact/backend.py``) with at least
    ``len(n_tokens)`` lanes. The schedule depends only on ``n_tokens``, which the
    decoder reads from the payload: step ``t`` codes token ``t`` of every lane that has
    one, in lane order, and then feeds those tokens to the model for the lanes that
    have a token ``t + 1`` (a lane's last token is never fed). Each lane's window
    slides as a function of its own token count (inside ``backend.step``).
    """
    counts = np.asarray(n_tokens, dtype=np.int64)
    lanes = np.flatnonzero(counts > 0).astype(np.int32)
    model.reset()
    if lanes.size == 0:
        return
    for lane in lanes:
        backend.reset(int(lane))
    logits = backend.step(lanes, np.full(lanes.size, backend.bos, dtype=np.int32))
    t = 0
    while True:
        z = model.predict(lanes, logits)
        tokens = np.ascontiguousarray(step(lanes, z, t), dtype=np.int32)
        model.update(lanes, tokens)
        if tick is not None:
            tick(tokens)
        t += 1
        going = counts[lanes] > t
        if not going.any():
            return
        lanes, tokens = lanes[going], tokens[going]
        logits = backend.step(lanes, tokens)


def encode_lanes(backend, model: LaneModel, tokens: Sequence[Sequence[int]],
                 tick: Callable[[np.ndarray], None] | None = None) -> list[bytes]:
    """Range-code each lane's ``tokens``; one stream per lane."""
    from lmzip.coder.lanes import LaneEncoder

    n = [len(t) for t in tokens]
    table = np.zeros((len(tokens), max(n, default=0) or 1), dtype=np.int32)
    for i, toks in enumerate(tokens):
        table[i, :len(toks)] = toks
    encoder = LaneEncoder(len(tokens))

    def step(lanes: np.ndarray, z: np.ndarray, t: int) -> np.ndarray:
        symbols = table[lanes, t]
        encoder.encode_log2q(lanes, z, symbols)
        return symbols

    code_lanes(backend, model, n, step, tick)
    return [encoder.finish(i) for i in range(len(tokens))]


def decode_lanes(backend, model: LaneModel, streams: Sequence[bytes], n_tokens: Sequence[int],
                 tick: Callable[[np.ndarray], None] | None = None) -> list[list[int]]:
    """Decode ``n_tokens[i]`` tokens from each lane's stream (``ValueError`` on bad data)."""
    from lmzip.coder.lanes import LaneDecoder

    table = np.zeros((len(streams), max(n_tokens, default=0) or 1), dtype=np.int32)
    decoder = LaneDecoder(list(streams))

    def step(lanes: np.ndarray, z: np.ndarray, t: int) -> np.ndarray:
        symbols = decoder.decode_log2q(lanes, z)
        table[lanes, t] = symbols
        return symbols

    code_lanes(backend, model, n_tokens, step, tick)
    return [table[i, :n].tolist() for i, n in enumerate(n_tokens)]
