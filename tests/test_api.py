"""One-shot API and ``Codec``: round trips, levels, determinism, and every error class."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
import xxhash

import lmzip
from lmzip import (
    CorruptChunkError,
    CorruptError,
    FormatError,
    LmzipError,
    ModelError,
    ModelMismatchError,
    NotLmzipError,
    TrailingDataError,
    TruncatedError,
    UnsupportedVersionError,
)
from lmzip.formats.container import read_header

# ----------------------------------------------------------------------------- surface


def test_exception_hierarchy():
    for exc in (FormatError, ModelError):
        assert issubclass(exc, LmzipError)
    for exc in (NotLmzipError, UnsupportedVersionError, TruncatedError, CorruptError, TrailingDataError):
        assert issubclass(exc, FormatError)
    assert issubclass(CorruptChunkError, CorruptError)
    assert issubclass(ModelMismatchError, ModelError)
    assert not issubclass(ModelError, FormatError)
    assert set(lmzip.__all__) <= set(dir(lmzip))


def test_levels():
    assert sorted(lmzip.LEVELS) == list(range(1, 10))
    assert lmzip.DEFAULT_LEVEL in lmzip.LEVELS


@pytest.mark.parametrize("level", [0, 10, -1])
def test_invalid_level_raises_value_error(level):
    with pytest.raises(ValueError):
        lmzip.compress(b"abc", level=level)
    with pytest.raises(ValueError):
        lmzip.Codec(level=level)


@pytest.mark.parametrize("kwargs", [{"chunk_size": 0}, {"chunk_size": -5}, {"context": 32}, {"context": 100_000}])
def test_invalid_codec_parameters(kwargs):
    with pytest.raises(ValueError):
        lmzip.Codec(level=4, **kwargs)


def test_compress_rejects_text():
    with pytest.raises(TypeError):
        lmzip.compress("not bytes", level=1)


# ----------------------------------------------------------------------------- xz levels


@pytest.mark.parametrize("level", [1, 2, 3])
def test_roundtrip_xz_levels(level, samples, binary_mix, text_2k):
    for data in [b"", b"x", binary_mix, text_2k, *samples.values()]:
        blob = lmzip.compress(data, level=level)
        assert blob.startswith(b"\x89LMZ\x02")  # format 2
        from lmzip.formats.recipes import RECIPES

        # today's levels are recipes: one byte of parameters
        assert blob[5] != 0 and json.loads(RECIPES[blob[5]])["level"] == level
        assert lmzip.decompress(blob) == data
    # levels 1-3 name no model
    assert "model" not in read_header(io.BytesIO(blob))[0]


def test_xz_level_compresses_redundant_data(codec1, text_2k):
    data = text_2k * 5
    blob = codec1.compress(data)
    assert len(blob) < len(data) // 5


def test_accepts_bytes_like(codec1):
    data = b"bytes-like input " * 10
    expected = codec1.compress(data)
    assert codec1.compress(bytearray(data)) == expected
    assert codec1.compress(memoryview(data)) == expected
    assert codec1.decompress(bytearray(expected)) == data


def test_compression_is_deterministic(codec1, binary_mix):
    assert codec1.compress(binary_mix) == codec1.compress(binary_mix) == lmzip.compress(binary_mix, level=1)


@pytest.mark.parametrize("size, n_chunks", [(0, 0), (99, 1), (100, 1), (101, 2), (1000, 10), (1001, 11)])
def test_chunking(size, n_chunks, text_2k, layout):
    data = (text_2k * 2)[:size]
    with lmzip.Codec(level=1, chunk_size=100) as codec:
        out = io.BytesIO()
        stats = codec.compress_stream(io.BytesIO(data), out)
        blob = out.getvalue()
        assert stats.chunks == n_chunks
        assert stats.llm_chunks == 0
        assert stats.original_size == size
        assert stats.compressed_size == len(blob)
        records = layout.chunk_records(blob)
        assert [r.raw_size for r in records] == [100] * (size // 100) + ([size % 100] if size % 100 else [])
        assert codec.decompress(blob) == data


def test_stats_and_bits_per_byte(codec1, text_2k):
    out = io.BytesIO()
    stats = codec1.compress_stream(io.BytesIO(text_2k), out)
    assert (stats.original_size, stats.compressed_size, stats.chunks) == (len(text_2k), len(out.getvalue()), 1)
    assert stats.bits_per_byte == pytest.approx(8 * len(out.getvalue()) / len(text_2k))
    assert lmzip.Stats().bits_per_byte == 0.0

    back = io.BytesIO()
    dstats = codec1.decompress_stream(io.BytesIO(out.getvalue() * 2), back)
    assert back.getvalue() == text_2k * 2
    assert dstats.original_size == 2 * len(text_2k)
    assert dstats.compressed_size == 2 * len(out.getvalue())
    assert dstats.chunks == 2


def test_compress_stream_reads_short_reads(codec1, text_2k):
    """A pipe-like source that returns a few bytes per read must still chunk exactly."""

    class Trickle(io.RawIOBase):
        def __init__(self, data):
            self.data = data

        def readable(self):
            return True

        def read(self, n=-1):
            k = 7 if n is None or n < 0 else min(7, n)
            piece, self.data = self.data[:k], self.data[k:]
            return piece

    with lmzip.Codec(level=1, chunk_size=100) as codec:
        out = io.BytesIO()
        stats = codec.compress_stream(Trickle(text_2k[:450]), out)
        assert stats.chunks == 5
        assert out.getvalue() == codec.compress(text_2k[:450])


# ----------------------------------------------------------------------------- progress


def test_progress_xz_compress_counts_every_byte(codec1, text_2k):
    with lmzip.Codec(level=1, chunk_size=300) as codec:
        calls: list[int] = []
        codec.compress(text_2k, progress=calls.append)
        assert sum(calls) == len(text_2k)
        assert len(calls) == 7


def test_progress_xz_decompress_counts_every_byte(codec1, text_2k):
    blob = codec1.compress(text_2k)
    calls: list[int] = []
    assert codec1.decompress(blob, progress=calls.append) == text_2k
    assert sum(calls) == len(text_2k)


def test_progress_llm_compress_counts_every_byte(codec4, llm_archive):
    calls: list[int] = []
    codec4.compress(llm_archive.data, progress=calls.append)
    assert sum(calls) == len(llm_archive.data)


# ----------------------------------------------------------------------------- LLM levels


def test_llm_roundtrip_tokenizer_edge_cases(codec4, samples, sample_name):
    data = samples[sample_name]
    out = io.BytesIO()
    stats = codec4.compress_stream(io.BytesIO(data), out)
    blob = out.getvalue()
    # Every sample is text-like enough that the LLM beats xz/stored: the test must
    # exercise the lossless tokenizer and the range coder, not a fallback.
    assert stats.llm_chunks == 1, f"{sample_name} was not LLM-coded"
    assert "model" in read_header(io.BytesIO(blob))[0]  # an LLM archive names its model
    assert codec4.decompress(blob) == data


def test_llm_beats_xz_on_text(codec1, llm_archive, layout):
    (rec,) = layout.chunk_records(llm_archive.blob)
    assert rec.method == layout.LLM
    xz_blob = codec1.compress(llm_archive.data)
    (xz_rec,) = layout.chunk_records(xz_blob)
    assert rec.payload_end - rec.payload_start < xz_rec.payload_end - xz_rec.payload_start


def test_llm_header_records_model(llm_archive, layout):
    params, size = read_header(io.BytesIO(llm_archive.blob))
    assert size == layout.header_size(llm_archive.blob) == 6  # level 4 is a recipe: model included
    assert params == layout.read_params(llm_archive.blob)[0]
    assert params["level"] == 4
    assert params["model"]["name"] == layout.MODEL_NAME
    assert len(params["model"]["sha256"]) == 64
    assert params["backend"]["n_ctx"] == 512
    assert params["chunk_size"] == 512 << 10  # one lane group of up to 32 lanes of >= 16 KiB
    assert params["lanes"] == {"max": 32, "min_bytes": 16384, "shared": False, "cut": "tokens"}


def test_llm_archive_decodes_with_any_level(llm_archive):
    """The decoder is configured by the header alone, not by the codec's level."""
    assert lmzip.decompress(llm_archive.blob, threads=2) == llm_archive.data


