"""Container format 2: compact binary records, written and read strictly forward.

See ``SPEC.md`` (*Format 2*)::

    ARCHIVE := HEADER CHUNK* END
    HEADER  := "\\x89LMZ" 02 PARAMS                      (PARAMS: see params.py)
    CHUNK   := tag [raw_size varint] [payload_size varint] payload check(u32)
    END     := 80 check(u32)

``tag``: bits 0-5 the method, bit 6 set for the short last chunk (only it stores
``raw_size``; every other chunk holds exactly ``chunk_size`` bytes), bit 7 set only by
``END``. Stored chunks have no ``payload_size`` (it is ``raw_size``). A chunk's ``check``
is the crc32 of every archive byte before it except the earlier checks, so it also
covers the header and every earlier record; ``END``'s is the low 32 bits of the whole output's xxh64 (with no chunk:
the crc32 of everything before it). Chunk payloads are opaque here.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, BinaryIO

import xxhash

from lmzip.formats.common import MAGIC, Chunk, ChunkInfo, HeaderSize, Index, Method, xxh64
from lmzip.formats.errors import CorruptChunkError, CorruptError, UnsupportedVersionError
from lmzip.formats.params import encode_params_v2, read_params_v2
from lmzip.formats.wire import Source, encode_varint

VERSION = 2
END_TAG = 0x80
SHORT = 0x40  # tag bit: the last chunk, shorter than chunk_size, stores its raw_size
METHOD_BITS = 0x3F
CHECK_BITS = 32
_U32 = struct.Struct("<I")
_MASK = (1 << CHECK_BITS) - 1
_METHODS = frozenset(int(m) for m in Method)
_SIZE_BYTES = 5  # varint width of raw_size and payload_size (chunk sizes are at most 2^31)


def encode_header(params: dict[str, Any]) -> bytes:
    """The format-2 HEADER for ``params``: the prefix, the version and the PARAMS field."""
    return MAGIC + bytes([VERSION]) + encode_params_v2(params)


class Writer:
    """Writes one format-2 archive forward: ``header()``, ``chunk(...)`` per chunk, ``end()``.

    Every chunk but the last must hold exactly ``chunk_size`` bytes (the caller cuts
    them so); a shorter one is written as the short last chunk. ``index`` is the chunk
    table so far and ``offset`` the bytes written.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.chunk_size: int = params["chunk_size"]
        self.index = Index(check_bits=CHECK_BITS)
        self.offset = 0
        self._crc = 0  # crc32 of every byte written so far except the check fields
        self._whole = xxhash.xxh64()
        self._started = self._short = self._ended = False

    def header(self) -> bytes:
        if self._started:
            raise ValueError("header() called twice")
        self._started = True
        header = encode_header(self.params)
        self._crc = zlib.crc32(header)  # the running crc: every byte written but the checks
        return self._emit(header)

    def chunk(self, method: Method, raw: bytes, payload: bytes) -> tuple[bytes, ChunkInfo]:
        """The record of the next chunk and its table entry."""
        method = Method(method)
        if not self._started or self._ended or self._short:
            raise ValueError("a chunk must come after header() and before end(), and not after a short chunk")
        if not 1 <= len(raw) <= self.chunk_size:
            raise ValueError(f"a chunk holds 1..{self.chunk_size} bytes, got {len(raw)}")
        if method == Method.STORED and payload != raw:
            raise ValueError("a stored chunk's payload is its raw bytes")
        if not 1 <= len(payload) <= len(raw):
            raise ValueError("a payload larger than its chunk: store the chunk instead")
        short = len(raw) < self.chunk_size
        head = bytes([method | (SHORT if short else 0)])
        if short:
            head += encode_varint(len(raw))
        if method != Method.STORED:
            head += encode_varint(len(payload))
        check = self._crc = zlib.crc32(payload, zlib.crc32(head, self._crc))
        record = self._emit(head + payload + _U32.pack(check))
        info = ChunkInfo(method, len(raw), len(payload), None)
        self.index.chunks.append(info)
        self.index.original_size += len(raw)
        self._whole.update(raw)
        self._short = short
        return record, info

    def end(self) -> bytes:
        """The END record; the archive is complete."""
        if not self._started or self._ended:
            raise ValueError("end() must come once, after header()")
        self._ended = True
        tag = bytes([END_TAG])
        whole = self._whole.intdigest() & _MASK
        self.index.whole_xxh64 = whole
        check = whole if self.index.chunks else zlib.crc32(tag, self._crc)
        return self._emit(tag + _U32.pack(check))

    def _emit(self, data: bytes) -> bytes:
        self.offset += len(data)
        return data


