"""Tests for the compiled byte-level engines (lmzip.models.bytecm): the context-mixing
engine (kind bytecm-v1: levels 2-3 and the legacy level 1) and the LZ engine (kind
bytecm-lz1: level 1)."""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmzip.models import bytecm

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"
needs_shared = pytest.mark.skipif(not (SHARED / "canterbury").is_dir(), reason="shared corpora absent")

LEVELS = (1, 2, 3)
XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def small(level: int) -> dict:
    """The CM engine's parameters of the level (1: the legacy CM level 1) with small
    tables: same code paths, faster setup."""
    p = bytecm.legacy_params(level)
    p["hash_log"] = min(p["hash_log"], 18)
    p["match_log"] = min(p["match_log"], 16)
    return p


def roundtrip(data: bytes, params: dict) -> bytes:
    payload = bytecm.compress(data, params)
    assert bytecm.decompress(payload, len(data), params) == data
    return payload


def text(n: int, seed: int = 0) -> bytes:
    rnd = random.Random(seed)
    words = b"the of and a to in is you that it he was for on are as with his they at".split()
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words) + (b".\n" if rnd.random() < 0.08 else b" ")
    return bytes(out[:n])


# ------------------------------------------------------------------------- the coder


def _coder(bits: bytes, probs: list[int]):
    import array

    from lmzip.models.bytecm import _bytecm

    return _bytecm.coder_roundtrip(bits, array.array("H", probs).tobytes())


def test_binary_coder_roundtrip_near_entropy():
    import math

    rnd = random.Random(5)
    probs = [rnd.choice((1, 2, 65535, 65534, 32768, rnd.randrange(1, 65536))) for _ in range(30000)]
    bits = bytes(int(rnd.random() < p / 65536) for p in probs)
    payload, decoded, exact = _coder(bits, probs)
    assert decoded == bits and exact
    entropy = sum(-math.log2(p / 65536 if b else 1 - p / 65536) for b, p in zip(bits, probs)) / 8
    assert entropy <= len(payload) <= entropy * 1.001 + 8


def test_binary_coder_extremes():
    for bits, probs in [
        (b"", []),
        (b"\x01" * 500, [1] * 500),  # every bit the unlikely one
        (b"\x00" * 500, [65535] * 500),
        (b"\x00\x01" * 300, [1, 65535] * 300),  # certain-looking bits, all as predicted
        (b"\x01" * 100000, [65535] * 100000),
    ]:
        payload, decoded, exact = _coder(bits, probs)
        assert decoded == bits and exact
    with pytest.raises(ValueError):
        _coder(b"\x01", [0])
    with pytest.raises(ValueError):
        _coder(b"\x02", [5])


# ------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("level", LEVELS)
def test_default_params_are_json_and_valid(level):
    p = bytecm.default_params(level)
    assert p["kind"] == (bytecm.LZ_KIND if level == 1 else bytecm.KIND)
    assert json.loads(json.dumps(p)) == p
    bytecm.check_params(p)
    p["hash_log"] = 0  # a fresh copy each time: callers may mutate theirs
    assert bytecm.default_params(level)["hash_log"] != 0


def test_levels_grow_in_memory():
    mem = [bytecm.memory(bytecm.default_params(level)) for level in LEVELS]
    assert mem == sorted(mem)
    assert mem[0] < 64 << 20 and mem[2] < 256 << 20


def test_unknown_level():
    for level in (0, 4, "1", None):
        with pytest.raises(ValueError):
            bytecm.default_params(level)


def _mutated(**changes):
    p = bytecm.default_params(3)
    p.update(changes)
    return p


