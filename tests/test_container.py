"""formats: byte layout, validation and precise errors of both container versions (no model needed)."""

import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import pytest

from lmzip.formats import container as fmt
from lmzip.formats import params as fparams
from lmzip.formats import v1
from lmzip.formats.errors import (
    CorruptChunkError,
    CorruptError,
    LmzipError,
    NotLmzipError,
    TruncatedError,
    UnsupportedVersionError,
)
from lmzip.formats.recipes import RECIPES, recipe_params

GOLDEN = Path(__file__).parent / "golden"

PARAMS = {
    "level": 6,
    "chunk_size": 4,
    "model": {"name": "m.gguf", "sha256": "ab" * 32, "n_vocab": 10, "bos": 1},
    "tokenizer": {"kind": "k", "sha256": "cd" * 32},
}

SAMPLE = [(fmt.Method.STORED, b"abcd", b"abcd"), (fmt.Method.XZ, b"efgh", b"<xz>"), (fmt.Method.LLM, b"ij", b"\x02")]


def build(chunks, params=PARAMS) -> bytes:
    """A format-2 archive of ``chunks`` ((method, raw, payload) triples)."""
    writer = fmt.Writer(params)
    out = writer.header()
    for method, raw, payload in chunks:
        out += writer.chunk(method, raw, payload)[0]
    return out + writer.end()


def parse(data: bytes, raw: bytes | None = None):
    """Read an archive with the container alone; with ``raw``, also verify the END check
    against it (what a decoder does after decoding every chunk)."""
    stream = io.BytesIO(data)
    params, size = fmt.read_header(stream)
    items = list(fmt.iter_chunks(stream, size))
    if raw is not None and not items[-1].matches(fmt.xxh64(raw)):
        raise CorruptError("whole-file check")
    if stream.read(1):
        raise CorruptError("trailing data")
    return params, items


RAW = b"".join(raw for _, raw, _ in SAMPLE)

# ----------------------------------------------------------------------------- format 2


def test_round_trip():
    data = build(SAMPLE)
    params, items = parse(data, RAW)
    assert params == PARAMS
    chunks, index = items[:-1], items[-1]
    assert [c.payload for c in chunks] == [b"abcd", b"<xz>", b"\x02"]
    assert [c.info.method for c in chunks] == [m for m, _, _ in SAMPLE]
    assert [c.info.raw_size for c in chunks] == [4, 4, 2]
    assert index.original_size == 10 and index.check_bits == 32
    assert index.matches(fmt.xxh64(RAW)) and not index.matches(fmt.xxh64(RAW + b"!"))


def test_read_index_walks_the_records():
    data = build(SAMPLE)
    params, index, size = fmt.read_index(io.BytesIO(data + b"more"))
    assert params == PARAMS and size == len(data)
    assert [c.payload_size for c in index.chunks] == [4, 4, 1] and index.original_size == 10


def test_golden_layout_v2():
    """The format-2 byte layout, pinned: any change here is a format change."""
    data = build([(fmt.Method.STORED, b"hi", b"hi")], recipe_params(1))
    assert data == bytes.fromhex("894c4d5a0201") + b"\x40\x02hi" + data[-9:-5] + b"\x80" + data[-4:]
    assert data[-9:-5] == struct.pack("<I", zlib.crc32(data[:-9]))
    assert data[-4:] == struct.pack("<I", fmt.xxh64(b"hi") & 0xFFFFFFFF)
    empty = build([], recipe_params(1))
    assert empty == bytes.fromhex("894c4d5a020180") + struct.pack("<I", zlib.crc32(bytes.fromhex("894c4d5a020180")))


def test_recipe_params_are_one_byte_and_explicit_params_round_trip():
    for rid in RECIPES:
        assert fmt.encode_header(recipe_params(rid)) == fmt.MAGIC + b"\x02" + bytes([rid])
    # Parameters that are no recipe: id 0, deflated against the closest recipe.
    params = recipe_params(6)
    params["chunk_size"] = 1 << 20
    header = fmt.encode_header(params)
    assert header[5] == 0 and len(header) <= 40  # 30 today
    assert fmt.read_header(io.BytesIO(header + b"\x80"))[0] == params
    # Another model: the identity is stored in full, and read back exactly.
    params["model"]["sha256"] = "ee" * 32
    params["tokenizer"]["sha256"] = "ff" * 32
    assert fmt.read_header(io.BytesIO(fmt.encode_header(params)))[0] == params