def test_llm_compress_is_repeatable(codec4, llm_archive):
    """The model session is reset between calls: the same input gives the same archive,
    from the same codec and from a fresh one."""
    assert codec4.compress(llm_archive.data) == llm_archive.blob
    assert lmzip.compress(llm_archive.data, level=4, threads=2) == llm_archive.blob


def test_llm_empty_input(codec4):
    blob = codec4.compress(b"")
    assert codec4.decompress(blob) == b""


def test_llm_level_skips_the_model_for_noise(codec4, noise, layout):
    out = io.BytesIO()
    stats = codec4.compress_stream(io.BytesIO(noise), out)
    assert stats.llm_chunks == 0
    assert [r.method for r in layout.chunk_records(out.getvalue())] == [layout.STORED]
    assert codec4.decompress(out.getvalue()) == noise


def test_output_independent_of_threads(layout):
    """threads=1 (in-process) and threads=2 (worker pool) must write identical archives."""
    # Tiny chunks keep the in-process side to ~9 tokens: it runs llama.cpp with one thread
    # per core, which on a busy 2-core machine costs seconds per token.
    data = b"Alice was beginning to get ver"
    with lmzip.Codec(level=4, threads=1, chunk_size=10) as one, \
            lmzip.Codec(level=4, threads=2, chunk_size=10) as two:
        out = io.BytesIO()
        stats = one.compress_stream(io.BytesIO(data), out)
        blob1 = out.getvalue()
        assert stats.chunks == 3
        assert stats.llm_chunks == 3
        assert [r.raw_size for r in layout.chunk_records(blob1)] == [10, 10, 10]
        assert two.compress(data) == blob1
        assert two.decompress(blob1) == data


