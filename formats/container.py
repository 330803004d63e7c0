"""Container v1: byte layout, writing and validating parsing.

See ``SPEC.md`` beside this file for the normative description. In short::

    FILE   := HEADER CHUNK* INDEX FOOTER
    HEADER := magic(8) major(u8) minor(u8) flags(u16) model_sha256(32) tokenizer_sha256(32)
              params_len(u32) params(deflated JSON) header_crc(u32)
    CHUNK  := 'C' method(u8) raw_size(u32) payload_size(u32) raw_xxh64(u64)
              payload_crc(u32) record_crc(u32) payload
    INDEX  := 'I' n_chunks(u32) n_chunks*ENTRY original_size(u64) whole_xxh64(u64) index_crc(u32)
    ENTRY  := method(u8) raw_size(u32) payload_size(u32) raw_xxh64(u64)
    FOOTER := index_offset(u64) b"LMZE"

All integers are little-endian. Chunk payloads are opaque here: this module knows a
method id, never how a chunk was predicted.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, BinaryIO, Iterator

import xxhash

from lmzip.formats.errors import (
    CorruptChunkError,
    CorruptError,
    NotLmzipError,
    TruncatedError,
    UnsupportedVersionError,
)

MAGIC = b"\x89LMZ\r\n\x1a\n"  # PNG-style: catches 7-bit and CRLF/LF mangling
END_MAGIC = b"LMZE"
FORMAT_MAJOR = 1
FORMAT_MINOR = 0

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

MAX_PARAMS_LEN = 1 << 20  # a sane bound so a corrupt length cannot make us allocate GBs
MAX_CHUNK_SIZE = (1 << 32) - 1


class Method(IntEnum):
    """How one chunk's payload was produced."""

    STORED = 0  # payload is the raw bytes
    XZ = 1  # payload is a raw LZMA2 stream (FORMAT_RAW, preset 9|EXTREME)
    LLM = 2  # payload is a token count (varint) and a range-coded bitstream


@dataclass(frozen=True)
class ChunkInfo:
    """One row of the chunk table."""

    method: Method
    raw_size: int
    payload_size: int
    raw_xxh64: int


@dataclass
class Index:
    """The chunk table plus whole-file totals, as stored at the end of the archive."""

    chunks: list[ChunkInfo] = field(default_factory=list)
    original_size: int = 0
    whole_xxh64: int = 0


def xxh64(data: bytes) -> int:
    return xxhash.xxh64_intdigest(data)


