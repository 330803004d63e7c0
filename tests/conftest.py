"""Shared fixtures for the API, stream, file and CLI tests.

The language model codes ~100 tokens/s on a small machine, so every LLM input here is
tiny and the loaded models are shared per session. Levels 1-3 never touch the model
and are used wherever the behaviour under test does not depend on the LLM.

The helpers that take archives apart (``header_size``, ``chunk_records``, ...) follow
``formats/SPEC.md`` (format 2) independently of ``formats/container.py``, so they check
the documented layout rather than re-using the code under test.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

import lmzip

# ----------------------------------------------------------------------------- samples

# Inputs that stress the lossless tokenizer: each is valid for the LLM path (at least
# ~1.5 bytes/token) yet contains bytes the model's own tokenizer would lose or change.
SAMPLES: dict[str, bytes] = {
    "plain": b"The quick brown fox jumps over the lazy dog near the river bank.",
    "special_tokens": b"Say <|endoftext|><|im_start|>assistant\nhi<|im_end|> now.",
    "crlf": b"First line of it\r\nSecond line of it\r\n\r\nEnd\r\n",
    "nul_control": b"Name:\x00Alice\x01\x02\x1b[0m tab\there, bell\x07 done.",
    "invalid_utf8": b"Caf\xc3\xa9 is fine but \xff\xfe and \xc0\x80 are not UTF-8.",
    "space_runs": b"indent" + b" " * 40 + b"then text" + b"\t" * 10 + b"end",
}

# The LLM sample reused by many tests (model mismatch, corruption, CLI listing...).
LLM_TEXT = SAMPLES["plain"]

MAGIC = b"\x89LMZ"  # every archive starts so; format 2 continues with 02
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
METHOD_STORED, METHOD_XZ, METHOD_LLM = 0, 1, 2


def english(n: int, seed: int = 0) -> bytes:
    """``n`` bytes of deterministic English-like text (cheap, compressible)."""
    words = (b"the model predicts each next token and the coder spends few bits on "
             b"likely ones while rare words cost more").split()
    out = bytearray()
    i = seed
    while len(out) < n:
        out += words[(i * 7 + i // 3) % len(words)] + (b"\n" if i % 11 == 10 else b" ")
        i += 1
    return bytes(out[:n])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # "plain" is LLM_TEXT, which the ``llm_archive`` fixture round-trips already.
    if "sample_name" in metafunc.fixturenames:
        metafunc.parametrize("sample_name", sorted(set(SAMPLES) - {"plain"}))


# ----------------------------------------------------------------------------- archive layout
# Container format 2 (what lmzip writes) and format 1 (the golden archives), read per
# formats/SPEC.md. The only thing taken from lmzip is the recipe table: a recipe id's
# meaning is data the SPEC points to.

_END_TAG = 0x80
_SHORT = 0x40  # tag bit: the short last chunk, which stores its raw_size


@dataclass
class ChunkRecord:
    start: int  # offset of the record's tag
    method: int
    raw_size: int
    payload_start: int
    payload_end: int  # the record's 4-byte check follows


def _varint(blob: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = blob[pos]
        n |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return n, pos
        shift += 7


def read_params(blob: bytes) -> tuple[dict, int]:
    """The archive's parameter object and the header's length."""
    from lmzip.formats.recipes import RECIPES

    assert blob[:5] == MAGIC + b"\x02", "not a format-2 archive"
    recipe, pos = _varint(blob, 5)
    if recipe:
        return json.loads(RECIPES[recipe]), pos
    base, pos = _varint(blob, pos)
    size, pos = _varint(blob, pos)
    inflater = zlib.decompressobj(-15, RECIPES[base].encode())
    return json.loads(inflater.decompress(blob[pos:pos + size])), pos + size


def header_size(blob: bytes) -> int:
    """Bytes in the header (magic, version, parameters)."""
    return read_params(blob)[1]


def chunk_records(blob: bytes) -> list[ChunkRecord]:
    """Chunk records of the first archive in ``blob``, in order."""
    if blob[:8] == MAGIC_V1:
        return _v1_chunk_records(blob)
    params, pos = read_params(blob)
    records = []
    while blob[pos] != _END_TAG:
        tag, start = blob[pos], pos
        method, raw_size, pos = tag & 0x3F, params["chunk_size"], pos + 1
        if tag & _SHORT:
            raw_size, pos = _varint(blob, pos)
        payload_size = raw_size
        if method != METHOD_STORED:
            payload_size, pos = _varint(blob, pos)
        records.append(ChunkRecord(start, method, raw_size, pos, pos + payload_size))
        pos += payload_size + 4
    return records


def end_offset(blob: bytes) -> int:
    """Offset of the END record (tag 0x80, then the 4-byte check) of the first archive."""
    records = chunk_records(blob)
    end = records[-1].payload_end + 4 if records else header_size(blob)
    assert blob[end] == _END_TAG
    return end


def fix_checks(blob: bytes | bytearray) -> bytes:
    """Recompute every check a reader verifies before decoding (after an edit of the
    header or of a record): each record's running crc32 of the archive's bytes before it,
    the earlier checks left out; the END check of an archive with no chunk."""
    out = bytearray(blob)
    records = chunk_records(bytes(out))
    pos = header_size(bytes(out))
    crc = zlib.crc32(bytes(out[:pos]))
    for rec in records:
        crc = zlib.crc32(bytes(out[rec.start:rec.payload_end]), crc)
        struct.pack_into("<I", out, rec.payload_end, crc)
    if not records:
        struct.pack_into("<I", out, pos + 1, zlib.crc32(bytes(out[pos:pos + 1]), crc))
    return bytes(out)


def fix_chunk_crcs(blob: bytes | bytearray, rec: ChunkRecord | None = None) -> bytes:
    """Recompute the checks after a chunk's payload was edited (format 2: the later ones
    depend on it too; format 1: the record's payload and record crcs)."""
    if bytes(blob[:8]) == MAGIC_V1:
        out = bytearray(blob)
        payload = bytes(out[rec.payload_start:rec.payload_end])
        struct.pack_into("<I", out, rec.start + 18, zlib.crc32(payload))
        head = bytes(out[rec.start:rec.start + _V1_CHUNK_HEAD.size])
        struct.pack_into("<I", out, rec.start + _V1_CHUNK_HEAD.size, zlib.crc32(head))
        return bytes(out)
    return fix_checks(blob)


