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
from lmzip._chunks import _decode_llm, _encode_llm, decode_chunk
from lmzip._config import LEVELS, CodingConfig
from lmzip._runtime import Runtime
from lmzip._lanes import (LaneSpec, base_cuts, pack_payload, token_cuts, unpack_payload,
                          unpack_token_payload, varint)
from lmzip.formats import container as fmt
from lmzip.formats.errors import CorruptChunkError, UnsupportedVersionError
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
                                 {"max": 2, "min_bytes": 0, "shared": False, "extra": 1},
                                 {"max": 2, "min_bytes": 0, "shared": False, "cut": "bytes"},
                                 {"max": 2, "min_bytes": 0, "shared": False, "cut": "lines"},
                                 {"max": 2, "min_bytes": 0, "shared": False, "cut": 1}])
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
    assert config.lanes == LaneSpec(7, 0, False, "tokens")
    assert CodingConfig.for_level(4, lanes=1).lanes == LaneSpec()
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
    # The chunk may have gone to xz (tiny cold lanes code badly): code it with the LLM anyway,
    # cut by bytes as archives before token cuts were (token cuts: test_token_cut_round_trip).
    config = CodingConfig.from_params(params)
    config = config.with_lanes(LaneSpec(config.lanes.max_lanes, config.lanes.min_bytes, config.lanes.shared))
    runtime = Runtime(None, 1)
    lanes_tokens = [runtime.tokenizer.encode(data[a:b]) for a, b in config.lanes.bounds(len(data))]
    assert lanes_tokens == config.lanes.tokenize(data, runtime.tokenizer.encode, runtime.tokenizer.escape_token)
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


# -- token cuts (issue 17) ------------------------------------------------------------------

# Text that tokenizes badly next to text that tokenizes well: bytes the vocabulary lacks
# (escape pairs: 0x04, 0xC0, 0xF5-0xFF ...), invalid and truncated UTF-8, multi-byte
# characters, controls, runs of spaces, special-token look-alikes.
RAGGED = (TEXT[:200] + bytes(range(256)) + "naïve café — ☃ 😀 日本語のテキスト\n".encode()
          + b"\xc0\xff\xfe\x04\x06\xe2\x82" + b" " * 9 + b"<|im_start|>user\n<|endoftext|>\x00\x01\x7f"
          + b"\xf0\x9f\x98" + TEXT[200:320] + b"\xc0" * 5 + b"\xf5\xc0\x04")
TRICKY = [b"", b"a", b"\xc0", b"\xc0\xc0", b"a\xffb", b"\xf0\x9f\x98\x80", b"\xe2\x82", " ☃ 😀 é".encode(),
          b"   \t\t\n\n  x", b"<|im_start|>", bytes(range(256)), RAGGED]


@pytest.fixture(scope="module")
def tokenizer():
    return Runtime(None, 1).tokenizer


@pytest.mark.parametrize("data", TRICKY, ids=range(len(TRICKY)))
def test_every_token_cut_point_is_exact_or_splits_an_escape_pair(tokenizer, data):
    """Cutting the chunk's tokens anywhere but right after an escape token gives two
    pieces that decode on their own and concatenate to the chunk; right after one, the
    cut is wrong (so the rule is exactly right, not merely safe)."""
    tokens = tokenizer.encode(data)
    assert tokenizer.decode(tokens) == data
    esc = tokenizer.escape_token
    for k in range(len(tokens) + 1):
        if k and tokens[k - 1] == esc:
            with pytest.raises(ValueError):
                tokenizer.decode(tokens[:k])
        else:
            assert tokenizer.decode(tokens[:k]) + tokenizer.decode(tokens[k:]) == data, k
    if data is RAGGED:
        assert esc >= 0 and esc in tokens  # the test meets escape pairs


def _check_cuts(tokens, lanes, esc):
    cuts = token_cuts(tokens, lanes, esc)
    assert len(cuts) == lanes + 1 and cuts[0] == 0 and cuts[-1] == len(tokens)
    assert all(a <= b for a, b in zip(cuts, cuts[1:]))
    assert all(c - b in (0, 1) for c, b in zip(cuts, base_cuts(len(tokens), lanes)))
    assert not any(c and c < len(tokens) and tokens[c - 1] == esc for c in cuts)  # no pair split
    counts = [b - a for a, b in zip(cuts, cuts[1:])]
    assert max(counts) - min(counts) <= 3
    if not any(tokens[b - 1] == esc for b in base_cuts(len(tokens), lanes)[1:-1] if b):
        assert max(counts) - min(counts) <= 1  # no cut met an escape pair: balanced to 1
    # What the encoder cuts, the reader accepts.
    payload = pack_payload(counts, [b"\0" * 4] * (lanes - 1) + [b"\0" * 4])
    assert unpack_token_payload(payload, lanes, len(tokens))[0] == counts  # (>= half as many bytes)
    return counts


