"""Incremental compression objects, shaped like ``lzma.LZMACompressor``/``LZMADecompressor``."""

from __future__ import annotations

import io
import operator
import os

import xxhash

from lmzip._codec import ArchiveWriter, Codec, TrailingDataError, locate_chunk_error, refuse_pickling
from lmzip._config import DEFAULT_LEVEL, CodingConfig
from lmzip.formats import container as fmt
from lmzip.formats.errors import CorruptChunkError, CorruptError, LmzipError, TruncatedError


class Compressor:
    """Compress data incrementally: ``compress(data)`` repeatedly, then ``flush()`` once.

    Input is coded in whole chunks, so ``compress`` may return ``b""`` until a chunk's
    worth of data has arrived. Pass ``codec`` to reuse an already loaded model.
    """

    def __init__(
        self,
        *,
        level: int = DEFAULT_LEVEL,
        model: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        lanes: int | None = None,
        codec: Codec | None = None,
    ) -> None:
        self._codec = codec if codec is not None else Codec(level=level, model=model, threads=threads,
                                                           lanes=lanes)
        self._writer: ArchiveWriter = self._codec.writer()
        self._buffer = bytearray()
        self._started = False
        self._finished = False

    def compress(self, data: bytes) -> bytes:
        data = memoryview(data)  # TypeError for anything that is not bytes-like, before any change
        if self._finished:
            raise ValueError("compress() called after flush()")
        self._buffer += data
        size = self._writer.config.chunk_size
        n_full = len(self._buffer) // size
        out = bytearray(self._head())
        if n_full:
            chunks = [bytes(self._buffer[i * size : (i + 1) * size]) for i in range(n_full)]
            del self._buffer[: n_full * size]
            for record in self._writer.records(chunks):
                out += record
        return bytes(out)

    def flush(self) -> bytes:
        """Finish the archive; the compressor cannot be used afterwards."""
        if self._finished:
            raise ValueError("repeated call to flush()")
        self._finished = True
        out = bytearray(self._head())
        if self._buffer:
            for record in self._writer.records([bytes(self._buffer)]):
                out += record
            self._buffer.clear()
        out += self._writer.finish()
        return bytes(out)

    def _head(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._writer.start()

    def __reduce_ex__(self, protocol: object) -> object:
        refuse_pickling(self)


class Decompressor:
    """Decompress one archive incrementally, like ``lzma.LZMADecompressor``.

    ``decompress(data, max_length=-1)`` returns what can be produced so far (at most
    ``max_length`` bytes). ``eof`` turns true after the archive's end marker;
    ``unused_data`` then holds any bytes after it; ``needs_input`` is false while
    already-buffered input can still produce output.
    """

    def __init__(
        self,
        *,
        model: str | os.PathLike[str] | None = None,
        threads: int | None = 1,
        codec: Codec | None = None,
    ) -> None:
        self._codec = codec if codec is not None else Codec(model=model, threads=threads)
        self._input = bytearray()
        self._pos = 0  # offset in the archive of self._input[0]
        self._output = bytearray()
        self._config: CodingConfig | None = None
        self._reader: fmt.RecordReader | None = None
        self._whole = None
        self._model_checked = False
        self._produced = 0
        self.eof = False
        self.unused_data = b""
        self.needs_input = True

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        # Arguments are checked before anything changes: a bad call leaves the state as it was.
        data = memoryview(data)
        max_length = operator.index(max_length)
        if self.eof:
            raise EOFError("already at end of stream")
        self._input += data
        # Decode whole records while the caller still wants output.
        while not self.eof and (max_length < 0 or len(self._output) < max_length):
            if not self._step():
                break
        if max_length < 0:
            out, self._output = bytes(self._output), bytearray()
        else:
            out = bytes(self._output[:max_length])
            del self._output[:max_length]
        self.needs_input = not self.eof and not self._output and not self._record_ready()
        return out

    def _record_ready(self) -> bool:
        """Is a whole record (or the header) already buffered?"""
        try:
            probe = self._reader.clone(check_payload=False) if self._reader else None
            stream = io.BytesIO(bytes(self._input))
            if probe is None:
                fmt.read_header(stream)
            else:
                probe.read(stream)
            return True
        except TruncatedError:
            return False
        except LmzipError:
            return True  # an error is "ready" too: the next call raises it

    def _step(self) -> bool:
        """Consume one header or record from the buffer; False if more input is needed."""
        stream = io.BytesIO(bytes(self._input))
        try:
            if self._reader is None:
                params, size = fmt.read_header(stream)
                self._config = CodingConfig.from_params(params)
                self._reader = fmt.RecordReader(size)
                self._whole = xxhash.xxh64()
                used = size
            else:
                before = self._reader.offset
                item = self._reader.read(stream)
                used = self._reader.offset - before
                if not self._model_checked:  # the first record's check verified the header
                    self._codec.check_model(self._config)
                    self._model_checked = True
                if isinstance(item, fmt.Chunk):
                    info = item.info
                    job = (item.index, info.method, item.payload, info.raw_size, info.raw_xxh64)
                    try:
                        (raw,) = list(self._codec._runner.decode([job], self._config))
                    except CorruptChunkError as exc:
                        raise locate_chunk_error(exc, item.offset)
                    self._whole.update(raw)
                    self._produced += len(raw)
                    self._output += raw
                else:
                    if not item.matches(self._whole.intdigest()) or item.original_size != self._produced:
                        raise CorruptError("decompressed data fails the whole-file checksum")
                    self.eof = True
        except TruncatedError:
            return False
        del self._input[:used]
        if self.eof:
            self.unused_data = bytes(self._input)
            self._input.clear()
        return True

    def __reduce_ex__(self, protocol: object) -> object:
        refuse_pickling(self)


__all__ = ["Compressor", "Decompressor", "TrailingDataError"]
