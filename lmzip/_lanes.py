"""Lanes: how a chunk is cut into segments that are coded in lockstep, and how their
range-coded streams are laid out in the chunk's payload.

A chunk of ``n`` bytes is cut into ``L`` contiguous lanes, lane ``i`` holding bytes
``[i * n // L, (i + 1) * n // L)``. ``L`` is a pure function of ``n`` and the header's
lane parameters (:meth:`LaneSpec.count`), so the decoder, which knows every chunk's size
from the chunk table, cuts exactly as the encoder did. Each lane is tokenized on its own
and coded into its own range-coder stream; all lanes of a chunk advance one token per
step through one batched model call (``lmzip/_engine.py``).

Payload of an LLM chunk with ``L`` lanes (varints are LEB128, as everywhere)::

    varint  n_tokens[0 .. L-1]        tokens coded in each lane
    varint  n_words[0 .. L-2]         32-bit words of each lane's stream but the last
    bytes   stream[0] ... stream[L-1]  the streams, back to back (the last runs to the end)

With one lane this is ``varint n_tokens`` + the stream: the single-stream payload of
earlier archives, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Hard limits a header may ask for (a header is data, not trusted).
MAX_LANES = 1024
MAX_LANE_BYTES = 1 << 31


@dataclass(frozen=True)
class LaneSpec:
    """How many lanes a chunk gets.

    ``count(n) = min(max_lanes, ceil(n / min_bytes))`` (at least 1) when ``min_bytes`` is
    set: small chunks get fewer, longer lanes. With ``min_bytes == 0`` every chunk gets
    exactly ``max_lanes`` lanes (some may be empty). ``shared``: the lanes of a chunk
    share one set of online models (each learns from every lane's earlier tokens).
    """

    max_lanes: int = 1
    min_bytes: int = 0
    shared: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.max_lanes <= MAX_LANES:
            raise ValueError(f"lanes must be 1..{MAX_LANES}, got {self.max_lanes}")
        if not 0 <= self.min_bytes <= MAX_LANE_BYTES:
            raise ValueError(f"lane length must be 0..{MAX_LANE_BYTES} bytes, got {self.min_bytes}")

    @property
    def single(self) -> bool:
        return self.max_lanes == 1

    def count(self, n_bytes: int) -> int:
        if self.min_bytes == 0:
            return self.max_lanes
        return max(1, min(self.max_lanes, -(-n_bytes // self.min_bytes)))

    def bounds(self, n_bytes: int) -> list[tuple[int, int]]:
        """``(start, end)`` of each lane of a chunk of ``n_bytes`` bytes."""
        lanes = self.count(n_bytes)
        return [(i * n_bytes // lanes, (i + 1) * n_bytes // lanes) for i in range(lanes)]

    def to_params(self) -> dict[str, Any]:
        return {"max": self.max_lanes, "min_bytes": self.min_bytes, "shared": self.shared}

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> "LaneSpec":
        """The spec a header describes (no ``lanes`` entry: one lane, as in older archives)."""
        if params is None:
            return cls()
        if set(params) != {"max", "min_bytes", "shared"}:
            raise ValueError(f"lane parameters not understood: {sorted(params)}")
        max_lanes, min_bytes, shared = params["max"], params["min_bytes"], params["shared"]
        if type(max_lanes) is not int or type(min_bytes) is not int or type(shared) is not bool:
            raise ValueError("lane parameters have the wrong types")
        return cls(max_lanes, min_bytes, shared)


# -- payload directory ---------------------------------------------------------------------

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """``(value, next position)``; ``ValueError`` if it runs off the end or past 63 bits."""
    n = shift = 0
    while pos < len(data) and shift < 63:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, pos
        shift += 7
    raise ValueError("bad varint in lane directory")


def pack_payload(n_tokens: list[int], streams: list[bytes]) -> bytes:
    """The LLM payload for lanes with these token counts and range-coded streams."""
    assert len(n_tokens) == len(streams) >= 1
    head = b"".join(varint(n) for n in n_tokens)
    for s in streams[:-1]:
        assert len(s) % 4 == 0
        head += varint(len(s) // 4)
    return head + b"".join(streams)


def unpack_payload(payload: bytes, lane_sizes: list[int]) -> tuple[list[int], list[bytes]]:
    """Token counts and streams of a payload for lanes of ``lane_sizes`` bytes.

    Checks everything against what the lanes allow before anything is allocated: a
    token spells at least one byte (an escape pair exactly one, so at most two tokens
    per byte), and every stream lies inside the payload. ``ValueError`` otherwise.
    """
    pos = 0
    n_tokens = []
    for size in lane_sizes:
        n, pos = read_varint(payload, pos)
        if n > 2 * size:
            raise ValueError("token count exceeds lane size")
        if (n == 0) != (size == 0):
            raise ValueError("token count does not fit the lane")
        n_tokens.append(n)
    lengths = []
    for _ in lane_sizes[:-1]:
        words, pos = read_varint(payload, pos)
        lengths.append(4 * words)
    rest = len(payload) - pos
    if sum(lengths) > rest:
        raise ValueError("lane streams run past the payload")
    lengths.append(rest - sum(lengths))
    streams = []
    for length in lengths:
        streams.append(payload[pos:pos + length])
        pos += length
    return n_tokens, streams