def canonical_json(params: dict[str, Any]) -> bytes:
    """The one byte form of a params dict: sorted keys, no spaces, UTF-8."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# ----------------------------------------------------------------------------- writing


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


def _deflate(text: bytes, dictionary: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    return deflater.compress(text) + deflater.flush()


def encode_header(params: dict[str, Any]) -> bytes:
    """The HEADER bytes for ``params`` (a JSON-able dict; model/tokenizer sha256 as hex)."""
    params = json.loads(canonical_json(params))  # a deep copy we may edit
    model_hash = _split_hash(params, "model")
    tokenizer_hash = _split_hash(params, "tokenizer")
    text = canonical_json(params)
    # Deflate with each preset dictionary and keep the smaller (the first on a tie).
    flags, body = min(
        ((FLAG_PARAMS_DEFLATED | bit, _deflate(text, dictionary)) for bit, dictionary in _DICTIONARIES.items()),
        key=lambda item: len(item[1]),
    )
    if len(body) > MAX_PARAMS_LEN:
        raise ValueError("params block too large")
    head = _HEADER_FIXED.pack(
        MAGIC, FORMAT_MAJOR, FORMAT_MINOR, flags, model_hash, tokenizer_hash, len(body)
    ) + body
    return head + _CRC.pack(zlib.crc32(head))


def encode_chunk(method: Method, raw: bytes, payload: bytes) -> tuple[bytes, ChunkInfo]:
    """One chunk record (header + payload) and its table entry."""
    if len(raw) > MAX_CHUNK_SIZE or len(payload) > MAX_CHUNK_SIZE:
        raise ValueError("chunk larger than 4 GiB")
    info = ChunkInfo(Method(method), len(raw), len(payload), xxh64(raw))
    head = _CHUNK_HEAD.pack(
        CHUNK_TAG, info.method, info.raw_size, info.payload_size, info.raw_xxh64, zlib.crc32(payload)
    )
    return head + _CRC.pack(zlib.crc32(head)) + payload, info


def encode_trailer(index: Index, index_offset: int) -> bytes:
    """The INDEX record followed by the FOOTER; ``index_offset`` is where INDEX starts."""
    body = _INDEX_HEAD.pack(INDEX_TAG, len(index.chunks))
    body += b"".join(_ENTRY.pack(c.method, c.raw_size, c.payload_size, c.raw_xxh64) for c in index.chunks)
    body += _INDEX_TAIL.pack(index.original_size, index.whole_xxh64)
    return body + _CRC.pack(zlib.crc32(body)) + _FOOTER.pack(index_offset, END_MAGIC)


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Exact reads from a binary stream, raising TruncatedError on a short read."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offset = 0

    def read(self, n: int, what: str) -> bytes:
        data = self.stream.read(n)
        if data is None:
            data = b""
        while len(data) < n:  # non-blocking/short reads: keep asking until EOF
            more = self.stream.read(n - len(data))
            if not more:
                raise TruncatedError(f"archive is truncated (ended inside the {what})")
            data += more
        self.offset += n
        return data


def read_header(stream: BinaryIO) -> tuple[dict[str, Any], int]:
    """Parse and validate the header; returns (params, header length in bytes)."""
    r = _Reader(stream)
    first = stream.read(len(MAGIC)) or b""
    if len(first) < len(MAGIC):
        if MAGIC.startswith(first):
            raise TruncatedError("archive is truncated (ended inside the magic bytes)")
        raise NotLmzipError("not an lmzip archive (bad magic bytes)")
    if first != MAGIC:
        raise NotLmzipError("not an lmzip archive (bad magic bytes)")
    r.offset = len(MAGIC)
    rest = r.read(_HEADER_FIXED.size - len(MAGIC), "header")
    _, major, minor, flags, model_hash, tokenizer_hash, params_len = _HEADER_FIXED.unpack(first + rest)
    if major != FORMAT_MAJOR:
        raise UnsupportedVersionError(
            f"archive format version {major}.{minor} is not supported (this lmzip reads {FORMAT_MAJOR}.x)"
        )
    if flags & ~_KNOWN_FLAGS or (flags & FLAG_PARAMS_DICT_X1 and not flags & FLAG_PARAMS_DEFLATED):
        raise UnsupportedVersionError(f"archive uses header features this lmzip does not know (flags {flags:#06x})")
    if params_len > MAX_PARAMS_LEN:
        raise CorruptError("header is corrupt (parameter block length out of range)")
    body = r.read(params_len, "header")
    (crc,) = _CRC.unpack(r.read(4, "header"))
    if crc != zlib.crc32(first + rest + body):
        raise CorruptError("header is corrupt (checksum mismatch)")
    try:
        if flags & FLAG_PARAMS_DEFLATED:
            inflater = zlib.decompressobj(-15, _DICTIONARIES[flags & FLAG_PARAMS_DICT_X1])
            body = inflater.decompress(body, MAX_PARAMS_LEN) + inflater.flush()
        params = json.loads(body.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:  # crc passed: a writer bug
        raise CorruptError(f"header parameters cannot be read: {exc}") from None
    if not isinstance(params, dict):
        raise CorruptError("header parameters are not a JSON object")
    _join_hash(params, "model", model_hash)
    _join_hash(params, "tokenizer", tokenizer_hash)
    return params, r.offset


@dataclass(frozen=True)
class Chunk:
    """A chunk record as read back: table entry plus payload bytes."""

    index: int
    info: ChunkInfo
    payload: bytes
    offset: int | None = None  # where the record starts in its archive


class RecordReader:
    """Reads the records after the header one at a time, validating as it goes.

    State advances only when a whole record was read, so an incremental caller can retry
    the same record from a fresh buffer after a ``TruncatedError``.
    """

    def __init__(self, header_size: int, *, check_payload: bool = True) -> None:
        self.offset = header_size
        self.seen: list[ChunkInfo] = []
        self.index: Index | None = None
        self.check_payload = check_payload

    def read(self, stream: BinaryIO) -> Chunk | Index:
        """The next record: a ``Chunk``, or the validated ``Index`` (footer consumed)."""
        r = _Reader(stream)
        r.offset = start = self.offset
        n = len(self.seen)
        tag = r.read(1, "chunk table")
        if tag == CHUNK_TAG:
            head = tag + r.read(_CHUNK_HEAD.size - 1, f"record of chunk {n}")
            (crc,) = _CRC.unpack(r.read(4, f"record of chunk {n}"))
            if crc != zlib.crc32(head):
                raise CorruptChunkError(n, "record header checksum mismatch", offset=start)
            _, method, raw_size, payload_size, raw_hash, payload_crc = _CHUNK_HEAD.unpack(head)
            try:
                method = Method(method)
            except ValueError:
                raise UnsupportedVersionError(f"chunk {n} uses unknown coding method {method}") from None
            payload = r.read(payload_size, f"payload of chunk {n}")
            if self.check_payload and zlib.crc32(payload) != payload_crc:
                raise CorruptChunkError(n, "payload checksum mismatch", offset=start)
            info = ChunkInfo(method, raw_size, payload_size, raw_hash)
            self.seen.append(info)
            self.offset = r.offset
            return Chunk(n, info, payload, start)
        if tag == INDEX_TAG:
            index_offset = r.offset - 1
            index = _read_index_body(r, tag)
            offset, end = _FOOTER.unpack(r.read(_FOOTER.size, "footer"))
            if end != END_MAGIC:
                raise CorruptError("archive footer is corrupt (bad end marker)")
            if index.chunks != self.seen:
                raise CorruptError("chunk index does not match the chunk records")
            if index.original_size != sum(c.raw_size for c in self.seen):
                raise CorruptError("index original size does not match the chunk sizes")
            if offset != index_offset:
                raise CorruptError("archive footer is corrupt (index offset mismatch)")
            self.offset = r.offset
            self.index = index
            return index
        raise CorruptError(f"archive is corrupt (unexpected record tag {tag!r} after chunk {n - 1})")


def iter_chunks(stream: BinaryIO, header_size: int, *, check_payload: bool = True) -> Iterator[Chunk | Index]:
    """Yield each chunk record, then the validated ``Index``; the footer is consumed too.

    Call after ``read_header``; ``header_size`` is what it returned. Reads strictly
    forward, so it works on pipes. The index must agree with the chunks that were
    actually read, so a dropped, duplicated or reordered record is caught.
    """
    reader = RecordReader(header_size, check_payload=check_payload)
    while True:
        item = reader.read(stream)
        yield item
        if isinstance(item, Index):
            return


def _read_index_body(r: _Reader, tag: bytes) -> Index:
    (_, count) = _INDEX_HEAD.unpack(tag + r.read(_INDEX_HEAD.size - 1, "index"))
    if count > (1 << 28):
        raise CorruptError("index is corrupt (chunk count out of range)")
    entries = r.read(count * _ENTRY.size, "index")
    tail = r.read(_INDEX_TAIL.size, "index")
    (crc,) = _CRC.unpack(r.read(4, "index"))
    body = _INDEX_HEAD.pack(INDEX_TAG, count) + entries + tail
    if crc != zlib.crc32(body):
        raise CorruptError("index is corrupt (checksum mismatch)")
    chunks = []
    for i in range(count):
        method, raw_size, payload_size, raw_hash = _ENTRY.unpack_from(entries, i * _ENTRY.size)
        try:
            m = Method(method)
        except ValueError:
            raise UnsupportedVersionError(f"chunk {i} uses unknown coding method {method}") from None
        chunks.append(ChunkInfo(m, raw_size, payload_size, raw_hash))
    original_size, whole = _INDEX_TAIL.unpack(tail)
    return Index(chunks, original_size, whole)


def read_index(stream: BinaryIO) -> tuple[dict[str, Any], Index, int]:
    """Read header, then seek to the footer and index (for listing without decoding).

    Returns (params, index, archive_size). Needs a seekable stream.
    """
    stream.seek(0)
    params, _ = read_header(stream)
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
    r = _Reader(stream)
    tag = r.read(1, "index")
    if tag != INDEX_TAG:
        raise CorruptError("archive footer is corrupt (index offset does not point at the index)")
    index = _read_index_body(r, tag)
    if offset + r.offset + _FOOTER.size != size:
        raise CorruptError("archive index is corrupt (length mismatch)")
    return params, index, size
