"""Idle cores help the busy chunks (lmzip/_cores.py): the share of cores each worker's
kernel takes, the board the parent keeps, and that none of it changes a bit of output."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import lmzip
from lmzip._cores import CoreBoard, CoreShare, ThreadTuner, share
from lmzip.models.exact import backend as xb

TEXT = (b"Alice was beginning to get very tired of sitting by her sister on the bank, and of "
        b"having nothing to do: once or twice she had peeped into the book her sister was reading.\n")


# -- the share of the cores (pure) ------------------------------------------------------

@pytest.mark.parametrize("flags, slot, cores, want", [
    (b"\x01\x00", 0, 2, 2),       # alone on two cores: both
    (b"\x01\x01", 0, 2, 1),       # two busy workers: one each
    (b"\x01\x01", 1, 2, 1),
    (b"\x00\x00", 1, 2, 2),       # its own flag not set yet: it counts itself busy
    (b"\x00\x01", 0, 2, 1),
    (b"\x01\x01\x01", 0, 4, 2),   # 4 cores, 3 busy: 2 + 1 + 1, the extra one by slot order
    (b"\x01\x01\x01", 1, 4, 1),
    (b"\x01\x01\x01", 2, 4, 1),
    (b"\x01\x01\x01\x01", 3, 2, 1),  # more busy workers than cores: never below 1
    (b"\x01\x00\x00\x00", 0, 4, 4),
    (b"\x00\x01\x00\x01", 3, 4, 2),
    (b"\x01", 3, 2, 1),           # a slot past the board: itself plus the busy ones
    (b"", 0, 1, 1),
])
def test_share(flags, slot, cores, want):
    assert share(flags, slot, cores) == want


def test_shares_never_exceed_the_cores():
    for cores in range(1, 9):
        for n in range(1, 7):
            for flags in itertools.product((0, 1), repeat=n):
                busy = [i for i, f in enumerate(flags) if f]
                if busy and len(busy) <= cores:
                    assert sum(share(flags, i, cores) for i in busy) == cores, (flags, cores)


def test_board_is_seen_through_the_inherited_descriptor():
    board = CoreBoard(3)
    reader = CoreShare(os.dup(board.fd), 3, 1, 2)
    assert reader() == 2
    board.set(0, True)
    board.set(1, True)
    assert reader() == 1 and board.flags() == b"\x01\x01\x00"
    board.set(0, False)
    assert reader() == 2
    board.set(7, True)  # out of range: ignored
    # ... and in another process, through a descriptor passed at exec (as the workers get it)
    code = ("import sys; from lmzip._cores import CoreShare; "
            "print(CoreShare(int(sys.argv[1]), 3, 2, 4)())")
    board.set(0, True)
    out = subprocess.run([sys.executable, "-c", code, str(board.fd)], pass_fds=(board.fd,), capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.split() == ["1"]  # slots 0, 1 and itself busy on 4 cores: 2 + 1 + 1, slot 2 last
    board.close()
    board.set(0, True)  # a closed board ignores writes


# -- the tuner: the share while it pays, one thread when it does not -------------------

def _drive(tuner, cost, steps):
    """Run ``steps`` steps whose time is ``cost(threads, step)``; the thread counts used."""
    used = []
    for t in range(steps):
        k = tuner()
        used.append(k)
        tuner.observe(cost(k, t))
    return used


def test_tuner_keeps_the_share_when_it_is_faster():
    tuner = ThreadTuner(lambda: 2, period=20, probe=2)
    used = _drive(tuner, lambda k, t: 1.0 / k, 200)
    assert _drive(ThreadTuner(lambda: 2, period=20, probe=2), lambda k, t: 1.0, 40)[4:20] == [1] * 16  # a tie
    assert used.count(1) == 20  # only the probes: 2 of every 20 steps
    assert all(k == 2 for i, k in enumerate(used) if i % 20 >= 2)


def test_tuner_drops_to_one_thread_when_the_share_is_slower_and_comes_back():
    tuner = ThreadTuner(lambda: 2, period=20, probe=2)
    # steps 0-499: a busy machine, two threads are slower; then a quiet one
    used = _drive(tuner, lambda k, t: (1.5 if k == 2 else 1.0) if t < 500 else 1.0 / k, 1200)
    probes = [i for i in range(4, 500) if used[i] == 2]
    gaps = [b - a for a, b in zip(probes[::2], probes[2::2])]
    assert gaps == sorted(gaps) and gaps[-1] >= 8 * 20  # the probes of the share back off
    assert len(probes) <= 16  # 3% of the busy steps
    assert used[-300:].count(1) == 2 * 15  # back on the share, probing one thread every 20


def test_tuner_follows_the_cap():
    caps = iter([1] * 10 + [2] * 10 + [1] * 5)
    tuner = ThreadTuner(lambda: next(caps), period=8, probe=2)
    used = _drive(tuner, lambda k, t: 1.0 / k, 25)
    assert used[:10] == [1] * 10 and used[20:] == [1] * 5
    assert used[10:12] == [1, 1] and used[12:18] == [2] * 6  # a new cap: probe, then the share


# -- the kernel threads follow the share, with the same bits ---------------------------

@pytest.fixture(scope="module")
def weights():
    from lmzip._runtime import Runtime

    return Runtime(None, 1).weights


def test_backend_threads_follow_the_share(weights):
    """An ExactBackend whose share changes before every step gives the logits of a
    one-thread backend, step for step; the kernel uses the share it is given (clamped)."""
    path = xb.available_paths()[-1]
    counts = itertools.cycle([2, 1, 5, 0, 2])
    seen = []
    moving = xb.ExactBackend(weights, xb.Window(32), n_lanes=3, path=path, n_threads=2,
                             threads=lambda: next(counts))
    fixed = xb.ExactBackend(weights, xb.Window(32), n_lanes=3, path=path, n_threads=1)
    rng = np.random.default_rng(3)
    lanes = np.arange(3, dtype=np.int32)
    for t in range(6):
        tokens = rng.integers(0, weights.config.n_vocab, size=3).astype(np.int32)
        a, b = moving.step(lanes, tokens), fixed.step(lanes, tokens)
        seen.append(moving.threads)
        assert np.array_equal(a, b), t
    assert seen == [2, 1, 2, 1, 2, 2]
    # a tuner is told each kernel step's time
    times = []
    tuner = ThreadTuner(lambda: 2, period=8, probe=2)
    tuner.observe = times.append
    moving = xb.ExactBackend(weights, xb.Window(32), n_lanes=1, path=path, n_threads=2, threads=tuner)
    for t in range(3):
        moving.step(np.array([0], dtype=np.int32), np.array([t + 5], dtype=np.int32))
    assert len(times) == 3 and all(0 < x < 60 for x in times)


# -- archives: the same bytes for any -T, and the workers a file starts ----------------

def _codec(threads: int, chunk_size: int) -> lmzip.Codec:
    return lmzip.Codec(level=4, threads=threads, context=64, lanes=3, chunk_size=chunk_size)


def test_one_chunk_runs_here_and_two_chunks_share_the_board():
    data = TEXT
    with _codec(1, len(data)) as codec:
        ref_one = codec.compress(data)
    with _codec(1, len(data) // 2 + 1) as codec:
        ref_two = codec.compress(data)
    with _codec(2, len(data)) as codec:
        assert codec.compress(data) == ref_one
        runner = codec._runner
        # One chunk runs in this process on the cores (no worker, no second model load)
        assert runner._pool == [] and runner.local_threads == 1  # back to 1 once done
        assert runner.cores == min(2, len(os.sched_getaffinity(0)))
        assert codec._runtime.kernel_threads == runner.cores
        with _codec(2, len(data) // 2 + 1) as codec2:
            assert codec2.compress(data) == ref_two
            assert lmzip.decompress(ref_two) == data
            if codec2._runner.cores > 1:
                assert len(codec2._runner._pool) == 2
                assert set(codec2._runner._slot_owner) == {0, 1}
                assert codec2._runner._board.flags() == b"\x00\x00"
        assert codec.decompress(ref_one) == data and runner._pool == []  # decoded here too


def test_cli_archives_equal_for_any_threads(run_cli, tmp_path):
    """-T 1 (in-process), -T 2 (one worker, two kernel threads on two cores) and a fixed
    $LMZIP_KERNEL_THREADS give one archive; it decodes with -T 2."""
    src = tmp_path / "alice.txt"
    src.write_bytes(TEXT)
    args = ["-q", "-c", "--level", "4", "--context", "64", "--lanes", "3"]
    outs = {}
    for name, threads, env in [("T1", "1", {}), ("T2", "2", {}), ("T1-k2", "1", {xb.THREADS_ENV: "2"})]:
        r = run_cli(*args, "-T", threads, src.name, cwd=tmp_path, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        outs[name] = r.stdout
    assert outs["T1"] == outs["T2"] == outs["T1-k2"], {k: len(v) for k, v in outs.items()}
    r = run_cli("-q", "-d", "-c", "-T", "2", input=outs["T2"], cwd=tmp_path, timeout=300)
    assert r.returncode == 0 and r.stdout == TEXT
