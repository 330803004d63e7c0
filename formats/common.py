"""What both container versions share: the prefix, method ids, the chunk table types and
the limits every reader enforces. See ``SPEC.md``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import xxhash

MAGIC = b"\x89LMZ"  # every archive starts so; byte 4 says which version follows (SPEC: identification)
MAGIC_V1 = b"\x89LMZ\r\n\x1a\n"  # format 1's whole 8-byte magic

MAX_CHUNK_SIZE = 1 << 31  # the largest chunk_size a writer accepts (CodingConfig.for_level)
MAX_PARAMS_JSON = 1 << 16  # a parameter object's canonical JSON, either version (real ones: ~1 KB)


class Method(IntEnum):
    """How one chunk's payload was produced (the same ids in both versions)."""

    STORED = 0  # payload is the raw bytes
    XZ = 1  # payload is a raw LZMA2 stream (FORMAT_RAW, preset 9|EXTREME)
    LLM = 2  # payload is the LLM coder's (token counts and range-coded streams; see lmzip/_chunks.py)
    CM = 3  # byte-level context-mixing engine, payload defined by models/bytecm (format 2 only)


@dataclass(frozen=True)
class ChunkInfo:
    """One row of the chunk table."""

    method: Method
    raw_size: int
    payload_size: int
    raw_xxh64: int | None  # format 1 only: format 2 checks the output once, for the whole archive


@dataclass
class Index:
    """The chunk table plus whole-file totals.

    ``whole_xxh64`` is the xxh64 of the uncompressed data, or its low ``check_bits`` bits
    (32 in format 2): compare with :meth:`matches`.
    """

    chunks: list[ChunkInfo] = field(default_factory=list)
    original_size: int = 0
    whole_xxh64: int = 0
    check_bits: int = 64

    def matches(self, digest: int) -> bool:
        """Does the xxh64 ``digest`` of the decoded data agree with the stored check?"""
        return digest & ((1 << self.check_bits) - 1) == self.whole_xxh64

    @property
    def check_text(self) -> str:
        """The stored check as ``lmzip -l`` shows it; format 2 keeps the last 8 hex digits
        of the xxh64 (``xxh64:...1234abcd``, comparable with the end of ``xxh64sum``)."""
        if self.check_bits == 64:
            return f"xxh64:{self.whole_xxh64:016x}"
        return f"xxh64:...{self.whole_xxh64:0{self.check_bits // 4}x}"


@dataclass(frozen=True)
class Chunk:
    """A chunk record as read back: table entry plus payload bytes."""

    index: int
    info: ChunkInfo
    payload: bytes
    offset: int | None = None  # where the record starts in its archive


class HeaderSize(int):
    """``read_header``'s second value: the header's length in bytes.

    It is an ``int`` (callers add and compare it as before) that also remembers what
    reading the records after the header needs: the format ``version``, the parameters'
    ``chunk_size`` and, in format 2, the running crc32 of the header's bytes.
    """

    version: int
    chunk_size: int
    crc: int

    def __new__(cls, size: int, version: int, chunk_size: int, crc: int = 0) -> "HeaderSize":
        obj = super().__new__(cls, size)
        obj.version, obj.chunk_size, obj.crc = version, chunk_size, crc
        return obj


def xxh64(data: bytes) -> int:
    return xxhash.xxh64_intdigest(data)