HOSTILE = [
    _mutated(hash_log=27),  # more than the strongest level's table
    _mutated(hash_log=40),
    _mutated(match_log=23),
    _mutated(hash_log=-1),
    _mutated(hash_log=True),  # bool is not an int here
    _mutated(hash_log=22.0),
    _mutated(hash_log="22"),
    _mutated(kind="bytecm-v2"),
    _mutated(orders=[1, 2, 8]),
    _mutated(orders=[1, 1]),
    _mutated(orders="123"),
    _mutated(high_order=5),
    _mutated(high_order=33),
    _mutated(word=5),
    _mutated(sparse=7),
    _mutated(mixer=[]),
    _mutated(mixer=["c0", "c0"]),
    _mutated(mixer=["c0", "nope"]),
    _mutated(apm=["o9"]),
    _mutated(mixer_lr=0),
    _mutated(mixer_lr=65),
    _mutated(match_min=2),
    _mutated(match_long=5, match_min=5),
    _mutated(diffusion=4),
    _mutated(sm_limit=1024),
    _mutated(match_log=5),
]


def test_params_key_set_is_exact():
    p = bytecm.legacy_params(1)
    p["extra"] = 1
    with pytest.raises(ValueError):
        bytecm.check_params(p)
    p = bytecm.legacy_params(1)
    del p["orders"]
    with pytest.raises(ValueError):
        bytecm.check_params(p)
    for bad in (None, [], "x", 3):
        with pytest.raises(ValueError):
            bytecm.check_params(bad)


def test_no_params_exceed_level3_memory():
    """The maxima check_params allows are level 3's table sizes."""
    top = bytecm.default_params(3)
    for key in ("hash_log", "match_log"):
        p = bytecm.default_params(3)
        p[key] = top[key] + 1
        with pytest.raises(ValueError):
            bytecm.check_params(p)
    p = bytecm.default_params(3)  # every optional model and stage on: still level 3's memory
    p.update(word=4, sparse=6, record=1, column=1, indirect=1, high_order=32, match_long=48, diffusion=3,
             mixer=list(bytecm.MIXER_SELECTORS), apm=list(bytecm.APM_STAGES))
    bytecm.check_params(p)
    assert bytecm.memory(p) <= bytecm.memory(top) * 1.1


# ------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("level", LEVELS)
def test_empty_and_one_byte(level):
    p = small(level)
    assert bytecm.compress(b"", p) == b""
    assert bytecm.decompress(b"", 0, p) == b""
    for b in (b"\x00", b"A", b"\xff", b"\xe8"):
        roundtrip(b, p)


@pytest.mark.parametrize("level", LEVELS)
def test_roundtrip_kinds(level):
    p = small(level)
    rnd = random.Random(level)
    cases = {
        "all256": bytes(range(256)) * 3,
        "random": bytes(rnd.randrange(256) for _ in range(3000)),
        "runs": b"\x00" * 5000 + b"\xff" * 3000 + b"ab" * 1000,
        "text": text(6000, level),
        "csv": b"".join(b"%d,%d,name%d,%d.%d\n" % (i, i * i, i % 13, i * 7, i % 10) for i in range(300)),
        "records": b"".join(bytes([i & 255, 7, 0, (i * 3) & 255, 1, 2, 3, 4]) for i in range(800)),
    }
    for name, data in cases.items():
        payload = roundtrip(data, p)
        if name not in ("random",):
            assert len(payload) < len(data), name


def test_text_compresses_well():
    data = text(20000, 7)
    for level in LEVELS:
        assert len(roundtrip(data, small(level))) < len(data) * 0.35


@pytest.mark.parametrize("n", [2, 3, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 65535, 65536, 65537])
def test_sizes_around_boundaries(n):
    rnd = random.Random(n)
    data = bytes(rnd.choice(b"abcde\x00\xe8\xff") for _ in range(n))
    roundtrip(data, small(1))
    if n <= 4097:
        roundtrip(data, small(3))


def test_full_size_levels_on_text():
    data = text(30000, 3)
    for level in LEVELS:
        roundtrip(data, bytecm.default_params(level))
    roundtrip(data, bytecm.legacy_params(1))


@pytest.mark.parametrize("level", LEVELS)
def test_deterministic(level):
    data = text(5000, 11) + bytes(range(256))
    p = small(level)
    assert bytecm.compress(data, p) == bytecm.compress(data, p)