@pytest.mark.parametrize("lanes", [1, 2, 3, 7, 32, 64, 1024])
def test_token_cut_lanes_differ_by_one_token(tokenizer, lanes):
    spec = LaneSpec(lanes, 0, cut="tokens")
    for data in TRICKY:
        parts = spec.tokenize(data, tokenizer.encode, tokenizer.escape_token)
        assert len(parts) == lanes
        assert b"".join(tokenizer.decode(p) for p in parts) == data
        tokens = [t for p in parts for t in p]
        assert tokens == tokenizer.encode(data)  # the chunk tokenized once, then cut
        _check_cuts(tokens, lanes, tokenizer.escape_token)
    text = (TEXT * 4)[:2000]  # no escape pairs: counts differ by at most one
    counts = [len(p) for p in spec.tokenize(text, tokenizer.encode, tokenizer.escape_token)]
    assert max(counts) - min(counts) <= 1


def test_token_cuts_with_escape_pairs_everywhere():
    import random

    rng = random.Random(17)
    esc = 0
    for _ in range(2000):
        n = rng.randrange(0, 60)
        tokens = []
        while len(tokens) < n:  # escape pairs and plain tokens, in any mix
            tokens += [esc, rng.randrange(1, 9)] if rng.random() < 0.6 else [rng.randrange(1, 9)]
        _check_cuts(tokens, rng.randrange(1, 40), esc)
    # every second cut would split a pair: the slack is used, and still within 3
    assert token_cuts([esc, 5] * 6, 4, esc) == [0, 4, 6, 10, 12]
    assert token_cuts([esc, 5, esc, 5], 8, esc) == [0, 0, 2, 2, 2, 2, 4, 4, 4]


def test_token_cut_payload_hostile_directories():
    ok = pack_payload([3, 3, 2], [b"\1" * 4, b"\2" * 4, b"\3" * 4])
    assert unpack_token_payload(ok, 3, 8)[0] == [3, 3, 2]
    assert unpack_token_payload(pack_payload([2, 4, 2], [b"", b"", b""]), 3, 8)[0] == [2, 4, 2]  # slack
    bad = [
        ([9, 9, 9], 8),  # 27 tokens for 8 bytes: more than two per byte
        ([0, 0, 0], 8),  # no tokens for a chunk of bytes
        ([8, 0, 0], 8),  # all tokens in one lane: not where token cuts put them
        ([0, 0, 8], 8),
        ([1, 4, 3], 8),  # a cut before its equal-count cut
        ([3, 5, 0], 8),  # a cut two after it
    ]
    for counts, size in bad:
        with pytest.raises(ValueError):
            unpack_token_payload(pack_payload(counts, [b""] * 3), 3, size)
    with pytest.raises(ValueError):  # a stream length past the end
        unpack_token_payload(varint(1) + varint(1) + varint(1 << 40), 2, 4)
    with pytest.raises(ValueError):  # a varint that never ends
        unpack_token_payload(b"\xff" * 20, 1, 4)
    with pytest.raises(ValueError):  # a directory cut short
        unpack_token_payload(varint(2), 3, 4)


def test_hostile_token_cut_payloads_are_corrupt_chunks():
    """Through the chunk decoder: a bad directory is a CorruptChunkError, never a traceback,
    and nothing the size of a hostile token count is allocated."""
    import random

    config = CodingConfig.for_level(4, lanes=7).with_model(Runtime(None, 1).identity)
    runtime = Runtime(None, 1)
    raw = TEXT[:100]
    payloads = [pack_payload([1 << 40] + [0] * 6, [b""] * 7), pack_payload([200] * 7, [b""] * 7),
                pack_payload([0] * 6 + [150], [b""] * 7), b"\xff" * 30, b""]
    rng = random.Random(3)
    payloads += [rng.randbytes(rng.randrange(1, 40)) for _ in range(50)]
    for payload in payloads:
        try:
            decode_chunk(5, fmt.Method.LLM, payload, len(raw), fmt.xxh64(raw), config, runtime)
        except CorruptChunkError as exc:
            assert exc.index == 5 and "\n" not in str(exc)
        else:  # pragma: no cover - a random payload that decodes to the text: impossible
            raise AssertionError("a hostile payload decoded")