def read_header(src: Source) -> tuple[dict[str, Any], HeaderSize]:
    """The PARAMS field of a format-2 header (``src`` is past the prefix and version byte,
    its ``crc`` running over the header from byte 0)."""
    params = read_params_v2(src)
    return params, HeaderSize(src.offset, VERSION, params["chunk_size"], src.crc or 0)


class RecordReader:
    """Reads format 2's records after the header one at a time, validating as it goes.

    State advances only when a whole record was read, so an incremental caller can retry
    the same record from a fresh buffer after a ``TruncatedError``. With
    ``check_payload=False`` no check is verified (listing, probing for a whole record).
    """

    def __init__(self, header_size: HeaderSize, *, check_payload: bool = True) -> None:
        self.offset = int(header_size)
        self.chunk_size = header_size.chunk_size
        self.crc = header_size.crc  # crc32 of every archive byte before self.offset but the checks
        self.seen: list[ChunkInfo] = []
        self.index: Index | None = None
        self.check_payload = check_payload
        self.short = False  # the last record read was the short last chunk

    def clone(self, *, check_payload: bool) -> "RecordReader":
        """An independent copy at the same position (to probe for a whole record)."""
        other = RecordReader(HeaderSize(self.offset, VERSION, self.chunk_size, self.crc), check_payload=check_payload)
        other.seen, other.short = list(self.seen), self.short
        return other

    def read(self, stream: BinaryIO, *, skip_payload: bool = False) -> Chunk | Index:
        """The next record: a ``Chunk`` (with an empty payload if ``skip_payload``), or
        the ``Index`` built from the records once ``END`` is read."""
        src = Source(stream, self.offset, self.crc if self.check_payload else None)
        start, n = self.offset, len(self.seen)
        where = f"record of chunk {n}"
        tag = src.byte("chunk table")
        if tag == END_TAG:
            return self._end(src)
        if tag & 0x80:
            raise CorruptError(f"archive is corrupt (unknown record type {tag:#04x} after chunk {n - 1})")
        if self.short:
            raise CorruptError(f"archive is corrupt (chunk {n} follows the short last chunk)")
        if tag & METHOD_BITS not in _METHODS:
            raise UnsupportedVersionError(f"chunk {n} uses unknown coding method {tag & METHOD_BITS}")
        method = Method(tag & METHOD_BITS)
        # Sizes are checked against the chunk size before a byte of payload is read.
        raw_size = self.chunk_size
        if tag & SHORT:
            raw_size = src.varint(where, _SIZE_BYTES)
            if not 1 <= raw_size < self.chunk_size:
                raise CorruptChunkError(n, "chunk size out of range", offset=start)
        payload_size = raw_size
        if method != Method.STORED:
            payload_size = src.varint(where, _SIZE_BYTES)
            if not 1 <= payload_size <= raw_size:
                raise CorruptChunkError(n, "payload size out of range", offset=start)
        if skip_payload:
            src.skip(payload_size, f"payload of chunk {n}")
            payload = b""
        else:
            payload = src.read(payload_size, f"payload of chunk {n}")
        check = src.check(where)
        if self.check_payload and check != src.crc:
            detail = "checksum mismatch" + (" (its record or the archive header)" if n == 0 else "")
            raise CorruptChunkError(n, detail, offset=start)
        info = ChunkInfo(method, raw_size, payload_size, None)
        self.seen.append(info)
        self.short = bool(tag & SHORT)
        self.offset, self.crc = src.offset, src.crc
        return Chunk(n, info, payload, start)

    def _end(self, src: Source) -> Index:
        check = src.check("end of the archive")
        if self.seen:
            whole = check  # the output's check: the caller compares it (Index.matches)
        else:
            if self.check_payload and check != src.crc:
                raise CorruptError("archive header is corrupt (checksum mismatch)")
            whole = xxh64(b"") & _MASK
        index = Index(list(self.seen), sum(c.raw_size for c in self.seen), whole, CHECK_BITS)
        self.offset, self.crc = src.offset, src.crc
        self.index = index
        return index


def read_index(stream: BinaryIO, header: HeaderSize) -> tuple[Index, int]:
    """The chunk table, walking the records and seeking over payloads (nothing verified).

    Returns (index, archive_size); ``stream`` must be just past the header.
    """
    reader = RecordReader(header, check_payload=False)
    while True:
        item = reader.read(stream, skip_payload=True)
        if isinstance(item, Index):
            return item, reader.offset