def test_short_chunk_only_last():
    writer = fmt.Writer(PARAMS)
    writer.header()
    writer.chunk(fmt.Method.STORED, b"ab", b"ab")
    with pytest.raises(ValueError):
        writer.chunk(fmt.Method.STORED, b"cdef", b"cdef")
    writer = fmt.Writer(PARAMS)
    writer.header()
    for bad in [(fmt.Method.STORED, b"abcde", b"abcde"), (fmt.Method.XZ, b"abcd", b"abcde"),
                (fmt.Method.STORED, b"abcd", b"abce"), (fmt.Method.XZ, b"", b"")]:
        with pytest.raises(ValueError):
            writer.chunk(*bad)
    # A hand-made archive with a chunk after the short one is refused.
    data = build([(fmt.Method.STORED, b"ab", b"ab")])
    second = b"\x40\x02cd"
    forged = data[:-5] + second + struct.pack("<I", zlib.crc32(second, zlib.crc32(data[:-5])))
    forged += b"\x80" + struct.pack("<I", fmt.xxh64(b"abcd") & 0xFFFFFFFF)
    with pytest.raises(CorruptError, match="follows the short last chunk"):
        parse(forged)


def test_not_lmzip_and_versions():
    with pytest.raises(NotLmzipError):
        parse(b"PK\x03\x04 this is a zip file")
    with pytest.raises(NotLmzipError):
        parse(b"PK")
    with pytest.raises(TruncatedError):
        parse(b"\x89LM")
    data = build(SAMPLE)
    with pytest.raises(UnsupportedVersionError, match="version 3"):
        parse(data[:4] + b"\x03" + data[5:])
    with pytest.raises(NotLmzipError):  # "\r\n" turned into "\n" by a text-mode copy
        parse(b"\x89LMZ\n\x1a\n" + bytes(100))


def test_unknown_recipe_is_unsupported():
    data = build(SAMPLE[:1], recipe_params(1))
    with pytest.raises(UnsupportedVersionError, match="recipe 127"):
        parse(data[:5] + b"\x7f" + data[6:])


def test_every_truncation_is_reported():
    for data in (build(SAMPLE), build([], recipe_params(1)), build(SAMPLE[1:2], recipe_params(1)), v1_build(SAMPLE)):
        for cut in range(0, len(data)):
            with pytest.raises(LmzipError) as info:
                parse(data[:cut])
            # Cutting can only ever look like truncation: every record is length-prefixed.
            assert isinstance(info.value, TruncatedError), (cut, info.value)


@pytest.mark.parametrize("params", [PARAMS, recipe_params(1)], ids=["explicit", "recipe"])
@pytest.mark.parametrize("n_chunks", [0, 1, 3])
def test_every_bit_flip_is_detected(params, n_chunks):
    """Every byte of a format-2 archive is covered by a check (the END check by the output's)."""
    chunks = SAMPLE[:n_chunks] if params is PARAMS else [(fmt.Method.STORED, b"xyz", b"xyz")] * min(n_chunks, 1)
    raw = b"".join(r for _, r, _ in chunks)
    data = build(chunks, params)
    parse(data, raw)
    for pos in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[pos] ^= 1 << bit
            with pytest.raises(LmzipError):
                parse(bytes(bad), raw)


def test_corrupt_payload_names_the_chunk():
    data = bytearray(build(SAMPLE))
    pos = data.index(b"<xz>")
    data[pos] ^= 0xFF
    with pytest.raises(CorruptChunkError) as info:
        parse(bytes(data))
    assert info.value.index == 1 and "chunk 1" in str(info.value)
    assert info.value.offset == pos - 2  # tag and payload_size come first