def test_stored_params_decode_not_defaults():
    """Payloads depend on every parameter: decoding with other params must not pass silently."""
    data = text(4000, 5)
    p1, p2 = small(2), small(2)
    p2["mixer_lr"] += 1
    payload = bytecm.compress(data, p1)
    assert payload != bytecm.compress(data, p2)
    try:
        out = bytecm.decompress(payload, len(data), p2)
    except ValueError:
        return
    assert out != data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.sampled_from(LEVELS))
def test_hypothesis_roundtrip(data, level):
    roundtrip(data, small(level))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 255), st.integers(1, 5000))
def test_hypothesis_long_runs(byte, n):
    roundtrip(bytes([byte]) * n, small(1))


# ------------------------------------------------------------------------- x86 model


def _x86_like(n_calls: int = 400) -> bytes:
    rnd = random.Random(1)
    out = bytearray()
    targets = [rnd.randrange(0, 60000) for _ in range(20)]
    for _ in range(n_calls):
        out += bytes(rnd.randrange(256) for _ in range(rnd.randrange(3, 12)))
        pos = len(out)
        rel = (rnd.choice(targets) - (pos + 5)) & 0xFFFFFFFF
        out += b"\xe8" + rel.to_bytes(4, "little")
    return bytes(out)


def test_x86_model_switches_on_for_code_and_helps():
    data = _x86_like()
    p = small(2)
    payload = roundtrip(data, p)
    assert payload[0] == 1  # the flags byte: x86 on
    off = dict(p, x86=0)
    assert bytecm.compress(data, off)[0] == 0
    assert len(payload) < len(bytecm.compress(data, off))


def test_x86_model_stays_off_for_utf8_text():
    data = ("这是一个测试。词语、标点和数字 12345 " * 200).encode()  # many 0xE8 lead bytes
    assert b"\xe8" in data
    assert roundtrip(data, small(2))[0] == 0


def test_x86_flag_refused_when_params_forbid_it():
    data = _x86_like()
    payload = bytecm.compress(data, small(1))
    assert payload[0] == 1
    with pytest.raises(ValueError):
        bytecm.decompress(payload, len(data), dict(small(1), x86=0))


# ------------------------------------------------------------------------- corrupt input


