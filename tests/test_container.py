"""formats.container: byte layout, validation and precise errors (no model needed)."""

import io
import struct
import zlib

import pytest

from lmzip.formats import container as fmt
from lmzip.formats.errors import (
    CorruptChunkError,
    CorruptError,
    NotLmzipError,
    TruncatedError,
    UnsupportedVersionError,
)

PARAMS = {
    "level": 6,
    "chunk_size": 4,
    "model": {"name": "m.gguf", "sha256": "ab" * 32, "n_vocab": 10, "bos": 1},
    "tokenizer": {"kind": "k", "sha256": "cd" * 32},
}


def build(chunks: list[tuple[fmt.Method, bytes, bytes]], params=PARAMS) -> bytes:
    out = fmt.encode_header(params)
    index = fmt.Index()
    for method, raw, payload in chunks:
        record, info = fmt.encode_chunk(method, raw, payload)
        index.chunks.append(info)
        index.original_size += len(raw)
        out += record
    index.whole_xxh64 = fmt.xxh64(b"".join(raw for _, raw, _ in chunks))
    return out + fmt.encode_trailer(index, len(out))


SAMPLE = [(fmt.Method.STORED, b"abcd", b"abcd"), (fmt.Method.XZ, b"efgh", b"<xz>"), (fmt.Method.LLM, b"ij", b"\x02tok")]


def parse(data: bytes):
    stream = io.BytesIO(data)
    params, size = fmt.read_header(stream)
    return params, list(fmt.iter_chunks(stream, size))


def test_round_trip_and_hashes_restored():
    params, items = parse(build(SAMPLE))
    assert params == PARAMS
    chunks, index = items[:-1], items[-1]
    assert [c.payload for c in chunks] == [b"abcd", b"<xz>", b"\x02tok"]
    assert [c.info.method for c in chunks] == [m for m, _, _ in SAMPLE]
    assert index.original_size == 10


def test_read_index_seeks_from_the_end():
    data = build(SAMPLE)
    params, index, size = fmt.read_index(io.BytesIO(data))
    assert size == len(data) and len(index.chunks) == 3 and index.original_size == 10


def test_golden_layout():
    """The v1 byte layout, pinned: any change here is a format change."""
    data = build([(fmt.Method.STORED, b"hi", b"hi")], {"level": 1, "chunk_size": 2})
    assert data[:8] == b"\x89LMZ\r\n\x1a\n"
    assert data[8:12] == b"\x01\x00\x01\x00"  # major 1, minor 0, flags: params deflated
    assert data[12:76] == bytes(64)  # no model, no tokenizer hash
    assert zlib.crc32(data) == GOLDEN_CRC and len(data) == GOLDEN_LEN


GOLDEN_LEN = 177
GOLDEN_CRC = 985933644


def test_not_lmzip():
    with pytest.raises(NotLmzipError):
        parse(b"PK\x03\x04 this is a zip file")


def test_every_truncation_is_reported():
    data = build(SAMPLE)
    for cut in range(0, len(data)):
        with pytest.raises((TruncatedError, CorruptError)) as info:
            parse(data[:cut])
        # Cutting can only ever look like truncation: every record is length-prefixed.
        assert isinstance(info.value, TruncatedError), (cut, info.value)


def test_every_single_byte_flip_is_detected():
    data = build(SAMPLE)
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x01
        with pytest.raises((CorruptError, NotLmzipError, TruncatedError, UnsupportedVersionError)):
            parse(bytes(bad))


def test_corrupt_payload_names_the_chunk():
    data = bytearray(build(SAMPLE))
    pos = data.index(b"<xz>")
    data[pos] ^= 0xFF
    with pytest.raises(CorruptChunkError) as info:
        parse(bytes(data))
    assert info.value.index == 1 and "chunk 1" in str(info.value)


def _with_header_byte(data: bytes, offset: int, value: int) -> bytes:
    (params_len,) = struct.unpack_from("<I", data, 76)
    end = 80 + params_len
    head = bytearray(data[:end])
    head[offset] = value
    return bytes(head) + struct.pack("<I", zlib.crc32(head)) + data[end + 4 :]


def test_future_major_version_is_unsupported():
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        parse(_with_header_byte(build(SAMPLE), 8, 2))


def test_unknown_flag_is_unsupported():
    with pytest.raises(UnsupportedVersionError):
        parse(_with_header_byte(build(SAMPLE), 10, 0x81))


def test_dropped_chunk_record_is_caught_by_index():
    whole = build(SAMPLE)
    fewer = build(SAMPLE[:2])
    # splice: header+2 records from `fewer`, index/footer from `whole` (offset differs too)
    idx = whole.rindex(b"I", 0, len(whole) - 12 - 17 * 3)
    spliced = fewer[: fewer.rindex(b"I", 0, len(fewer) - 12 - 17 * 2)] + whole[idx:]
    with pytest.raises(CorruptError):
        parse(spliced)


def _with_flags(blob: bytes, flags: int) -> bytes:
    head = bytearray(blob[:80])
    struct.pack_into("<H", head, 10, flags)
    (plen,) = struct.unpack_from("<I", head, 76)
    body = bytes(head) + blob[80:80 + plen]
    return body + struct.pack("<I", zlib.crc32(body)) + blob[84 + plen:]


def test_exact_params_use_the_second_dictionary():
    """Exact-backend params deflate against PARAMS_DICTIONARY_X1 (flag bit 1) to a few
    bytes; v1 params keep the v1 dictionary; a reader honours the flag."""
    from pathlib import Path

    golden = (Path(__file__).parent / "golden" / "sample-x6-avx2.lmz").read_bytes()
    (flags,) = struct.unpack_from("<H", golden, 10)
    (plen,) = struct.unpack_from("<I", golden, 76)
    assert flags == fmt.FLAG_PARAMS_DEFLATED | fmt.FLAG_PARAMS_DICT_X1 and plen <= 24
    params, _ = fmt.read_header(io.BytesIO(golden))
    assert params["backend"]["name"] == "exact-v1"
    # The same body read with the other dictionary is refused, never misread.
    with pytest.raises(CorruptError):
        fmt.read_header(io.BytesIO(_with_flags(golden, fmt.FLAG_PARAMS_DEFLATED)))
    with pytest.raises(UnsupportedVersionError):
        fmt.read_header(io.BytesIO(_with_flags(golden, fmt.FLAG_PARAMS_DICT_X1)))  # bit 1 without bit 0
