"""The lmzip container (format 2 written, formats 1 and 2 read) and the lmzip error hierarchy."""

from lmzip.formats.container import (
    FORMAT_MAJOR,
    FORMAT_MINOR,
    MAGIC,
    Chunk,
    ChunkInfo,
    Index,
    Method,
    RecordReader,
    Writer,
    encode_header,
    is_archive_start,
    iter_chunks,
    read_header,
    read_index,
    xxh64,
)
from lmzip.formats.errors import (
    CorruptChunkError,
    CorruptError,
    FormatError,
    LmzipError,
    MachineDependentError,
    ModelError,
    ModelMismatchError,
    NotLmzipError,
    TruncatedError,
    UnsupportedVersionError,
)

__all__ = [
    "FORMAT_MAJOR", "FORMAT_MINOR", "MAGIC", "Chunk", "ChunkInfo", "Index", "Method", "RecordReader",
    "Writer", "encode_header", "is_archive_start", "iter_chunks", "read_header", "read_index", "xxh64",
    "CorruptChunkError", "CorruptError", "FormatError", "LmzipError", "MachineDependentError", "ModelError",
    "ModelMismatchError", "NotLmzipError", "TruncatedError", "UnsupportedVersionError",
]
