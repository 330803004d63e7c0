"""bytecm: lmzip's compiled byte-level engines (levels 1-3 and fallback chunks).

Two engines share this API, told apart by the parameter dict's ``kind``:

- ``"bytecm-lz1"`` (level 1, ``lz.c``): LZ77 over the whole chunk with a hash-chain
  match finder and a price-driven optimal parser, its symbols (literals, matches, rep
  matches, lengths, distances) coded with adaptive binary probabilities through
  ``coder/binarith.h`` in an LZMA-like layout. Decoding costs a few binary decisions
  per match and 8 per literal: tens of MB/s.
- ``"bytecm-v1"`` (levels 2-3, and the level 1 of earlier archives, ``bcm.c``): a
  context-mixing compressor that predicts each bit from order-0..7 and high-order
  hashed contexts with bit-history states, word, sparse, record, column/CSV, indirect
  and x86 call/jump models and a match model; a gated two-layer mixer blends them,
  APM/SSE stages and a micro-diffusion denoiser calibrate the result. Symmetric: about
  as slow to decode as to encode.

Both code with the 32-bit binary arithmetic coder ``coder/binarith.h``; every
probability is integer arithmetic, so a payload decodes identically on every machine.
See ``models/bytecm/README.md`` for the designs, the measurements and the ablation.

Contract (what the chunk layer relies on):

- ``default_params(level)``: level 1 (fast LZ), 2 or 3 (strongest CM); a fresh JSON-able
  dict holding the complete parameter set (``kind``, table sizes as log2, which models
  and stages are on, learning rates / search effort). Store it in the header as is; the
  decoder uses the stored dict, never the defaults. ``legacy_params(1)`` is the CM dict
  level 1 used before the LZ engine (archives made with it must keep decoding).
- ``check_params(params)``: validates a dict read from a header (a known ``kind``, its
  exact key set, types, every value within hard maxima: no dict can ask for larger
  tables than level 3). Raises ``ValueError`` with a one-line reason; returns None if
  acceptable.
- ``compress(data, params) -> bytes``: one chunk (any size up to 2 GiB), one C call with
  the GIL released. Deterministic and machine-independent. ``b""`` gives ``b""``.
- ``decompress(payload, size, params) -> bytes``: exactly ``size`` bytes, or
  ``ValueError`` for a corrupt, truncated or extended payload (a 16-bit check in the
  payload catches all but 1 in 65536 corruptions that still decode), a payload too
  short for ``size`` (CM: more than 4096 bytes per payload byte is impossible; LZ:
  65536), or bad params. It never reads outside the payload, allocates at most
  ``memory(params, size)`` bytes of heap plus the ``size``-byte result, and runs in
  time linear in ``size``. ``MemoryError`` only when the machine cannot give that memory.
- ``memory(params, size)``: the engine's heap for a chunk of ``size`` bytes (for the LZ
  engine: the encoder's, which is more than its decoder's).
"""

from __future__ import annotations

import copy
from typing import Any

from lmzip.models.bytecm import _bytecm

KIND = "bytecm-v1"  # the context-mixing engine (levels 2-3; level 1 of earlier archives)
LZ_KIND = "bytecm-lz1"  # the LZ engine (level 1)
KINDS = (KIND, LZ_KIND)
LEVELS = (1, 2, 3)

# Names of the mixer weight-set selectors and the APM stages, in the engine's bit order.
MIXER_SELECTORS = ("c0", "match", "c1", "order", "c2", "word", "none")
APM_STAGES = ("o0", "o1", "o2", "match")

# The integer parameters, in the engine's order (after the version), with their bounds.
# Bounds are the hard maxima a header may ask for: the largest tables are level 3's.
_INT_KEYS: dict[str, tuple[int, int]] = {
    "hash_log": (16, 26),
    "orders": (0, 0),  # a list, handled apart
    "high_order": (0, 32),
    "word": (0, 4),
    "sparse": (0, 6),
    "record": (0, 1),
    "column": (0, 1),
    "x86": (0, 1),
    "indirect": (0, 1),
    "match_log": (0, 22),
    "match_min": (3, 16),
    "match_long": (0, 48),
    "inputs2": (0, 1),
    "mixer": (0, 0),  # a list
    "mixer_lr": (1, 64),
    "mixer_lr2": (1, 64),
    "apm": (0, 0),  # a list
    "apm_rate": (4, 8),
    "diffusion": (0, 3),
    "diffusion_rate": (1, 64),
    "sm_limit": (16, 1023),
}
_KEYS = frozenset(("kind", *_INT_KEYS))

# The LZ engine's parameters, in the engine's order (after the version), with bounds.
# hash_log / chain / nice_len / parse steer the encoder's search only; lc / lp / pb shape
# the coded stream's model. lc + lp <= 12 caps the literal tables at 6 MiB.
_LZ_INT_KEYS: dict[str, tuple[int, int]] = {
    "hash_log": (10, 22),
    "chain": (1, 1024),
    "nice_len": (8, 273),
    "parse": (0, 1),
    "lc": (0, 8),
    "lp": (0, 4),
    "pb": (0, 4),
}
_LZ_KEYS = frozenset(("kind", *_LZ_INT_KEYS))

