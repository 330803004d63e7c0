"""Encoder and decoder see bitwise-identical probabilities (real model, real text)."""

import numpy as np
import pytest

from lmzip._config import CodingConfig
from lmzip._engine import decode_tokens, encode_tokens
from lmzip._runtime import Runtime
from lmzip.coder import quantize_logits, quantize_log2q
from lmzip.models import WindowSpec

TEXT = (
    b"Alice was beginning to get very tired of sitting by her sister on the bank, and of "
    b"having nothing to do: once or twice she had peeped into the book her sister was "
    b"reading, but it had no pictures or conversations in it, 'and what is the use of a "
    b"book,' thought Alice 'without pictures or conversations?'\n"
)


class Recorder:
    """Wraps a predictor and keeps every quantized table it produced."""

    def __init__(self, inner):
        self.inner = inner
        self.tables: list[np.ndarray] = []

    def reset(self):
        self.inner.reset()

    def predict(self):
        logits = self.inner.predict()
        self.tables.append(quantize_log2q(logits) if logits.dtype.kind == "i" else quantize_logits(logits))
        return logits

    def update(self, token):
        self.inner.update(token)


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(None, n_threads=2)


def test_probability_streams_are_bitwise_equal_across_window_slides(runtime):
    # A 64-token window slides several times over ~90 tokens of text.
    config = CodingConfig(level=4, chunk_size=1 << 15, n_ctx=64, keep=1, discard=16)
    tokens = runtime.tokenizer.encode(TEXT * 2)
    enc = Recorder(runtime.predictor(config))
    payload = encode_tokens(enc, tokens)
    assert runtime.predictor(config).session.slides >= 2
    dec = Recorder(runtime.predictor(config))
    assert decode_tokens(dec, payload, len(tokens)) == tokens
    assert len(enc.tables) == len(dec.tables) == len(tokens)
    for a, b in zip(enc.tables, dec.tables):
        assert np.array_equal(a, b)


def test_thread_count_does_not_change_logits():
    one, two = Runtime(None, n_threads=1), Runtime(None, n_threads=2)
    tokens = one.tokenizer.encode(TEXT)[:40]
    streams = []
    for rt in (one, two):
        session = rt.model.new_session(WindowSpec(n_ctx=32, keep=1, discard=8), rt.n_threads)
        out = [session.reset()]
        out += [session.feed(t) for t in tokens]
        streams.append(np.stack(out))
    assert np.array_equal(streams[0], streams[1])


def test_batched_prefill_really_differs(runtime):
    """Documents *why* the encoder goes token by token: a batched prefill gives other logits.

    If this ever starts failing, llama.cpp made batched and single-token numerics agree,
    and the encoder could prefill in batches.
    """
    import llama_cpp

    tokens = runtime.tokenizer.encode(TEXT)[:48]
    session = runtime.model.new_session(WindowSpec(n_ctx=128), 1)
    step = [session.reset()] + [session.feed(t) for t in tokens]
    # Same context, one batch of 49 tokens, logits for the last position.
    params = llama_cpp.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch, params.n_threads = 128, 64, 64, 1
    params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    ctx = llama_cpp.llama_init_from_model(runtime.model._model, params)
    try:
        seq = [runtime.model.bos] + tokens
        arr = (llama_cpp.llama_token * len(seq))(*seq)
        assert llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(arr, len(seq))) == 0
        batched = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(runtime.model.n_vocab,)).copy()
    finally:
        llama_cpp.llama_free(ctx)
    assert not np.array_equal(batched, step[-1])
    assert np.max(np.abs(batched - step[-1])) < 5.0  # same model, just other rounding
