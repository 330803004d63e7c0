"""The parameter object: its canonical bytes, its bounded inflation and shape check (both
versions), and format 2's compact form (a recipe id, or explicit deflated JSON)."""

from __future__ import annotations

import json
import zlib
from typing import Any

from lmzip.formats.common import MAX_CHUNK_SIZE, MAX_PARAMS_JSON
from lmzip.formats.errors import CorruptError, UnsupportedVersionError
from lmzip.formats.recipes import RECIPES, recipe_id
from lmzip.formats.wire import Source, encode_varint

MAX_EXPLICIT_LEN = 1 << 16  # format 2: the deflated explicit parameters
_ID_BYTES = 3  # varint width of a recipe id (2 million ids)
# Top-level keys whose value, when present, a decoder reads as an object.
_OBJECT_KEYS = ("coder", "xz", "model", "tokenizer", "backend", "predictor", "lanes")


def canonical_json(params: dict[str, Any]) -> bytes:
    """The one byte form of a params dict: sorted keys, no spaces, UTF-8."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def deflate(text: bytes, dictionary: bytes) -> bytes:
    """Raw DEFLATE (level 9) of ``text`` with a preset dictionary."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    return deflater.compress(text) + deflater.flush()


def inflate_bounded(body: bytes, dictionary: bytes, what: str) -> bytes:
    """Inflate a raw DEFLATE ``body`` that must end exactly at its end and give at most
    ``MAX_PARAMS_JSON`` bytes; inflation stops there, so a bomb costs nothing."""
    inflater = zlib.decompressobj(-15, dictionary)
    try:
        text = inflater.decompress(body, MAX_PARAMS_JSON + 1)
    except zlib.error as exc:
        raise CorruptError(f"{what} cannot be read: {exc}") from None
    if len(text) > MAX_PARAMS_JSON:
        raise CorruptError(f"{what} are too large (over {MAX_PARAMS_JSON} bytes)")
    if not inflater.eof or inflater.unused_data:
        raise CorruptError(f"{what} cannot be read (the compressed block does not end where it should)")
    return text


def parse_params(text: bytes, what: str = "header parameters") -> dict[str, Any]:
    """The parameter object of a canonical-JSON ``text``, shape-checked (:func:`check_params`)."""
    try:
        params = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: JSON, huge ints
        raise CorruptError(f"{what} cannot be read: {type(exc).__name__}") from None
    check_params(params)
    return params


def check_params(params: object) -> None:
    """Refuse a parameter object whose shape a decoder could not even look at.

    Only the structure every reader relies on: the values' meaning is checked by
    ``CodingConfig.from_params`` and the model code, which reject what they do not know.
    """
    if not isinstance(params, dict):
        raise UnsupportedVersionError("archive header parameters not understood: not a JSON object")
    for key in ("level", "chunk_size"):
        if type(params.get(key)) is not int:
            raise UnsupportedVersionError(f"archive header parameters not understood: {key!r} is not an integer")
    if not 1 <= params["chunk_size"] <= MAX_CHUNK_SIZE:
        raise UnsupportedVersionError("archive header parameters not understood: chunk size out of range")
    for key in _OBJECT_KEYS:
        if key in params and not isinstance(params[key], dict):
            raise UnsupportedVersionError(f"archive header parameters not understood: {key!r} is not an object")


# ----------------------------------------------------------------------------- format 2


def encode_params_v2(params: dict[str, Any]) -> bytes:
    """Format 2's PARAMS field: ``varint(recipe)``, or ``0`` + base + length + deflated JSON."""
    text = canonical_json(params)
    try:
        check_params(json.loads(text))  # never write what a reader would refuse
    except UnsupportedVersionError as exc:
        raise ValueError(str(exc)) from None
    found = recipe_id(text.decode())
    if found is not None:
        return encode_varint(found)
    # Deflate against each recipe (a preset dictionary of ~1 KB) and keep the shortest,
    # the lowest id on a tie: parameters that differ from a level's in a few values
    # (--chunk-size, --context, another model) cost a few dozen bytes.
    size, base, body = min((len(b), rid, b) for rid, b in
                           ((rid, deflate(text, RECIPES[rid].encode())) for rid in RECIPES))
    if len(text) > MAX_PARAMS_JSON or size > MAX_EXPLICIT_LEN:
        raise ValueError("params too large")
    return b"\x00" + encode_varint(base) + encode_varint(size) + body


def read_params_v2(src: Source) -> dict[str, Any]:
    """Read format 2's PARAMS field from ``src`` and return the parameter object."""
    rid = src.varint("header", _ID_BYTES)
    if rid:
        if rid not in RECIPES:
            raise UnsupportedVersionError(
                f"archive uses coding recipe {rid}, which this lmzip does not know (a newer lmzip made it)")
        return parse_params(RECIPES[rid].encode())
    base = src.varint("header", _ID_BYTES)
    if base not in RECIPES:
        raise UnsupportedVersionError(
            f"archive parameters refer to recipe {base}, which this lmzip does not know (a newer lmzip made it)")
    size = src.varint("header", 3)
    if not 1 <= size <= MAX_EXPLICIT_LEN:
        raise CorruptError("header is corrupt (parameter block length out of range)")
    body = src.read(size, "header")
    return parse_params(inflate_bounded(body, RECIPES[base].encode(), "header parameters"))
