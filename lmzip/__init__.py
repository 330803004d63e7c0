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

try:
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
        MachineDependentError,
        ModelError,
        ModelMismatchError,
        NotLmzipError,
        TruncatedError,
        UnsupportedVersionError,
    )
except ModuleNotFoundError as _exc:  # a dependency is missing: name the package to install
    from lmzip._deps import missing_dependency

    _MISSING = missing_dependency(_exc)
    if _MISSING is None:
        raise
    _MISSING_NAME = _exc.name

    def __getattr__(name: str):
        # ``import lmzip`` works (so the CLI can print one line); any use says what to install.
        raise ModuleNotFoundError(_MISSING, name=_MISSING_NAME)
else:
    _MISSING = None

__version__ = "0.1.0"

__all__ = [
    "compress", "decompress", "open", "Codec", "Compressor", "Decompressor", "LmzipFile",
    "Stats", "DEFAULT_LEVEL", "LEVELS", "LmzipError", "FormatError", "NotLmzipError",
    "UnsupportedVersionError", "TruncatedError", "CorruptError", "CorruptChunkError",
    "MachineDependentError", "TrailingDataError", "ModelError", "ModelMismatchError", "__version__",
]