@pytest.mark.parametrize("level", LEVELS)
def test_truncated_and_extended_payloads(level):
    data = text(3000, level)
    p = small(level)
    payload = roundtrip(data, p)
    for bad in (payload[:-1], payload[:-2], payload[: len(payload) // 2], payload + b"\x00", payload + b"\xff" * 7):
        with pytest.raises(ValueError):
            bytecm.decompress(bad, len(data), p)


def test_bad_headers_and_sizes():
    p = small(1)
    payload = bytecm.compress(b"hello hello hello", p)
    for bad in (b"", b"\x00", b"\x02" + payload[1:], b"\x80" + payload[1:]):
        with pytest.raises(ValueError):
            bytecm.decompress(bad, 17, p)
    with pytest.raises(ValueError):
        bytecm.decompress(b"x", 0, p)  # an empty chunk has an empty payload
    for size in (-1, 1 << 31 + 1, 1 << 40):
        with pytest.raises((ValueError, OverflowError)):
            bytecm.decompress(payload, size, p)
    with pytest.raises(ValueError):
        bytecm.decompress(payload, 1.5, p)


def test_size_bounded_by_payload_length():
    """No payload codes more than 4096 bytes per byte: a tiny payload cannot claim 2 GiB."""
    p = small(1)
    data = bytes(1 << 20)  # the most compressible chunk there is
    payload = roundtrip(data, p)
    assert len(data) < (len(payload) + 16) * 4096 / 1.5  # the bound has a wide margin
    for size in (1 << 24, 1 << 31):
        with pytest.raises(ValueError):
            bytecm.decompress(payload[:40], size, p)


@pytest.mark.parametrize("engine,n,flips", [("cm", 2000, 200), ("lz", 4000, 300)])
def test_bit_flips_are_refused(engine, n, flips):
    data = text(n, 9)
    p = small(1) if engine == "cm" else lz()
    payload = bytecm.compress(data, p)
    rnd = random.Random(3)
    for _ in range(flips):
        bad = bytearray(payload)
        bad[rnd.randrange(1, len(bad))] ^= 1 << rnd.randrange(8)
        with pytest.raises(ValueError):  # the payload's 16-bit check (a false pass: 1 in 65536)
            bytecm.decompress(bytes(bad), len(data), p)


def test_fuzz_pass_in_process():
    """A few thousand random and mutated payloads: ValueError or exactly `size` bytes."""
    rnd = random.Random(12345)
    params = [small(1), small(2), small(3)]
    seeds = [bytecm.compress(text(300, i) + bytes(range(i, 256)), params[i % 3]) for i in range(6)]
    runs = 0
    for i in range(3000):
        p = params[i % 3] if i % 10 == 0 else params[0]  # mostly the fast level
        size = rnd.choice((0, 1, 2, 17, 100, 300, 556))
        kind = rnd.randrange(4)
        if kind == 0:
            payload = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40)))
        else:
            payload = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randrange(1, 4)):
                op = rnd.randrange(3)
                if op == 0 and payload:
                    payload[rnd.randrange(len(payload))] = rnd.randrange(256)
                elif op == 1:
                    payload = payload[: rnd.randrange(len(payload) + 1)]
                else:
                    payload += bytes([rnd.randrange(256)])
            if rnd.random() < 0.5 and payload:
                payload[0] &= 1  # a plausible flags byte, to reach the decoder
            payload = bytes(payload)
        try:
            out = bytecm.decompress(payload, size, p)
        except ValueError:
            continue
        assert len(out) == size
        runs += 1
    assert runs >= 0


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed")
def test_sanitizer_fuzz_10s(tmp_path):
    """Build the libFuzzer harness (ASan + UBSan) and fuzz the decoder for 10 seconds."""
    script = ROOT / "scripts" / "bytecm_fuzz.sh"
    env = dict(os.environ, ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=0")
    res = subprocess.run([str(script), "10", str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    tail = (res.stdout + res.stderr)[-3000:]
    if res.returncode != 0 and "fsanitize=fuzzer" in tail and "unsupported" in tail:
        pytest.skip("this clang has no libFuzzer")
    assert res.returncode == 0, tail
    assert "Done" in tail and not list(tmp_path.glob("crash-*")), tail


# ------------------------------------------------------------------------- corpus files


@needs_shared
@pytest.mark.parametrize("name", ["alice29.txt", "sum", "fields.c", "cp.html", "grammar.lsp", "xargs.1"])
def test_canterbury_roundtrip_level1(name):
    data = (SHARED / "canterbury" / name).read_bytes()
    payload = roundtrip(data, bytecm.legacy_params(1))
    assert len(payload) < len(data) * 0.4
    lz = roundtrip(data, bytecm.default_params(1))
    xz = lzma.compress(data, format=lzma.FORMAT_RAW, filters=XZ_FILTERS)
    assert len(lz) < len(xz) * 1.06  # the LZ level is close to xz -9e (better on most files)


@needs_shared
def test_levels_improve_on_text():
    data = (SHARED / "canterbury" / "alice29.txt").read_bytes()[:40000]
    sizes = [len(roundtrip(data, bytecm.default_params(level))) for level in LEVELS]
    assert sizes[2] <= sizes[1] <= sizes[0]


# ------------------------------------------------------------------------- legacy level 1

# The CM level 1 of archives made before the LZ engine: pinned forever.
LEGACY_LEVEL1 = {
    "kind": "bytecm-v1", "hash_log": 22, "orders": [1, 2, 3, 4, 6], "high_order": 0, "word": 1, "sparse": 1,
    "record": 1, "column": 0, "x86": 1, "indirect": 0, "match_log": 18, "match_min": 6, "match_long": 0,
    "inputs2": 0, "mixer": ["c0"], "mixer_lr": 4, "mixer_lr2": 2, "apm": ["o1"], "apm_rate": 7, "diffusion": 0,
    "diffusion_rate": 4, "sm_limit": 1023,
}


def test_legacy_level1_params_are_pinned_and_decode():
    assert bytecm.legacy_params(1) == LEGACY_LEVEL1
    assert bytecm.legacy_params(2) == bytecm.default_params(2)
    bytecm.check_params(LEGACY_LEVEL1)
    data = text(3000, 1) + bytes(range(256))
    payload = roundtrip(data, LEGACY_LEVEL1)
    # the CM engine's coded bits for this input, as made before the LZ engine existed
    assert hashlib.sha256(payload).hexdigest()[:16] == LEGACY_PAYLOAD_SHA


LEGACY_PAYLOAD_SHA = "47a08e417f4f8161"


# ------------------------------------------------------------------------- the LZ engine


def lz(**changes) -> dict:
    """Level 1's LZ parameters with a small hash head (same code paths)."""
    p = bytecm.default_params(1)
    p["hash_log"] = 14
    p.update(changes)
    return p


LZ_VARIANTS = [
    lz(),
    lz(parse=0),
    lz(lc=0, lp=4, pb=4),
    lz(lc=3, lp=0, pb=2, chain=1, nice_len=8),
    lz(lc=8, lp=4, pb=0, parse=0),
]


def test_lz_level1_params():
    p = bytecm.default_params(1)
    assert p["kind"] == bytecm.LZ_KIND
    assert set(p) == {"kind", "hash_log", "chain", "nice_len", "parse", "lc", "lp", "pb"}
    bytecm.check_params(p)
    assert bytecm.memory(p, 1 << 20) < 24 << 20
    assert bytecm.memory(p, 1 << 20) > 8 << 20  # the tree: 8 bytes per position


@pytest.mark.parametrize("vi", range(len(LZ_VARIANTS)))
def test_lz_roundtrip_kinds(vi):
    p = LZ_VARIANTS[vi]
    rnd = random.Random(vi)
    assert bytecm.compress(b"", p) == b""
    assert bytecm.decompress(b"", 0, p) == b""
    cases = {
        "one": b"A",
        "two": b"\x00\xff",
        "all256": bytes(range(256)),
        "all256x3": bytes(range(256)) * 3,
        "random": bytes(rnd.randrange(256) for _ in range(5000)),
        "runs": b"\x00" * 5000 + b"\xff" * 3000 + b"ab" * 1000 + b"abc" * 700,
        "text": text(20000, vi),
        "csv": b"".join(b"%d,%d,name%d,%d.%d\n" % (i, i * i, i % 13, i * 7, i % 10) for i in range(600)),
        "records": b"".join(bytes([i & 255, 7, 0, (i * 3) & 255, 1, 2, 3, 4]) for i in range(800)),
        "x86": _x86_like(300),
    }
    for name, data in cases.items():
        payload = roundtrip(data, p)
        if name not in ("random", "one", "two", "all256"):
            assert len(payload) < len(data), name


@pytest.mark.parametrize("n", [2, 3, 4, 5, 272, 273, 274, 275, 4095, 4096, 4097, 65535, 65536, 65537, 300000])
def test_lz_sizes_around_boundaries(n):
    rnd = random.Random(n)
    data = bytes(rnd.choice(b"abcde\x00\xe8\xff") for _ in range(n))
    roundtrip(data, lz())
    roundtrip(bytes(n), lz(parse=0))


def test_lz_long_matches_and_far_distances():
    rnd = random.Random(4)
    block = bytes(rnd.randrange(256) for _ in range(70000))
    data = block + text(200000, 2) + block + bytes(500000) + block[:1000] * 3
    payload = roundtrip(data, lz())
    assert len(payload) < 0.6 * len(data)


def test_lz_full_params_on_a_megabyte():
    data = text(1 << 20, 8)
    payload = roundtrip(data, bytecm.default_params(1))
    assert payload[0] in (4, 8)  # the literal context bits this chunk uses


def test_lz_text_beats_xz_level_and_is_deterministic():
    data = text(60000, 7)
    p = lz()
    payload = roundtrip(data, p)
    assert payload == bytecm.compress(data, p)
    assert len(payload) < len(data) * 0.35


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=5000), st.sampled_from(range(len(LZ_VARIANTS))))
def test_lz_hypothesis_roundtrip(data, vi):
    roundtrip(data, LZ_VARIANTS[vi])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=40), st.integers(1, 300)), max_size=20))
