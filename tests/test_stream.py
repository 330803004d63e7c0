"""Incremental ``Compressor``/``Decompressor``, checked against ``lzma``'s semantics."""

from __future__ import annotations

import pytest

import lmzip
from lmzip import Compressor, CorruptChunkError, CorruptError, Decompressor, ModelMismatchError, NotLmzipError


@pytest.fixture(scope="module")
def codec1_small():
    """Level 1 with 100-byte chunks: multi-chunk archives from a few hundred bytes."""
    with lmzip.Codec(level=1, chunk_size=100) as codec:
        yield codec


@pytest.fixture(scope="module")
def multi(codec1_small, text_2k):
    data = text_2k[:450]
    return data, codec1_small.compress(data)


def _feed(compressor: Compressor, data: bytes, sizes: list[int]) -> bytes:
    out = bytearray()
    pos = 0
    i = 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        out += compressor.compress(data[pos:pos + n])
        pos += n
        i += 1
    return bytes(out + compressor.flush())


# ----------------------------------------------------------------------------- Compressor


@pytest.mark.parametrize("sizes", [[1], [7, 93, 250], [100], [450]])
def test_compressor_matches_one_shot(codec1_small, multi, sizes):
    data, blob = multi
    assert _feed(Compressor(codec=codec1_small), data, sizes) == blob


def test_compressor_emits_whole_chunks_only(codec1_small, layout):
    comp = Compressor(codec=codec1_small)
    head = comp.compress(b"a" * 50)
    assert head.startswith(layout.MAGIC)
    assert len(head) == layout.header_size(head)  # only the header: no chunk is complete
    assert comp.compress(b"b" * 49) == b""
    record = comp.compress(b"c")  # the 100th byte completes chunk 0
    assert record[0] & 0xC0 == 0  # a whole chunk's record (not short, not END)
    tail = comp.flush()
    assert tail[:1] == b"\x80"  # the END record: no chunk left
    assert lmzip.decompress(head + record + tail) == b"a" * 50 + b"b" * 49 + b"c"


def test_compressor_empty(codec1_small):
    comp = Compressor(codec=codec1_small)
    blob = comp.flush()
    assert blob == codec1_small.compress(b"")
    assert lmzip.decompress(blob) == b""


def test_compressor_misuse(codec1_small):
    comp = Compressor(codec=codec1_small)
    comp.compress(b"data")
    comp.flush()
    with pytest.raises(ValueError):
        comp.flush()
    with pytest.raises(ValueError):
        comp.compress(b"more")


def test_compressor_level_argument():
    comp = Compressor(level=2)
    blob = comp.compress(b"level two " * 5) + comp.flush()
    from lmzip.formats.container import read_header
    import io

    assert read_header(io.BytesIO(blob))[0]["level"] == 2
    assert lmzip.decompress(blob) == b"level two " * 5
    with pytest.raises(ValueError):
        Compressor(level=11)


def test_compressor_llm_matches_codec(codec4, llm_archive):
    comp = Compressor(codec=codec4)
    data = llm_archive.data
    out = comp.compress(data[:10]) + comp.compress(memoryview(data[10:])) + comp.flush()
    assert out == llm_archive.blob


# ----------------------------------------------------------------------------- Decompressor


def test_decompressor_byte_by_byte(codec1_small, multi):
    data, blob = multi
    trailing = b"NEXT-DATA"
    dec = Decompressor(codec=codec1_small)
    out = bytearray()
    for i in range(len(blob)):
        assert not dec.eof
        out += dec.decompress(blob[i:i + 1])
    assert dec.eof
    assert out == data
    assert dec.unused_data == b""
    assert dec.needs_input is False
    with pytest.raises(EOFError):
        dec.decompress(trailing)


def test_decompressor_unused_data(codec1_small, multi):
    data, blob = multi
    dec = Decompressor(codec=codec1_small)
    assert dec.decompress(blob + b"NEXT-DATA") == data
    assert dec.eof
    assert dec.unused_data == b"NEXT-DATA"
    # a second archive after the first is unused data too (the caller starts a new object)
    dec = Decompressor(codec=codec1_small)
    assert dec.decompress(blob + blob) == data
    assert dec.unused_data == blob


