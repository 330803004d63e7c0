"""Coding one chunk: choose the smallest of stored, xz and LLM, and invert it exactly."""

from __future__ import annotations

import lzma
from dataclasses import dataclass
from typing import Callable

from lmzip._config import EXACT_BACKEND, CodingConfig
from lmzip._engine import decode_lanes, decode_tokens, encode_lanes, encode_tokens
from lmzip._lanes import pack_payload, read_varint, varint
from lmzip._runtime import Runtime
from lmzip.formats.container import Method, xxh64
from lmzip.formats.errors import CorruptChunkError, LmzipError, MachineDependentError

_XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]

# The LLM is tried only where the text tokenizes well: at fewer than this many bytes per
# token (binary data falls back to one token per byte) it would be slower than ~100 B/s
# and, on binary corpus files (about 0.8-1.1 bytes per token), larger than xz anyway.
MIN_BYTES_PER_TOKEN = 1.2
CM_HOPELESS = 0.5

# Binary chunks skip the LLM before anything slow (issue 18). Tokenizing binary costs
# about as much as the CM engine (~13 us/byte: it splits into many tiny text spans), so
# the decision starts from the share of bytes the tokenizer spells as byte tokens
# without asking the model's tokenizer (its own _NOT_TEXT class: invalid UTF-8, C0
# controls), ~0.1 us/byte. Measured on 256-512 KiB prefixes: binary corpus files 18-98%
# (osdb 18%, all others 44-98%), text files 0-4.6% (calgary/trans: NULs, backspaces;
# 12.6% in its first 4 KiB, which the LLM codes 38% below CM). On 8 KiB of alice29
# interleaved with obj2/ooffice blocks the LLM beats CM at 16-18% (-10..-18%) and loses
# at 28-31% (+7..+12%): at or above NOT_TEXT_SKIP the LLM is not tried. From
# NOT_TEXT_SAMPLE on, bytes/token is first estimated on SAMPLE_WINDOWS windows of
# SAMPLE_BYTES spread over the chunk (osdb: 1.107 against 1.102 in full) and the full
# tokenization runs only if that passes MIN_BYTES_PER_TOKEN. Encoder-only: a chunk's
# method is in the container, so a wrong skip costs ratio only, never correctness.
NOT_TEXT_SKIP = 0.25
NOT_TEXT_SAMPLE = 0.02
SAMPLE_WINDOWS = 8
SAMPLE_BYTES = 2048


def _not_text_share(raw: bytes) -> float:
    """Share of ``raw``'s bytes that the tokenizer hands straight to byte tokens."""
    from lmzip.models.tokenizer import _NOT_TEXT

    text = raw.decode("utf-8", errors="surrogateescape")
    # Each not-text character is one byte (an escaped undecodable byte or a control).
    return (len(text) - len(_NOT_TEXT.sub("", text))) / max(1, len(raw))


def plainly_binary(raw: bytes) -> bool:
    """True for a chunk the LLM is never tried on (the model need not even be loaded)."""
    return _not_text_share(raw) >= NOT_TEXT_SKIP


def _may_be_text(raw: bytes, tokenize: Callable[[bytes], list[int]]) -> bool:
    """False for a chunk the LLM should not be tried on (the full bytes/token rule follows)."""
    share = _not_text_share(raw)
    if share >= NOT_TEXT_SKIP:
        return False
    if share >= NOT_TEXT_SAMPLE and len(raw) > 2 * SAMPLE_WINDOWS * SAMPLE_BYTES:
        step = len(raw) // SAMPLE_WINDOWS
        windows = [raw[i * step:i * step + SAMPLE_BYTES] for i in range(SAMPLE_WINDOWS)]
        n_tokens = sum(len(tokenize(w)) for w in windows)
        if SAMPLE_WINDOWS * SAMPLE_BYTES < MIN_BYTES_PER_TOKEN * n_tokens:
            return False
    return True


@dataclass
class ChunkResult:
    method: Method
    payload: bytes
    n_tokens: int = 0  # tokens coded by the LLM (0 if the LLM was not used)
    llm_tried: bool = False  # the LLM coded it (and reported progress), even if not chosen


def _xz(raw: bytes) -> bytes:
    return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_XZ_FILTERS)


def _unxz(payload: bytes, raw_size: int) -> bytes:
    # Bounded: a crafted chunk cannot make us inflate more than it claims (+1 to notice).
    d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_XZ_FILTERS)
    return d.decompress(payload, max_length=raw_size + 1)


def encode_chunk(
    raw: bytes, config: CodingConfig, runtime: Runtime | None, tick: Callable[[int], None] | None = None
) -> ChunkResult:
    best = ChunkResult(Method.STORED, raw)
    if not raw:
        return best
    xz = _xz(raw)
    if len(xz) < len(best.payload):
        best = ChunkResult(Method.XZ, xz)
    if config.uses_llm and runtime is not None and _may_be_text(raw, runtime.tokenizer.encode):
        lanes = config.lanes.tokenize(raw, runtime.tokenizer.encode, runtime.tokenizer.escape_token)
        n_tokens = sum(len(t) for t in lanes)
        if len(raw) >= MIN_BYTES_PER_TOKEN * n_tokens:
            payload = _encode_llm(lanes, config, runtime, tick)
            if tick is not None:
                tick.flush()
            best.llm_tried = True
            if len(payload) < len(best.payload):
                best = ChunkResult(Method.LLM, payload, n_tokens, llm_tried=True)
    # The CM engine, unless the LLM already beat xz by more than CM ever does (measured:
    # at best ~40% below xz -9e, on text; its payload would lose, so skip its time).
    if config.cm is not None and not (best.method == Method.LLM and len(best.payload) < CM_HOPELESS * len(xz)):
        from lmzip.models import bytecm

        cm = bytecm.compress(raw, config.cm)
        if len(cm) < len(best.payload):
            best = ChunkResult(Method.CM, cm, llm_tried=best.llm_tried)
    return best