# ----------------------------------------------------------------------------- concatenation


def test_concatenated_archives(codec1, llm_archive, binary_mix):
    first = codec1.compress(binary_mix)
    empty = codec1.compress(b"")
    blob = first + empty + llm_archive.blob + first
    expected = binary_mix + llm_archive.data + binary_mix
    assert lmzip.decompress(blob, threads=2) == expected
    assert lmzip.decompress(first + empty + first) == binary_mix * 2


@pytest.mark.parametrize("garbage", [b"\x00", b"abc", b"GARBAGE-GARBAGE", b"\x89LMZ"])
def test_trailing_garbage(codec1, garbage):
    data = b"some data before the garbage " * 3
    blob = codec1.compress(data) + garbage
    with pytest.raises(TrailingDataError) as info:
        lmzip.decompress(blob)
    assert info.value.n_bytes == len(garbage)
    # The stream API refuses it too, after writing the verified data before it.
    out = io.BytesIO()
    with pytest.raises(TrailingDataError) as info:
        codec1.decompress_stream(io.BytesIO(blob), out)
    assert info.value.n_bytes == len(garbage)
    assert out.getvalue() == data


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("blob", [b"hello world, not an archive", b"PK\x03\x04" + bytes(100), b"abc",
                                  b"\x89PNG\r\n\x1a\n" + bytes(100)])
def test_not_lmzip(blob):
    with pytest.raises(NotLmzipError):
        lmzip.decompress(blob)


def test_empty_input_is_truncated():
    with pytest.raises(TruncatedError):
        lmzip.decompress(b"")


def test_every_truncation_is_detected(layout, text_2k):
    with lmzip.Codec(level=1, chunk_size=500) as codec:
        blob = codec.compress(text_2k[:1200])
        assert len(layout.chunk_records(blob)) == 3
        for n in range(len(blob)):
            with pytest.raises(TruncatedError):
                codec.decompress(blob[:n])


def test_corrupt_chunk_payload_names_the_chunk(layout, text_2k):
    with lmzip.Codec(level=1, chunk_size=500) as codec:
        blob = codec.compress(text_2k[:1200])
        records = layout.chunk_records(blob)
        for i, rec in enumerate(records):
            for offset in (rec.payload_start, rec.payload_end - 1, rec.start + 3):  # payload, record header
                with pytest.raises(CorruptChunkError) as info:
                    codec.decompress(layout.flip(blob, offset))
                assert info.value.index == i
                assert f"chunk {i}" in str(info.value)


