"""``lmzip.open`` and ``LmzipFile``: a file object over an archive, like ``lzma.LZMAFile``."""

from __future__ import annotations

import builtins
import io
import os
from typing import IO, Any

try:  # Python 3.14 moved the helpers lzma/gzip/bz2 share
    from compression._common._streams import BaseStream, DecompressReader  # type: ignore
except ImportError:  # pragma: no cover - depends on the Python version
    from _compression import BaseStream, DecompressReader  # type: ignore

from lmzip._codec import Codec
from lmzip._config import DEFAULT_LEVEL
from lmzip._stream import Compressor, Decompressor

_MODE_CLOSED, _MODE_READ, _MODE_WRITE = 0, 1, 2


class LmzipFile(BaseStream):
    """A binary file object (``io.BufferedIOBase``) that reads or writes an lmzip archive.

    ``filename`` is a path or an existing binary file object. ``mode`` is ``"r"``,
    ``"w"``, ``"x"`` or ``"a"`` (optionally with ``"b"``). Reading accepts concatenated
    archives. ``level``, ``model`` and ``threads`` are as for ``lmzip.compress``.
    """

    def __init__(
        self,
        filename: str | bytes | os.PathLike[Any] | IO[bytes],
        mode: str = "r",
        *,
        level: int = DEFAULT_LEVEL,
        model: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self._fp: IO[bytes] | None = None
        self._closefp = False
        self._mode = _MODE_CLOSED
        mode_code = mode.replace("b", "")
        if mode_code == "r":
            self._mode = _MODE_READ
        elif mode_code in ("w", "x", "a"):
            self._mode = _MODE_WRITE
            self._codec = Codec(level=level, model=model, threads=threads)
            self._compressor = Compressor(codec=self._codec)
            self._pos = 0
        else:
            raise ValueError(f"invalid mode: {mode!r}")
        if isinstance(filename, (str, bytes, os.PathLike)):
            self._fp = builtins.open(filename, mode_code + "b")
            self._closefp = True
        elif hasattr(filename, "read") or hasattr(filename, "write"):
            self._fp = filename  # type: ignore[assignment]
        else:
            raise TypeError("filename must be a str, bytes, os.PathLike or file object")
        if self._mode == _MODE_READ:
            codec = Codec(model=model, threads=threads or 1)
            self._codec = codec
            raw = DecompressReader(self._fp, Decompressor, trailing_error=(), codec=codec)
            self._buffer = io.BufferedReader(raw)

    def close(self) -> None:
        if self._mode == _MODE_CLOSED:
            return
        try:
            if self._mode == _MODE_READ:
                self._buffer.close()
                self._buffer = None
            elif self._mode == _MODE_WRITE:
                self._fp.write(self._compressor.flush())
                self._compressor = None
        finally:
            try:
                if self._closefp:
                    self._fp.close()
            finally:
                self._fp = None
                self._closefp = False
                self._mode = _MODE_CLOSED
                codec = getattr(self, "_codec", None)
                if codec is not None:
                    codec.close()

    @property
    def closed(self) -> bool:
        return self._mode == _MODE_CLOSED

    def fileno(self) -> int:
        self._check_not_closed()
        return self._fp.fileno()

    def seekable(self) -> bool:
        return self.readable() and self._buffer.seekable()

    def readable(self) -> bool:
        self._check_not_closed()
        return self._mode == _MODE_READ

    def writable(self) -> bool:
        self._check_not_closed()
        return self._mode == _MODE_WRITE

    def peek(self, size: int = -1) -> bytes:
        self._check_can_read()
        return self._buffer.peek(size)

    def read(self, size: int | None = -1) -> bytes:
        self._check_can_read()
        return self._buffer.read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        self._check_can_read()
        if size < 0:
            size = io.DEFAULT_BUFFER_SIZE
        return self._buffer.read1(size)

    def readline(self, size: int | None = -1) -> bytes:
        self._check_can_read()
        return self._buffer.readline(-1 if size is None else size)

    def write(self, data: Any) -> int:
        self._check_can_write()
        if isinstance(data, (bytes, bytearray)):
            length = len(data)
        else:
            data = memoryview(data)
            length = data.nbytes
        self._fp.write(self._compressor.compress(data))
        self._pos += length
        return length

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_can_seek()
        return self._buffer.seek(offset, whence)

    def tell(self) -> int:
        self._check_not_closed()
        if self._mode == _MODE_READ:
            return self._buffer.tell()
        return self._pos


def open(
    filename: str | bytes | os.PathLike[Any] | IO[bytes],
    mode: str = "rb",
    *,
    level: int = DEFAULT_LEVEL,
    model: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
) -> LmzipFile | io.TextIOWrapper:
    """Open an lmzip archive in binary or text mode, like ``lzma.open``."""
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"invalid mode: {mode!r}")
    else:
        if encoding is not None:
            raise ValueError("argument 'encoding' not supported in binary mode")
        if errors is not None:
            raise ValueError("argument 'errors' not supported in binary mode")
        if newline is not None:
            raise ValueError("argument 'newline' not supported in binary mode")
    binary = LmzipFile(filename, mode.replace("t", ""), level=level, model=model, threads=threads)
    if "t" in mode:
        return io.TextIOWrapper(binary, encoding, errors, newline)
    return binary