def _encode_llm(lanes: list[list[int]], config: CodingConfig, runtime: Runtime, tick) -> bytes:
    if config.backend != EXACT_BACKEND:  # pragma: no cover - v1 archives are only decoded now
        bits = encode_tokens(runtime.predictor(config), lanes[0], tick)
        return varint(len(lanes[0])) + bits
    backend, model = runtime.lane_coder(config)
    streams = encode_lanes(backend, model, lanes, None if tick is None else tick.many)
    return pack_payload([len(t) for t in lanes], streams)


def _decode_llm(payload: bytes, raw_size: int, config: CodingConfig, runtime: Runtime, tick) -> bytes:
    """The bytes of an LLM payload (``CorruptChunkError`` for a bad directory: the
    structure, not the numerics, so plainly corrupt)."""
    if config.backend != EXACT_BACKEND:
        try:
            n_tokens, used = read_varint(payload, 0)
        except ValueError:
            raise _Structure("bad token count") from None
        if n_tokens > 2 * raw_size:  # a token spells >= 1 byte, an escape pair exactly 1
            raise _Structure("token count exceeds chunk size")
        tokens = decode_tokens(runtime.predictor(config), payload[used:], n_tokens, tick)
        return runtime.tokenizer.decode(tokens)
    try:
        n_tokens, streams = config.lanes.unpack(payload, raw_size)
    except ValueError as exc:
        raise _Structure(str(exc)) from None
    backend, model = runtime.lane_coder(config)
    lanes = decode_lanes(backend, model, streams, n_tokens, None if tick is None else tick.many)
    # Each lane decodes on its own (a token cut never splits an escape pair; a lane that
    # ends inside one is bad data: ValueError) and the lanes' bytes concatenate.
    return b"".join(runtime.tokenizer.decode(tokens) for tokens in lanes)


class _Structure(Exception):
    """An LLM payload whose structure (not its numerics) is broken."""


def machine_dependent_numerics(config: CodingConfig) -> bool:
    """Do this archive's LLM chunks depend on the CPU that coded them?

    True for format v1 (llama.cpp logits: its kernels round differently on AVX2 and
    AVX-512 CPUs). Configs without a ``backend`` attribute are v1 archives.
    """
    return getattr(config, "backend", "llama.cpp") == "llama.cpp"


def _decode_failure(index: int, method: Method, config: CodingConfig, detail: str) -> CorruptChunkError:
    """The error for a chunk whose (crc-verified) payload does not decode to its bytes.

    The container checks every payload's crc32 before it reaches ``decode_chunk``, so
    an LLM chunk of a llama.cpp archive that fails here was most likely made on a CPU
    whose numerics differ from ours: say so instead of calling it corrupt.
    """
    if method == Method.LLM and machine_dependent_numerics(config):
        return MachineDependentError(index, detail)
    return CorruptChunkError(index, detail)


def _describe(exc: Exception) -> str:
    """``Type: first line of the message``, at most ~100 characters (error messages are one line)."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 100 else text[:99] + "…"


def decode_chunk(
    index: int,
    method: Method,
    payload: bytes,
    raw_size: int,
    raw_xxh64: int | None,
    config: CodingConfig,
    runtime: Runtime | None,
    tick: Callable[[int], None] | None = None,
) -> bytes:
    try:
        if method == Method.STORED:
            raw = payload
        elif method == Method.XZ:
            raw = _unxz(payload, raw_size)
        elif method == Method.CM:
            if config.cm is None:
                raise CorruptChunkError(index, "CM-coded chunk in an archive whose header has no CM parameters")
            from lmzip.models import bytecm

            raw = bytecm.decompress(payload, raw_size, config.cm)
        elif method == Method.LLM:
            if runtime is None:
                raise CorruptChunkError(index, "LLM-coded chunk in an archive whose header has no model")
            try:
                raw = _decode_llm(payload, raw_size, config, runtime, tick)
            except _Structure as exc:
                raise CorruptChunkError(index, str(exc)) from None
            if tick is not None:
                tick.flush()
        else:  # pragma: no cover - container parsing rejects unknown methods
            raise CorruptChunkError(index, f"unknown method {method}")
    except (LmzipError, MemoryError, OSError):
        raise  # our own errors keep their type; no memory or I/O is not bad data
    except Exception as exc:
        # Anything else is the data's fault: LZMAError, the range coder's ValueError, a
        # desynchronized token stream's IndexError/KeyError in the tokenizer or model,
        # OverflowError, AssertionError... None may escape as a traceback.
        detail = f"cannot decode {method.name.lower()} payload ({_describe(exc)})"
        raise _decode_failure(index, method, config, detail) from None
    # Format 2 has no per-chunk output hash (raw_xxh64 None): its END check covers the output.
    if len(raw) != raw_size or (raw_xxh64 is not None and xxh64(raw) != raw_xxh64):
        raise _decode_failure(index, method, config, "decoded data fails its checksum")
    return raw
