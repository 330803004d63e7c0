"""The lmzip container: reading either version, writing format 2.

See ``SPEC.md`` beside this file for the normative description. Every archive starts
with ``MAGIC`` (``\\x89LMZ``); the next byte selects format 1 (``v1.py``, read only) or
format 2 (``v2.py``). This module is the interface the rest of lmzip uses::

    params, size = read_header(stream)            # either version
    for item in iter_chunks(stream, size): ...    # Chunk records, then the Index
    writer = Writer(params)                       # format 2: header(), chunk(), end()

Chunk payloads are opaque here: this package knows a method id, never how a chunk was
predicted.
"""

from __future__ import annotations

import zlib
from typing import Any, BinaryIO, Iterator

from lmzip.formats import v1, v2
from lmzip.formats.common import (
    MAGIC,
    MAGIC_V1,
    MAX_CHUNK_SIZE,
    MAX_PARAMS_JSON,
    Chunk,
    ChunkInfo,
    HeaderSize,
    Index,
    Method,
    xxh64,
)
from lmzip.formats.errors import NotLmzipError, TruncatedError, UnsupportedVersionError
from lmzip.formats.params import canonical_json
from lmzip.formats.v1 import FLAG_PARAMS_DEFLATED, FLAG_PARAMS_DICT_X1, PARAMS_DICTIONARY_V1, PARAMS_DICTIONARY_X1
from lmzip.formats.v2 import Writer, encode_header
from lmzip.formats.wire import Source

FORMAT_MAJOR = v2.VERSION  # what the writer writes
FORMAT_MINOR = 0
_V1_BYTE = MAGIC_V1[len(MAGIC)]  # byte 4 of a format-1 archive ("\r")
_LATER_MAJORS = range(3, 10)  # byte 4 values kept for future major versions
START_LEN = len(MAGIC) + 1  # the bytes that identify an archive: the prefix and the version byte
_STARTS = frozenset([_V1_BYTE, v2.VERSION, *_LATER_MAJORS])

__all__ = [
    "MAGIC", "MAGIC_V1", "MAX_CHUNK_SIZE", "MAX_PARAMS_JSON", "FORMAT_MAJOR", "FORMAT_MINOR",
    "Chunk", "ChunkInfo", "HeaderSize", "Index", "Method", "RecordReader", "Writer",
    "START_LEN", "canonical_json", "encode_header", "is_archive_start", "iter_chunks", "read_header",
    "read_index", "xxh64", "FLAG_PARAMS_DEFLATED", "FLAG_PARAMS_DICT_X1", "PARAMS_DICTIONARY_V1",
    "PARAMS_DICTIONARY_X1",
]


def is_archive_start(head: bytes) -> bool:
    """Do the next bytes of a stream (at least ``START_LEN`` of them) start an archive?

    After an archive, only these begin another one; anything else, a cut-short prefix
    included, is trailing data (SPEC: *Streams, identification and trailing data*).
    """
    return len(head) >= START_LEN and head.startswith(MAGIC) and head[len(MAGIC)] in _STARTS


def read_header(stream: BinaryIO) -> tuple[dict[str, Any], HeaderSize]:
    """Parse and validate the header of either version.

    Returns (params, size): the parameter object (the same shape for both versions) and
    the header's length in bytes, a :class:`HeaderSize` that also carries what
    :func:`RecordReader` needs.
    """
    first = b""
    while len(first) < len(MAGIC) + 1:  # the prefix and the version byte; short reads looped
        more = stream.read(len(MAGIC) + 1 - len(first))
        if not more:
            break
        first += more
    if first[: len(MAGIC)] != MAGIC[: len(first)]:
        raise NotLmzipError("not an lmzip archive (bad magic bytes)")
    if len(first) <= len(MAGIC):
        raise TruncatedError("archive is truncated (ended inside the magic bytes)")
    src = Source(stream, len(first))
    version = first[len(MAGIC)]
    if version == _V1_BYTE:
        return v1.read_header(src, first)
    if version == v2.VERSION:
        src.crc = zlib.crc32(first)
        return v2.read_header(src)
    if version in _LATER_MAJORS:
        raise UnsupportedVersionError(
            f"archive format version {version} is not supported (this lmzip reads 1.x and 2.x)")
    raise NotLmzipError("not an lmzip archive (bad magic bytes, or mangled by a text-mode transfer)")


def RecordReader(header_size: int, *, check_payload: bool = True) -> v1.RecordReader | v2.RecordReader:  # noqa: N802
    """The record reader for the archive whose header ``read_header`` returned ``header_size``.

    A factory (like ``threading.Lock``): a plain ``int`` means format 1, as before format 2.
    Both readers have ``read(stream)``, ``offset``, ``seen``, ``index`` and ``clone()``.
    """
    if getattr(header_size, "version", 1) == v2.VERSION:
        return v2.RecordReader(header_size, check_payload=check_payload)  # type: ignore[arg-type]
    return v1.RecordReader(header_size, check_payload=check_payload)


def iter_chunks(stream: BinaryIO, header_size: int, *, check_payload: bool = True) -> Iterator[Chunk | Index]:
    """Yield each chunk record, then the ``Index``; the archive's last byte is consumed too.

    Call after ``read_header``; ``header_size`` is what it returned. Reads strictly
    forward, so it works on pipes. A dropped, duplicated or reordered record is caught
    (format 1: by the index; format 2: by the running check).
    """
    reader = RecordReader(header_size, check_payload=check_payload)
    while True:
        item = reader.read(stream)
        yield item
        if isinstance(item, Index):
            return


def read_index(stream: BinaryIO) -> tuple[dict[str, Any], Index, int]:
    """Read the header and the chunk table without decoding (for listing).

    Returns (params, index, archive_size). Needs a seekable stream. Format 1 reads its
    index from the footer; format 2 walks its records, seeking over the payloads.
    """
    stream.seek(0)
    params, header = read_header(stream)
    if header.version == v2.VERSION:
        index, size = v2.read_index(stream, header)
    else:
        index, size = v1.read_index(stream)
    return params, index, size
