"""Levels 1-3: the byte-level engines chosen per chunk (lmzip/_chunks.py): the LZ engine
at level 1, the context-mixing engine at levels 2-3 (and at level 1 in older archives);
and at the LLM levels, which chunks the LLM is tried on at all (binary: never)."""

from __future__ import annotations

import io
import lzma
import os
import random
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest

import lmzip
from lmzip import _chunks
from lmzip._chunks import decode_chunk, encode_chunk
from lmzip._config import CodingConfig
from lmzip.formats import container as fmt
from lmzip.formats.errors import UnsupportedVersionError

TEXT = b"".join(b"%d: the engine predicts each bit from its contexts and mixes them\n" % i for i in range(300))


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("data", [b"", b"x", bytes(range(256)) * 4, b"\0" * 5000, os.urandom(3000), TEXT])
def test_levels_1_to_3_round_trip(level, data):
    blob = lmzip.compress(data, level=level, threads=1)
    assert lmzip.decompress(blob) == data


@pytest.mark.parametrize("level", [1, 3])
def test_text_chunks_are_coded_by_the_engine(level):
    blob = lmzip.compress(TEXT, level=level, threads=1)
    params, index, _ = fmt.read_index(io.BytesIO(blob))
    assert params["cm"]["kind"] == ("bytecm-lz1" if level == 1 else "bytecm-v1")
    assert [c.method for c in index.chunks] == [fmt.Method.CM]
    assert len(blob) < len(lzma.compress(TEXT, preset=9 | lzma.PRESET_EXTREME))  # beats xz -9e, container included


def test_random_data_is_stored():
    data = os.urandom(5000)
    blob = lmzip.compress(data, level=3, threads=1)
    _, index, _ = fmt.read_index(io.BytesIO(blob))
    assert [c.method for c in index.chunks] == [fmt.Method.STORED]


def test_legacy_level1_archives_decode():
    """Archives whose level 1 used the CM engine (kind bytecm-v1) keep decoding."""
    from lmzip.models import bytecm

    config = CodingConfig.for_level(1)
    legacy = CodingConfig(level=1, chunk_size=config.chunk_size, n_ctx=0, cm=bytecm.legacy_params(1))
    for data in (TEXT, bytes(range(256)) * 8 + TEXT[:3000]):
        payload = bytecm.compress(data, legacy.cm)
        params = legacy.to_params()
        assert params["cm"]["kind"] == "bytecm-v1"
        back = CodingConfig.from_params(params)
        assert bytecm.decompress(payload, len(data), back.cm) == data


def test_hostile_engine_params_are_refused():
    params = CodingConfig.for_level(3).to_params()
    params["cm"] = dict(params["cm"], hash_log=40)  # tables beyond any level's maximum
    with pytest.raises(UnsupportedVersionError):
        CodingConfig.from_params(params)
    params = CodingConfig.for_level(1).to_params()
    assert params["cm"]["kind"] == "bytecm-lz1"
    for bad in (dict(params["cm"], hash_log=23), dict(params["cm"], lc=8, lp=5), dict(params["cm"], kind="bytecm-lz9")):
        with pytest.raises(UnsupportedVersionError):
            CodingConfig.from_params(dict(params, cm=bad))


# ----------------------------------------------------------------------------- LLM levels: is the LLM tried?
# Issue 18: a chunk that is not text skips the LLM (and its tokenization) at the LLM
# levels; the CM engine, xz or storing codes it, exactly as at level 3.

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
needs_shared = pytest.mark.skipif(not (SHARED / "calgary").is_dir(), reason="shared corpora absent")


def _elf_like() -> bytes:
    """An ELF-like header, symbol table (small little-endian integers) and string table."""
    r = random.Random(7)
    names = [b"main", b"printf", b"_start", b"malloc", b"free", b"__libc_start_main", b"memcpy", b"strlen"]
    strtab = b"\0" + b"\0".join(names) + b"\0"
    syms = b"".join(struct.pack("<IBBHQQ", r.randrange(len(strtab)), 0x12, 0, r.randrange(1, 20), 0x401000 + 16 * i,
                                r.randrange(4, 400)) for i in range(600))
    header = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 64, 64 + len(syms),
                                                              0, 64, 56, 1, 64, 3, 2)
    return header + syms + strtab * 20


