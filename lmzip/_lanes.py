"""Lanes: how a chunk is cut into segments that are coded in lockstep, and how their
range-coded streams are laid out in the chunk's payload.

A chunk of ``n`` bytes is cut into ``L`` contiguous lanes. ``L`` is a pure function of
``n`` and the header's lane parameters (:meth:`LaneSpec.count`), so the decoder, which
knows every chunk's size from the chunk table, knows ``L``. All lanes of a chunk advance
one token per step through one batched model call (``lmzip/_engine.py``), each coded
into its own range-coder stream. The header's ``cut`` says where the lanes are cut:

- ``"bytes"`` (no ``cut`` entry: every archive before token cuts): lane ``i`` holds
  bytes ``[i * n // L, (i + 1) * n // L)`` and is tokenized on its own.
- ``"tokens"``: the chunk is tokenized once, and its ``N`` tokens are cut into ``L``
  runs of (nearly) equal length (:func:`token_cuts`): lane ``i`` holds tokens
  ``[c_i, c_(i+1))`` with ``c_0 = 0``, ``c_L = N`` and, for ``0 < i < L``,
  ``c_i = max(c_(i-1), b_i + e_i)``, ``b_i = i * N // L``, ``e_i = 1`` if token
  ``b_i - 1`` is the escape token (a cut there would split an escape pair) and 0
  otherwise. So ``c_i - b_i`` is 0 or 1 and lane token counts differ by at most 3
  (by at most 1 where no cut meets an escape pair). The decoder decodes each lane's
  tokens to bytes and concatenates them; it needs no lane byte bounds, so none are
  stored. Every other cut is exact: a token's bytes are its piece alone (byte-fallback
  tokens are single-byte pieces), except the escape token, whose byte is spelled by the
  token after it.

Payload of an LLM chunk with ``L`` lanes (varints are LEB128, as everywhere), the same
for both cuts::

    varint  n_tokens[0 .. L-1]        tokens coded in each lane
    varint  n_words[0 .. L-2]         32-bit words of each lane's stream but the last
    bytes   stream[0] ... stream[L-1]  the streams, back to back (the last runs to the end)

With one lane this is ``varint n_tokens`` + the stream: the single-stream payload of
earlier archives, byte for byte (both cuts give one lane the whole chunk's tokens).

A reader checks the directory before anything is allocated. Byte cuts: lane ``i`` of
``s_i`` bytes has at most ``2 * s_i`` tokens, and 0 tokens iff ``s_i == 0``. Token cuts:
``1 <= N <= 2 * n`` (a token spells at least one byte, an escape pair exactly one), and
every ``c_i`` the counts give is ``b_i`` or ``b_i + 1`` (so no lane holds more than
``N // L + 2`` tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

#: Hard limits a header may ask for (a header is data, not trusted).
MAX_LANES = 1024
MAX_LANE_BYTES = 1 << 31

#: Where lanes are cut. ``bytes`` is what a header without ``cut`` means.
CUTS = ("bytes", "tokens")


@dataclass(frozen=True)
class LaneSpec:
    """How many lanes a chunk gets, and where they are cut.

    ``count(n) = min(max_lanes, ceil(n / min_bytes))`` (at least 1) when ``min_bytes`` is
    set: small chunks get fewer, longer lanes. With ``min_bytes == 0`` every chunk gets
    exactly ``max_lanes`` lanes (some may be empty). ``shared``: the lanes of a chunk
    share one set of online models (each learns from every lane's earlier tokens).
    ``cut``: ``"bytes"`` (equal byte lengths, each lane tokenized on its own) or
    ``"tokens"`` (the chunk tokenized once, cut into equal token counts).
    """

    max_lanes: int = 1
    min_bytes: int = 0
    shared: bool = False
    cut: str = "bytes"

    def __post_init__(self) -> None:
        if not 1 <= self.max_lanes <= MAX_LANES:
            raise ValueError(f"lanes must be 1..{MAX_LANES}, got {self.max_lanes}")
        if not 0 <= self.min_bytes <= MAX_LANE_BYTES:
            raise ValueError(f"lane length must be 0..{MAX_LANE_BYTES} bytes, got {self.min_bytes}")
        if self.cut not in CUTS:
            raise ValueError(f"lane cut must be one of {CUTS}, got {self.cut!r}")

    @property
    def single(self) -> bool:
        return self.max_lanes == 1

    def count(self, n_bytes: int) -> int:
        if self.min_bytes == 0:
            return self.max_lanes
        return max(1, min(self.max_lanes, -(-n_bytes // self.min_bytes)))

    def bounds(self, n_bytes: int) -> list[tuple[int, int]]:
        """``(start, end)`` of each lane of a chunk of ``n_bytes`` bytes (byte cuts)."""
        lanes = self.count(n_bytes)
        return [(i * n_bytes // lanes, (i + 1) * n_bytes // lanes) for i in range(lanes)]

    def tokenize(self, raw: bytes, encode: Callable[[bytes], list[int]], escape: int) -> list[list[int]]:
        """The tokens of each lane of chunk ``raw``, cut as this spec cuts.

        ``encode`` is the lossless tokenizer's ``encode``, ``escape`` its escape token
        (-1 if it has none): a token cut never separates an escape token from the token
        after it, so each lane's tokens decode on their own and the lanes' bytes
        concatenate to ``raw``.
        """
        if self.cut == "bytes":
            return [encode(raw[a:b]) for a, b in self.bounds(len(raw))]
        tokens = encode(raw)
        cuts = token_cuts(tokens, self.count(len(raw)), escape)
        return [tokens[a:b] for a, b in zip(cuts, cuts[1:])]

    def unpack(self, payload: bytes, n_bytes: int) -> tuple[list[int], list[bytes]]:
        """Token counts and streams of the payload of a chunk of ``n_bytes`` bytes,
        checked (``ValueError``) before anything is allocated."""
        if self.cut == "bytes":
            return unpack_payload(payload, [b - a for a, b in self.bounds(n_bytes)])
        return unpack_token_payload(payload, self.count(n_bytes), n_bytes)

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"max": self.max_lanes, "min_bytes": self.min_bytes, "shared": self.shared}
        if self.cut != "bytes":  # absent: byte cuts (every archive made before token cuts)
            params["cut"] = self.cut
        return params

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> "LaneSpec":
        """The spec a header describes (no ``lanes`` entry: one lane, as in older archives;
        no ``cut``: byte cuts; ``cut`` is written only as ``"tokens"``)."""
        if params is None:
            return cls()
        if set(params) not in ({"max", "min_bytes", "shared"}, {"max", "min_bytes", "shared", "cut"}):
            raise ValueError(f"lane parameters not understood: {sorted(params)}")
        max_lanes, min_bytes, shared = params["max"], params["min_bytes"], params["shared"]
        if type(max_lanes) is not int or type(min_bytes) is not int or type(shared) is not bool:
            raise ValueError("lane parameters have the wrong types")
        cut = params.get("cut", "bytes")
        if "cut" in params and cut != "tokens":  # one spelling per meaning: bytes is written as no entry
            raise ValueError(f"lane cut not understood: {cut!r}")
        return cls(max_lanes, min_bytes, shared, cut)


def base_cuts(n_tokens: int, lanes: int) -> list[int]:
    """``b_i = i * N // L`` for ``i = 0 .. L``: the cuts of equal token counts."""
    return [i * n_tokens // lanes for i in range(lanes + 1)]


def token_cuts(tokens: Sequence[int], lanes: int, escape: int) -> list[int]:
    """``c_0 .. c_L``: lane ``i`` holds ``tokens[c_i:c_(i+1)]`` (module docstring).

    Each cut is the equal-count cut ``b_i``, moved one token later where it would fall
    between an escape token and the token it escapes, and never before the previous cut.
    """
    cuts = base_cuts(len(tokens), lanes)
    for i in range(1, lanes):
        c = cuts[i]
        if c > 0 and tokens[c - 1] == escape:
            c += 1
        cuts[i] = max(c, cuts[i - 1])
    return cuts


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


def _read_counts(payload: bytes, lanes: int, pos: int = 0) -> tuple[list[int], int]:
    counts = []
    for _ in range(lanes):
        n, pos = read_varint(payload, pos)
        counts.append(n)
    return counts, pos


def _read_streams(payload: bytes, lanes: int, pos: int) -> list[bytes]:
    lengths = []
    for _ in range(lanes - 1):
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
    return streams


def unpack_payload(payload: bytes, lane_sizes: list[int]) -> tuple[list[int], list[bytes]]:
    """Token counts and streams of a payload for byte-cut lanes of ``lane_sizes`` bytes.

    Checks everything against what the lanes allow before anything is allocated: a
    token spells at least one byte (an escape pair exactly one, so at most two tokens
    per byte), and every stream lies inside the payload. ``ValueError`` otherwise.
    """
    n_tokens, pos = _read_counts(payload, len(lane_sizes))
    for n, size in zip(n_tokens, lane_sizes):
        if n > 2 * size:
            raise ValueError("token count exceeds lane size")
        if (n == 0) != (size == 0):
            raise ValueError("token count does not fit the lane")
    return n_tokens, _read_streams(payload, len(lane_sizes), pos)


def unpack_token_payload(payload: bytes, lanes: int, n_bytes: int) -> tuple[list[int], list[bytes]]:
    """Token counts and streams of a payload for ``lanes`` token-cut lanes of a chunk of
    ``n_bytes`` bytes.

    Checks before anything is allocated: ``1 <= N <= 2 * n_bytes`` tokens in all (a
    token spells at least one byte, an escape pair exactly one), every cut the counts
    give is the equal-count cut or one token after it (the encoder's rule, so no lane
    holds more than ``N // lanes + 2`` tokens), and every stream lies inside the
    payload. ``ValueError`` otherwise.
    """
    n_tokens, pos = _read_counts(payload, lanes)
    total = sum(n_tokens)
    if total > 2 * n_bytes:
        raise ValueError("token count exceeds chunk size")
    if total == 0 and n_bytes:
        raise ValueError("no tokens for a chunk of bytes")
    cut = 0
    for i, (n, base) in enumerate(zip(n_tokens, base_cuts(total, lanes))):
        if not base <= cut <= base + 1:
            raise ValueError(f"lane {i} is not where token cuts put it")
        cut += n
    return n_tokens, _read_streams(payload, lanes, pos)
