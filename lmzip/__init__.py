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

import importlib as _importlib

# Public names and the module each comes from. They are imported on first use (PEP 562),
# so ``import lmzip`` and the command line start fast: the CLI installs its Ctrl-C handling
# before numpy and llama.cpp load, and can say in one line which package is missing.
_EXPORTS = {
    "compress": "lmzip._api", "decompress": "lmzip._api",
    "Codec": "lmzip._codec", "Stats": "lmzip._codec", "TrailingDataError": "lmzip._codec",
    "DEFAULT_LEVEL": "lmzip._config", "LEVELS": "lmzip._config",
    "LmzipFile": "lmzip._file", "open": "lmzip._file",
    "Compressor": "lmzip._stream", "Decompressor": "lmzip._stream",
    **dict.fromkeys(
        ["CorruptChunkError", "CorruptError", "FormatError", "LmzipError", "MachineDependentError", "ModelError",
         "ModelMismatchError", "NotLmzipError", "TruncatedError", "UnsupportedVersionError"],
        "lmzip.formats.errors",
    ),
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lmzip' has no attribute {name!r}")
    try:
        value = getattr(_importlib.import_module(module), name)
    except ModuleNotFoundError as exc:  # a dependency is missing: name the package to install
        from lmzip._deps import missing_dependency

        message = missing_dependency(exc)
        if message is None:
            raise
        raise ModuleNotFoundError(message, name=exc.name) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__version__ = "0.1.0"

__all__ = [
    "compress", "decompress", "open", "Codec", "Compressor", "Decompressor", "LmzipFile",
    "Stats", "DEFAULT_LEVEL", "LEVELS", "LmzipError", "FormatError", "NotLmzipError",
    "UnsupportedVersionError", "TruncatedError", "CorruptError", "CorruptChunkError",
    "MachineDependentError", "TrailingDataError", "ModelError", "ModelMismatchError", "__version__",
]
