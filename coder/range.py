"""Range coding of categorical symbols with exact integer frequencies, via constriction.

constriction's default range coder uses 32-bit words and 24-bit precision. Its "fast"
categorical model maps floats to a CDF as ``cdf[i] = floor(sum(p[:i]) * scale) + i`` with
``scale = (2**24 - n) / sum(p)``. Feeding it ``freqs - 1`` (integers summing to exactly
``2**24 - n``) makes ``scale == 1.0`` and every partial sum an exactly representable
integer, so the coded CDF is *exactly* ``cumsum(freqs)``: the frequencies computed by
``lmzip.coder.quantize`` are the ones that reach the bitstream, bit for bit.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import numpy as np
import constriction

from lmzip.coder.quantize import TOTAL


def _model(freqs: np.ndarray) -> "constriction.stream.model.Categorical":
    if int(freqs.sum()) != TOTAL or int(freqs.min()) < 1:
        raise ValueError("frequencies must each be >= 1 and sum to 2**24")
    return constriction.stream.model.Categorical((freqs - 1).astype(np.float64), perfect=False)


class RangeEncoder:
    """Encode symbols one at a time; ``finish()`` returns the compressed words as bytes."""

    def __init__(self) -> None:
        self._encoder = constriction.stream.queue.RangeEncoder()
        self.symbols = 0

    def encode(self, symbol: int, freqs: np.ndarray) -> None:
        if not 0 <= symbol < freqs.shape[0]:
            raise ValueError(f"symbol {symbol} outside alphabet of {freqs.shape[0]}")
        self._encoder.encode(int(symbol), _model(freqs))
        self.symbols += 1

    def finish(self) -> bytes:
        """The bitstream: little-endian uint32 words."""
        return self._encoder.get_compressed().astype("<u4").tobytes()


class RangeDecoder:
    """Decode symbols from a bitstream made by :class:`RangeEncoder`.

    Bits that no encoder made (damage, or a decoder whose frequencies differ from the
    encoder's) fail as ``ValueError``, never as whatever constriction raised.
    """

    def __init__(self, data: bytes) -> None:
        if len(data) % 4:
            raise ValueError("range-coded payload length is not a multiple of 4")
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        self._decoder = _guarded(lambda: constriction.stream.queue.RangeDecoder(words))

    def decode(self, freqs: np.ndarray) -> int:
        """The next symbol under ``freqs``; ``ValueError`` if the data cannot be decoded."""
        model = _model(freqs)
        symbol = int(_guarded(lambda: self._decoder.decode(model)))
        if not 0 <= symbol < freqs.shape[0]:  # every symbol has freq >= 1: cannot happen
            raise ValueError(f"range decoder returned symbol {symbol} outside alphabet of {freqs.shape[0]}")
        return symbol


T = TypeVar("T")


def _guarded(call: Callable[[], T]) -> T:
    """Run a constriction call, turning its failures into ``ValueError``.

    On a point that no symbol owns, constriction raises ``AssertionError`` ("Tried to
    decode from compressed data that is invalid for the employed entropy model"); a Rust
    panic would surface as pyo3's ``PanicException``, which is a ``BaseException``.
    Interrupts and ``MemoryError`` are not data errors and pass through.
    """
    try:
        return call()
    except MemoryError:
        raise
    except BaseException as exc:
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # KeyboardInterrupt, SystemExit, GeneratorExit
        raise ValueError(f"range-coded data is invalid for this model ({type(exc).__name__})") from None