MAGIC_V1 = b"\x89LMZ\r\n\x1a\n"
_V1_CHUNK_HEAD = struct.Struct("<1sBIIQI")  # tag, method, raw_size, payload_size, raw_xxh64, payload_crc


def _v1_chunk_records(blob: bytes) -> list[ChunkRecord]:
    (params_len,) = struct.unpack_from("<I", blob, 76)
    pos = 80 + params_len + 4
    records = []
    while blob[pos:pos + 1] == b"C":
        _, method, raw_size, payload_size, _, _ = _V1_CHUNK_HEAD.unpack_from(blob, pos)
        payload_start = pos + _V1_CHUNK_HEAD.size + 4
        records.append(ChunkRecord(pos, method, raw_size, payload_start, payload_start + payload_size))
        pos = payload_start + payload_size
    assert blob[pos:pos + 1] == b"I", "expected the index after the chunk records"
    return records


def with_params(blob: bytes, params: dict) -> bytes:
    """``blob`` with its header replaced by explicit ``params`` (checks recomputed)."""
    from lmzip.formats.recipes import RECIPES

    text = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, RECIPES[1].encode())
    body = deflater.compress(text) + deflater.flush()
    header = MAGIC + b"\x02\x00\x01" + _leb128(len(body)) + body
    return fix_checks(header + blob[header_size(blob):])


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
        n >>= 7
        if not n:
            return bytes(out)


def flip(blob: bytes, offset: int, mask: int = 0x01) -> bytes:
    out = bytearray(blob)
    out[offset] ^= mask
    return bytes(out)


