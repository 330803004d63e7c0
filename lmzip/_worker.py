"""A worker process: runs chunk jobs for the parent that started it (see ``_parallel``).

Started as ``python -c BOOT SYS_PATH PARENT_PID MODEL_PATH N_THREADS DEVICE [CORES FD
SLOTS SLOT]``: with the last four, the kernel keeps a pool of CORES threads and uses this
worker's share of them (``_cores.CoreShare`` over the board at FD), else one. Jobs arrive on
stdin and results leave on stdout, both as length-prefixed pickles; anything else that
writes to stdout (a C library, a stray print) is sent to stderr instead. The worker
ignores SIGINT (Ctrl-C reaches the whole process group; the parent decides) and never
outlives its parent: it exits when its job pipe closes, on ``PR_SET_PDEATHSIG``
(Linux), or when a watchdog sees that its parent pid changed.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import sys
import threading
import time
import traceback

PR_SET_PDEATHSIG = 1
_WATCH_EVERY = 0.2  # seconds between parent-pid checks


def die_with_parent(parent_pid: int) -> None:
    """Make sure this process ends within a fraction of a second of its parent."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_WATCH_EVERY)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="lmzip-parent-watchdog", daemon=True).start()


def main() -> None:
    parent_pid = int(sys.argv[2])
    model_path = sys.argv[3] or None
    n_threads = int(sys.argv[4])
    device = sys.argv[5] if len(sys.argv) > 5 else "cpu"
    cores, share = 1, None
    if len(sys.argv) > 9:
        from lmzip._cores import CoreShare, ThreadTuner

        cores = int(sys.argv[6])
        share = ThreadTuner(CoreShare(int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]), cores))
    die_with_parent(parent_pid)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):  # pragma: no cover - not the main thread / no signals
        pass

    # Private copies of the pipes; fd 1 then points at stderr, fd 0 at /dev/null.
    jobs = os.fdopen(os.dup(0), "rb")
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)

    from lmzip._parallel import JOBS, portable_exception, recv_message, send_message

    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read_jobs() -> None:
        try:
            while True:
                message = recv_message(jobs)
                if message is None:
                    break
                inbox.put(message)
        except BaseException:  # noqa: BLE001 - any failure here means the parent is gone
            pass
        os._exit(0)  # the parent closed the pipe (it is done with us, or it died)

    threading.Thread(target=read_jobs, name="lmzip-job-reader", daemon=True).start()

    runtime = None

    def get_runtime():
        nonlocal runtime
        if runtime is None:
            from lmzip._runtime import Runtime

            runtime = Runtime(model_path, n_threads, device, kernel_threads=cores, share=share)
        return runtime

    try:
        while True:
            job_id, kind, args = inbox.get()

            def sink(n: int, job_id: int = job_id) -> None:
                send_message(results, ("tick", job_id, n))

            try:
                message = ("ok", job_id, JOBS[kind](*args, get_runtime, sink))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                exc = portable_exception(exc)
                if hasattr(exc, "add_note"):
                    exc.add_note("in an lmzip worker process:\n" + "".join(traceback.format_exception(exc)))
                message = ("err", job_id, exc)
            send_message(results, message)
    except BaseException:  # noqa: BLE001 - the result pipe broke: the parent is gone
        os._exit(1)


if __name__ == "__main__":  # pragma: no cover - started through _parallel._BOOT
    main()