def test_corrupt_xz_payload_with_valid_crc(codec1, layout, text_2k):
    """A payload that passes its crc but does not decode to the recorded bytes."""
    blob = codec1.compress(text_2k)
    (rec,) = layout.chunk_records(blob)
    assert rec.method in (layout.XZ, 3)  # xz or the CM engine (method 3)
    bad = layout.fix_chunk_crcs(layout.flip(blob, rec.payload_start + 40, 0x10), rec)
    with pytest.raises(CorruptChunkError) as info:
        codec1.decompress(bad)
    assert info.value.index == 0


def test_corrupt_llm_payload_with_valid_crc(codec4_inproc, llm_archive, layout):
    """The LLM decodes a damaged bitstream; the chunk checksum must catch it."""
    blob = llm_archive.blob
    (rec,) = layout.chunk_records(blob)
    bad = bytearray(blob)
    assert bad[rec.payload_start] < 0x80  # one-byte varint token count
    bad[rec.payload_start] = 2  # decode only 2 tokens (in-process decoding is slow)...
    bad[rec.payload_start + 2] ^= 0xFF  # ...from a damaged bitstream
    with pytest.raises(CorruptChunkError) as info:
        codec4_inproc.decompress(layout.fix_chunk_crcs(bad, rec))
    assert info.value.index == 0


def _corrupt_pool_archive(codec4, binary_mix, layout) -> bytes:
    """A level-4 archive (decoded by the pool) whose xz chunk is damaged, checks fixed: the
    LZMA2 stream is zeroed (an end marker), so the decoder finds the chunk short."""
    blob = codec4.compress(binary_mix)
    (rec,) = layout.chunk_records(blob)
    assert rec.method in (layout.XZ, 3)  # binary: the LLM is skipped; xz or the CM engine (3) beats storing it
    bad = bytearray(blob)
    bad[rec.payload_start:rec.payload_end] = bytes(rec.payload_end - rec.payload_start)
    return layout.fix_chunk_crcs(bad, rec)


def test_corrupt_chunk_in_process(codec4_inproc, codec4, binary_mix, layout):
    with pytest.raises(CorruptChunkError) as info:
        codec4_inproc.decompress(_corrupt_pool_archive(codec4, binary_mix, layout))
    assert info.value.index == 0


def test_corrupt_chunk_in_worker_pool(codec4, binary_mix, layout):
    bad = _corrupt_pool_archive(codec4, binary_mix, layout)
    with lmzip.Codec(level=4, threads=2) as fresh:  # never break the shared codec4 pool
        with pytest.raises(CorruptChunkError) as info:
            fresh.decompress(bad)
        assert info.value.index == 0
        assert fresh.decompress(codec4.compress(binary_mix)) == binary_mix  # the codec is still usable


def test_corrupt_end_record(codec1, layout, text_2k):
    blob = codec1.compress(text_2k)
    end = layout.end_offset(blob)
    assert end == len(blob) - 5
    for offset in range(end, len(blob)):  # the tag and the output's check
        with pytest.raises(CorruptError):
            codec1.decompress(layout.flip(blob, offset))


def test_whole_file_checksum(codec1, layout, text_2k):
    blob = codec1.compress(text_2k)
    end = layout.end_offset(blob)
    assert struct.unpack_from("<I", blob, end + 1)[0] == xxhash.xxh64_intdigest(text_2k) & 0xFFFFFFFF
    with pytest.raises(CorruptError) as info:
        codec1.decompress(layout.flip(blob, end + 1))
    assert not isinstance(info.value, CorruptChunkError)


def test_header_checksum(codec1, layout):
    """The header is covered by chunk 0's check (or, with no chunk, by END's)."""
    for data in (b"header checksum test", b""):
        with lmzip.Codec(level=1, chunk_size=1000) as codec:  # explicit parameters
            blob = codec.compress(data)
        assert blob[5] == 0
        for offset in range(5, layout.header_size(blob)):
            with pytest.raises(FormatError):
                codec1.decompress(layout.flip(blob, offset))
        # Another known recipe with the same chunk size still fails the check.
        level1 = codec1.compress(data)
        with pytest.raises(CorruptError):
            codec1.decompress(level1[:5] + b"\x02" + level1[6:])


