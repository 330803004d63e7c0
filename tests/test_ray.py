"""Chunk jobs on Ray (lmzip/_ray.py) against a local run, on a local 2-CPU Ray cluster.

The archive made through Ray is byte-identical to the local one and decodes through
Ray; progress adds up to the input size; a worker killed mid-run (restarted by Ray, or
gone for good and replaced by the runner) never yields a wrong or missing chunk; a
job's own errors come back with their type and one-line message. Level 4 (the LLM
alone), a 64-token window and chunks of a few hundred bytes keep it short.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import pytest

import lmzip
from lmzip import _ray
from lmzip.formats.errors import CorruptChunkError, LmzipError, ModelMismatchError

CHUNK = 420
DATA = (b"Ray runs lane groups on actors that keep the model loaded, for both compression "
        b"and decompression, and the archive is byte-identical to a local run with the same "
        b"recipe. A worker that dies is retried and never yields a wrong or missing chunk. "
        b"Progress and errors from remote workers reach the user as they do locally. ") * 4
DATA = DATA[:3 * CHUNK - 60]  # three chunks, the last one shorter


def test_without_ray_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    for call in (_ray.import_ray, lambda: _ray.connect("auto"), lambda: _ray.RayChunkRunner("auto")):
        with pytest.raises(_ray.RayMissingError) as err:
            call()
        text = str(err.value)
        assert "\n" not in text and "pip install 'lmzip[ray]'" in text
        assert isinstance(err.value, LmzipError)


# -- on a local cluster ----------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the Ray tests need ray: pip install 'lmzip[ray]'")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray
    if started:
        ray.shutdown()


def _codec() -> lmzip.Codec:
    return lmzip.Codec(level=4, threads=1, context=64, chunk_size=CHUNK)


@pytest.fixture(scope="module")
def local_archive() -> bytes:
    return _codec().compress(DATA)


@pytest.fixture(scope="module")
def runner(ray_cluster):
    r = _ray.RayChunkRunner("auto", actors=2)  # Ray is already up: used as it is
    yield r  # shared: each test leaves it working (the kill tests check that too)
    r.close()


def _with_runner(runner) -> lmzip.Codec:
    codec = _codec()
    codec._runner = runner  # the lead wires --ray into Codec; here the runner is swapped in
    return codec


def test_round_trip_is_byte_identical(runner, local_archive):
    codec = _with_runner(runner)
    seen: list[int] = []
    archive = codec.compress(DATA, progress=seen.append)
    assert archive == local_archive
    assert sum(seen) == len(DATA)
    back: list[int] = []
    assert codec.decompress(local_archive, progress=back.append) == DATA
    assert sum(back) == len(DATA)
    hosts = {runner._ray.get(a.where.remote())[1] for a in runner.actors}
    assert len(hosts) == 2 and os.getpid() not in hosts  # two remote worker processes ran it
    assert runner.resubmitted == 0


@pytest.mark.parametrize("restart", [True, False], ids=["ray-restarts-it", "runner-replaces-it"])
def test_killed_worker_is_retried(runner, local_archive, restart):
    """Kill a busy actor at the first progress report. ``restart``: Ray restarts it and
    retries its jobs itself; else it is gone for good and the runner resubmits its jobs
    to a fresh actor. Either way the archive is exact and progress is not counted twice."""
    ray = runner._ray
    codec = _with_runner(runner)
    codec.compress(DATA[:CHUNK])  # warm: the actors have loaded the model
    victim = runner.actors[0]
    pid_before = ray.get(victim.where.remote())[1]
    resubmitted = runner.resubmitted
    seen: list[int] = []

    def progress(n: int) -> None:
        if not seen:
            ray.kill(victim, no_restart=not restart)
        seen.append(n)

    assert codec.compress(DATA, progress=progress) == local_archive
    assert sum(seen) == len(DATA)
    if restart:
        assert ray.get(victim.where.remote())[1] != pid_before  # a new process, same actor
    else:
        assert runner.resubmitted > resubmitted and all(a is not victim for a in runner.actors)
    assert codec.decompress(local_archive) == DATA


def test_remote_errors_keep_their_type(runner):
    from lmzip._config import CodingConfig
    from lmzip._runtime import Runtime
    from lmzip.formats.container import Method, xxh64

    config = CodingConfig.for_level(4, chunk_size=CHUNK, n_ctx=64).with_model(Runtime(None, 1).identity)
    raw = DATA[:CHUNK]
    (result,) = runner.encode([raw], config)
    assert result.method == Method.LLM
    payload = bytearray(result.payload)
    payload[len(payload) // 2] ^= 0x5A  # damage the coded tokens
    with pytest.raises(CorruptChunkError) as err:
        list(runner.decode([(7, Method.LLM, bytes(payload), len(raw), xxh64(raw))], config))
    assert err.value.index == 7 and "\n" not in str(err.value) and "chunk 7" in str(err.value)

    other = dataclasses.replace(config.model, sha256="0" * 64)
    with pytest.raises(ModelMismatchError) as err:
        list(runner.encode([raw], config.with_model(other)))
    assert "\n" not in str(err.value) and "0" * 64 in str(err.value)
    # the runner still works after errors
    assert list(runner.decode([(0, Method.LLM, result.payload, len(raw), xxh64(raw))], config)) == [raw]


def test_abandoned_jobs_stop_and_the_runner_recovers(runner):
    """A caller that stops reading results (an error elsewhere, Ctrl-C) leaves no work
    running: the actors busy with unwanted jobs are replaced; the next call works."""
    from lmzip._config import CodingConfig
    from lmzip._runtime import Runtime

    config = CodingConfig.for_level(4, chunk_size=CHUNK, n_ctx=64).with_model(Runtime(None, 1).identity)
    chunks = [DATA[i:i + CHUNK] for i in range(0, len(DATA), CHUNK)]
    results = runner.encode(chunks, config)
    first = next(results)
    before = list(runner.actors)
    results.close()  # abandon chunks 1 and 2
    assert any(a is not b for a, b in zip(runner.actors, before))
    assert list(runner.encode(chunks[:1], config)) == [first]
