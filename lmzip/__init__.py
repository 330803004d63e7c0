"""lmzip: lossless compression driven by a small language model.

The public surface mirrors the standard library's ``lzma`` module::

    import lmzip
    blob = lmzip.compress(data)            # one-shot
    assert lmzip.decompress(blob) == data
    with lmzip.open("notes.txt.lmz", "wt") as f:
        f.write("hello")

``Codec`` keeps a loaded model (and worker processes) for repeated calls;
``Compressor``/``Decompressor`` work incrementally; every error is an ``LmzipError``.
"""

from lmzip._api import compress, decompress
from lmzip._codec import Codec, Stats, TrailingDataError
from lmzip._config import DEFAULT_LEVEL, LEVELS
from lmzip._file import LmzipFile, open
from lmzip._stream import Compressor, Decompressor
from lmzip.formats.errors import (
    CorruptChunkError,
    CorruptError,
    FormatError,
    LmzipError,
    ModelError,
    ModelMismatchError,
    NotLmzipError,
    TruncatedError,
    UnsupportedVersionError,
)

__version__ = "0.1.0"

__all__ = [
    "compress", "decompress", "open", "Codec", "Compressor", "Decompressor", "LmzipFile",
    "Stats", "DEFAULT_LEVEL", "LEVELS", "LmzipError", "FormatError", "NotLmzipError",
    "UnsupportedVersionError", "TruncatedError", "CorruptError", "CorruptChunkError",
    "TrailingDataError", "ModelError", "ModelMismatchError", "__version__",
]
