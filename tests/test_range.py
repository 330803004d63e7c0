"""coder.range: constriction's range coder carries exactly our integer frequencies."""

import hashlib

import constriction
import numpy as np
import pytest

from lmzip.coder import RangeDecoder, RangeEncoder, quantize_probabilities
from lmzip.coder.range import _model


def _stream(seed: int, n: int, vocab: int):
    rng = np.random.default_rng(seed)
    tables = [quantize_probabilities(rng.random(vocab) ** 6) for _ in range(n)]
    symbols = [int(rng.choice(vocab, p=t / t.sum())) for t in tables]
    return tables, symbols


def test_round_trip_many_tables():
    tables, symbols = _stream(0, 300, 1000)
    enc = RangeEncoder()
    for s, t in zip(symbols, tables):
        enc.encode(s, t)
    data = enc.finish()
    dec = RangeDecoder(data)
    assert [dec.decode(t) for t in tables] == symbols


def test_cost_matches_information_content():
    tables, symbols = _stream(1, 400, 500)
    enc = RangeEncoder()
    for s, t in zip(symbols, tables):
        enc.encode(s, t)
    bits = 8 * len(enc.finish())
    ideal = sum(-np.log2(t[s] / t.sum()) for s, t in zip(symbols, tables))
    assert ideal <= bits <= ideal + 64


def test_coded_cdf_is_exactly_our_cumulative_frequencies():
    """Decode crafted words that land exactly on CDF boundaries: symbol i owns [cdf[i], cdf[i+1])."""
    rng = np.random.default_rng(2)
    freqs = quantize_probabilities(rng.random(1000) ** 4)
    cdf = np.concatenate([[0], np.cumsum(freqs)])
    scale = (2**64 - 1) >> 24  # quantile width of a fresh decoder (full 64-bit range)

    def symbol_at(q: int) -> int:
        point = q * scale
        words = np.array([point >> 32, point & 0xFFFFFFFF], dtype=np.uint32)
        return int(constriction.stream.queue.RangeDecoder(words).decode(_model(freqs)))

    for i in rng.integers(1, 999, 40):
        c = int(cdf[i])
        assert symbol_at(c) == i
        assert symbol_at(c - 1) == i - 1


def test_golden_bitstream():
    """Pins the coder: the same symbols and tables must give these exact bytes forever."""
    tables, symbols = _stream(7, 64, 300)
    enc = RangeEncoder()
    for s, t in zip(symbols, tables):
        enc.encode(s, t)
    data = enc.finish()
    assert len(data) == GOLDEN_LEN
    assert hashlib.sha256(data).hexdigest() == GOLDEN_SHA256
    assert data[:16].hex() == GOLDEN_HEAD


def test_rejects_bad_tables_and_symbols():
    enc = RangeEncoder()
    with pytest.raises(ValueError):
        enc.encode(0, np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        enc.encode(5, quantize_probabilities(np.ones(4)))
    with pytest.raises(ValueError):
        RangeDecoder(b"abc")


GOLDEN_LEN = 56
GOLDEN_SHA256 = "c3a8a5af743228dbbdb8bdc452bc964202030e6e6d337357e1e94eb0a6a4777b"
GOLDEN_HEAD = "0a159354968bfb7ed11bf003ae7e6a45"
