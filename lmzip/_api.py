"""One-shot ``compress``/``decompress``, sharing loaded codecs between calls."""

from __future__ import annotations

import os
import threading

from lmzip._codec import Codec, ProgressCallback, int_argument
from lmzip._config import DEFAULT_LEVEL

_codecs: dict[tuple, Codec] = {}
_lock = threading.Lock()


def _shared_codec(level: int, model: str | os.PathLike[str] | None, threads: int | None,
                  lanes: int | None = None, device: str | None = None) -> Codec:
    """Loading a model costs ~1 s; keep one Codec per (level, model, threads)."""
    # Checked before the lookup: True and 1.0 hash like 1 and would find level 1's codec.
    level = int_argument("level", level)
    threads = int_argument("threads", threads, optional=True)
    lanes = int_argument("lanes", lanes, optional=True)
    key = (level, os.fspath(model) if model is not None else None, threads, lanes, device)
    with _lock:
        codec = _codecs.get(key)
        if codec is None:
            codec = _codecs[key] = Codec(level=level, model=model, threads=threads, lanes=lanes, device=device)
        return codec


def compress(
    data: bytes,
    *,
    level: int = DEFAULT_LEVEL,
    model: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    lanes: int | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> bytes:
    """Compress ``data`` and return a complete lmzip archive.

    ``level`` 1-3 use the byte-level context-mixing engine (no model needed to decode);
    4-9 use the language model with growing context.
    ``threads`` sets worker processes (speed only: the output never depends on it).
    ``lanes`` cuts each chunk into that many lanes coded in lockstep (None or 0: the
    level's default; 1: one stream per chunk, the best ratio and the slowest).
    ``device`` is where the model runs: ``"cpu"`` (default, the compiled kernel),
    ``"cuda"`` (every visible GPU), ``"cuda:0,cuda:2"``, ``"torch-cpu"``; never changes
    the output.
    ``progress`` is called with counts of input bytes as they are done.
    """
    return _shared_codec(level, model, threads, lanes, device).compress(data, progress=progress)


def decompress(
    data: bytes,
    *,
    model: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> bytes:
    """Decompress one or more concatenated lmzip archives.

    Every chunk and the whole output are checksummed; any mismatch raises
    ``CorruptChunkError``/``CorruptError`` and no data is returned.
    """
    return _shared_codec(DEFAULT_LEVEL, model, threads, None, device).decompress(data, progress=progress)