def _v1_golden_with_header_byte(offset: int, value: int) -> bytes:
    """The v1 xz golden with one header byte changed (v1 header crc fixed)."""
    blob = bytearray((Path(__file__).parent / "golden" / "sample-l1.lmz").read_bytes())
    blob[offset] = value
    (params_len,) = struct.unpack_from("<I", blob, 76)
    struct.pack_into("<I", blob, 80 + params_len, zlib.crc32(bytes(blob[:80 + params_len])))
    return bytes(blob)


def test_unsupported_major_version(codec1, layout):
    blob = codec1.compress(b"version test")
    bumped = blob[:4] + b"\x03" + blob[5:]
    with pytest.raises(UnsupportedVersionError) as info:
        codec1.decompress(bumped)
    assert "version 3" in str(info.value)
    # a format-1 archive claiming major 2 is refused too, never as "not an archive"
    with pytest.raises(UnsupportedVersionError) as info:
        codec1.decompress(_v1_golden_with_header_byte(8, 2))
    assert "2." in str(info.value)


def test_newer_minor_version_is_read(codec1):
    """Format 1: a 1.x reader reads any 1.y archive."""
    golden = Path(__file__).parent / "golden"
    data = (golden / "sample.bin").read_bytes()
    assert codec1.decompress(_v1_golden_with_header_byte(9, 7)) == data


def test_unknown_header_flag(codec1):
    with pytest.raises(UnsupportedVersionError):
        codec1.decompress(_v1_golden_with_header_byte(10, 0x05))


def test_unknown_chunk_method(codec1, layout):
    blob = codec1.compress(b"method test " * 20)
    (rec,) = layout.chunk_records(blob)
    bad = bytearray(blob)
    bad[rec.start] = (bad[rec.start] & 0x40) | 9
    with pytest.raises(UnsupportedVersionError):
        codec1.decompress(layout.fix_chunk_crcs(bad, rec))


def test_unknown_coder_in_params(codec1):
    from lmzip.formats import container

    blob = codec1.compress(b"coder test")
    params, size = container.read_header(io.BytesIO(blob))
    params["coder"]["precision"] = 16
    with pytest.raises(UnsupportedVersionError):
        codec1.decompress(container.encode_header(params) + blob[size:])


def test_params_are_raw_deflate_json(codec1, layout):
    """SPEC: explicit params are raw DEFLATE of canonical JSON with a recipe's text as the
    preset dictionary; a recipe id stands for its text exactly."""
    from lmzip.formats.recipes import RECIPES

    with lmzip.Codec(level=1, chunk_size=12345) as codec:
        blob = codec.compress(b"params")
    assert blob[5] == 0 and blob[6] in RECIPES and blob[7] < 0x80
    inflater = zlib.decompressobj(-15, RECIPES[blob[6]].encode())
    text = inflater.decompress(blob[8:8 + blob[7]])
    assert inflater.eof and not inflater.unused_data
    params = json.loads(text)
    assert text == json.dumps(params, sort_keys=True, separators=(",", ":")).encode()
    assert params["level"] == 1 and params["chunk_size"] == 12345
    assert "model" not in params
    assert read_header(io.BytesIO(blob))[0] == params
    recipe = codec1.compress(b"params")
    assert read_header(io.BytesIO(recipe))[0] == json.loads(RECIPES[recipe[5]])


# ----------------------------------------------------------------------------- model identity


def test_model_mismatch(codec4, llm_archive, mismatched_llm_blob, layout):
    with pytest.raises(ModelMismatchError) as info:
        codec4.decompress(mismatched_llm_blob)
    assert layout.MODEL_NAME in str(info.value)
    assert info.value.needed_sha256 == layout.OTHER_MODEL_SHA256
    assert info.value.needed_name == layout.MODEL_NAME
    assert isinstance(info.value, LmzipError)
    # it is found before any chunk is decoded, and leaves the codec usable
    assert codec4.decompress(llm_archive.blob) == llm_archive.data


def test_tokenizer_mismatch(codec4_inproc, llm_archive, layout):
    """Same model file, different tokenizer identity: refused before decoding."""
    params, _ = layout.read_params(llm_archive.blob)
    params["tokenizer"]["sha256"] = "5a" * 32
    with pytest.raises(ModelMismatchError) as info:
        codec4_inproc.decompress(layout.with_params(llm_archive.blob, params))
    assert layout.MODEL_NAME in str(info.value)
