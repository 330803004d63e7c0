"""Range coding of categorical symbols with exact integer frequencies, via constriction.

constriction's default range coder uses 32-bit words and 24-bit precision. Its "fast"
categorical model maps floats to a CDF as ``cdf[i] = floor(sum(p[:i]) * scale) + i`` with
``scale = (2**24 - n) / sum(p)``. Feeding it ``freqs - 1`` (integers summing to exactly
``2**24 - n``) makes ``scale == 1.0`` and every partial sum an exactly representable
integer, so the coded CDF is *exactly* ``cumsum(freqs)``: the frequencies computed by
``lmzip.coder.quantize`` are the ones that reach the bitstream, bit for bit.
"""

from __future__ import annotations

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
    """Decode symbols from a bitstream made by :class:`RangeEncoder`."""

    def __init__(self, data: bytes) -> None:
        if len(data) % 4:
            raise ValueError("range-coded payload length is not a multiple of 4")
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        self._decoder = constriction.stream.queue.RangeDecoder(words)

    def decode(self, freqs: np.ndarray) -> int:
        return int(self._decoder.decode(_model(freqs)))
