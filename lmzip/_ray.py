"""``--ray ADDRESS|auto``: chunk jobs on Ray actors that keep the model loaded.

``RayChunkRunner`` has ``_parallel.ChunkRunner``'s interface, so ``Codec`` can use
either::

    runner = RayChunkRunner("auto", model_path=None)        # instead of ChunkRunner(...)
    for result in runner.encode(chunks, config, on_bytes):  # ChunkResult, input order
        ...
    for raw in runner.decode(jobs, config, on_bytes):       # bytes, input order
        ...
    runner.close()

Each job is ``_parallel.JOBS[kind]`` (``encode_chunk``/``decode_chunk`` with the model
check), a pure function of its chunk and config, so the archive is byte-identical to a
local run with the same recipe, whatever actor ran which chunk.

* **Actors** (``ChunkActor``, one CPU each, spread over the nodes) load a ``Runtime`` on
  their first LLM job and keep it. Every node needs the same lmzip installed; the model
  file is found on each node as locally (``model_path``, else the bundled one) and
  checked against the archive's sha256 (``ModelMismatchError`` otherwise).
* **Order:** results are yielded in input order; at most two jobs per actor are in flight.
* **Progress:** actors post each job's running byte count to a small progress actor;
  the caller's ``on_bytes`` gets the increments, in the calling thread, never more than
  once per byte (a retried job reports only what it had not reported before), and all
  of a chunk's bytes before its result is yielded.
* **Failures:** a job's own error (``CorruptChunkError``, ``ModelMismatchError``, ...)
  comes back as the same exception type with its one-line message. A worker that dies
  (``ray.kill``, a crash, a lost node) is restarted by Ray and its job retried
  (``max_restarts``/``max_task_retries``); if Ray gives up, the runner replaces the actor
  and resubmits the job itself, up to ``retries`` more times, then raises
  ``RayWorkerDied``. A retried job recomputes the same bytes; decoded chunks are checked
  against their xxh64 anyway, so no wrong or missing chunk is ever yielded.
* **Connection** (``connect``): ``auto`` joins the cluster this machine belongs to
  (``RAY_ADDRESS`` or one started with ``ray start``), else starts a local one; ``local``
  always starts a local one; anything else is a Ray address (``ray://head:10001``,
  ``head:6379``). If Ray is already initialized in this process it is used as it is.
  Without ray installed: ``RayMissingError`` ("pip install 'lmzip[ray]'").
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from lmzip._chunks import ChunkResult
from lmzip._config import CodingConfig
from lmzip._parallel import JOBS, WorkerDied, _decode, _encode, portable_exception
from lmzip.formats.errors import LmzipError

RAY_EXTRA = "pip install 'lmzip[ray]'"
#: Seconds between progress polls while waiting for results.
_POLL = 0.2


class RayMissingError(LmzipError):
    """``--ray`` was given and the ray package is not installed."""

    def __init__(self) -> None:
        super().__init__(f"--ray needs the ray package, which is not installed: {RAY_EXTRA}")


class RayClusterError(LmzipError):
    """The Ray cluster could not be reached or started (one line)."""


class RayWorkerDied(WorkerDied):
    """A job's Ray workers kept dying: it was tried ``attempts`` times."""


def import_ray():
    """The ``ray`` module, or ``RayMissingError``."""
    try:
        import ray
    except ImportError:
        raise RayMissingError() from None
    return ray


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"