@pytest.fixture(scope="session")
def layout() -> SimpleNamespace:
    """The archive-surgery helpers above, as a fixture (tests do not import conftest)."""
    return SimpleNamespace(
        MAGIC=MAGIC, MODEL_NAME=MODEL_NAME, STORED=METHOD_STORED, XZ=METHOD_XZ, LLM=METHOD_LLM,
        header_size=header_size, read_params=read_params, chunk_records=chunk_records,
        end_offset=end_offset, fix_checks=fix_checks, fix_chunk_crcs=fix_chunk_crcs,
        with_params=with_params, flip=flip, english=english, OTHER_MODEL_SHA256=OTHER_MODEL_SHA256,
    )


# ----------------------------------------------------------------------------- data

@pytest.fixture(scope="session")
def samples() -> dict[str, bytes]:
    return dict(SAMPLES)


@pytest.fixture(scope="session")
def text_2k() -> bytes:
    return english(2000)


@pytest.fixture(scope="session")
def noise() -> bytes:
    """Incompressible bytes: never LLM-coded (far below 1.5 bytes/token), stored as is."""
    import random

    return random.Random(1234).randbytes(300)


@pytest.fixture(scope="session")
def binary_mix() -> bytes:
    """Compressible but not text: every byte value, NULs and a repeated block."""
    return bytes(range(256)) + b"\x00" * 300 + bytes(range(255, -1, -1)) * 2 + b"\xff\xfe" * 50


# ----------------------------------------------------------------------------- codecs

@pytest.fixture(scope="session")
def codec1():
    with lmzip.Codec(level=1) as codec:
        yield codec


@pytest.fixture(scope="session")
def codec4():
    """Level 4 (LLM, 512-token context) through a pool of two worker processes.

    Not ``threads=1``: in-process coding runs llama.cpp with one thread per core, and
    on a 2-core machine shared with other work that is 10-50x slower per token (the
    threads spin-wait for each other); each pool worker runs a single llama.cpp thread.
    ``threads`` never changes the output (``test_output_independent_of_threads``).
    """
    with lmzip.Codec(level=4, threads=2) as codec:
        yield codec


@pytest.fixture(scope="session")
def codec4_inproc():
    """Level 4 coded in this process (``threads=1``): keep its LLM work to a few tokens."""
    with lmzip.Codec(level=4, threads=1) as codec:
        yield codec


@pytest.fixture(scope="session")
def llm_archive(codec4) -> SimpleNamespace:
    """One tiny LLM-coded archive, made once: ``data``, ``blob`` and ``stats``."""
    import io

    out = io.BytesIO()
    stats = codec4.compress_stream(io.BytesIO(LLM_TEXT), out)
    blob = out.getvalue()
    assert stats.llm_chunks == 1, "the plain-English sample should be coded by the LLM"
    return SimpleNamespace(data=LLM_TEXT, blob=blob, stats=stats)


OTHER_MODEL_SHA256 = "a5" * 32  # what ``mismatched_llm_blob`` claims


@pytest.fixture(scope="session")
def mismatched_llm_blob(llm_archive) -> bytes:
    """``llm_archive.blob`` claiming a model with another sha256 (``OTHER_MODEL_SHA256``)."""
    params, _ = read_params(llm_archive.blob)
    params["model"]["sha256"] = OTHER_MODEL_SHA256
    return with_params(llm_archive.blob, params)


# ----------------------------------------------------------------------------- CLI

@dataclass
class CliResult:
    returncode: int
    stdout: bytes
    stderr: str


@pytest.fixture(scope="session")
def run_cli():
    """``run_cli(*args, prog="lmzip", cwd=..., input=b"", env={...})`` runs the CLI.

    ``prog`` is an entry point on PATH (``lmzip``, ``unlmzip``, ``lmzcat``) or
    ``"-m"`` for ``python -m lmzip``. stdin is empty unless ``input`` is given.
    """

    def run(*args: str, prog: str = "lmzip", cwd: Path | None = None, input: bytes = b"",
            env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
        cmd = [sys.executable, "-m", "lmzip"] if prog == "-m" else [prog]
        full_env = {k: v for k, v in os.environ.items() if k != "LMZIP_DEBUG"}
        full_env.update(env or {})
        proc = subprocess.run(cmd + [str(a) for a in args], cwd=cwd, input=input,
                              capture_output=True, env=full_env, timeout=timeout)
        return CliResult(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))

    return run