def _english(n: int) -> bytes:
    words = b"the model predicts each next token and the coder spends few bits on likely ones".split()
    r = random.Random(n)
    out = bytearray()
    while len(out) < n:
        out += r.choice(words) + (b"\n" if r.random() < 0.1 else b" ")
    return bytes(out[:n])


def _with_controls(text: bytes, every: int) -> bytes:
    """``text`` with every ``every``-th byte a NUL (the share of not-text bytes 1/every)."""
    out = bytearray(text)
    out[every - 1::every] = bytes(len(out[every - 1::every]))
    return bytes(out)


class _Tokenizer:
    """A stand-in tokenizer that yields ``bytes_per_token`` and counts the bytes it sees."""

    escape_token = -1

    def __init__(self, bytes_per_token: float) -> None:
        self.bytes_per_token = bytes_per_token
        self.seen = 0

    def encode(self, data: bytes) -> list[int]:
        self.seen += len(data)
        return [32] * max(1, round(len(data) / self.bytes_per_token)) if data else []


@pytest.fixture
def fake_llm(monkeypatch):
    """encode_chunk's LLM replaced by a recorder (whose payload always loses)."""
    calls = []

    def encode_llm(lanes, config, runtime, tick):
        calls.append(sum(len(t) for t in lanes))
        return b"\xff" * (1 << 20)

    monkeypatch.setattr(_chunks, "_encode_llm", encode_llm)
    return calls


def _round_trips(result, raw: bytes, config) -> bool:
    return decode_chunk(0, result.method, result.payload, len(raw), fmt.xxh64(raw), config, None) == raw


@pytest.mark.parametrize("name", ["random", "elf", "all_bytes", "nul_text"])
def test_binary_chunks_skip_the_llm_untokenized(name, fake_llm):
    data = {
        "random": random.Random(1).randbytes(20000),
        "elf": _elf_like(),
        "all_bytes": bytes(range(256)) * 64,
        "nul_text": _with_controls(_english(6000), 3),  # a third of it NULs
    }[name]
    assert _chunks._not_text_share(data) >= _chunks.NOT_TEXT_SKIP
    config = CodingConfig.for_level(6)
    tokenizer = _Tokenizer(4.0)  # it would pass the bytes/token rule: the share alone decides
    result = encode_chunk(data, config, SimpleNamespace(tokenizer=tokenizer))
    assert not result.llm_tried and fake_llm == [] and tokenizer.seen == 0
    assert result.method != fmt.Method.LLM
    assert _round_trips(result, data, config)


def test_binary_chunks_do_not_load_the_model(fake_llm):
    """A worker (or the in-process runner) loads the model only for chunks that may be text."""
    from lmzip import _parallel

    loads = []

    def get_runtime():
        loads.append(1)
        return SimpleNamespace(tokenizer=_Tokenizer(4.0), check=lambda config: None)

    config = CodingConfig.for_level(6)
    binary = random.Random(2).randbytes(5000)
    assert _chunks.plainly_binary(binary) and not _chunks.plainly_binary(_english(5000))
    result = _parallel._encode(binary, config, get_runtime, None)
    assert loads == [] and not result.llm_tried and _round_trips(result, binary, config)
    _parallel._encode(_english(5000), config, get_runtime, None)
    assert loads == [1] and fake_llm  # text: loaded and tried


def test_binary_ish_chunk_is_judged_on_a_sample(fake_llm):
    """Between NOT_TEXT_SAMPLE and NOT_TEXT_SKIP bytes/token is estimated on a sample
    first: a chunk that tokenizes at ~1 byte/token is skipped after tokenizing only that."""
    data = _with_controls(_english(40_000), 10)
    assert _chunks.NOT_TEXT_SAMPLE <= _chunks._not_text_share(data) < _chunks.NOT_TEXT_SKIP
    config = CodingConfig.for_level(6)
    tokenizer = _Tokenizer(1.0)
    result = encode_chunk(data, config, SimpleNamespace(tokenizer=tokenizer))
    assert not result.llm_tried and fake_llm == []
    assert 0 < tokenizer.seen <= _chunks.SAMPLE_WINDOWS * _chunks.SAMPLE_BYTES
    assert _round_trips(result, data, config)
    # The same bytes tokenizing well pass the sample and the full rule: the LLM is tried.
    tokenizer = _Tokenizer(3.0)
    result = encode_chunk(data, config, SimpleNamespace(tokenizer=tokenizer))
    assert result.llm_tried and len(fake_llm) == 1 and tokenizer.seen > len(data)
    assert result.method != fmt.Method.LLM  # the recorder's payload loses


