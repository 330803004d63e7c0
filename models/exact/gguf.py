"""A small, strict GGUF reader: metadata and raw tensor bytes, nothing else.

GGUF (llama.cpp's model file) is: magic ``GGUF``, version, tensor count, metadata
key/values, tensor descriptors, then the aligned tensor data. This reader maps the file
read-only and hands out each tensor as its raw block bytes; dequantization belongs to
the exact model (``models/exact/weights.py``), which defines what the bytes mean.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmzip.formats.errors import ModelError

GGUF_MAGIC = b"GGUF"

# ggml tensor types this project reads, with (block elements, block bytes).
GGML_F32, GGML_F16, GGML_Q4_1, GGML_Q8_0 = 0, 1, 3, 8
BLOCK_LAYOUT = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_Q4_1: (32, 20), GGML_Q8_0: (32, 34)}
TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q4_1: "Q4_1", GGML_Q8_0: "Q8_0"}

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # ggml order: shape[0] is the contiguous (row) length
    ggml_type: int
    offset: int  # absolute offset in the file


class GGUFFile:
    """Metadata (``.meta``) and tensors (``.raw(name)``) of one GGUF file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            with open(self.path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read model file {self.path}: {exc}") from None
        self._pos = 0
        try:
            self._parse()
        except (struct.error, UnicodeDecodeError, IndexError, ValueError) as exc:
            raise ModelError(f"{self.path} is not a valid GGUF file ({exc})") from None

    # -- parsing ----------------------------------------------------------------------
    def _take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self._pos + size > len(self._map):
            raise ValueError("truncated")
        (value,) = struct.unpack_from(fmt, self._map, self._pos)
        self._pos += size
        return value

    def _string(self) -> str:
        n = self._take("<Q")
        if self._pos + n > len(self._map):
            raise ValueError("truncated string")
        s = bytes(self._map[self._pos:self._pos + n]).decode("utf-8")
        self._pos += n
        return s

    def _value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self._take(_SCALARS[vtype])
        if vtype == _STRING:
            return self._string()
        if vtype == _ARRAY:
            etype, n = self._take("<I"), self._take("<Q")
            if etype in _SCALARS and etype != 7:
                fmt = _SCALARS[etype]
                size = struct.calcsize(fmt) * n
                if self._pos + size > len(self._map):
                    raise ValueError("truncated array")
                arr = np.frombuffer(self._map, dtype=np.dtype(fmt), count=n, offset=self._pos).copy()
                self._pos += size
                return arr
            return [self._value(etype) for _ in range(n)]
        raise ValueError(f"unknown metadata type {vtype}")

    def _parse(self) -> None:
        if bytes(self._map[:4]) != GGUF_MAGIC:
            raise ValueError("bad magic")
        self._pos = 4
        self.version = self._take("<I")
        if self.version not in (2, 3):
            raise ValueError(f"unsupported GGUF version {self.version}")
        n_tensors, n_kv = self._take("<Q"), self._take("<Q")
        self.meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = self._string()
            self.meta[key] = self._value(self._take("<I"))
        infos = []
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._take("<I")
            shape = tuple(self._take("<Q") for _ in range(n_dims))
            infos.append((name, shape, self._take("<I"), self._take("<Q")))
        align = int(self.meta.get("general.alignment", 32))
        data_start = (self._pos + align - 1) // align * align
        self.tensors: dict[str, TensorInfo] = {}
        for name, shape, gtype, offset in infos:
            self.tensors[name] = TensorInfo(name, shape, gtype, data_start + offset)

    # -- access -----------------------------------------------------------------------
    def raw(self, name: str) -> tuple[TensorInfo, np.ndarray]:
        """The tensor's bytes as a read-only uint8 array of ``rows * row_bytes``."""
        info = self.tensors.get(name)
        if info is None:
            raise ModelError(f"{self.path} has no tensor {name!r}")
        if info.ggml_type not in BLOCK_LAYOUT:
            raise ModelError(f"tensor {name!r} has ggml type {info.ggml_type}, which lmzip's exact model cannot read")
        per, nbytes = BLOCK_LAYOUT[info.ggml_type]
        n = int(np.prod(info.shape))
        if n % per:
            raise ModelError(f"tensor {name!r} is not a whole number of blocks")
        size = n // per * nbytes
        if info.offset + size > len(self._map):
            raise ModelError(f"{self.path} is truncated inside tensor {name!r}")
        return info, np.frombuffer(self._map, dtype=np.uint8, count=size, offset=info.offset)
