"""Shared fixtures for the API, stream, file and CLI tests.

The language model codes ~100 tokens/s on a small machine, so every LLM input here is
tiny and the loaded models are shared per session. Levels 1-3 never touch the model
and are used wherever the behaviour under test does not depend on the LLM.

The helpers that take archives apart (``header_size``, ``chunk_records``, ...) follow
``formats/SPEC.md`` independently of ``formats/container.py``, so they check the
documented layout rather than re-using the code under test.
"""

from __future__ import annotations

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

MAGIC = b"\x89LMZ\r\n\x1a\n"
END_MAGIC = b"LMZE"
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

_HEADER_FIXED = 80  # magic 8, major 1, minor 1, flags 2, two sha256 64, params_len 4
_CHUNK_HEAD = struct.Struct("<1sBIIQI")  # tag, method, raw_size, payload_size, raw_xxh64, payload_crc
_ENTRY_SIZE = 17


@dataclass
class ChunkRecord:
    start: int  # offset of the 'C' tag
    method: int
    raw_size: int
    payload_start: int
    payload_end: int


def header_size(blob: bytes) -> int:
    """Bytes in the header, its trailing crc32 included."""
    (params_len,) = struct.unpack_from("<I", blob, 76)
    return _HEADER_FIXED + params_len + 4


def fix_header_crc(blob: bytes | bytearray) -> bytes:
    """Recompute the header crc32 after the header was edited."""
    out = bytearray(blob)
    end = header_size(out) - 4
    out[end:end + 4] = struct.pack("<I", zlib.crc32(bytes(out[:end])))
    return bytes(out)


def chunk_records(blob: bytes) -> list[ChunkRecord]:
    """Chunk records of the first archive in ``blob``, in order."""
    pos = header_size(blob)
    records = []
    while blob[pos:pos + 1] == b"C":
        _, method, raw_size, payload_size, _, _ = _CHUNK_HEAD.unpack_from(blob, pos)
        payload_start = pos + _CHUNK_HEAD.size + 4
        records.append(ChunkRecord(pos, method, raw_size, payload_start, payload_start + payload_size))
        pos = payload_start + payload_size
    assert blob[pos:pos + 1] == b"I", "expected the index after the chunk records"
    return records


def fix_chunk_crcs(blob: bytes | bytearray, rec: ChunkRecord) -> bytes:
    """Recompute a chunk's payload crc and record crc after its payload was edited."""
    out = bytearray(blob)
    payload = bytes(out[rec.payload_start:rec.payload_end])
    struct.pack_into("<I", out, rec.start + 18, zlib.crc32(payload))
    head = bytes(out[rec.start:rec.start + _CHUNK_HEAD.size])
    struct.pack_into("<I", out, rec.start + _CHUNK_HEAD.size, zlib.crc32(head))
    return bytes(out)


def index_offset(blob: bytes) -> int:
    """Offset of the index of a single archive (read from its footer)."""
    assert blob[-4:] == END_MAGIC
    (offset,) = struct.unpack_from("<Q", blob, len(blob) - 12)
    return offset


def fix_index_crc(blob: bytes | bytearray) -> bytes:
    """Recompute the index crc32 of a single archive after the index was edited."""
    out = bytearray(blob)
    start = index_offset(bytes(out))
    (count,) = struct.unpack_from("<I", out, start + 1)
    end = start + 5 + count * _ENTRY_SIZE + 16
    struct.pack_into("<I", out, end, zlib.crc32(bytes(out[start:end])))
    return bytes(out)


def flip(blob: bytes, offset: int, mask: int = 0x01) -> bytes:
    out = bytearray(blob)
    out[offset] ^= mask
    return bytes(out)


@pytest.fixture(scope="session")
def layout() -> SimpleNamespace:
    """The archive-surgery helpers above, as a fixture (tests do not import conftest)."""
    return SimpleNamespace(
        MAGIC=MAGIC, END_MAGIC=END_MAGIC, MODEL_NAME=MODEL_NAME,
        STORED=METHOD_STORED, XZ=METHOD_XZ, LLM=METHOD_LLM,
        header_size=header_size, fix_header_crc=fix_header_crc, chunk_records=chunk_records,
        fix_chunk_crcs=fix_chunk_crcs, index_offset=index_offset, fix_index_crc=fix_index_crc,
        flip=flip, english=english,
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


@pytest.fixture(scope="session")
def mismatched_llm_blob(llm_archive) -> bytes:
    """``llm_archive.blob`` claiming a model with a different sha256 (header crc fixed)."""
    out = bytearray(llm_archive.blob)
    out[12:44] = bytes(b ^ 0xA5 for b in out[12:44])
    return fix_header_crc(out)


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
