"""Chunk jobs over worker processes, each with its own model, results in input order.

The chunking is decided before any job runs, and each job is a pure function of its
chunk and the config, so the archive is identical for any number of workers.

Workers are plain subprocesses (``python -c "from lmzip._worker import main; main()"``)
that read jobs from their stdin and write results to their stdout as length-prefixed
pickles. Unlike ``multiprocessing``'s spawn they never re-import the caller's
``__main__``, so several workers work from a script without an
``if __name__ == "__main__":`` guard, from a Jupyter cell and from any thread.

A worker never outlives its parent: it exits as soon as its job pipe closes (the parent
exited, was killed, or gave up on the job), the Linux kernel sends it SIGKILL when the
parent dies (``PR_SET_PDEATHSIG``; workers are started from one long-lived launcher
thread because that signal follows the *thread* that forked), and a watchdog thread
polls the parent's pid as a last resort. A caller that stops waiting for its jobs (an
error in another chunk, Ctrl-C) kills the workers still busy with them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import weakref
from collections import deque
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import numpy as np

from lmzip._chunks import ChunkResult, decode_chunk, encode_chunk, plainly_binary
from lmzip._config import CodingConfig
from lmzip._cores import CoreBoard, cpu_count
from lmzip._runtime import Runtime
from lmzip.formats.container import Method
from lmzip.formats.errors import LmzipError

# Workers post (bytes done) for the progress bar; a tick per ~64 tokens is plenty.
_TICK_EVERY = 64


class _Ticker:
    """Per-token progress in bytes, batched to keep IPC cheap; ``flush`` sends the rest."""

    def __init__(self, runtime: Runtime, sink: Callable[[int], None]) -> None:
        self.pieces = runtime.tokenizer.pieces
        self.piece_bytes = runtime.piece_bytes
        self.sink = sink
        self.bytes = self.tokens = 0

    def __call__(self, token: int) -> None:
        self.bytes += len(self.pieces[token])  # escape: 0, its substitute: the 1 byte
        self.tokens += 1
        if self.tokens >= _TICK_EVERY:
            self.flush()

    def many(self, tokens: np.ndarray) -> None:
        """The tokens of one lane step."""
        self.bytes += int(self.piece_bytes[tokens].sum())
        self.tokens += len(tokens)
        if self.tokens >= _TICK_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.bytes:
            self.sink(self.bytes)
        self.bytes = self.tokens = 0


def _ticker(runtime: Runtime, sink: Callable[[int], None] | None) -> _Ticker | None:
    return None if sink is None else _Ticker(runtime, sink)


def _peek_single(items: Iterable[Any]) -> tuple[Iterator[Any], bool]:
    """``items`` again (nothing lost), and whether it holds exactly one item."""
    it = iter(items)
    head = list(itertools.islice(it, 2))
    return itertools.chain(head, it), len(head) == 1


def _encode(raw: bytes, config: CodingConfig, get_runtime: Callable[[], Runtime], sink) -> ChunkResult:
    """Encode one chunk; the model is loaded (and checked) only if the LLM may be used: a
    plainly binary chunk (issue 18) never pays for loading it."""
    runtime = get_runtime() if config.uses_llm and not plainly_binary(raw) else None
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


JOBS: dict[str, Callable[..., Any]] = {"encode": _encode, "decode": _decode}

# ----------------------------------------------------------------------------- wire format

_LEN = struct.Struct("<Q")


def send_message(stream: BinaryIO, message: object) -> None:
    """Write one length-prefixed pickle and flush it."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LEN.pack(len(data)))
    stream.write(data)
    stream.flush()


