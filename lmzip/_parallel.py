"""Chunk jobs over worker processes, each with its own model, results in input order.

The chunking is decided before any job runs, and each job is a pure function of its
chunk and the config, so the archive is identical for any number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, Iterable, Iterator

from lmzip._chunks import ChunkResult, decode_chunk, encode_chunk
from lmzip._config import CodingConfig
from lmzip._runtime import Runtime
from lmzip.formats.container import Method

# Workers post (bytes done) here for the progress bar; a tick per ~64 tokens is plenty.
_TICK_EVERY = 64

_worker_runtime: Runtime | None = None
_worker_args: tuple[str | None, int] | None = None
_worker_progress: "mp.Queue[int] | None" = None


def _init_worker(model_path: str | None, n_threads: int, progress: "mp.Queue[int] | None") -> None:
    global _worker_args, _worker_progress
    _worker_args = (model_path, n_threads)
    _worker_progress = progress


def _runtime_in_worker() -> Runtime:
    global _worker_runtime
    if _worker_runtime is None:
        assert _worker_args is not None
        _worker_runtime = Runtime(*_worker_args)
    return _worker_runtime


class _Ticker:
    """Per-token progress in bytes, batched to keep IPC cheap; ``flush`` sends the rest."""

    def __init__(self, runtime: Runtime, sink: Callable[[int], None]) -> None:
        self.pieces = runtime.tokenizer.pieces
        self.sink = sink
        self.bytes = self.tokens = 0

    def __call__(self, token: int) -> None:
        self.bytes += len(self.pieces[token])  # escape: 0, its substitute: the 1 byte
        self.tokens += 1
        if self.tokens >= _TICK_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.bytes:
            self.sink(self.bytes)
        self.bytes = self.tokens = 0


def _ticker(runtime: Runtime, sink: Callable[[int], None] | None) -> _Ticker | None:
    return None if sink is None else _Ticker(runtime, sink)


def _queue_sink() -> Callable[[int], None] | None:
    q = _worker_progress
    return None if q is None else q.put


def _encode(raw: bytes, config: CodingConfig, get_runtime: Callable[[], Runtime], sink) -> ChunkResult:
    """Encode one chunk; the model is loaded (and checked) only if the LLM may be used."""
    runtime = get_runtime() if config.uses_llm else None
    if runtime is not None:
        runtime.check(config)
    return encode_chunk(raw, config, runtime, _ticker(runtime, sink) if runtime else None)


def _decode(job: tuple, config: CodingConfig, get_runtime: Callable[[], Runtime], sink) -> bytes:
    """Decode one (index, method, payload, raw_size, raw_xxh64) job."""
    index, method, payload, raw_size, raw_xxh64 = job
    runtime = get_runtime() if method == Method.LLM else None
    if runtime is not None:
        runtime.check(config)
    tick = _ticker(runtime, sink) if runtime else None
    return decode_chunk(index, method, payload, raw_size, raw_xxh64, config, runtime, tick)


def _encode_job(raw: bytes, config: CodingConfig) -> ChunkResult:
    return _encode(raw, config, _runtime_in_worker, _queue_sink())


def _decode_job(job: tuple, config: CodingConfig) -> bytes:
    return _decode(job, config, _runtime_in_worker, _queue_sink())


class ChunkRunner:
    """Runs encode/decode jobs in-process (1 worker) or in a process pool (>1)."""

    def __init__(self, workers: int, model_path: str | None, runtime_factory: Callable[[], Runtime]) -> None:
        self.workers = max(1, workers)
        self.model_path = model_path
        self._runtime_factory = runtime_factory
        self._pool: ProcessPoolExecutor | None = None
        self._progress: "mp.Queue[int] | None" = None

    # -- pool -----------------------------------------------------------------------
    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context("spawn")  # never fork a process that holds llama threads
            self._progress = ctx.Queue()
            n_threads = 1  # see Codec._local_runtime: one llama thread per process
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(self.model_path, n_threads, self._progress),
            )
        return self._pool

    def _drain(self, on_bytes: Callable[[int], None] | None) -> None:
        if self._progress is None:
            return
        while True:
            try:
                n = self._progress.get_nowait()
            except queue.Empty:
                return
            if on_bytes is not None:
                on_bytes(n)

    def _ordered(self, submit: Callable[[object], Future], jobs: Iterable[object], on_bytes) -> Iterator:
        inflight: deque[Future] = deque()
        it = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(inflight) < 2 * self.workers:
                try:
                    inflight.append(submit(next(it)))
                except StopIteration:
                    exhausted = True
            if not inflight:
                return
            head = inflight[0]
            while True:
                try:
                    result = head.result(timeout=0.25)
                    break
                except FutureTimeout:
                    self._drain(on_bytes)
            inflight.popleft()
            self._drain(on_bytes)
            yield result

    def encode(self, chunks: Iterable[bytes], config: CodingConfig, on_bytes=None) -> Iterator[ChunkResult]:
        """Encode chunks, yielding results in input order."""
        if self.workers == 1 or not config.uses_llm:
            for raw in chunks:
                yield _encode(raw, config, self._runtime_factory, on_bytes)
            return
        pool = self._ensure_pool()
        yield from self._ordered(lambda raw: pool.submit(_encode_job, raw, config), chunks, on_bytes)

    def decode(self, jobs: Iterable[tuple], config: CodingConfig, on_bytes=None) -> Iterator[bytes]:
        """Decode (index, method, payload, raw_size, raw_xxh64) jobs, in input order."""
        if self.workers == 1 or not config.uses_llm:
            for job in jobs:
                yield _decode(job, config, self._runtime_factory, on_bytes)
            return
        pool = self._ensure_pool()
        yield from self._ordered(lambda job: pool.submit(_decode_job, job, config), jobs, on_bytes)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._progress is not None:
            self._progress.close()
            self._progress = None