def test_lz_hypothesis_repetitive(parts):
    data = b"".join(chunk * n for chunk, n in parts)
    roundtrip(data, lz())


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 255), st.integers(1, 100000))
def test_lz_hypothesis_long_runs(byte, n):
    roundtrip(bytes([byte]) * n, lz())


LZ_HOSTILE = [
    lz(hash_log=9), lz(hash_log=23), lz(hash_log=True), lz(hash_log=20.0), lz(hash_log="20"),
    lz(chain=0), lz(chain=1025), lz(nice_len=7), lz(nice_len=274), lz(parse=2), lz(parse=-1),
    lz(lc=9), lz(lc=-1), lz(lp=5), lz(pb=5), lz(lc=8, lp=5), lz(lc=8, lp=4, pb=0) | {"lc": 9},
    lz(kind="bytecm-lz2"), lz(kind=None), lz(kind=["bytecm-lz1"]),
]


@pytest.mark.parametrize("params", HOSTILE + LZ_HOSTILE,
                         ids=[f"cm{i}" for i in range(len(HOSTILE))] + [f"lz{i}" for i in range(len(LZ_HOSTILE))])
def test_hostile_params_refused(params):
    """Every entry point refuses bad parameters of either engine before allocating."""
    with pytest.raises(ValueError):
        bytecm.check_params(params)
    with pytest.raises(ValueError):
        bytecm.decompress(b"\x00\x12\x34\x56", 10, params)
    with pytest.raises(ValueError):
        bytecm.compress(b"abc", params)
    with pytest.raises(ValueError):
        bytecm.memory(params)


