"""Bounded reading: exact reads that never allocate more than the input holds, LEB128
varints, and an optional running crc32 over everything read.

A hostile archive may declare any length. ``Source.read`` checks it against the bytes
left when the stream's size is known (a file, a buffer) and otherwise reads in pieces
of at most ``PIECE`` bytes, so memory follows the bytes that actually arrive, never a
declared number.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from lmzip.formats.errors import CorruptError, TruncatedError

PIECE = 1 << 20  # largest single read from a stream of unknown size


def encode_varint(n: int) -> bytes:
    """``n`` (>= 0) as unsigned LEB128."""
    if n < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def remaining_size(stream: BinaryIO) -> int | None:
    """Bytes between the stream's position and its end, or None if it cannot tell."""
    try:
        if not stream.seekable():
            return None
        pos = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(pos)
    except (OSError, ValueError, AttributeError):
        return None
    return max(0, end - pos)


class Source:
    """Exact reads from a binary stream, raising ``TruncatedError`` on a short read.

    ``offset`` counts from the start of the archive (for messages and record offsets).
    With ``crc`` given, ``self.crc`` is the running crc32 of every byte read.
    """

    def __init__(self, stream: BinaryIO, offset: int = 0, crc: int | None = None) -> None:
        self.stream = stream
        self.offset = offset
        self.crc = crc
        self.left = remaining_size(stream)

    def read(self, n: int, what: str) -> bytes:
        if n < 0:
            raise CorruptError(f"archive is corrupt (negative length in the {what})")
        if self.left is not None and n > self.left:
            # Declared past the end: refuse before reading (or allocating) anything.
            raise TruncatedError(f"archive is truncated (ended inside the {what})")
        parts: list[bytes] = []
        got = 0
        while got < n:
            block = self.stream.read(min(n - got, PIECE))
            if not block:
                raise TruncatedError(f"archive is truncated (ended inside the {what})")
            parts.append(block)
            got += len(block)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._consumed(data)
        return data

    def skip(self, n: int, what: str) -> None:
        """Move past ``n`` bytes without keeping them (seeks when the size is known)."""
        if self.left is None or self.crc is not None:
            while n > 0:  # a pipe, or the bytes must be checksummed: read them in pieces
                n -= len(self.read(min(n, PIECE), what))
            return
        if n > self.left:
            raise TruncatedError(f"archive is truncated (ended inside the {what})")
        self.stream.seek(n, 1)
        self.offset += n
        self.left -= n

    def check(self, what: str) -> int:
        """A 4-byte little-endian check field. It is left out of the running crc: a crc run
        over a message followed by its own crc32 always ends in the same value, so
        including checks would make every record's check independent of what came before."""
        crc, self.crc = self.crc, None
        try:
            return int.from_bytes(self.read(4, what), "little")
        finally:
            self.crc = crc

    def byte(self, what: str) -> int:
        return self.read(1, what)[0]

    def varint(self, what: str, max_bytes: int) -> int:
        """An unsigned LEB128 of at most ``max_bytes`` bytes in its shortest form."""
        n = shift = 0
        for i in range(max_bytes):
            byte = self.byte(what)
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and i > 0:
                    raise CorruptError(f"archive is corrupt (overlong number in the {what})")
                return n
            shift += 7
        raise CorruptError(f"archive is corrupt (number too large in the {what})")

    def _consumed(self, data: bytes) -> None:
        self.offset += len(data)
        if self.left is not None:
            self.left -= len(data)
        if self.crc is not None:
            self.crc = zlib.crc32(data, self.crc)
