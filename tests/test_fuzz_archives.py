"""A short run of ``scripts/fuzz_archives.py`` (the million-case run is a manual step), and
the two properties it relies on: the model never sees a changed payload unless the
checksums were recomputed, and ``fix_checks`` really gets a mutation past them."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import pytest

import lmzip
from lmzip.formats import container as fmt
from lmzip.formats.errors import CorruptChunkError, LmzipError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_archives", ROOT / "scripts" / "fuzz_archives.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _v2_llm_archive() -> tuple[bytes, bytes, bytes]:
    """A format-2 archive holding the exact golden's LLM chunk (no model needed to make it)."""
    golden = (ROOT / "tests" / "golden" / "sample-x4-avx2.lmz").read_bytes()
    stream = io.BytesIO(golden)
    params, size = fmt.read_header(stream)
    (chunk, _) = list(fmt.iter_chunks(stream, size))
    raw = (ROOT / "tests" / "golden" / "sample.bin").read_bytes()
    assert chunk.info.method == fmt.Method.LLM and chunk.info.raw_size == len(raw)
    writer = fmt.Writer(params)
    blob = writer.header() + writer.chunk(chunk.info.method, raw, chunk.payload)[0] + writer.end()
    return blob, chunk.payload, raw


def test_short_fuzz_run(fuzz, capsys):
    assert fuzz.main(["--cases", "1500", "--seed", "7", "--no-model", "--llm-max", "0",
                      "--stream-sample", "0.1"]) == 0
    assert "failures: 0" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["v2", "v1"])
def test_changed_llm_payload_never_reaches_the_model(fuzz, name):
    """Every bit flip anywhere in an LLM archive is refused before the model would run,
    except where the chunk and everything before it are intact (then the model may run)."""
    if name == "v2":
        blob, payload, _ = _v2_llm_archive()
    else:
        blob = (ROOT / "tests" / "golden" / "sample-x4-avx2.lmz").read_bytes()
        payload = next(c.payload for c in fuzz._chunks(blob))
    oracle = fuzz.Oracle(fuzz.bundled_identity(), {payload})
    end_of_chunk = blob.index(payload) + len(payload) + (4 if name == "v2" else 0)
    reached = 0
    for pos in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[pos] ^= 1 << bit
            try:
                status, _ = oracle.decode(bytes(bad))
                assert status == "error"
            except fuzz.ModelWouldRun as stop:
                assert stop.job[2] == payload
                # format 2: only a change after the chunk's check; format 1: outside its record
                assert pos >= end_of_chunk or name == "v1", pos
                reached += 1
    assert reached  # flips in the END/index reach the model with the intact chunk


def test_fix_checks_reaches_the_decoders(fuzz):
    """A changed payload with recomputed checks passes the container: the decoder (or the
    output check) refuses it, not a record check."""
    with lmzip.Codec(level=1, threads=1) as codec:
        text = b"some text that xz compresses, some text that xz compresses " * 20
        blob = codec.compress(text)
        pos = len(blob) - 5 - 4 - 3  # inside the xz payload
        bad = bytearray(blob)
        bad[pos] ^= 0x10
        with pytest.raises(CorruptChunkError, match="checksum mismatch"):
            codec.decompress(bytes(bad))
        with pytest.raises(LmzipError) as info:
            codec.decompress(fuzz.fix_checks(bytes(bad)))
        assert "checksum mismatch" not in str(info.value)
    v1_blob = (ROOT / "tests" / "golden" / "sample-l1.lmz").read_bytes()
    assert fuzz.fix_checks(v1_blob) == v1_blob and fuzz.fix_checks(blob) == blob


def test_length_fields_are_found(fuzz):
    blob, _, _ = _v2_llm_archive()
    kinds = [k for _, _, k in fuzz.length_fields(blob)]
    assert kinds.count("varint") >= 3  # explicit params: base, params_len; the chunk's sizes
    v1_blob = (ROOT / "tests" / "golden" / "sample-l1.lmz").read_bytes()
    assert [k for _, _, k in fuzz.length_fields(v1_blob)] == ["u32", "u32", "u32", "u32", "u64"]
