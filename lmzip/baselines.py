"""Baseline compressors for the benchmark, driven through the real libraries.

Each baseline is a :class:`Baseline` with a ``name``, the exact settings it
uses, and ``compress``/``decompress`` callables (bytes -> bytes). Settings
mirror the strongest command-line presets of each tool:

==========  ===============================================================
gzip-9      ``gzip -9``: zlib deflate level 9 in a gzip wrapper (mtime 0, no
            file name, so 12-byte smaller header than the gzip CLI writes)
bzip2-9     ``bzip2 -9``: 900 kB blocks
xz-9e       ``xz -9e``: LZMA2 preset 9 | PRESET_EXTREME, .xz container, CRC64
zstd-19     ``zstd -19`` (python-zstandard; frame stores content size)
zstd-22     ``zstd --ultra -22`` (python-zstandard allows level 22 directly)
brotli-11   ``brotli -q 11 --lgwin=24``
ppmd-o6     PPMd variant H (as in 7-Zip), order 6, 16 MiB model memory
ppmd-o8     PPMd variant H, order 8, 256 MiB model memory
==========  ===============================================================

PPMd streams do not record their length, so the ppmd baselines prefix an
8-byte little-endian length (7-Zip likewise stores the unpacked size in its
header); those 8 bytes are counted in the compressed size.

The optional libraries (zstandard, brotli, pyppmd; ``pip install
lmzip[bench]``) are imported lazily: a missing one makes only its baselines
unavailable, reported by :func:`unavailable_baselines`.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import lzma
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

Codec = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Baseline:
    """A reference compressor with fixed settings."""

    name: str
    params: str  # human-readable settings, e.g. "level 9"
    library: str  # library and version that does the work
    compress: Codec = field(repr=False)
    decompress: Codec = field(repr=False)


class BaselineUnavailable(RuntimeError):
    """The library behind a baseline is not installed."""


# --------------------------------------------------------------------------
# builders: each returns a Baseline or raises ImportError
# --------------------------------------------------------------------------


def _gzip9() -> Baseline:
    return Baseline(
        "gzip-9",
        "deflate level 9, gzip container, mtime=0",
        f"zlib {zlib.ZLIB_RUNTIME_VERSION}",
        lambda d: gzip.compress(d, compresslevel=9, mtime=0),
        gzip.decompress,
    )


def _bzip2_9() -> Baseline:
    return Baseline(
        "bzip2-9",
        "block size 900k (level 9)",
        "bz2 (libbz2, stdlib)",
        lambda d: bz2.compress(d, 9),
        bz2.decompress,
    )


def _xz9e() -> Baseline:
    preset = 9 | lzma.PRESET_EXTREME
    return Baseline(
        "xz-9e",
        "LZMA2 preset 9|PRESET_EXTREME, .xz container, CRC64",
        "lzma (liblzma, stdlib)",
        lambda d: lzma.compress(d, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=preset),
        lambda c: lzma.decompress(c, format=lzma.FORMAT_XZ),
    )


def _zstd(level: int) -> Callable[[], Baseline]:
    def build() -> Baseline:
        zstandard = importlib.import_module("zstandard")

        def compress(d: bytes) -> bytes:
            # A fresh compressor per call: contexts are not thread-safe and
            # reusing one would carry state between measurements.
            return zstandard.ZstdCompressor(level=level, write_content_size=True).compress(d)

        def decompress(c: bytes) -> bytes:
            return zstandard.ZstdDecompressor().decompress(c)

        ultra = " (--ultra)" if level > 19 else ""
        return Baseline(
            f"zstd-{level}",
            f"level {level}{ultra}, content size in frame",
            f"zstandard {zstandard.__version__} (libzstd {zstandard.ZSTD_VERSION[0]}."
            f"{zstandard.ZSTD_VERSION[1]}.{zstandard.ZSTD_VERSION[2]})",
            compress,
            decompress,
        )

    return build


def _brotli11() -> Baseline:
    brotli = importlib.import_module("brotli")
    version = getattr(brotli, "__version__", None) or _dist_version("brotli")
    return Baseline(
        "brotli-11",
        "quality 11, lgwin 24",
        f"brotli {version}",
        lambda d: brotli.compress(d, quality=11, lgwin=24),
        brotli.decompress,
    )


_LEN = struct.Struct("<Q")


def _ppmd(order: int, mem_mib: int) -> Callable[[], Baseline]:
    def build() -> Baseline:
        pyppmd = importlib.import_module("pyppmd")
        mem = mem_mib << 20

        def compress(d: bytes) -> bytes:
            enc = pyppmd.Ppmd7Encoder(order, mem)
            return _LEN.pack(len(d)) + enc.encode(d) + enc.flush()

        def decompress(c: bytes) -> bytes:
            if len(c) < _LEN.size:
                raise ValueError("ppmd stream shorter than its length header")
            (n,) = _LEN.unpack_from(c)
            # pyppmd.decompress(variant="H") cannot be used: Ppmd7Decoder
            # needs the output length, which the plain stream lacks.
            return pyppmd.Ppmd7Decoder(order, mem).decode(c[_LEN.size:], n)

        return Baseline(
            f"ppmd-o{order}",
            f"PPMd var.H (7z), order {order}, {mem_mib} MiB, +8-byte length header",
            f"pyppmd {_dist_version('pyppmd')}",
            compress,
            decompress,
        )

    return build


def _dist_version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # metadata missing in odd installs; version is informational
        return "unknown"


_BUILDERS: dict[str, Callable[[], Baseline]] = {
    "gzip-9": _gzip9,
    "bzip2-9": _bzip2_9,
    "xz-9e": _xz9e,
    "zstd-19": _zstd(19),
    "zstd-22": _zstd(22),
    "brotli-11": _brotli11,
    "ppmd-o6": _ppmd(6, 16),
    "ppmd-o8": _ppmd(8, 256),
}

BASELINE_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def get_baseline(name: str) -> Baseline:
    """Build the baseline called ``name``.

    Raises KeyError for an unknown name and :class:`BaselineUnavailable`
    when its library is not installed.
    """
    if name not in _BUILDERS:
        raise KeyError(f"unknown baseline {name!r}; choose from {', '.join(BASELINE_NAMES)}")
    try:
        return _BUILDERS[name]()
    except ImportError as exc:
        raise BaselineUnavailable(
            f"baseline {name} needs {exc.name or exc}; install with: pip install 'lmzip[bench]'"
        ) from exc


def unavailable_baselines(names: list[str] | None = None) -> dict[str, str]:
    """Map each requested baseline whose library is missing to the reason."""
    missing = {}
    for n in names if names is not None else BASELINE_NAMES:
        try:
            get_baseline(n)
        except BaselineUnavailable as exc:
            missing[n] = str(exc)
    return missing


def load_baselines(names: list[str] | None = None, *, strict: bool = False) -> list[Baseline]:
    """Build the named baselines (default: all).

    With ``strict`` a missing library raises; otherwise that baseline is
    skipped (callers report :func:`unavailable_baselines`).
    """
    out = []
    for n in names if names is not None else BASELINE_NAMES:
        try:
            out.append(get_baseline(n))
        except BaselineUnavailable:
            if strict:
                raise
    return out