_LZ_LEVEL1: dict[str, Any] = {
    "kind": LZ_KIND,
    "hash_log": 20,
    "chain": 48,
    "nice_len": 192,
    "parse": 1,
    "lc": 8,
    "lp": 0,
    "pb": 0,
}

# Level 1 before the LZ engine (kind bytecm-v1): archives made with it exist and must
# keep decoding; kept here for tests and anyone who wants the strong-but-slow level 1.
_LEGACY_LEVEL_PARAMS: dict[int, dict[str, Any]] = {
    1: {
        "kind": KIND,
        "hash_log": 22,
        "orders": [1, 2, 3, 4, 6],
        "high_order": 0,
        "word": 1,
        "sparse": 1,
        "record": 1,
        "column": 0,
        "x86": 1,
        "indirect": 0,
        "match_log": 18,
        "match_min": 6,
        "match_long": 0,
        "inputs2": 0,
        "mixer": ["c0"],
        "mixer_lr": 4,
        "mixer_lr2": 2,
        "apm": ["o1"],
        "apm_rate": 7,
        "diffusion": 0,
        "diffusion_rate": 4,
        "sm_limit": 1023,
    },
}

_LEVEL_PARAMS: dict[int, dict[str, Any]] = {
    1: _LZ_LEVEL1,
    2: {
        "kind": KIND,
        "hash_log": 24,
        "orders": [1, 2, 3, 4, 5, 6],
        "high_order": 8,
        "word": 2,
        "sparse": 3,
        "record": 1,
        "column": 1,
        "x86": 1,
        "indirect": 1,
        "match_log": 20,
        "match_min": 6,
        "match_long": 24,
        "inputs2": 1,
        "mixer": ["c0", "match", "c1", "order"],
        "mixer_lr": 4,
        "mixer_lr2": 2,
        "apm": ["o1", "o2"],
        "apm_rate": 7,
        "diffusion": 1,
        "diffusion_rate": 4,
        "sm_limit": 1023,
    },
    3: {
        "kind": KIND,
        "hash_log": 26,
        "orders": [1, 2, 3, 4, 5, 6, 7],
        "high_order": 12,
        "word": 4,
        "sparse": 6,
        "record": 1,
        "column": 1,
        "x86": 1,
        "indirect": 1,
        "match_log": 22,
        "match_min": 5,
        "match_long": 24,
        "inputs2": 1,
        "mixer": ["c0", "match", "c1", "order", "c2", "word"],
        "mixer_lr": 4,
        "mixer_lr2": 2,
        "apm": ["o0", "o1", "o2", "match"],
        "apm_rate": 7,
        "diffusion": 2,
        "diffusion_rate": 4,
        "sm_limit": 1023,
    },
}


def default_params(level: int) -> dict[str, Any]:
    """The complete parameter dict of ``level`` (1 fast .. 3 strongest): a fresh copy.

    Level 1 is the LZ engine (``kind`` ``LZ_KIND``), levels 2-3 the CM engine (``KIND``).
    ``ValueError`` for any other level. The dict is JSON-able (str keys; int, str and
    list-of-int/str values) and passes ``check_params``.
    """
    if level not in _LEVEL_PARAMS:
        raise ValueError(f"bytecm has levels 1-3, not {level!r}")
    return copy.deepcopy(_LEVEL_PARAMS[level])


def legacy_params(level: int) -> dict[str, Any]:
    """A level's parameter dict from before the LZ engine (only level 1 changed: the
    CM engine's level 1, kind ``KIND``). Archives made with it decode forever."""
    if level in _LEGACY_LEVEL_PARAMS:
        return copy.deepcopy(_LEGACY_LEVEL_PARAMS[level])
    return default_params(level)


def _int(params: dict[str, Any], key: str, bounds: dict[str, tuple[int, int]] = _INT_KEYS) -> int:
    v = params[key]
    if type(v) is not int:  # bool and float are refused too
        raise ValueError(f"bytecm parameter {key!r} must be an integer")
    lo, hi = bounds[key]
    if not lo <= v <= hi:
        raise ValueError(f"bytecm parameter {key!r}={v} outside {lo}..{hi}")
    return v


def _names(params: dict[str, Any], key: str, names: tuple[str, ...]) -> int:
    v = params[key]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"bytecm parameter {key!r} must be a list of names")
    if len(set(v)) != len(v) or any(x not in names for x in v):
        raise ValueError(f"bytecm parameter {key!r} must name distinct items of {names}")
    return sum(1 << names.index(x) for x in v)


def _is_lz(params: dict[str, Any]) -> bool:
    """Which engine: ``ValueError`` unless ``params`` is a dict of a known kind."""
    if not isinstance(params, dict):
        raise ValueError("bytecm parameters must be a dict")
    kind = params.get("kind")
    if kind not in KINDS:
        raise ValueError(f"bytecm kind {kind!r} is not one of {KINDS}")
    return kind == LZ_KIND