def test_lz_params_key_set_is_exact():
    p = lz()
    p["orders"] = [1]
    with pytest.raises(ValueError):
        bytecm.check_params(p)
    for key in lz():
        p = lz()
        del p[key]
        with pytest.raises(ValueError):
            bytecm.check_params(p)
    # the CM keys under the LZ kind, and the LZ keys under the CM kind
    with pytest.raises(ValueError):
        bytecm.check_params(dict(bytecm.legacy_params(1), kind=bytecm.LZ_KIND))
    with pytest.raises(ValueError):
        bytecm.check_params(dict(lz(), kind=bytecm.KIND))


def test_lz_memory_is_bounded():
    top = bytecm.default_params(3)
    p = lz(hash_log=22, chain=1024, nice_len=273, parse=1, lc=8, lp=4, pb=4)  # every maximum
    bytecm.check_params(p)
    assert bytecm.memory(p) <= bytecm.memory(top)
    # the encoder's per-byte cost (the tree) is 8 bytes; the decoder allocates only its model
    assert bytecm.memory(p, 1 << 20) - bytecm.memory(p) == 8 << 20


@pytest.mark.parametrize("vi", [0, 2])
def test_lz_truncated_and_extended_payloads(vi):
    p = LZ_VARIANTS[vi]
    data = text(5000, vi) + bytes(range(256))
    payload = roundtrip(data, p)
    for bad in (payload[:-1], payload[:-2], payload[: len(payload) // 2], payload[:3], payload + b"\x00",
                payload + b"\xff" * 7):
        with pytest.raises(ValueError):
            bytecm.decompress(bad, len(data), p)
    for size in (len(data) - 1, len(data) + 1, 0):
        with pytest.raises(ValueError):
            bytecm.decompress(payload, size, p)


def test_lz_bad_headers_and_sizes():
    p = lz()
    data = b"hello hello hello, hello world"
    payload = bytecm.compress(data, p)
    assert payload[0] in (4, 8)
    for bad in (b"", b"\x00", b"\x09" + payload[1:], b"\xff" + payload[1:], b"\x80" + payload[1:]):
        with pytest.raises(ValueError):
            bytecm.decompress(bad, len(data), p)
    with pytest.raises(ValueError):  # the chunk's lc above the parameters' lc
        bytecm.decompress(payload, len(data), lz(lc=payload[0] - 1))
    with pytest.raises(ValueError):
        bytecm.decompress(b"x", 0, p)
    for size in (-1, 1 << 31 + 1, 1 << 40):
        with pytest.raises((ValueError, OverflowError)):
            bytecm.decompress(payload, size, p)


def test_lz_size_bounded_by_payload_length():
    """No payload codes more than LZ_MAX_RATIO bytes per byte: a tiny payload cannot claim 2 GiB."""
    from lmzip.models.bytecm import _bytecm

    p = lz()
    data = bytes(1 << 22)  # the most compressible chunk there is
    payload = roundtrip(data, p)
    assert len(data) < (len(payload) + 16) * _bytecm.LZ_MAX_RATIO / 4  # the bound has a wide margin
    for size in (1 << 30, 1 << 31):
        with pytest.raises(ValueError):
            bytecm.decompress(payload[:40], size, p)


def test_lz_fuzz_pass_in_process():
    """Thousands of random and mutated payloads: ValueError or exactly `size` bytes."""
    rnd = random.Random(54321)
    seeds = [(bytecm.compress(text(300 + 50 * i, i) + bytes(range(i, 256)) * 2, LZ_VARIANTS[i % 5]), i % 5)
             for i in range(10)]
    decoded = 0
    for i in range(20000):
        vi = rnd.randrange(len(LZ_VARIANTS))
        size = rnd.choice((0, 1, 2, 17, 100, 300, 556, 1000, 5000, 70000))
        if i % 4 == 0:
            payload = bytes([rnd.choice((0, 3, 4, 8))]) + bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 60)))
        else:
            seed, vi = rnd.choice(seeds)
            payload = bytearray(seed)
            for _ in range(rnd.randrange(1, 4)):
                op = rnd.randrange(3)
                if op == 0 and len(payload) > 3:
                    payload[rnd.randrange(3, len(payload))] = rnd.randrange(256)
                elif op == 1:
                    payload = payload[: rnd.randrange(len(payload) + 1)]
                else:
                    payload += bytes([rnd.randrange(256)])
            payload = bytes(payload)
        try:
            out = bytecm.decompress(payload, size, LZ_VARIANTS[vi])
        except ValueError:
            continue
        assert len(out) == size
        decoded += 1
    assert decoded >= 0


def test_lz_threads_give_the_same_payload():
    """Chunks are compressed in parallel (GIL released): the payload must not depend on it."""
    import threading

    data = text(200000, 11) + bytes(range(256)) * 50
    p = lz()
    ref = bytecm.compress(data, p)
    out: list[bytes] = []
    threads = [threading.Thread(target=lambda: out.append(bytecm.compress(data, p))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [ref] * 4
    assert bytecm.decompress(ref, len(data), p) == data


# ------------------------------------------------------------------------- every corpus file


def _corpus_files() -> list[Path]:
    if not SHARED.is_dir():
        return []
    return sorted(p for d in ("canterbury", "calgary") if (SHARED / d).is_dir() for p in (SHARED / d).iterdir()
                  if p.is_file())


@needs_shared
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_file_roundtrips(path):
    """Whole file through the LZ engine (level 1); its first 8 KiB through the CM engine at
    levels 2 and 3 (whole files at CM speed belong in scripts/bytecm_bench.py)."""
    data = path.read_bytes()
    roundtrip(data, bytecm.default_params(1))
    for level in (2, 3):
        roundtrip(data[:8192], bytecm.default_params(level))
