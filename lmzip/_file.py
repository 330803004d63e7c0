"""``lmzip.open`` and ``LmzipFile``: a file object over an archive, like ``lzma.LZMAFile``."""

from __future__ import annotations

import builtins
import io
import os
from typing import IO, Any

try:  # Python 3.14 moved the helpers lzma/gzip/bz2 share
    from compression._common._streams import BUFFER_SIZE, BaseStream, DecompressReader  # type: ignore
except ImportError:  # pragma: no cover - depends on the Python version
    from _compression import BUFFER_SIZE, BaseStream, DecompressReader  # type: ignore

from lmzip._codec import Codec, TrailingDataError, _count_rest, refuse_pickling
from lmzip._config import DEFAULT_LEVEL
from lmzip._stream import Compressor, Decompressor
from lmzip.formats.container import START_LEN, is_archive_start

_MODE_CLOSED, _MODE_READ, _MODE_WRITE = 0, 1, 2
_READ_MODES = ("r", "rb")
_WRITE_MODES = ("w", "wb", "x", "xb", "a", "ab")


class _ArchiveReader(DecompressReader):
    """``DecompressReader`` with lmzip's rule for what follows an archive.

    After each archive the next bytes must start another archive (``is_archive_start``);
    anything else raises ``TrailingDataError`` instead of being skipped (``lzma``) or
    reported as a bad archive.
    """

    def _next_member(self) -> bytes:
        """The first bytes of the next archive; b"" at the end of the input."""
        head = self._decompressor.unused_data or self._fp.read(BUFFER_SIZE)
        while head and len(head) < START_LEN:
            more = self._fp.read(START_LEN - len(head))
            if not more:
                break
            head += more
        if head and not is_archive_start(head):
            raise TrailingDataError(len(head) + _count_rest(self._fp))
        return head

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return self.readall()
        if not size or self._eof:
            return b""
        data = None
        while True:
            if self._decompressor.eof:
                rawblock = self._next_member()
                if not rawblock:
                    break
                self._decompressor = self._decomp_factory(**self._decomp_args)
                data = self._decompressor.decompress(rawblock, size)
            else:
                if self._decompressor.needs_input:
                    rawblock = self._fp.read(BUFFER_SIZE)
                    if not rawblock:
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                else:
                    rawblock = b""
                data = self._decompressor.decompress(rawblock, size)
            if data:
                break
        if not data:
            self._eof = True
            self._size = self._pos
            return b""
        self._pos += len(data)
        return data


class LmzipFile(BaseStream):
    """A binary file object (``io.BufferedIOBase``) that reads or writes an lmzip archive.

    ``filename`` is a path or an existing binary file object. ``mode`` is ``"r"``,
    ``"w"``, ``"x"`` or ``"a"`` (optionally with ``"b"`` after it). Reading accepts
    concatenated archives and refuses anything after the last one (``TrailingDataError``).
    ``level`` and ``lanes`` (write modes only), ``model`` and ``threads`` are as for
    ``lmzip.compress``.
    Like ``lzma.LZMAFile`` objects, these cannot be pickled.
    """

    def __init__(
        self,
        filename: str | bytes | os.PathLike[Any] | IO[bytes],
        mode: str = "r",
        *,
        level: int | None = None,
        model: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        lanes: int | None = None,
    ) -> None:
        self._fp: IO[bytes] | None = None
        self._closefp = False
        self._mode = _MODE_CLOSED
        if not isinstance(mode, str) or mode not in _READ_MODES + _WRITE_MODES:
            raise ValueError(f"invalid mode: {mode!r}")
        mode_code = mode.replace("b", "")
        # Everything is checked and built before the file is opened; the object counts as
        # open (self._mode) only once all of it succeeded.
        if mode_code == "r":
            if level is not None:
                raise ValueError("a compression level cannot be given when opening a file for reading")
            if lanes is not None:
                raise ValueError("lanes cannot be given when opening a file for reading")
            self._codec = Codec(model=model, threads=threads or 1)
        else:
            self._codec = Codec(level=DEFAULT_LEVEL if level is None else level, model=model, threads=threads,
                                lanes=lanes)
            self._compressor = Compressor(codec=self._codec)
            self._pos = 0
        if isinstance(filename, (str, bytes, os.PathLike)):
            self._fp = builtins.open(filename, mode_code + "b")
            self._closefp = True
        elif hasattr(filename, "read") or hasattr(filename, "write"):
            self._fp = filename  # type: ignore[assignment]
        else:
            raise TypeError("filename must be a str, bytes, os.PathLike or file object")
        if mode_code == "r":
            raw = _ArchiveReader(self._fp, Decompressor, trailing_error=(), codec=self._codec)
            self._buffer = io.BufferedReader(raw)
            self._mode = _MODE_READ
        else:
            self._mode = _MODE_WRITE

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

    @property
    def mode(self) -> str:
        return "wb" if self._mode == _MODE_WRITE else "rb"

    @property
    def name(self) -> Any:
        self._check_not_closed()
        return self._fp.name

    def __reduce_ex__(self, protocol: object) -> object:
        refuse_pickling(self)

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
    level: int | None = None,
    model: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    lanes: int | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
) -> LmzipFile | io.TextIOWrapper:
    """Open an lmzip archive in binary or text mode, like ``lzma.open``."""
    if not isinstance(mode, str):
        raise ValueError(f"invalid mode: {mode!r}")
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
    binary = LmzipFile(filename, mode.replace("t", ""), level=level, model=model, threads=threads, lanes=lanes)
    if "t" in mode:
        return io.TextIOWrapper(binary, encoding, errors, newline)
    return binary