def connect(address: str = "auto", **init_kwargs: Any) -> bool:
    """Make sure this process is connected to a Ray cluster; True if this call started it.

    ``address``: ``auto``, ``local`` or a Ray address (see the module doc). ``init_kwargs``
    go to ``ray.init`` (e.g. ``num_cpus=2`` for a local cluster, ``runtime_env``).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    text = (address or "auto").strip()
    if not text:
        raise RayClusterError("--ray needs an address (host:port, ray://host:port, auto or local)")
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "warning"}
    kwargs.update(init_kwargs)
    try:
        ray.init(address=None if text.lower() == "auto" else text, **kwargs)
    except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError...
        raise RayClusterError(f"cannot connect to the Ray cluster at {text}: {_first_line(exc)}") from None
    return True


# ----------------------------------------------------------------------------- remote side


class ChunkActor:
    """A Ray worker that keeps one ``Runtime`` (the model) and runs chunk jobs."""

    def __init__(self, model_path: str | None) -> None:
        self._model_path = model_path
        self._runtime = None

    def _get_runtime(self):
        if self._runtime is None:
            from lmzip._runtime import Runtime

            self._runtime = Runtime(self._model_path, 1)
        return self._runtime

    def where(self) -> tuple[str, int]:
        """(host name, pid): for tests and messages."""
        return socket.gethostname(), os.getpid()

    def run(self, job_id: int, kind: str, args: tuple, progress) -> tuple[str, Any, int]:
        """Run one job: ("ok", value, bytes reported) or ("err", exception, bytes reported).

        ``progress``: a ``ProgressBox`` handle (or None); it gets this job's running total.
        """
        sent = 0

        def sink(n: int) -> None:
            nonlocal sent
            sent += n
            progress.post.remote(job_id, sent)

        try:
            value = JOBS[kind](*args, self._get_runtime, sink if progress is not None else None)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            exc = portable_exception(exc)
            if hasattr(exc, "add_note"):
                host, pid = self.where()
                exc.add_note(f"in an lmzip Ray worker (host {host}, pid {pid})")
            return ("err", exc, sent)
        return ("ok", value, sent)


class ProgressBox:
    """Collects each job's running byte count from the actors until the driver drains it."""

    def __init__(self) -> None:
        self._totals: dict[int, int] = {}

    def post(self, job_id: int, total: int) -> None:
        if total > self._totals.get(job_id, 0):
            self._totals[job_id] = total

    def drain(self) -> dict[int, int]:
        totals, self._totals = self._totals, {}
        return totals


# ----------------------------------------------------------------------------- the runner


@dataclass
class _Job:
    kind: str
    args: tuple
    slot: int = -1                 # index into the runner's actors while in flight
    actor: Any = None              # the actor handle it was sent to
    ref: Any = None                # the pending ObjectRef
    attempts: int = 0              # submissions by this runner (Ray's own retries not counted)
    credited: int = 0              # bytes already passed to on_bytes
    result: tuple | None = None    # ("ok"|"err", value) once done