def _lz_array(params: dict[str, Any]) -> list[int]:
    """Validate LZ ``params`` and flatten them into the LZ engine's integer array."""
    keys = set(params)
    if keys != _LZ_KEYS:
        missing, extra = sorted(_LZ_KEYS - keys), sorted(keys - _LZ_KEYS)
        raise ValueError(f"bytecm-lz parameters: missing {missing}, unknown {extra}")
    arr = [_bytecm.LZ_VERSION] + [_int(params, key, _LZ_INT_KEYS) for key in _LZ_INT_KEYS]
    if params["lc"] + params["lp"] > 12:
        raise ValueError("bytecm-lz parameters 'lc' + 'lp' must be at most 12")
    _bytecm.lz_memory(arr)  # the engine's own check (same limits), raises ValueError
    return arr


def _to_array(params: dict[str, Any]) -> list[int]:
    """Validate CM ``params`` and flatten them into the CM engine's integer array."""
    if not isinstance(params, dict):
        raise ValueError("bytecm parameters must be a dict")
    keys = set(params)
    if keys != _KEYS:
        missing, extra = sorted(_KEYS - keys), sorted(keys - _KEYS)
        raise ValueError(f"bytecm parameters: missing {missing}, unknown {extra}")
    if params["kind"] != KIND:
        raise ValueError(f"bytecm kind {params['kind']!r} is not {KIND!r}")
    orders = params["orders"]
    if (not isinstance(orders, list) or any(type(k) is not int or not 1 <= k <= 7 for k in orders)
            or len(set(orders)) != len(orders)):
        raise ValueError("bytecm parameter 'orders' must be a list of distinct ints 1..7")
    arr = [_bytecm.VERSION]
    for key in _INT_KEYS:
        if key == "orders":
            arr.append(sum(1 << k for k in orders))
        elif key == "mixer":
            bits = _names(params, key, MIXER_SELECTORS)
            if not bits:
                raise ValueError("bytecm parameter 'mixer' needs at least one selector")
            arr.append(bits)
        elif key == "apm":
            arr.append(_names(params, key, APM_STAGES))
        else:
            arr.append(_int(params, key))
    hi = params["high_order"]
    if hi and hi < 8:
        raise ValueError("bytecm parameter 'high_order' must be 0 or 8..32")
    if params["match_log"] and params["match_log"] < 10:
        raise ValueError("bytecm parameter 'match_log' must be 0 or 10..22")
    if params["match_long"] and params["match_long"] <= params["match_min"]:
        raise ValueError("bytecm parameter 'match_long' must be 0 or above 'match_min'")
    _bytecm.memory(arr)  # the engine's own check (same limits), raises ValueError
    return arr


def check_params(params: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless ``params`` is a complete, in-bounds parameter dict.

    ``kind`` one of ``KINDS``; exactly that kind's keys (none missing, none extra), ints
    that are real ints (not bool or float) within their bounds, name lists without
    repeats. CM: the bounds cap memory at level 3's: ``hash_log`` <= 26 (64 MiB of
    context slots), ``match_log`` <= 22 (16 MiB of match index), fixed-size mixers and
    APMs. LZ: ``hash_log`` <= 22, ``lc + lp`` <= 12 (6 MiB of literal probabilities; the
    decoder allocates only its model). So a hostile header cannot make the decoder
    allocate more than ``memory(default_params(3))`` plus the chunk's size (twice:
    history and result).
    """
    if _is_lz(params):
        _lz_array(params)
    else:
        _to_array(params)


def memory(params: dict[str, Any], size: int = 0) -> int:
    """Heap bytes the engine allocates for a chunk of ``size`` bytes with ``params``."""
    if _is_lz(params):
        return _bytecm.lz_memory(_lz_array(params), size)
    return _bytecm.memory(_to_array(params), size)


def compress(data: bytes, params: dict[str, Any]) -> bytes:
    """Code one chunk (bytes-like, up to 2 GiB) with ``params``; returns the payload.

    ``ValueError`` for bad params. The payload is a flags byte, a 16-bit check and the
    arithmetic-coded bits; empty data gives an empty payload.
    """
    if _is_lz(params):
        return _bytecm.lz_compress(data, _lz_array(params))
    return _bytecm.compress(data, _to_array(params))


def decompress(payload: bytes, size: int, params: dict[str, Any]) -> bytes:
    """Decode one chunk of exactly ``size`` bytes made by ``compress`` with ``params``.

    ``ValueError`` if the payload is corrupt, truncated, extended, too short for
    ``size``, or the params or size are invalid: never a crash, never wrong bytes
    silently (short of a 1-in-65536 check collision; the container's checksum follows).
    """
    if type(size) is not int or size < 0:
        raise ValueError("size must be a non-negative int")
    if _is_lz(params):
        return _bytecm.lz_decompress(payload, size, _lz_array(params))
    return _bytecm.decompress(payload, size, _to_array(params))


__all__ = ["KIND", "LZ_KIND", "KINDS", "LEVELS", "default_params", "legacy_params", "check_params", "compress",
           "decompress", "memory"]
