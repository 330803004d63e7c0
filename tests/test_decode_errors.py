"""Bits the decoder cannot follow fail as ``CorruptChunkError`` naming the chunk, never as
a traceback: the range coder turns constriction's failures into ``ValueError``,
``decode_chunk`` turns every data-dependent failure into ``CorruptChunkError``, and an
intact (crc-verified) LLM chunk of a llama.cpp archive that fails is reported as
``MachineDependentError`` (its likely cause: a CPU whose llama.cpp rounds differently).
"""

from __future__ import annotations

import io
import pickle
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import lmzip
from lmzip._chunks import decode_chunk, machine_dependent_numerics
from lmzip._lanes import varint as _varint
from lmzip.coder import TOTAL, RangeDecoder, RangeEncoder, quantize_logits
from lmzip.formats import CorruptChunkError, MachineDependentError, Method, ModelMismatchError, read_header, xxh64

MACHINE_MESSAGE = (
    "chunk 3: made with machine-dependent numerics (format v1, llama.cpp); "
    "decode it on a CPU like the one that made it"
)

# ----------------------------------------------------------------------------- the error


def test_machine_dependent_error_message_and_type():
    exc = MachineDependentError(3, "decoded data fails its checksum")
    assert isinstance(exc, CorruptChunkError) and isinstance(exc, lmzip.LmzipError)
    assert str(exc) == MACHINE_MESSAGE
    assert (exc.index, exc.detail) == (3, "decoded data fails its checksum")
    assert lmzip.MachineDependentError is MachineDependentError


def test_machine_dependent_error_survives_pickling():
    """It is raised in worker processes and must come back whole."""
    exc = pickle.loads(pickle.dumps(MachineDependentError(3, "why")))
    assert type(exc) is MachineDependentError
    assert (str(exc), exc.index, exc.detail) == (MACHINE_MESSAGE, 3, "why")
    located = pickle.loads(pickle.dumps(MachineDependentError(3, "why", offset=99)))
    assert str(located).startswith(MACHINE_MESSAGE) and located.offset == 99


# ----------------------------------------------------------------------------- the range coder


def _random_table(rng: np.random.Generator, n: int) -> np.ndarray:
    """Frequencies >= 1 summing to 2**24: flat, heavily skewed or one-hot."""
    kind = rng.integers(3)
    if kind == 0:
        w = rng.random(n)
    elif kind == 1:
        w = np.exp(rng.normal(0, 10, n))
    else:
        w = np.zeros(n)
        w[rng.integers(n)] = 1.0
    f = np.floor(w / w.sum() * (TOTAL - n)).astype(np.int64) + 1
    f[np.argmax(f)] += TOTAL - int(f.sum())
    return f


def _decode_all(data: bytes, tables: list[np.ndarray]) -> list[int]:
    dec = RangeDecoder(data)
    return [dec.decode(t) for t in tables]


def test_invalid_point_is_value_error():
    """All-ones words land where no symbol's range is: constriction asserts; we say ValueError."""
    for table in (_random_table(np.random.default_rng(0), 2), quantize_logits(np.zeros(1000))):
        with pytest.raises(ValueError, match="invalid"):
            _decode_all(b"\xff" * 16, [table] * 10)


def test_random_payloads_raise_only_value_error():
    rng = np.random.default_rng(1)
    failures = 0
    for _ in range(3000):
        data = rng.bytes(4 * int(rng.integers(0, 4)))
        n = int(rng.integers(2, 300))
        tables = [_random_table(rng, n) for _ in range(int(rng.integers(1, 40)))]
        try:
            symbols = _decode_all(data, tables)
        except ValueError:
            failures += 1
            continue
        assert all(0 <= s < n for s in symbols)
    assert failures  # the failure path was exercised (constriction asserted)


