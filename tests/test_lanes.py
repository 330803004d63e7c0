"""Lanes: a chunk cut into segments coded in lockstep (lmzip/_lanes.py, lmzip/_engine.py).

Real-model tests use small inputs: every lane is a separate stream of the same model,
so a few hundred bytes exercise everything a megabyte does.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest

import lmzip
from lmzip._chunks import _decode_llm, _encode_llm
from lmzip._config import CodingConfig
from lmzip._runtime import Runtime
from lmzip._lanes import LaneSpec, pack_payload, unpack_payload, varint
from lmzip.formats import container as fmt
from lmzip.models.exact.backend import available_paths

TEXT = (b"Lanes cut a chunk into segments that advance one token per step, in lockstep. Each lane "
        b"is tokenized on its own and coded into its own stream, and the decoder knows where every "
        b"lane starts because the cut depends only on the chunk's size.\n"
        b"def scale(values, factor=2):\n    return [v * factor for v in values]  # a little code\n"
        b"2026-11-25 22:02:28 INFO server started on port 8080\n"
        b"2026-11-25 22:02:31 WARN slow request GET /index.html took 812 ms\n"
        b"The quick brown fox jumps over the lazy dog, and then the dog, being lazy, sleeps on. "
        b"Meanwhile the range coder turns probabilities into bits, one symbol after another, and "
        b"never loses a byte of what it was given to keep.\n")


# -- the schedule: pure functions of the header and the chunk size ------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 7, 63, 64, 65, 1000, 100_003])
@pytest.mark.parametrize("spec", [LaneSpec(1), LaneSpec(2), LaneSpec(7), LaneSpec(64), LaneSpec(32, 4096),
                                  LaneSpec(8, 1000, shared=True)])
def test_bounds_cover_the_chunk_in_order(n, spec):
    bounds = spec.bounds(n)
    assert len(bounds) == spec.count(n)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1  # as even as possible


def test_lane_count_follows_min_bytes():
    spec = LaneSpec(32, 16384)
    assert [spec.count(n) for n in (0, 1, 16384, 16385, 32 * 16384, 10 ** 9)] == [1, 1, 1, 2, 32, 32]
    assert LaneSpec(7).count(3) == 7  # exactly max lanes when min_bytes == 0 (some empty)


@pytest.mark.parametrize("bad", [{"max": 0, "min_bytes": 0, "shared": False},
                                 {"max": 1025, "min_bytes": 0, "shared": False},
                                 {"max": 2, "min_bytes": -1, "shared": False},
                                 {"max": 2, "min_bytes": 0, "shared": 1},
                                 {"max": 2.0, "min_bytes": 0, "shared": False},
                                 {"max": 2, "min_bytes": 0},
                                 {"max": 2, "min_bytes": 0, "shared": False, "extra": 1}])
def test_hostile_lane_params_are_refused(bad):
    with pytest.raises(ValueError):
        LaneSpec.from_params(bad)


def test_one_lane_payload_is_the_single_stream_layout():
    assert pack_payload([5], [b"abcd"]) == varint(5) + b"abcd"


def test_payload_round_trip_and_hostile_directories():
    streams = [b"\x01" * 8, b"", b"\x02" * 4]
    payload = pack_payload([3, 0, 2], streams)
    assert unpack_payload(payload, [10, 0, 5]) == ([3, 0, 2], streams)
    for sizes in ([1, 0, 5], [10, 3, 5], [10, 0, 0]):  # too many tokens / a token in an empty lane
        with pytest.raises(ValueError):
            unpack_payload(payload, sizes)
    with pytest.raises(ValueError):  # a stream length past the end
        unpack_payload(varint(1) + varint(1) + varint(1 << 40), [4, 4])
    with pytest.raises(ValueError):  # a varint that never ends
        unpack_payload(b"\xff" * 20, [4])


def test_lanes_are_recorded_in_the_header():
    config = CodingConfig.for_level(4, lanes=7)
    assert config.lanes == LaneSpec(7, 0, False)
    assert CodingConfig.for_level(4, lanes=1).lanes.single
    with pytest.raises(ValueError):
        CodingConfig.for_level(2, lanes=4)  # no LLM, no lanes
    with pytest.raises(ValueError):
        CodingConfig.for_level(4, lanes=-1)
    with pytest.raises(TypeError):
        lmzip.Codec(level=4, lanes=2.0)


# -- real model ---------------------------------------------------------------------------

def _round_trip(data: bytes, level: int, lanes: int) -> bytes:
    with lmzip.Codec(level=level, threads=1, lanes=lanes) as codec:
        blob = codec.compress(data)
        assert codec.decompress(blob) == data
    return blob


@pytest.mark.parametrize("lanes", [1, 2, 7, 64])
def test_round_trip_ragged_lanes(lanes):
    # 64 lanes over ~600 bytes: ~9-byte lanes of 2-4 tokens, ragged lengths.
    data = TEXT[:600]
    blob = _round_trip(data, 4, lanes)
    params, index, _ = fmt.read_index(io.BytesIO(blob))
    assert params.get("lanes", {"max": 1})["max"] == lanes
    # The chunk may have gone to xz (tiny cold lanes code badly): code it with the LLM anyway.
    config = CodingConfig.from_params(params)
    runtime = Runtime(None, 1)
    lanes_tokens = [runtime.tokenizer.encode(data[a:b]) for a, b in config.lanes.bounds(len(data))]
    assert lanes == 1 or len({len(t) for t in lanes_tokens}) > 1  # ragged
    payload = _encode_llm(lanes_tokens, config, runtime, None)
    assert _decode_llm(payload, len(data), config, runtime, None) == data
    if lanes <= 2:
        assert [c.method for c in index.chunks] == [fmt.Method.LLM]


@pytest.mark.parametrize("data", [b"a", b"ab", b"hello", TEXT[:40]])
def test_tiny_inputs_and_empty_lanes(data):
    _round_trip(data, 4, 7)  # fewer bytes than lanes for the first three: empty lanes


def test_ensemble_lanes_round_trip():
    _round_trip(TEXT[:500], 6, 3)


def test_lanes_and_workers_give_identical_archives():
    data = TEXT[:400] * 2
    outs = {}
    for threads in (1, 2):
        with lmzip.Codec(level=4, threads=threads, lanes=5, chunk_size=300) as codec:
            outs[threads] = codec.compress(data)
    assert outs[1] == outs[2]
    assert lmzip.decompress(outs[1]) == data


@pytest.mark.parametrize("path", [p for p in available_paths() if p != "reference"])
def test_kernel_paths_give_identical_lane_archives(path):
    script = ("import sys, lmzip; d = sys.stdin.buffer.read(); "
              "sys.stdout.buffer.write(lmzip.compress(d, level=4, threads=1, lanes=4))")
    outs = {}
    for p in ("scalar", path):
        env = dict(os.environ, LMZIP_KERNEL=p)
        outs[p] = subprocess.run([sys.executable, "-c", script], input=TEXT[:300], env=env,
                                 capture_output=True, check=True).stdout
    assert outs["scalar"] == outs[path]


def test_cli_lanes_flag_and_list(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(TEXT[:300])
    lmzip_bin = [sys.executable, "-m", "lmzip"]
    subprocess.run(lmzip_bin + ["-4", "--lanes", "3", "-T", "1", "-q", str(src)], check=True)
    listing = subprocess.run(lmzip_bin + ["-l", "-v", str(src) + ".lmz"], capture_output=True, text=True,
                             check=True).stdout
    assert "lanes" in listing and "3 lanes" in listing
    out = subprocess.run(lmzip_bin + ["-d", "-c", str(src) + ".lmz"], capture_output=True, check=True).stdout
    assert out == TEXT[:300]
    bad = subprocess.run(lmzip_bin + ["--lanes", "-3", str(src)], capture_output=True, text=True)
    assert bad.returncode != 0


def test_lane_step_matches_single_streams():
    """Lanes stepped together give each lane exactly the logits it gets alone."""
    from lmzip.models.exact.backend import ExactBackend, Window

    rt = Runtime(None, 1)
    toks = [rt.tokenizer.encode(TEXT[i * 50:(i + 1) * 50]) for i in range(3)]
    window = Window(64, 1, 16)  # small: every lane slides
    together = ExactBackend(rt.weights, window, n_lanes=3)
    alone = ExactBackend(rt.weights, window, n_lanes=1)
    lanes = np.arange(3, dtype=np.int32)
    for lane in lanes:
        together.reset(int(lane))
    got = [[] for _ in lanes]
    logits = together.step(lanes, np.full(3, together.bos, dtype=np.int32))
    for t in range(max(map(len, toks))):
        for row, lane in zip(logits, lanes):
            got[lane].append(row.copy())
        lanes = np.array([i for i in lanes if t + 1 < len(toks[i])], dtype=np.int32)
        if not lanes.size:
            break
        logits = together.step(lanes, np.array([toks[i][t] for i in lanes], dtype=np.int32))
    for i in range(3):
        alone.reset(0)
        one = np.array([0], dtype=np.int32)
        ref = [alone.step(one, np.array([alone.bos], dtype=np.int32))[0]]
        for t in toks[i][:-1]:
            ref.append(alone.step(one, np.array([t], dtype=np.int32))[0])
        assert len(ref) == len(got[i])
        assert all(np.array_equal(a, b) for a, b in zip(ref, got[i]))


def test_lane_groups_over_two_torch_cpu_devices_match_the_kernel():
    """Chunks (lane groups) spread over two torch CPU "devices" give the kernel's archive."""
    pytest.importorskip("torch", reason="the torch path needs the gpu extra (pip install 'lmzip[gpu]')")
    data = TEXT[:360]
    outs = {}
    for device, threads in (("cpu", 1), ("torch-cpu:0,torch-cpu:1", None)):
        with lmzip.Codec(level=4, lanes=2, chunk_size=180, device=device, threads=threads) as codec:
            outs[device] = codec.compress(data)
            assert codec.workers == (1 if device == "cpu" else 2)
    assert outs["cpu"] == outs["torch-cpu:0,torch-cpu:1"]
    assert lmzip.decompress(outs["cpu"], device="torch-cpu") == data
