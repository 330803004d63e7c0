"""The exact backend end to end: kernel paths, windows, archives that every path decodes.

Logit-level equality of each compiled path with the numpy reference is in
test_kernel.py; here the whole pipeline (tokenizer, backend, quantizer, coder,
container) must give byte-identical archives whichever path runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import lmzip
from lmzip.formats.errors import LmzipError
from lmzip.models.exact import backend as xb

TEXT = (b"Exact arithmetic makes archives portable: the same bits on every CPU.\n"
        b"It is a promise the tests keep, not a hope. " * 3)


@pytest.fixture(scope="module")
def runtime():
    from lmzip._runtime import Runtime

    return Runtime(None, 1)


def test_kernel_env_is_checked(monkeypatch):
    monkeypatch.setenv(xb.KERNEL_ENV, "bogus")
    with pytest.raises(LmzipError, match="not a kernel path"):
        xb.choose_path()
    missing = [p for p in xb.PATHS if p not in xb.available_paths()]
    if missing:
        monkeypatch.setenv(xb.KERNEL_ENV, missing[0])
        with pytest.raises(LmzipError, match="cannot run on this machine"):
            xb.choose_path()
    monkeypatch.setenv(xb.KERNEL_ENV, "reference")
    assert xb.choose_path() == "reference"


def test_window_slides_at_token_counts(runtime):
    """A full window slides before the next step: n_past follows 16 -> 12 -> 13 ..."""
    backend = xb.ExactBackend(runtime.weights, xb.Window(16, keep=1, drop=4), n_lanes=1)
    session = xb.ExactSession(backend)
    session.reset()
    seen = []
    for t in range(25):
        session.feed(100 + t)
        seen.append(backend.n_past(0))
    assert seen[:15] == list(range(2, 17))
    assert seen[15] == 13 and session.slides == 3
    assert max(seen) == 16


def test_close_to_llama_cpp(runtime):
    """The exact core is a faithful SmolLM2: its ideal code length on real text is
    within 2% of llama.cpp's with the same tokens (measured +0.2% on alice29)."""
    from lmzip.models import WindowSpec

    tokens = runtime.tokenizer.encode(TEXT[:160])
    llama = runtime.model.new_session(WindowSpec(n_ctx=256), 1)
    exact = xb.ExactSession(xb.ExactBackend(runtime.weights, xb.Window(256), 1))
    zl, ze = llama.reset(), exact.reset()
    bits = np.zeros(2)
    for i, tok in enumerate(tokens):
        for j, z in enumerate((zl.astype(np.float64), ze.astype(np.float64) / 65536 / np.log2(np.e))):
            z = z - z.max()
            bits[j] -= (z[tok] - np.log(np.exp(z).sum())) / np.log(2)
        if i + 1 < len(tokens):
            zl, ze = llama.feed(tok), exact.feed(tok)
    assert ze.dtype == np.int32
    assert abs(bits[1] / bits[0] - 1) < 0.02, bits


def _compress_with(path: str, data: bytes, threads: int, kthreads: int = 1, context: int = 64) -> bytes:
    env = dict(os.environ, **{xb.KERNEL_ENV: path, xb.THREADS_ENV: str(kthreads)})
    code = ("import sys, lmzip; data = sys.stdin.buffer.read(); "
            f"sys.stdout.buffer.write(lmzip.Codec(level=4, threads={threads}, context={context}, "
            f"chunk_size={max(1, len(data) // 2)}).compress(data))")
    return subprocess.run([sys.executable, "-c", code], input=data, env=env, check=True,
                          capture_output=True, timeout=900).stdout


def test_every_path_makes_the_same_archive():
    """Each kernel path this CPU runs gives the same bytes; the fastest also with 2 worker
    processes and with 2 kernel threads; the archive decodes with the default path.
    (The slow paths, numpy reference and portable scalar, get a short input.)"""
    data = TEXT[:70]
    paths = xb.available_paths()
    combos = [(p, 1, 1) for p in paths] + [(paths[-1], 2, 1), (paths[-1], 1, 2)]
    archives = {c: _compress_with(c[0], data, c[1], c[2]) for c in combos}
    first = next(iter(archives.values()))
    print("compared:", ", ".join(f"{p}/T{t}/threads{k}" for p, t, k in archives))
    assert all(a == first for a in archives.values())
    assert lmzip.decompress(first) == data


def test_sixteen_lanes_equal_one_lane_each(runtime):
    """B = 16 lanes stepped together give each lane exactly the logits it gets alone (B = 1),
    on the fastest path: the batch composition never changes a bit."""
    path = xb.available_paths()[-1]
    rng = np.random.default_rng(7)
    tokens = rng.integers(0, runtime.weights.config.n_vocab, size=(16, 4)).astype(np.int32)
    together = xb.ExactBackend(runtime.weights, xb.Window(64), n_lanes=16, path=path)
    alone = xb.ExactBackend(runtime.weights, xb.Window(64), n_lanes=1, path=path)
    lanes = np.arange(16, dtype=np.int32)
    batched = [together.step(lanes, tokens[:, t]) for t in range(tokens.shape[1])]
    for lane in range(16):
        alone.reset(0)
        for t in range(tokens.shape[1]):
            single = alone.step(np.array([0], dtype=np.int32), tokens[lane:lane + 1, t])
            assert np.array_equal(single[0], batched[t][lane]), (lane, t)


def test_verbose_cli_names_the_kernel_path(tmp_path):
    src = tmp_path / "note.txt"
    src.write_bytes(TEXT[:90])
    env = dict(os.environ, **{xb.KERNEL_ENV: "auto"})
    run = subprocess.run([sys.executable, "-m", "lmzip", "-4", "-v", "--context", "64", str(src)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"model kernel exact-v1/{xb.available_paths()[-1]}" in run.stderr