def test_bad_lengths_and_tables_are_value_errors():
    with pytest.raises(ValueError):
        RangeDecoder(b"\x00" * 5)
    with pytest.raises(ValueError):
        RangeDecoder(b"\x00" * 8).decode(np.full(4, TOTAL // 4 + 1, dtype=np.int64))


# ----------------------------------------------------------------------------- decode_chunk


class _Predictor:
    """A flat distribution over 8 tokens, whatever was seen."""

    def reset(self) -> None:
        pass

    def predict(self) -> np.ndarray:
        return np.zeros(8)

    def update(self, token: int) -> None:
        pass


class _Tokenizer:
    """Spells token t as one byte t, or raises ``error`` (a desynchronized stream's fault)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error

    def decode(self, tokens: list[int]) -> bytes:
        if self.error is not None:
            raise self.error
        return bytes(tokens)


def _runtime(error: BaseException | None = None) -> SimpleNamespace:
    return SimpleNamespace(predictor=lambda config: _Predictor(), tokenizer=_Tokenizer(error))


TOKENS = [1, 7, 3, 0, 5]
RAW = bytes(TOKENS)


def _llm_payload(tokens: list[int] = TOKENS) -> bytes:
    enc = RangeEncoder()
    for t in tokens:
        enc.encode(t, quantize_logits(np.zeros(8)))
    return _varint(len(tokens)) + enc.finish()


def _decode(payload: bytes, config, runtime, method: Method = Method.LLM, raw: bytes = RAW) -> bytes:
    return decode_chunk(3, method, payload, len(raw), xxh64(raw), config, runtime)


LLAMA, EXACT = SimpleNamespace(backend="llama.cpp"), SimpleNamespace(backend="exact")


def test_backend_check():
    assert machine_dependent_numerics(LLAMA)
    assert machine_dependent_numerics(SimpleNamespace())  # v1 configs have no backend field
    assert not machine_dependent_numerics(EXACT)


def test_fake_runtime_round_trips():
    assert _decode(_llm_payload(), LLAMA, _runtime()) == RAW


@pytest.mark.parametrize("error", [IndexError("list index out of range"), KeyError(49152), OverflowError("big"),
                                   AssertionError("invalid"), ZeroDivisionError("x"), ValueError("bad escape"),
                                   RuntimeError("llama_decode failed"), TypeError("None")])
def test_every_decoding_failure_names_the_chunk(error):
    with pytest.raises(MachineDependentError) as info:  # llama.cpp, crc-verified payload
        _decode(_llm_payload(), LLAMA, _runtime(error))
    assert info.value.index == 3 and type(error).__name__ in info.value.detail
    with pytest.raises(CorruptChunkError) as info:  # exact numerics: really corrupt
        _decode(_llm_payload(), EXACT, _runtime(error))
    assert type(info.value) is CorruptChunkError and info.value.index == 3
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), MemoryError(), ModelMismatchError("m", "00" * 32, None)])
def test_interrupts_and_our_own_errors_pass_through(error):
    with pytest.raises(type(error)):
        _decode(_llm_payload(), LLAMA, _runtime(error))


def test_checksum_failure_of_an_llm_chunk():
    wrong = _llm_payload([1, 7, 3, 0, 6])
    with pytest.raises(MachineDependentError) as info:
        _decode(wrong, LLAMA, _runtime())
    assert info.value.detail == "decoded data fails its checksum"
    with pytest.raises(CorruptChunkError) as info:
        _decode(wrong, EXACT, _runtime())
    assert type(info.value) is CorruptChunkError


def test_structure_and_xz_failures_are_plainly_corrupt():
    """Only the numerics can differ between machines: other failures are corruption."""
    cases = [
        (b"\xff" * 11, Method.LLM),  # varint that never ends
        (_varint(99) + _llm_payload()[1:], Method.LLM),  # more tokens than the chunk can hold
        (b"\x00garbage", Method.XZ),
    ]
    for payload, method in cases:
        with pytest.raises(CorruptChunkError) as info:
            _decode(payload, LLAMA, _runtime(), method)
        assert type(info.value) is CorruptChunkError and info.value.index == 3


def test_random_llm_payloads_only_corrupt_chunk_errors():
    rng = random.Random(5)
    for _ in range(300):
        payload = _varint(rng.randrange(len(TOKENS) * 2 + 1)) + rng.randbytes(4 * rng.randrange(4))
        try:
            _decode(payload, LLAMA, _runtime())
        except MachineDependentError:
            pass


# ----------------------------------------------------------------------------- real archives

# About 30 tokens: every token the decoder reads costs a model evaluation, so the damaged
# streams below also cap the token count (a wrong count is itself a failure to report).
TEXT = b"The river ran slowly past the old mill, and the miller's daughter sat on the bank counting boats.\n"
FEW_TOKENS = 12


@pytest.fixture(scope="module")
def small_llm_archive(codec4) -> SimpleNamespace:
    """A small text, LLM-coded at level 4 by the current code."""
    blob = codec4.compress(TEXT)
    params, _ = read_header(io.BytesIO(blob))
    return SimpleNamespace(blob=blob, llama=params.get("backend", {}).get("name") == "llama.cpp")


def _desynchronized(blob: bytes, layout, how: str) -> bytes:
    """``blob`` with its LLM bitstream damaged (``how``), crcs fixed so the container accepts it."""
    (rec,) = layout.chunk_records(blob)
    assert rec.method == layout.LLM
    out = bytearray(blob)
    words = rec.payload_start + 1  # after the token count, a one-byte varint here
    assert out[rec.payload_start] < 0x80
    if how == "flip":  # the stream goes astray after its first word; all tokens decoded
        out[words + 5] ^= 0x40
        return layout.fix_chunk_crcs(out, rec)
    if how == "ones":  # a point no symbol owns: the range coder fails on the first token
        out[words:rec.payload_end] = b"\xff" * (rec.payload_end - words)
    elif how == "random":
        out[words:rec.payload_end] = random.Random(3).randbytes(rec.payload_end - words)
    out[rec.payload_start] = min(out[rec.payload_start], FEW_TOKENS)
    return layout.fix_chunk_crcs(out, rec)


def _expect(small_llm_archive):
    return MachineDependentError if small_llm_archive.llama else CorruptChunkError


@pytest.mark.parametrize("how", ["flip", "ones", "random"])
def test_desynchronized_llm_payload(codec4, small_llm_archive, layout, how):
    bad = _desynchronized(small_llm_archive.blob, layout, how)
    with pytest.raises(CorruptChunkError) as info:  # any other type fails the test
        codec4.decompress(bad)
    assert isinstance(info.value, _expect(small_llm_archive)) and info.value.index == 0
    if not small_llm_archive.llama:
        assert not isinstance(info.value, MachineDependentError)


def test_desynchronized_payload_through_lmzip_decompress(small_llm_archive, layout):
    """The module-level function (its own codec and worker) gives the same error."""
    bad = _desynchronized(small_llm_archive.blob, layout, "ones")
    with pytest.raises(_expect(small_llm_archive)) as info:
        lmzip.decompress(bad, threads=2)
    assert info.value.index == 0


def test_desynchronized_payload_cli_one_line(run_cli, tmp_path, small_llm_archive, layout):
    (tmp_path / "s.txt.lmz").write_bytes(_desynchronized(small_llm_archive.blob, layout, "ones"))
    r = run_cli("-d", "-T", "2", "s.txt.lmz", cwd=tmp_path)
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert line.startswith("lmzip: s.txt.lmz: chunk 0")
    if small_llm_archive.llama:
        assert "machine-dependent numerics" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.txt.lmz"]  # no partial output


def test_desynchronized_v1_llama_archive(codec4, layout):
    """A damaged (crc-fixed) v1 llama.cpp chunk reads as machine-dependent on every CPU.

    Copied from a golden archive (never modified in place): the current encoder no longer
    makes llama.cpp archives.
    """
    blob = (Path(__file__).parent / "golden" / "sample-l4.lmz").read_bytes()
    assert read_header(io.BytesIO(blob))[0]["backend"]["name"] == "llama.cpp"
    with pytest.raises(MachineDependentError) as info:
        codec4.decompress(_desynchronized(blob, layout, "ones"))
    assert info.value.index == 0
