"""Sharing the cores between worker processes: cores that no other chunk keeps busy help
the running chunks' kernels.

The parent (``ChunkRunner``) owns a *board*: one byte per worker slot, 1 while that
worker has a job, in a small shared file (a memfd, else an unlinked temporary file) that
each worker maps read-only through a file descriptor it inherits. Before every kernel
step a worker reads the board and takes its share of the cores (``share``): with ``c``
cores and ``n`` busy workers, ``c // n`` threads, one more for the first ``c % n`` busy
workers in slot order. One file of one chunk on two cores therefore runs its kernel on
two threads; when a second chunk starts on another worker, both drop to one thread at
their next step, and the one still running takes both cores back when the other ends.

A share of more than one core is only taken while it pays: a kernel step splits its
work ~150 times (each layer's products and attention), and when something else keeps
the cores busy (other programs, more workers than cores) the helper thread wakes late
at every split. ``ThreadTuner`` times the steps and keeps a few of every ``period`` on
the other choice (one thread, or the share), so it follows the faster one.

The kernel's results never depend on its thread count, so a race (the board changes
during a step, a worker sees it a step late) changes speed only, never a bit.
"""

from __future__ import annotations

import mmap
import os
import statistics
import tempfile
import weakref
from collections import deque
from typing import Callable, Sequence


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def share(flags: Sequence[int] | bytes, slot: int, cores: int) -> int:
    """Kernel threads for the worker in ``slot``: its share of ``cores`` among the busy
    slots of ``flags`` (itself counted busy whatever its flag says); at least 1."""
    busy = [i for i, f in enumerate(flags) if f or i == slot]
    if slot not in busy:  # a slot past the board's end: alone, as far as we know
        busy.append(slot)
    n = len(busy)
    rank = busy.index(slot)
    return max(1, cores // n + (1 if rank < cores % n else 0))


def _shared_fd(size: int) -> int:
    """A file descriptor of ``size`` zero bytes that no path names (nothing to clean up)."""
    if hasattr(os, "memfd_create"):
        try:
            fd = os.memfd_create("lmzip-cores", getattr(os, "MFD_CLOEXEC", 0))
        except OSError:
            fd = -1
        if fd >= 0:
            os.ftruncate(fd, size)
            return fd
    where = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, path = tempfile.mkstemp(prefix="lmzip-cores-", dir=where)
    os.unlink(path)
    os.ftruncate(fd, size)
    return fd


def _close(mm: mmap.mmap, fd: int) -> None:
    try:
        mm.close()
    finally:
        os.close(fd)


class CoreBoard:
    """The parent's side: which worker slots are busy. ``fd`` goes to the workers."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self.fd = _shared_fd(self.slots)
        self._map = mmap.mmap(self.fd, self.slots)
        self._finalizer = weakref.finalize(self, _close, self._map, self.fd)

    def set(self, slot: int, busy: bool) -> None:
        if self._finalizer.alive and 0 <= slot < self.slots:
            self._map[slot] = 1 if busy else 0

    def flags(self) -> bytes:
        return self._map[: self.slots]

    def close(self) -> None:
        self._finalizer()


class CoreShare:
    """The worker's side: ``share()`` of the board, read before each kernel step."""

    def __init__(self, fd: int, slots: int, slot: int, cores: int) -> None:
        self.slots, self.slot, self.cores = slots, slot, max(1, cores)
        self._map = mmap.mmap(fd, slots, access=mmap.ACCESS_READ)
        os.close(fd)  # the mapping keeps the memory

    def __call__(self) -> int:
        return share(self._map[: self.slots], self.slot, self.cores)


class ThreadTuner:
    """Before each step ``tuner()`` says how many kernel threads to use: 1, or ``cap()``
    (a share of the cores), whichever the timings say is faster; after the step
    ``tuner.observe(seconds)`` reports how long it took.

    Every ``period`` steps, ``probe`` steps run on the choice not in use; the medians of
    the latest ``probe`` steps of each choice decide the next period. It starts on the
    share. While one thread keeps winning, the probes of the share come half as often
    each time (down to one per ``16 * period`` steps), so a busy machine loses little to
    them. A change of ``cap()`` forgets the timings (the machine changed).
    """

    def __init__(self, cap: Callable[[], int], period: int = 96, probe: int = 4) -> None:
        self.cap = cap
        self.base = self.period = max(2 * probe, period)
        self.probe = max(1, probe)
        self._phase = 0
        self.many = True  # the share is faster, as far as we know
        self._last_cap = 0
        self._n = 0
        self._arm: bool | None = None
        self._times: dict[bool, deque] = {True: deque(maxlen=self.probe), False: deque(maxlen=self.probe)}
        self.counts: dict[int, int] = {}  # steps run at each thread count (for benchmarks)

    def __call__(self) -> int:
        cap = max(1, int(self.cap()))
        if cap != self._last_cap:
            self._last_cap = cap
            self._n = 0
            self.period = self.base
            for d in self._times.values():
                d.clear()
        if cap == 1:
            self._arm = None
            k = 1
        else:
            phase = self._phase = self._n % self.period
            self._n += 1
            # The probe runs just after a period begins, on the other choice.
            self._arm = self.many if phase >= self.probe else not self.many
            k = cap if self._arm else 1
        self.counts[k] = self.counts.get(k, 0) + 1
        return k

    def observe(self, seconds: float) -> None:
        if self._arm is None:
            return
        self._times[self._arm].append(seconds)
        one, many = self._times[False], self._times[True]
        if len(one) == self.probe and len(many) == self.probe:
            # more threads only while clearly faster: at a tie one thread leaves a core free
            self.many = statistics.median(many) < 0.95 * statistics.median(one)
            if self._phase == self.probe - 1:  # a probe window just ended
                self.period = self.base if self.many else min(16 * self.base, 2 * self.period)
                self._n = self.probe