def test_header_cut_parameter():
    for level, spec in LEVELS.items():
        if not spec.lanes.single:
            assert spec.lanes.cut == "tokens", level  # the default of every level with lanes
    assert LaneSpec.from_params({"max": 4, "min_bytes": 0, "shared": False}).cut == "bytes"  # older archives
    spec = LaneSpec(4, 0, False, "tokens")
    assert spec.to_params() == {"max": 4, "min_bytes": 0, "shared": False, "cut": "tokens"}
    assert LaneSpec.from_params(spec.to_params()) == spec
    assert "cut" not in LaneSpec(4).to_params()
    params = CodingConfig.for_level(6).with_model(Runtime(None, 1).identity).to_params()
    params["lanes"]["cut"] = "words"
    with pytest.raises(UnsupportedVersionError):
        CodingConfig.from_params(params)


@pytest.mark.parametrize("lanes", [1, 2, 7, 64])
def test_token_cut_round_trip(lanes):
    """Real model, token cuts, prose mixed with bytes that tokenize badly: 64 lanes over
    ~800 bytes are a few tokens each (and, with escape pairs, not all equal)."""
    runtime = Runtime(None, 1)
    config = CodingConfig.for_level(4, lanes=lanes).with_model(runtime.identity)
    assert lanes == 1 or config.lanes.cut == "tokens"
    tok = runtime.tokenizer
    parts = config.lanes.tokenize(RAGGED, tok.encode, tok.escape_token)
    counts = [len(p) for p in parts]
    assert max(counts) - min(counts) <= (1 if lanes == 1 else 3)
    payload = _encode_llm(parts, config, runtime, None)
    assert _decode_llm(payload, len(RAGGED), config, runtime, None) == RAGGED
    blob = _round_trip(RAGGED, 4, lanes)  # and the whole pipeline (the chunk may go to CM or xz)
    assert (fmt.read_index(io.BytesIO(blob))[0].get("lanes") or {}).get("cut", "tokens") == "tokens"


@pytest.mark.parametrize("data", [b"a", b"\xc0", b"ab", b"\xc0\xff", b"hello", RAGGED[:40]])
def test_token_cut_tiny_chunks_and_empty_lanes(data):
    runtime = Runtime(None, 1)
    config = CodingConfig.for_level(6, lanes=7).with_model(runtime.identity)
    parts = config.lanes.tokenize(data, runtime.tokenizer.encode, runtime.tokenizer.escape_token)
    assert len(parts) == 7 and (len(data) > 6 or [] in parts)  # empty lanes
    payload = _encode_llm(parts, config, runtime, None)
    assert _decode_llm(payload, len(data), config, runtime, None) == data
    assert decode_chunk(0, fmt.Method.LLM, payload, len(data), fmt.xxh64(data), config, runtime) == data


# Archives made before token cuts (commit b06ab93's encoder): TEXT[:600] at level 4 and 6,
# --lanes 3, cut by bytes (no "cut" in the header), one LLM chunk each. They decode, and
# are coded again bit for bit from their own header, forever.
BYTE_CUT_ARCHIVES = {
    4: ("894c4d5a02001614ab1ecddfa3f99bfcfc8d92bd0d46b3f660cada0042d80485012b57320a0acfd326878ed23814e3d8"
        "9f2a030285bb9b8f139d8ca0ebdf0676ed1e2523052bd8d47483f6a8e45c917627e222332bf8958f513c946102396f03"
        "077f69a50a9a6dfe52647f270d375d66637d0d69552bc2a85bf876ddea79b89aa7d396e6557b5f00792271de194bb761"
        "12724ebe668de2d56146eff12ea2fa318db2649803653b1b8de380060bc6b7"),
    6: ("894c4d5a02001a1aab1e2d6a478b5a0a8a5a9492d660b4941d2d65474b59cc52160042d80485012b57320a0a84d32687"
        "a4da957802a04b7e3763158b49a5356e35dd6f12bd1641fc263905f9ad681d25231a669cd47527e258ee45caec91deec"
        "4867018a81aa93c09fe6970947c99bbfac532160b9408b05673cbc1972a85bf8ac10cb147b15f8c399c3350037111192"
        "0d4aad7ffdc8047759afe852315e2ca16d8162461bee38edd524ac5df61e375080060bc6b7"),
}


@pytest.mark.parametrize("level", sorted(BYTE_CUT_ARCHIVES))
def test_byte_cut_archives_decode_and_encode_again(level):
    blob = bytes.fromhex(BYTE_CUT_ARCHIVES[level])
    params, index, _ = fmt.read_index(io.BytesIO(blob))
    assert params["lanes"]["max"] == 3 and "cut" not in params["lanes"]
    assert [c.method for c in index.chunks] == [fmt.Method.LLM]
    assert lmzip.decompress(blob, threads=1) == TEXT[:600]
    with lmzip.Codec.for_params(params, threads=1) as codec:
        assert codec.compress(TEXT[:600]) == blob