class RayChunkRunner:
    """Runs encode/decode jobs on Ray actors; ``ChunkRunner``'s interface.

    ``address``: see ``connect``. ``model_path``: the GGUF each actor loads (None: the
    bundled model). ``actors``: how many (None or 0: the cluster's CPUs / ``cpus_per_actor``).
    ``retries``: extra attempts per job after Ray's own (``max_restarts`` and
    ``max_task_retries`` of each actor are set to it as well). ``actor_options``: more
    ``ray.remote`` options for the actors (e.g. ``num_gpus``, ``runtime_env``).
    ``init_kwargs``: for ``ray.init`` if this runner starts Ray (``close`` then stops it).
    ``actors`` (the attribute) lists the live actor handles (tests kill them).
    Safe to use from several threads at once.
    """

    def __init__(self, address: str = "auto", model_path: str | None = None, actors: int | None = None, *,
                 cpus_per_actor: float = 1, retries: int = 3, actor_options: dict | None = None,
                 init_kwargs: dict | None = None) -> None:
        self._ray = import_ray()
        self._owns_ray = connect(address, **(init_kwargs or {}))
        self.address = address
        self.model_path = model_path
        self.retries = max(0, int(retries))
        self._cpus = cpus_per_actor
        self._want = actors
        self._options = dict(actor_options or {})
        self._lock = threading.Lock()
        self.actors: list = []          # ActorHandle per slot
        self._load: list[int] = []      # jobs in flight per slot
        self._box = None                # the ProgressBox actor
        self._actor_class = None        # ray.remote(ChunkActor), made once
        self._totals: dict[int, int] = {}  # drained progress not yet claimed by its call
        self._ids = itertools.count()
        self._closed = False
        #: Jobs this runner resubmitted after their worker died (Ray's own retries not counted).
        self.resubmitted = 0

    # -- actors ---------------------------------------------------------------------
    @property
    def workers(self) -> int:
        """How many actors run jobs (the pool's target size)."""
        if self._want:
            return max(1, int(self._want))
        if self.actors:
            return len(self.actors)
        cpus = self._ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus // self._cpus))

    def _new_actor(self):
        options = {"num_cpus": self._cpus, "max_restarts": self.retries, "max_task_retries": self.retries,
                   "scheduling_strategy": "SPREAD", **self._options}
        if self._actor_class is None:
            self._actor_class = self._ray.remote(ChunkActor)
        return self._actor_class.options(**options).remote(self.model_path)

    def _ensure_pool(self) -> None:
        """Start the actors and the progress box (caller holds the lock)."""
        if self._closed:
            raise LmzipError("this Ray runner is closed")
        if not self.actors:
            n = self.workers
            self.actors[:] = [self._new_actor() for _ in range(n)]
            self._load[:] = [0] * n
        if self._box is None:
            self._box = self._ray.remote(ProgressBox).options(num_cpus=0).remote()

    def _replace(self, actor) -> None:
        """``actor`` died for good or is busy with unwanted work: kill it, start a fresh one
        in its slot (caller holds the lock; a no-op if the slot was already replaced)."""
        for slot, a in enumerate(self.actors):
            if a is actor:
                try:
                    self._ray.kill(actor, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass
                self.actors[slot] = self._new_actor()
                self._load[slot] = 0

    def _submit(self, job_id: int, job: _Job, progress) -> None:
        with self._lock:
            self._ensure_pool()
            slot = min(range(len(self.actors)), key=lambda i: self._load[i])
            self._load[slot] += 1
            job.slot, job.actor = slot, self.actors[slot]
            job.attempts += 1
            job.ref = job.actor.run.remote(job_id, job.kind, job.args, progress)

    def _release(self, job: _Job) -> None:
        with self._lock:
            if 0 <= job.slot < len(self._load) and self.actors[job.slot] is job.actor:
                self._load[job.slot] = max(0, self._load[job.slot] - 1)
        job.slot = -1

    # -- progress -------------------------------------------------------------------
    def _forward(self, jobs: dict[int, _Job], on_bytes) -> None:
        """Drain the progress box; pass this call's new bytes to ``on_bytes``."""
        if on_bytes is None or self._box is None:
            return
        totals = self._ray.get(self._box.drain.remote())
        with self._lock:  # totals of other calls' jobs wait in self._totals for them
            for job_id, total in totals.items():
                if total > self._totals.get(job_id, 0):
                    self._totals[job_id] = total
            mine = {i: self._totals.pop(i) for i in list(self._totals) if i in jobs}
        for job_id, total in sorted(mine.items()):
            if jobs[job_id].result is None:
                self._credit(jobs[job_id], total, on_bytes)

    @staticmethod
    def _credit(job: _Job, total: int, on_bytes) -> None:
        """Report a job's bytes up to ``total`` (a retried job restarts its count: no double counting)."""
        if on_bytes is not None and total > job.credited:
            delta, job.credited = total - job.credited, total
            on_bytes(delta)

    # -- results --------------------------------------------------------------------
    def _collect(self, job_id: int, job: _Job, progress, on_bytes) -> None:
        """A job's ref is ready: record its result, or resubmit it if its worker died."""
        errors = self._ray.exceptions
        try:
            status, value, total = self._ray.get(job.ref)
        except errors.RayTaskError as exc:  # run() itself failed (it catches the job's errors)
            self._release(job)
            cause = getattr(exc, "cause", None)
            job.result = ("err", cause if isinstance(cause, LmzipError)
                          else LmzipError(f"a Ray worker failed: {_first_line(cause or exc)}"))
            return
        except (errors.RayActorError, errors.WorkerCrashedError, errors.ObjectLostError,
                errors.NodeDiedError, errors.RaySystemError) as exc:
            self._release(job)
            if job.attempts > self.retries:
                job.result = ("err", RayWorkerDied(
                    f"a Ray worker died during a job {job.attempts} times; giving up ({_first_line(exc)})"))
                return
            with self._lock:
                self._replace(job.actor)
                self.resubmitted += 1
            self._submit(job_id, job, progress)
            return
        self._release(job)
        self._credit(job, total, on_bytes)
        job.result = (status, value)

    def _ordered(self, kind: str, items: Iterable[Any], make_args: Callable[[Any], tuple],
                 on_bytes) -> Iterator:
        progress = None
        if on_bytes is not None:
            with self._lock:
                self._ensure_pool()
                progress = self._box
        limit = 2 * self.workers
        jobs: dict[int, _Job] = {}
        order: deque[int] = deque()
        it = iter(items)
        exhausted = False
        try:
            while True:
                while not exhausted and len(order) < limit:
                    try:
                        item = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    job_id = next(self._ids)
                    jobs[job_id] = job = _Job(kind, make_args(item))
                    self._submit(job_id, job, progress)
                    order.append(job_id)
                if not order:
                    return
                head = jobs[order[0]]
                while head.result is None:
                    pending = {j.ref: i for i, j in jobs.items() if j.result is None}
                    ready, _ = self._ray.wait(list(pending), num_returns=1, timeout=_POLL)
                    self._forward(jobs, on_bytes)
                    for ref in ready:
                        self._collect(pending[ref], jobs[pending[ref]], progress, on_bytes)
                job_id = order.popleft()
                status, value = jobs.pop(job_id).result
                if status == "err":
                    raise value
                yield value
        finally:
            if order:
                self._abandon([jobs[i] for i in order if jobs[i].result is None])
            with self._lock:
                for job_id in order:
                    self._totals.pop(job_id, None)

    def _abandon(self, jobs: list[_Job]) -> None:
        """Stop work nobody waits for: cancel the jobs, replace the actors busy with them."""
        victims = []
        for job in jobs:
            try:
                self._ray.cancel(job.ref)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass
            if job.actor is not None and all(job.actor is not v for v in victims):
                victims.append(job.actor)
            self._release(job)
        with self._lock:
            for actor in victims:
                self._replace(actor)

    # -- public ---------------------------------------------------------------------
    def encode(self, chunks: Iterable[bytes], config: CodingConfig, on_bytes=None) -> Iterator[ChunkResult]:
        """Encode chunks, yielding ``ChunkResult`` in input order (no-LLM configs run here)."""
        if not config.uses_llm:
            for raw in chunks:
                yield _encode(raw, config, _no_runtime, on_bytes)
            return
        yield from self._ordered("encode", chunks, lambda raw: (raw, config), on_bytes)

    def decode(self, jobs: Iterable[tuple], config: CodingConfig, on_bytes=None) -> Iterator[bytes]:
        """Decode (index, method, payload, raw_size, raw_xxh64) jobs, yielding bytes in input order."""
        if not config.uses_llm:
            for job in jobs:
                yield _decode(job, config, _no_runtime, on_bytes)
            return
        yield from self._ordered("decode", jobs, lambda job: (job, config), on_bytes)

    def close(self) -> None:
        """Kill the actors (a later job starts fresh ones); stop Ray if this runner started it."""
        with self._lock:
            actors, self.actors[:], self._load[:] = list(self.actors), [], []
            box, self._box = self._box, None
        for handle in actors + ([box] if box is not None else []):
            try:
                self._ray.kill(handle, no_restart=True)
            except Exception:  # noqa: BLE001
                pass
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns_ray = False
            self._closed = True  # Ray is gone: no more jobs

    def __enter__(self) -> "RayChunkRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _no_runtime():  # pragma: no cover - only LLM configs ask for the model
    raise LmzipError("internal error: a job without the LLM asked for the model")