def _split(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """A format-2 archive as (header, chunk records, END)."""
    stream = io.BytesIO(data)
    _, size = fmt.read_header(stream)
    starts = [c.offset for c in fmt.iter_chunks(stream, size, check_payload=False) if isinstance(c, fmt.Chunk)]
    bounds = starts + [len(data) - 5]
    return data[:size], [data[a:b] for a, b in zip(bounds, bounds[1:])], data[-5:]


def test_dropped_duplicated_or_reordered_records_are_caught():
    chunks = [(fmt.Method.STORED, b"abcd", b"abcd"), (fmt.Method.XZ, b"efgh", b"<xz>"),
              (fmt.Method.STORED, b"ijkl", b"ijkl")]
    data = build(chunks)
    head, recs, end = _split(data)
    assert head + b"".join(recs) + end == data
    for order in ([0, 2], [0, 1, 1, 2], [1, 0, 2], [0, 2, 1]):
        with pytest.raises(CorruptError):
            parse(head + b"".join(recs[i] for i in order) + end)
    # Splicing a record of another archive with the same params is caught too.
    other = build([(fmt.Method.STORED, b"abcd", b"abcd"), (fmt.Method.STORED, b"zzzz", b"zzzz")])
    with pytest.raises(CorruptError):
        parse(head + recs[0] + _split(other)[1][1] + recs[2] + end)


def test_unknown_method_and_reserved_record_type():
    data = build([(fmt.Method.STORED, b"ab", b"ab")])
    pos = len(data) - 13  # the tag of the only chunk (short, stored): tag, size 2, "ab", check, END
    assert data[pos] == 0x40
    with pytest.raises(UnsupportedVersionError, match="method 9"):
        parse(data[:pos] + bytes([0x40 | 9]) + data[pos + 1:])
    with pytest.raises(CorruptError, match="unknown record type"):
        parse(data[:pos] + b"\x81" + data[pos + 1:])


def test_method_ids():
    """Format ids are frozen; CM (the byte-level engine) is reserved as the next one."""
    assert [(m.name, int(m)) for m in fmt.Method] == [("STORED", 0), ("XZ", 1), ("LLM", 2), ("CM", 3)]


def test_sizes_out_of_range_are_refused_before_reading():
    writer = fmt.Writer(PARAMS)
    head = writer.header()
    for record, match in [(b"\x41\x05\x01", "chunk size"),  # short chunk claiming 5 > chunk_size
                          (b"\x41\x00\x01", "overlong|chunk size"),  # raw_size 0
                          (b"\x01\x05", "payload size"),  # xz payload of 5 for a 4-byte chunk
                          (b"\x01\xff\xff\xff\xff\x7f", "number too large|payload size"),
                          (b"\x01\x81\x00", "overlong")]:
        with pytest.raises(LmzipError, match=match):
            parse(head + record + bytes(64))


def test_index_matches_and_check_text():
    index = fmt.Index([], 0, 0x1234ABCD, 32)
    assert index.matches(0xFFFF00001234ABCD) and index.check_text == "xxh64:...1234abcd"
    assert fmt.Index([], 0, 5).check_text == "xxh64:0000000000000005"


# ----------------------------------------------------------------------------- recipes

# sha256 of every recipe's text, pinned: a recipe's meaning never changes. Append only.
RECIPE_SHA256 = {
    1: "0341e8e8d626210e129dff87b45ef0eb9a242e7194333657e56f14988317666d",
    2: "680271d15a561902cb03edd5caa944077b69bdba2b4bbe12f3e3e3be96620e3d",
    3: "9a90574fd807645dd6a7c143c45de82ba9a27ff1807c2bd363bef53925e9b617",
    4: "a620a6e954ddf033f1ffb7143491b5437071f23354cbafb6e4473998d7560b12",
    5: "ba64ec7a40db148d18ca5b82832ae5b2292ff58273c25f169279e77a97994a2a",
    6: "5c6216ea5744f8d7dc78c2fc85fbfbc3f735e914af6e24188d2dcf2dd97ba067",
    7: "c8cf5744dbdf6cdd82f06657581db9a63293b75906da6f214ada6b7a5bff88be",
    8: "f8e537dce7a1681c49009e5b41cba7b238ec45895341ff6bd105770b687dbed4",
    9: "e57def8e3d98e9050d8705892775c1bf3682c053fac9f5292f6a878a3cb2e236",
    # lanes (levels 4-6) and the tuned ensemble-x1 schedules, 2026-11-26
    10: "063b1154a58291e79be3d13c66c948b21654e3c3941b6269c1b77c67587b9da7",
    11: "0663b83abc4d79ed19dab808c2ddbc7e6f83bea59dea219f028ea9a7b46bb2a9",
    12: "0e2f983eeaa1daee8284f827bdbf37efc1ba588e4a4eadd4731e897e8d90b812",
    13: "b58b01db6ebf6a68d6a6481f448b7028b6d025ceaa78b5af433b408b125f0303",
    14: "0cba11a92f1caba0aaa164a9c60bbc4ba2d656b7a7eb1df37b1de0ab66158397",
    15: "bc4fa2ce766e66bdebb954921aec7799ce8975bbc09dfdb3c203adfd310eac31",
    16: "2f9ecd0c137495e4e7caf661107f81f73847e3d77b5dfbc645bf0536ea1e29f8",
    17: "6c7672dcca80cb2e6d211166e21695e96c7d6fd0d9934a1d11914d99867f5d13",
    18: "fa8f4a07cd871a06a6e9445c9cfa26a07c77ddac76f528be74c0864f33f21436",  # level 6 lanes, window 2048
    # the byte-level CM engine at levels 1-3 and tried on every chunk at 4-9
    19: "f8e8d06e58faad464a6e3d9e6de96a2301f06a1af2f3978d25c5e680e55b2e43",
    20: "a862861205534bb921d2162d671d27ebe738759803a1a3ea4bda50858c5a88bc",
    21: "eeb953b8401f10909d25aa58547bff734d41ffea741f04d7cc27747154ed5277",
    22: "41a423da15ca958902ca18e1a13cd295087d1629fc37d5d42f0e0e8f1804a380",
    23: "4e560eb321488e3f4ec122165ae918859fda492dbb0a631fc0572bd040423710",
    24: "aa115019c9c329727029388dd3dabdef1b24b8f174544d3af2e303f3f22543ca",
    25: "058fdff40f615a5cc01c572ed400496702efae11f8831e3d5d8dd166281db5b2",
    26: "edb87803113c7c67d6bc44824737ca029499b975fafc3ef2c7afd7b1c3e17687",
    27: "307ef697129869e7ae6b2b7b4cf60ad3f7b9583276a16ef69a524d809c80dd3c",
    28: "c8dc13f3cc040221bb04fb17e55a6921e4b1053c4d4853a103f66459ee378d25",
    29: "99451d1771dfe5444adc2db0cd492186edc388f574cd3113e5811ab2457f7600",
    30: "138a85a79392a0aa193ff0956e42e4bb0f70bdd2ad25a03bdc60cbbe6fce491d",
    # levels 5-6 with lanes of >= 32 KiB
    31: "cb561e8a92a3661944243d605c819f58a358dbce49383fb13c6778533eb171c5",
    32: "69e6d0661e601f9a9a32d40ce87728df06c18aa06346f69e84fbcbb9df7d5c06",
    33: "29dbb55297783b874aad83b089a3998d32e855d54713c4cd4e7af2a9cb742ce1",  # level 1: the LZ engine (bytecm-lz1)
    # levels 4-6 with lanes cut by token count (issue 17)
    34: "a0d523aa0f7e68ce4d474475043481ae66567ec8cc17d2eae7a476c9615094af",
    35: "f85c53d9b8ec514412c6ecde6fc8927185ca3c0b3ef533ab66b511a06205deb9",
    36: "8a9df0fd09197bf5aa73fad0aa123b056e7beb85c31231ea987f6bf5ffdaafeb",
}


def test_recipes_are_frozen():
    got = {rid: hashlib.sha256(text.encode()).hexdigest() for rid, text in RECIPES.items()}
    # Every pinned recipe is still there, unchanged; a new one must be pinned here too.
    assert got == RECIPE_SHA256


def test_recipes_are_canonical_complete_and_distinct():
    assert sorted(RECIPES) == list(range(1, len(RECIPES) + 1))  # ids dense from 1, 0 = explicit
    assert len(set(RECIPES.values())) == len(RECIPES)
    for rid, text in RECIPES.items():
        params = json.loads(text)
        assert fparams.canonical_json(params).decode() == text, rid
        fparams.check_params(params)
        assert "chunk_size" in params and "coder" in params and "xz" in params
        if "backend" in params:  # an LLM recipe names the bundled model in full
            assert len(params["model"]["sha256"]) == 64 and len(params["tokenizer"]["sha256"]) == 64


def test_every_default_level_has_a_recipe():
    """Today's levels are written in 1 byte. When a default changes, append a recipe
    (formats/recipes.py: ``report_levels()`` prints the text) and pin it above."""
    from lmzip._config import LEVELS, CodingConfig
    from lmzip._runtime import Runtime

    identity = Runtime(None, 1).identity
    for level in LEVELS:
        for lanes in (None, 1):  # the level's default and its single-stream form (--lanes 1)
            config = CodingConfig.for_level(level, lanes=lanes)
            config = config.with_model(identity) if config.uses_llm else config
            header = fmt.encode_header(config.to_params())
            assert len(header) == 6, f"level {level} (lanes {lanes}) has no recipe: append one to formats/recipes.py"


# ----------------------------------------------------------------------------- format 1 (read only)


def v1_build(chunks, params=PARAMS) -> bytes:
    out = v1.encode_header(params)
    index = fmt.Index()
    for method, raw, payload in chunks:
        record, info = v1.encode_chunk(method, raw, payload)
        index.chunks.append(info)
        index.original_size += len(raw)
        out += record
    index.whole_xxh64 = fmt.xxh64(b"".join(raw for _, raw, _ in chunks))
    return out + v1.encode_trailer(index, len(out))


def test_v1_round_trip_and_hashes_restored():
    params, items = parse(v1_build(SAMPLE), RAW)
    assert params == PARAMS
    chunks, index = items[:-1], items[-1]
    assert [c.payload for c in chunks] == [b"abcd", b"<xz>", b"\x02"]
    assert index.original_size == 10 and index.check_bits == 64


def test_v1_read_index_seeks_from_the_end():
    data = v1_build(SAMPLE)
    params, index, size = fmt.read_index(io.BytesIO(data))
    assert size == len(data) and len(index.chunks) == 3 and index.original_size == 10


def test_v1_golden_layout():
    """The v1 byte layout, pinned: any change here is a format change."""
    data = v1_build([(fmt.Method.STORED, b"hi", b"hi")], {"level": 1, "chunk_size": 2})
    assert data[:8] == b"\x89LMZ\r\n\x1a\n"
    assert data[8:12] == b"\x01\x00\x01\x00"  # major 1, minor 0, flags: params deflated
    assert data[12:76] == bytes(64)  # no model, no tokenizer hash
    assert zlib.crc32(data) == 985933644 and len(data) == 177


def test_v1_every_single_byte_flip_is_detected():
    data = v1_build(SAMPLE)
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x01
        with pytest.raises(LmzipError):
            parse(bytes(bad), RAW)


def _with_header_byte(data: bytes, offset: int, value: int) -> bytes:
    (params_len,) = struct.unpack_from("<I", data, 76)
    end = 80 + params_len
    head = bytearray(data[:end])
    head[offset] = value
    return bytes(head) + struct.pack("<I", zlib.crc32(head)) + data[end + 4:]


def test_v1_future_major_version_and_unknown_flag():
    with pytest.raises(UnsupportedVersionError, match="version 2.0"):
        parse(_with_header_byte(v1_build(SAMPLE), 8, 2))
    with pytest.raises(UnsupportedVersionError):
        parse(_with_header_byte(v1_build(SAMPLE), 10, 0x81))


def test_v1_dropped_chunk_record_is_caught_by_index():
    whole = v1_build(SAMPLE)
    fewer = v1_build(SAMPLE[:2])
    idx = whole.rindex(b"I", 0, len(whole) - 12 - 17 * 3)
    spliced = fewer[: fewer.rindex(b"I", 0, len(fewer) - 12 - 17 * 2)] + whole[idx:]
    with pytest.raises(CorruptError):
        parse(spliced)


def test_v1_chunk_larger_than_chunk_size_is_refused():
    data = v1_build([(fmt.Method.XZ, b"abcdef", b"<xz>")])  # chunk_size is 4
    with pytest.raises(CorruptChunkError, match="size out of range"):
        parse(data)


def _with_flags(blob: bytes, flags: int) -> bytes:
    head = bytearray(blob[:80])
    struct.pack_into("<H", head, 10, flags)
    (plen,) = struct.unpack_from("<I", head, 76)
    body = bytes(head) + blob[80:80 + plen]
    return body + struct.pack("<I", zlib.crc32(body)) + blob[84 + plen:]


def test_v1_exact_params_use_the_second_dictionary():
    """Format-1 exact archives' params deflate against PARAMS_DICTIONARY_X1 (flag bit 1);
    a reader honours the flag."""
    golden = (GOLDEN / "sample-x6-avx2.lmz").read_bytes()
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


def _goldens_of_format(major: int) -> list[str]:
    """Golden archives whose container is format ``major``."""
    def major_of(data: bytes) -> int:
        return 1 if data.startswith(b"\x89LMZ\r\n\x1a\n") else data[4]  # format 1's magic is 8 bytes

    return sorted(p.name for p in GOLDEN.glob("*.lmz") if major_of(p.read_bytes()) == major)


def test_goldens_include_both_formats():
    assert _goldens_of_format(1) and _goldens_of_format(2)


@pytest.mark.parametrize("name", _goldens_of_format(2))
def test_v2_goldens_list(name):
    data = (GOLDEN / name).read_bytes()
    params, index, size = fmt.read_index(io.BytesIO(data))
    assert size == len(data) and index.check_bits == 32
    assert params == fmt.read_header(io.BytesIO(data))[0]


@pytest.mark.parametrize("name", _goldens_of_format(1))
def test_v1_goldens_parse_and_list(name):
    data = (GOLDEN / name).read_bytes()
    params, items = parse(data)
    _, index, size = fmt.read_index(io.BytesIO(data))
    assert size == len(data) and index == items[-1] and index.check_bits == 64
    assert params == fmt.read_header(io.BytesIO(data))[0]