def test_decompressor_max_length(codec1_small, multi):
    data, blob = multi
    dec = Decompressor(codec=codec1_small)
    first = dec.decompress(blob, max_length=10)
    assert first == data[:10]
    assert dec.needs_input is False  # output is pending: call again with no new input
    assert not dec.eof
    out = bytearray(first)
    while not dec.eof:
        piece = dec.decompress(b"", max_length=64)
        assert len(piece) <= 64
        if not piece and dec.needs_input:
            pytest.fail("decompressor asked for input although the whole archive was given")
        out += piece
    assert out == data
    assert dec.needs_input is False


def test_decompressor_max_length_zero(codec1_small, multi):
    data, blob = multi
    dec = Decompressor(codec=codec1_small)
    assert dec.decompress(blob, max_length=0) == b""
    assert dec.needs_input is False  # input is buffered and ready
    assert dec.decompress(b"") == data


def test_decompressor_needs_input_on_partial(codec1_small, multi, layout):
    data, blob = multi
    dec = Decompressor(codec=codec1_small)
    records = layout.chunk_records(blob)
    cut = records[2].payload_start + 3  # inside chunk 2
    out = dec.decompress(blob[:cut])
    assert out == data[:200]  # chunks 0 and 1, verified
    assert dec.needs_input is True
    assert not dec.eof
    assert dec.decompress(b"") == b""
    assert dec.decompress(blob[cut:]) == data[200:]
    assert dec.eof


def test_decompressor_empty_then_data(codec1_small, multi):
    data, blob = multi
    dec = Decompressor(codec=codec1_small)
    assert dec.decompress(b"") == b""
    assert dec.needs_input is True
    assert dec.decompress(blob[:5]) == b""  # inside the magic
    assert dec.decompress(blob[5:]) == data


def test_decompressor_default_codec(multi):
    data, blob = multi
    dec = Decompressor()
    assert dec.decompress(blob) == data


def test_decompressor_rejects_garbage():
    dec = Decompressor()
    with pytest.raises(NotLmzipError):
        dec.decompress(b"this is not an lmzip archive at all")


def test_decompressor_corrupt_chunk(codec1_small, multi, layout):
    data, blob = multi
    rec = layout.chunk_records(blob)[3]
    dec = Decompressor(codec=codec1_small)
    out = dec.decompress(blob[:rec.start])
    assert out == data[:300]  # earlier chunks are verified and returned
    with pytest.raises(CorruptChunkError) as info:
        dec.decompress(layout.flip(blob, rec.payload_start + 1)[rec.start:])
    assert info.value.index == 3


def test_decompressor_whole_file_checksum(codec1_small, multi, layout):
    data, blob = multi
    bad = layout.flip(blob, layout.end_offset(blob) + 2)  # the END record's output check
    with pytest.raises(CorruptError):
        Decompressor(codec=codec1_small).decompress(bad)


def test_decompressor_llm(codec4, llm_archive):
    dec = Decompressor(codec=codec4)
    blob = llm_archive.blob
    out = dec.decompress(blob[:-4]) + dec.decompress(blob[-4:])
    assert out == llm_archive.data
    assert dec.eof


def test_decompressor_model_mismatch(codec4_inproc, mismatched_llm_blob, layout):
    dec = Decompressor(codec=codec4_inproc)
    with pytest.raises(ModelMismatchError) as info:
        dec.decompress(mismatched_llm_blob)
    assert layout.MODEL_NAME in str(info.value)


def test_decompressor_model_mismatch_with_worker_pool(mismatched_llm_blob):
    with lmzip.Codec(level=4, threads=2) as fresh:  # never break the shared codec4 pool
        with pytest.raises(ModelMismatchError):
            Decompressor(codec=fresh).decompress(mismatched_llm_blob)