def recv_message(stream: BinaryIO) -> object | None:
    """Read one message; ``None`` at end of file (or a message cut short by it)."""
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def portable_exception(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a ``RuntimeError`` that describes it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


# ----------------------------------------------------------------------------- launching


class _Launcher:
    """Starts every worker from one long-lived daemon thread.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits, not the
    process; a worker forked from a short-lived user thread would be killed with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while True:
            argv, pass_fds, box, done = self._requests.get()
            try:
                # A session of its own: the terminal's Ctrl-C goes to the CLI alone, which
                # then stops its workers itself (they never print a KeyboardInterrupt).
                box.append(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
                                            pass_fds=pass_fds, start_new_session=os.name == "posix"))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box.append(exc)
            done.set()

    def popen(self, argv: list[str], pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lmzip-launcher", daemon=True)
                self._thread.start()
        box: list = []
        done = threading.Event()
        self._requests.put((argv, pass_fds, box, done))
        try:
            done.wait()
        except BaseException:
            done.wait()  # let the launch finish, then do not leave the child behind
            if box and isinstance(box[0], subprocess.Popen):
                box[0].kill()
                box[0].wait()
            raise
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]


_launcher = _Launcher()

# The worker's first lines, before any import: die with the parent (Linux), and give up at
# once if the parent is already gone. Then the parent's sys.path, never its __main__.
_BOOT = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
if sys.platform.startswith("linux"):
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass
if os.getppid() != int(sys.argv[2]):
    os._exit(1)
import json
sys.path[:] = json.loads(sys.argv[1])
from lmzip._worker import main
main()
"""


class WorkerDied(LmzipError):
    """A worker process ended while it still had a job."""


class _Worker:
    """One worker process, its pipes and the thread that reads its results.

    ``board``/``slot``/``cores``: the worker reads its share of ``cores`` kernel threads
    from slot ``slot`` of the parent's ``CoreBoard`` before each step (no board: 1 thread).
    """

    def __init__(self, model_path: str | None, n_threads: int, route: Callable[["_Worker", tuple], None],
                 device: str = "cpu", board: CoreBoard | None = None, slot: int = -1, cores: int = 1) -> None:
        argv = [sys.executable, "-c", _BOOT, json.dumps(sys.path), str(os.getpid()), model_path or "",
                str(n_threads), device]
        pass_fds: tuple[int, ...] = ()
        if board is not None and slot >= 0:
            argv += [str(cores), str(board.fd), str(board.slots), str(slot)]
            pass_fds = (board.fd,)
        self.slot = slot if board is not None else -1
        self.proc = _launcher.popen(argv, pass_fds)
        self.pending: set[int] = set()
        self.alive = True
        self._route = route
        self._wlock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"lmzip-worker-{self.proc.pid}", daemon=True)
        self._reader.start()

    def send(self, message: tuple) -> None:
        with self._wlock:
            send_message(self.proc.stdin, message)

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                message = recv_message(out)
                if message is None:
                    break
                self._route(self, message)
        except Exception:  # noqa: BLE001 - a garbled pipe is a dead worker
            pass
        finally:
            try:
                out.close()
            except Exception:  # noqa: BLE001
                pass
        self.alive = False
        self._route(self, ("dead", None, None))

    def describe_exit(self) -> str:
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"

    def _close_pipes(self) -> None:
        """Close the job pipe: the worker exits as soon as it sees that."""
        try:
            self.proc.stdin.close()
        except Exception:  # noqa: BLE001 - a broken pipe is already closed enough
            pass

    def kill(self) -> None:
        """Stop now, whatever it is doing (its job pipe closes, then SIGKILL)."""
        self.alive = False
        self._close_pipes()
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask it to exit (closing its job pipe) and reap it; kill it if it lingers."""
        self.alive = False
        self._close_pipes()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


# ----------------------------------------------------------------------------- the runner

_RUNNERS: "weakref.WeakSet[ChunkRunner]" = weakref.WeakSet()  # for the fork handler


class ChunkRunner:
    """Runs encode/decode jobs in-process (1 worker) or on worker processes (>1).

    Safe to use from several threads at once; each call gets its own results in order.
    """

    def __init__(self, workers: int, model_path: str | None, runtime_factory: Callable[[], Runtime],
                 devices: tuple[str, ...] = ("cpu",)) -> None:
        self.workers = max(1, workers)
        self.model_path = model_path
        # Worker k runs on devices[k % len(devices)] (lane groups spread over the devices;
        # every device computes the same bits, so the archive does not depend on it).
        self.devices = tuple(devices) or ("cpu",)
        self._started = itertools.count()
        self._runtime_factory = runtime_factory
        self.local_threads = 1  # kernel threads of this process's runtime (see _all_cores_here)
        self._local_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pool: list[_Worker] = []  # changed in place only: the finalizer holds it
        self._inboxes: dict[int, queue.Queue] = {}
        self._owner: dict[int, _Worker] = {}
        self._ids = itertools.count()
        # Cores not busy with another chunk help the busy workers' kernels (_cores.py):
        # the board says which worker slots have a job; -T bounds the cores used.
        self.cores = min(self.workers, cpu_count())
        self._board: CoreBoard | None = None
        self._slot_owner: dict[int, _Worker] = {}
        # Workers reach the runner through a weak reference, so a Codec that is dropped
        # without close() is collected, and its workers stopped, here (or at exit).
        route = weakref.WeakMethod(self._route)

        def route_weakly(worker: _Worker, message: tuple) -> None:
            target = route()
            if target is not None:
                target(worker, message)

        self._route_weakly = route_weakly
        self._finalizer = weakref.finalize(self, _stop_workers, self._pool)
        _RUNNERS.add(self)

    # -- workers --------------------------------------------------------------------
    def _route(self, worker: _Worker, message: tuple) -> None:
        """Called on a worker's reader thread: hand a message to the call waiting for it."""
        kind, job_id, value = message
        with self._lock:
            if kind == "dead":
                ids = list(worker.pending)
                worker.pending.clear()
            else:
                ids = [job_id]
                if kind != "tick":
                    worker.pending.discard(job_id)
            if kind != "tick" and not worker.pending:
                self._mark(worker, False)
            boxes = [(i, self._inboxes.get(i)) for i in ids]
            if kind != "tick":
                for i in ids:
                    self._inboxes.pop(i, None)
                    self._owner.pop(i, None)
        if kind == "dead":
            for i, box in boxes:
                if box is not None:
                    box.put(("err", i, WorkerDied(f"a worker process {worker.describe_exit()} during a job")))
            return
        for i, box in boxes:
            if box is not None:
                box.put((kind, i, value))

    def _mark(self, worker: _Worker, busy: bool) -> None:
        """Under the lock: show ``worker`` busy or idle on the board (if its slot is still its own)."""
        if self._board is not None and self._slot_owner.get(worker.slot) is worker:
            self._board.set(worker.slot, busy)
            if not busy and not worker.alive:
                del self._slot_owner[worker.slot]

    def _new_worker(self) -> _Worker:
        """Under the lock: start a worker in a free board slot."""
        # One llama.cpp thread per process: see Codec._local_runtime.
        device = self.devices[next(self._started) % len(self.devices)]
        board, slot = None, -1
        if self.cores > 1 and os.name == "posix" and device == "cpu":
            if self._board is None:
                try:
                    self._board = CoreBoard(self.workers)
                except OSError:  # no shared memory: every worker keeps one kernel thread
                    self.cores = 1
            if self._board is not None:
                for dead in [s for s, w in self._slot_owner.items() if not w.alive]:
                    self._board.set(dead, False)
                    del self._slot_owner[dead]
                slot = min(set(range(self._board.slots)) - set(self._slot_owner), default=-1)
                board = self._board if slot >= 0 else None
        worker = _Worker(self.model_path, 1, self._route_weakly, device, board, slot, self.cores)
        if board is not None:
            self._slot_owner[slot] = worker
        return worker

    def _submit(self, kind: str, args: tuple, inbox: queue.Queue) -> int:
        job_id = next(self._ids)
        with self._lock:
            self._pool[:] = [w for w in self._pool if w.alive]
            idle = [w for w in self._pool if not w.pending]
            if idle:
                worker = idle[0]
            elif len(self._pool) < self.workers:
                worker = self._new_worker()
                self._pool.append(worker)
            else:
                worker = min(self._pool, key=lambda w: len(w.pending))
            worker.pending.add(job_id)
            self._mark(worker, True)
            self._inboxes[job_id] = inbox
            self._owner[job_id] = worker
        try:
            worker.send((job_id, kind, args))
        except (OSError, ValueError):  # its pipe is closed: the reader reports it dead
            pass
        return job_id

    def _abandon(self, job_ids: Iterable[int]) -> None:
        """Stop the workers still busy with ``job_ids`` (their results are not wanted)."""
        victims: list[_Worker] = []
        with self._lock:
            for i in job_ids:
                self._inboxes.pop(i, None)
                worker = self._owner.pop(i, None)
                if worker is not None and i in worker.pending and worker not in victims:
                    victims.append(worker)
            self._pool[:] = [w for w in self._pool if w not in victims]
            for worker in victims:
                worker.alive = False
                self._mark(worker, False)
        for worker in victims:
            worker.kill()

    def _ordered(self, kind: str, items: Iterable[Any], make_args: Callable[[Any], tuple], on_bytes) -> Iterator:
        inbox: queue.Queue = queue.Queue()
        inflight: deque[int] = deque()
        results: dict[int, tuple[str, Any]] = {}
        it = iter(items)
        exhausted = False
        try:
            while True:
                while not exhausted and len(inflight) < 2 * self.workers:
                    try:
                        item = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    inflight.append(self._submit(kind, make_args(item), inbox))
                if not inflight:
                    return
                head = inflight[0]
                while head not in results:
                    try:
                        what, job_id, value = inbox.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    if what == "tick":
                        if on_bytes is not None:
                            on_bytes(value)
                    else:
                        results[job_id] = (what, value)
                inflight.popleft()
                what, value = results.pop(head)
                if what == "err":
                    raise value
                yield value
        finally:
            if inflight:
                self._abandon(inflight)

    # -- public ---------------------------------------------------------------------
    def encode(self, chunks: Iterable[bytes], config: CodingConfig, on_bytes=None) -> Iterator[ChunkResult]:
        """Encode chunks, yielding results in input order."""
        yield from self._run("encode", _encode, chunks, config, on_bytes)

    def decode(self, jobs: Iterable[tuple], config: CodingConfig, on_bytes=None) -> Iterator[bytes]:
        """Decode (index, method, payload, raw_size, raw_xxh64) jobs, in input order."""
        yield from self._run("decode", _decode, jobs, config, on_bytes)

    def _run(self, kind: str, job: Callable[..., Any], items: Iterable[Any], config: CodingConfig,
             on_bytes) -> Iterator[Any]:
        """``job`` over ``items``: here with -T 1 or without the LLM, here on all the cores for
        a single item, else on the worker processes."""
        if self.workers == 1 or not config.uses_llm:
            for item in items:
                yield job(item, config, self._runtime_factory, on_bytes)
            return
        items, single = _peek_single(items)
        if single:
            with self._all_cores_here():
                value = job(next(items), config, self._runtime_factory, on_bytes)
            yield value
            return
        yield from self._ordered(kind, items, lambda item: (item, config), on_bytes)

    @contextlib.contextmanager
    def _all_cores_here(self) -> Iterator[None]:
        """A job of one chunk runs in this process, its kernel on up to ``workers`` cores: no
        worker to start and no second copy of the model to load (a small or binary file
        pays for neither). ``local_threads`` is what this process's runtime reads."""
        with self._local_lock:  # one job at a time on this process's runtime
            self.local_threads = max(1, min(self.workers, cpu_count()))
            try:
                yield
            finally:
                self.local_threads = 1

    def close(self) -> None:
        """Stop every worker (a later job starts fresh ones)."""
        with self._lock:
            pool = list(self._pool)
            self._pool.clear()
            for slot in list(self._slot_owner):
                if self._board is not None:
                    self._board.set(slot, False)
            self._slot_owner.clear()
        _stop_workers(pool)

    def _forget(self) -> None:
        """In a forked child: the workers belong to the parent; drop them untouched."""
        pool = list(self._pool)
        self._pool.clear()
        self._lock = threading.Lock()
        self._board = None  # the parent's: a new one for this process's workers
        self._slot_owner = {}
        for worker in pool:
            worker._close_pipes()
            worker.alive = False


def _stop_workers(pool: list[_Worker]) -> None:
    """Ask every worker to exit (they exit at once: their job pipe closes), then reap them."""
    workers = list(pool)
    pool.clear()
    for worker in workers:
        worker._close_pipes()
    for worker in workers:
        worker.stop()


def _after_fork_in_child() -> None:
    global _launcher
    _launcher = _Launcher()
    for runner in list(_RUNNERS):
        runner._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