@pytest.mark.parametrize("name", ["text", "text_5pct_controls", "small_text_12pct_controls"])
def test_text_chunks_still_try_the_llm(name, fake_llm):
    data = {
        "text": _english(3000),
        "text_5pct_controls": _with_controls(_english(40_000), 20),  # calgary/trans: 4.6%
        "small_text_12pct_controls": _with_controls(_english(4000), 8),  # trans's first 4 KiB: 12.6%
    }[name]
    config = CodingConfig.for_level(6)
    result = encode_chunk(data, config, SimpleNamespace(tokenizer=_Tokenizer(3.0)))
    assert result.llm_tried and len(fake_llm) == 1


def test_levels_without_the_llm_never_ask(fake_llm):
    for level in (1, 3):
        result = encode_chunk(_english(3000), CodingConfig.for_level(level), SimpleNamespace(tokenizer=_Tokenizer(3.0)))
        assert not result.llm_tried and fake_llm == []


# The real tokenizer on corpus prefixes: binary ones are skipped (and round-trip), text
# ones pass the rule (the LLM itself is not run on them here).
BINARY_PREFIXES = [("calgary/obj2", 0, 16384), ("calgary/geo", 0, 16384), ("canterbury/sum", 0, 16384),
                   ("silesia/ooffice", 0, 16384), ("silesia/osdb", 0, 40960)]  # osdb: 18%, the sampled path
TEXT_PREFIXES = [("canterbury/alice29.txt", 0, 16384), ("canterbury/fields.c", 0, 11150),
                 ("canterbury/cp.html", 0, 16384), ("calgary/trans", 0, 65536), ("calgary/trans", 0, 4096),
                 ("silesia/xml", 0, 65536), ("calgary/progl", 0, 16384)]


def _prefix(path: str, offset: int, size: int) -> bytes:
    with open(SHARED / path, "rb") as f:
        f.seek(offset)
        return f.read(size)


@pytest.fixture(scope="module")
def runtime():
    from lmzip._runtime import Runtime

    return Runtime(None, 1)


@needs_shared
@pytest.mark.parametrize("path,offset,size", BINARY_PREFIXES)
def test_binary_corpus_prefixes_skip_the_llm(path, offset, size, runtime):
    data = _prefix(path, offset, size)
    config = CodingConfig.for_level(6).with_model(runtime.identity)
    assert not _chunks._may_be_text(data, runtime.tokenizer.encode)
    result = encode_chunk(data, config, runtime)
    assert not result.llm_tried and result.method == fmt.Method.CM
    assert _round_trips(result, data, config)


@needs_shared
@pytest.mark.parametrize("path,offset,size", TEXT_PREFIXES)
def test_text_corpus_prefixes_pass_the_rule(path, offset, size, runtime):
    data = _prefix(path, offset, size)
    assert _chunks._not_text_share(data) < _chunks.NOT_TEXT_SKIP
    assert _chunks._may_be_text(data, runtime.tokenizer.encode)


def test_real_model_tries_text_and_skips_binary(runtime):
    """End to end with the bundled model on a few hundred bytes (level 4: the LLM alone)."""
    config = CodingConfig.for_level(4).with_model(runtime.identity)
    text = b"The quick brown fox jumps over the lazy dog near the river bank, and then it rests."
    result = encode_chunk(text, config, runtime)
    assert result.llm_tried and result.method == fmt.Method.LLM
    assert decode_chunk(0, result.method, result.payload, len(text), fmt.xxh64(text), config, runtime) == text
    binary = _elf_like()[:600]
    result = encode_chunk(binary, config, runtime)
    assert not result.llm_tried and result.method != fmt.Method.LLM
    assert decode_chunk(0, result.method, result.payload, len(binary), fmt.xxh64(binary), config, runtime) == binary
