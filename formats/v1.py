"""Container format 1: reading (every format-1 archive ever written still decodes) and,
for tests and tools only, writing. lmzip itself writes format 2.

See ``SPEC.md`` (*Format 1*)::

    FILE   := HEADER CHUNK* INDEX FOOTER
    HEADER := magic(8) major(u8) minor(u8) flags(u16) model_sha256(32) tokenizer_sha256(32)
              params_len(u32) params(deflated JSON) header_crc(u32)
    CHUNK  := 'C' method(u8) raw_size(u32) payload_size(u32) raw_xxh64(u64)
              payload_crc(u32) record_crc(u32) payload
    INDEX  := 'I' n_chunks(u32) n_chunks*ENTRY original_size(u64) whole_xxh64(u64) index_crc(u32)
    ENTRY  := method(u8) raw_size(u32) payload_size(u32) raw_xxh64(u64)
    FOOTER := index_offset(u64) b"LMZE"

Beyond the checksums, the reader bounds what a hostile archive can cost: the params
block inflates to at most ``MAX_PARAMS_JSON`` bytes, sizes are checked against the chunk
size and the bytes left, and an index whose chunk count disagrees is refused before its
entries are read.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any, BinaryIO

from lmzip.formats.common import (
    MAGIC_V1,
    MAX_CHUNK_SIZE,
    MAX_PARAMS_JSON,
    Chunk,
    ChunkInfo,
    HeaderSize,
    Index,
    Method,
    xxh64,
)
from lmzip.formats.errors import (
    CorruptChunkError,
    CorruptError,
    NotLmzipError,
    TruncatedError,
    UnsupportedVersionError,
)
from lmzip.formats.params import canonical_json, deflate, inflate_bounded, parse_params
from lmzip.formats.wire import Source

FORMAT_MAJOR = 1
FORMAT_MINOR = 0
END_MAGIC = b"LMZE"
CHUNK_TAG = b"C"
INDEX_TAG = b"I"

_HEADER_FIXED = struct.Struct("<8sBBH32s32sI")  # magic, major, minor, flags, 2 hashes, params_len
FLAG_PARAMS_DEFLATED = 1  # params are raw DEFLATE with PARAMS_DICTIONARY_V1 as preset dictionary
FLAG_PARAMS_DICT_X1 = 2  # with bit 0: the preset dictionary is PARAMS_DICTIONARY_X1 instead
_KNOWN_FLAGS = FLAG_PARAMS_DEFLATED | FLAG_PARAMS_DICT_X1

# The preset dictionary for the params block. Part of format v1: it must never change
# (a new dictionary needs a new flag bit). It holds the strings every header repeats, so a
# typical params block deflates to a few dozen bytes instead of ~500.
PARAMS_DICTIONARY_V1 = (
    b'{"backend":{"bos":1,"discard":512,"extra_bufts":false,"flash_attn":false,"keep":1,"n_bat'
    b'ch":1,"n_ctx":2048,"name":"llama.cpp"},"chunk_size":131072,"coder":{"name":"constriction'
    b'-range","precision":24,"quantizer":"int-floor-v1","word_bits":32},"level":6,"model":{"bo'
    b's":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf"},"predictor":{"bias":{"lim'
    b'it":4.0,"lr":0.02},"calibration":{"conf_edges":[0.3,0.6,0.9],"s_max":7.0,"shrink":32.0,"'
    b'steps":[[false,12],[true,12],[false,24]]},"counts":{"max_candidates":24,"slots_log2":18}'
    b',"kind":"ensemble-v1","match":{"length_buckets":[0,1,2,4,8,16,32],"max_len":64,"min_len"'
    b':4,"slots_log2":20},"mixer":{"conf_edges":[0.3,0.6,0.9],"eta":0.5,"floor":0.002,"kind":"'
    b'geometric","lr":0.001},"ngram":{"orders":[2,3,4]},"ppm":{"max_order":6},"skip":null},"to'
    b'kenizer":{"kind":"model-pieces+byte-fallback+escape-v1"},"xz":{"container":"raw-lzma2","'
    b'extreme":true,"preset":9}}'
)
# The second preset dictionary (flag bit 1), frozen like the first: the level-6 params of
# the exact backend (exact-v1, ensemble-x1), so exact archives' headers stay as small as
# v1's (13 bytes of params at level 6 instead of 192 with the v1 dictionary).
PARAMS_DICTIONARY_X1 = (
    b'{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":'
    b'131072,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","'
    b'word_bits":32},"level":6,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.'
    b'Q4_1.gguf"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":378194,"lr":484083,"'
    b'lr_boost":0,"lr_half":0},"counts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble'
    b'-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_edges":[19661'
    b',39322,58982],"ctx2":null,"lr":727,"lr_boost":0,"lr_half":0,"lr_shift":20,"w_max":524288'
    b',"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{"kind":"'
    b'model-pieces+byte-fallback+escape-v1"},"xz":{"container":"raw-lzma2","extreme":true,"pre'
    b'set":9}}'
)
_DICTIONARIES = {0: PARAMS_DICTIONARY_V1, FLAG_PARAMS_DICT_X1: PARAMS_DICTIONARY_X1}
_NO_HASH = bytes(32)
_CRC = struct.Struct("<I")
_CHUNK_HEAD = struct.Struct("<1sBIIQI")  # tag, method, raw_size, payload_size, raw_xxh64, payload_crc
_INDEX_HEAD = struct.Struct("<1sI")
_ENTRY = struct.Struct("<BIIQ")
_INDEX_TAIL = struct.Struct("<QQ")
_FOOTER = struct.Struct("<Q4s")

MAX_PARAMS_LEN = 1 << 20  # the deflated params block (SPEC)
_V1_METHODS = (Method.STORED, Method.XZ, Method.LLM)

# ----------------------------------------------------------------------------- writing (tests, tools)


def _split_hash(params: dict[str, Any], key: str) -> bytes:
    """Move params[key]["sha256"] (hex) into a 32-byte binary field."""
    section = params.get(key)
    if not isinstance(section, dict) or "sha256" not in section:
        return _NO_HASH
    digest = bytes.fromhex(section.pop("sha256"))
    if len(digest) != 32 or digest == _NO_HASH:
        raise ValueError(f"{key}.sha256 must be a 64-digit hex sha256")
    return digest


def _join_hash(params: dict[str, Any], key: str, digest: bytes) -> None:
    if digest != _NO_HASH:
        section = params.get(key)
        if not isinstance(section, dict):
            raise CorruptError(f"header has a {key} hash but no {key} parameters")
        section["sha256"] = digest.hex()


def encode_header(params: dict[str, Any]) -> bytes:
    """A format-1 HEADER for ``params`` (a JSON-able dict; model/tokenizer sha256 as hex)."""
    params = json.loads(canonical_json(params))  # a deep copy we may edit
    model_hash = _split_hash(params, "model")
    tokenizer_hash = _split_hash(params, "tokenizer")
    text = canonical_json(params)
    # Deflate with each preset dictionary and keep the smaller (the first on a tie).
    flags, body = min(
        ((FLAG_PARAMS_DEFLATED | bit, deflate(text, dictionary)) for bit, dictionary in _DICTIONARIES.items()),
        key=lambda item: len(item[1]),
    )
    if len(body) > MAX_PARAMS_LEN:
        raise ValueError("params block too large")
    head = _HEADER_FIXED.pack(
        MAGIC_V1, FORMAT_MAJOR, FORMAT_MINOR, flags, model_hash, tokenizer_hash, len(body)
    ) + body
    return head + _CRC.pack(zlib.crc32(head))


def encode_chunk(method: Method, raw: bytes, payload: bytes) -> tuple[bytes, ChunkInfo]:
    """One format-1 chunk record (header + payload) and its table entry."""
    if len(raw) >= 1 << 32 or len(payload) >= 1 << 32:
        raise ValueError("chunk larger than 4 GiB")
    info = ChunkInfo(Method(method), len(raw), len(payload), xxh64(raw))
    head = _CHUNK_HEAD.pack(
        CHUNK_TAG, info.method, info.raw_size, info.payload_size, info.raw_xxh64, zlib.crc32(payload)
    )
    return head + _CRC.pack(zlib.crc32(head)) + payload, info


def encode_trailer(index: Index, index_offset: int) -> bytes:
    """The format-1 INDEX record and FOOTER; ``index_offset`` is where INDEX starts."""
    body = _INDEX_HEAD.pack(INDEX_TAG, len(index.chunks))
    body += b"".join(_ENTRY.pack(c.method, c.raw_size, c.payload_size, c.raw_xxh64) for c in index.chunks)
    body += _INDEX_TAIL.pack(index.original_size, index.whole_xxh64)
    return body + _CRC.pack(zlib.crc32(body)) + _FOOTER.pack(index_offset, END_MAGIC)


# ----------------------------------------------------------------------------- reading


def read_header(src: Source, first: bytes) -> tuple[dict[str, Any], HeaderSize]:
    """The rest of a format-1 header; ``first`` is its first 5 bytes, already read from ``src``."""
    magic_rest = src.read(len(MAGIC_V1) - len(first), "header")
    if first + magic_rest != MAGIC_V1:
        raise NotLmzipError("not an lmzip archive (bad magic bytes)")
    rest = src.read(_HEADER_FIXED.size - len(MAGIC_V1), "header")
    fixed = MAGIC_V1 + rest
    _, major, minor, flags, model_hash, tokenizer_hash, params_len = _HEADER_FIXED.unpack(fixed)
    if major != FORMAT_MAJOR:
        raise UnsupportedVersionError(
            f"archive format version {major}.{minor} is not supported (this lmzip reads 1.x and 2.x)"
        )
    if flags & ~_KNOWN_FLAGS or (flags & FLAG_PARAMS_DICT_X1 and not flags & FLAG_PARAMS_DEFLATED):
        raise UnsupportedVersionError(f"archive uses header features this lmzip does not know (flags {flags:#06x})")
    if params_len > MAX_PARAMS_LEN:
        raise CorruptError("header is corrupt (parameter block length out of range)")
    body = src.read(params_len, "header")
    (crc,) = _CRC.unpack(src.read(4, "header"))
    if crc != zlib.crc32(body, zlib.crc32(fixed)):
        raise CorruptError("header is corrupt (checksum mismatch)")
    if flags & FLAG_PARAMS_DEFLATED:  # crc passed: what follows is a writer bug or a crafted file
        body = inflate_bounded(body, _DICTIONARIES[flags & FLAG_PARAMS_DICT_X1], "header parameters")
    elif len(body) > MAX_PARAMS_JSON:
        raise CorruptError("header parameters are too large")
    params = parse_params(body)
    _join_hash(params, "model", model_hash)
    _join_hash(params, "tokenizer", tokenizer_hash)
    return params, HeaderSize(src.offset, 1, params["chunk_size"])


def _method(value: int, n: int) -> Method:
    if value not in _V1_METHODS:
        raise UnsupportedVersionError(f"chunk {n} uses unknown coding method {value}")
    return Method(value)


class RecordReader:
    """Reads format 1's records after the header one at a time, validating as it goes.

    State advances only when a whole record was read, so an incremental caller can retry
    the same record from a fresh buffer after a ``TruncatedError``.
    """

    def __init__(self, header_size: int, *, check_payload: bool = True) -> None:
        self.offset = int(header_size)
        self.chunk_size = getattr(header_size, "chunk_size", MAX_CHUNK_SIZE)
        self.seen: list[ChunkInfo] = []
        self.index: Index | None = None
        self.check_payload = check_payload

    def clone(self, *, check_payload: bool) -> "RecordReader":
        """An independent copy at the same position (to probe for a whole record)."""
        other = RecordReader(self.offset, check_payload=check_payload)
        other.chunk_size, other.seen = self.chunk_size, list(self.seen)
        return other

    def read(self, stream: BinaryIO) -> Chunk | Index:
        """The next record: a ``Chunk``, or the validated ``Index`` (footer consumed)."""
        src = Source(stream, self.offset)
        start = self.offset
        n = len(self.seen)
        tag = src.read(1, "chunk table")
        if tag == CHUNK_TAG:
            head = tag + src.read(_CHUNK_HEAD.size - 1, f"record of chunk {n}")
            (crc,) = _CRC.unpack(src.read(4, f"record of chunk {n}"))
            if crc != zlib.crc32(head):
                raise CorruptChunkError(n, "record header checksum mismatch", offset=start)
            _, method, raw_size, payload_size, raw_hash, payload_crc = _CHUNK_HEAD.unpack(head)
            method = _method(method, n)
            if raw_size > self.chunk_size or (method == Method.STORED and payload_size != raw_size):
                raise CorruptChunkError(n, "chunk size out of range", offset=start)
            payload = src.read(payload_size, f"payload of chunk {n}")
            if self.check_payload and zlib.crc32(payload) != payload_crc:
                raise CorruptChunkError(n, "payload checksum mismatch", offset=start)
            info = ChunkInfo(method, raw_size, payload_size, raw_hash)
            self.seen.append(info)
            self.offset = src.offset
            return Chunk(n, info, payload, start)
        if tag == INDEX_TAG:
            index = _read_index_body(src, tag, expected=len(self.seen))
            offset, end = _FOOTER.unpack(src.read(_FOOTER.size, "footer"))
            if end != END_MAGIC:
                raise CorruptError("archive footer is corrupt (bad end marker)")
            if index.chunks != self.seen:
                raise CorruptError("chunk index does not match the chunk records")
            if index.original_size != sum(c.raw_size for c in self.seen):
                raise CorruptError("index original size does not match the chunk sizes")
            if offset != start:
                raise CorruptError("archive footer is corrupt (index offset mismatch)")
            self.offset = src.offset
            self.index = index
            return index
        raise CorruptError(f"archive is corrupt (unexpected record tag {tag!r} after chunk {n - 1})")


def _read_index_body(src: Source, tag: bytes, expected: int | None) -> Index:
    (_, count) = _INDEX_HEAD.unpack(tag + src.read(_INDEX_HEAD.size - 1, "index"))
    if expected is not None and count != expected:
        # Checked before the entries are read: a made-up count costs nothing.
        raise CorruptError("chunk index does not match the chunk records (chunk count)")
    entries = src.read(count * _ENTRY.size, "index")
    tail = src.read(_INDEX_TAIL.size, "index")
    (crc,) = _CRC.unpack(src.read(4, "index"))
    if crc != zlib.crc32(tail, zlib.crc32(entries, zlib.crc32(_INDEX_HEAD.pack(INDEX_TAG, count)))):
        raise CorruptError("index is corrupt (checksum mismatch)")
    chunks = []
    for i in range(count):
        method, raw_size, payload_size, raw_hash = _ENTRY.unpack_from(entries, i * _ENTRY.size)
        chunks.append(ChunkInfo(_method(method, i), raw_size, payload_size, raw_hash))
    original_size, whole = _INDEX_TAIL.unpack(tail)
    return Index(chunks, original_size, whole)


def read_index(stream: BinaryIO) -> tuple[Index, int]:
    """Seek to the footer and read the index (the header was read already).

    Returns (index, archive_size). Needs a seekable stream.
    """
    size = stream.seek(0, 2)
    if size < _FOOTER.size:
        raise TruncatedError("archive is truncated (no footer)")
    stream.seek(size - _FOOTER.size)
    offset, end = _FOOTER.unpack(stream.read(_FOOTER.size))
    if end != END_MAGIC:
        raise TruncatedError("archive is truncated or has trailing data (no end marker)")
    if not 0 < offset < size - _FOOTER.size:
        raise CorruptError("archive footer is corrupt (index offset out of range)")
    stream.seek(offset)
    src = Source(stream, offset)
    tag = src.read(1, "index")
    if tag != INDEX_TAG:
        raise CorruptError("archive footer is corrupt (index offset does not point at the index)")
    count_bytes = src.read(4, "index")
    (count,) = struct.unpack("<I", count_bytes)
    body_end = offset + _INDEX_HEAD.size + count * _ENTRY.size + _INDEX_TAIL.size + 4
    if body_end + _FOOTER.size != size:
        raise CorruptError("archive index is corrupt (length mismatch)")
    stream.seek(offset + 1)
    index = _read_index_body(Source(stream, offset + 1), tag, expected=None)
    return index, size
