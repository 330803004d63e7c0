"""The lmzip exception hierarchy (re-exported as ``lmzip.LmzipError`` and friends).

It lives beside the container because most failures are found while parsing one, but
every layer raises from this one tree so callers can catch ``LmzipError`` alone.
"""

from __future__ import annotations


class LmzipError(Exception):
    """Base class for every error lmzip raises on purpose."""


class FormatError(LmzipError):
    """The input is not a valid lmzip archive."""


class NotLmzipError(FormatError):
    """The input does not start with the lmzip magic bytes."""


class UnsupportedVersionError(FormatError):
    """The archive uses a format version or feature this build cannot read."""


class TruncatedError(FormatError):
    """The archive ends before its end marker."""


class CorruptError(FormatError):
    """A checksum or structural check failed."""


class CorruptChunkError(CorruptError):
    """Chunk ``index`` failed its checksum (or could not be decoded)."""

    offset: int | None = None  # where the chunk's record starts in its archive, if known

    def __init__(self, index: int, detail: str, offset: int | None = None) -> None:
        super().__init__(f"chunk {index} is corrupt: {detail}{chunk_offset_note(offset)}")
        self.index = index
        self.detail = detail
        self.offset = offset

    def __reduce__(self):  # rebuildable when raised in a worker process (message and offset kept)
        return (type(self), (self.index, self.detail), {"offset": self.offset, "args": self.args})


class MachineDependentError(CorruptChunkError):
    """Chunk ``index`` is intact but cannot be decoded with this machine's numerics.

    Format v1 LLM chunks are coded with llama.cpp's logits, whose kernels (AVX2 vs
    AVX-512, ...) round differently between CPUs. When the payload passed its crc32 and
    still fails to decode, the likely cause is such a CPU, not damage. ``detail`` keeps
    the underlying failure; the message tells the user what to do.
    """

    def __init__(self, index: int, detail: str, offset: int | None = None) -> None:
        CorruptError.__init__(
            self,
            f"chunk {index}: made with machine-dependent numerics (format v1, llama.cpp); "
            f"decode it on a CPU like the one that made it{chunk_offset_note(offset)}",
        )
        self.index = index
        self.detail = detail
        self.offset = offset


class ModelError(LmzipError):
    """A model could not be found or loaded."""


class ModelMismatchError(ModelError):
    """The archive was made with a different model than the one available."""

    def __init__(self, needed_name: str, needed_sha256: str, have_sha256: str | None) -> None:
        have = f" (the loaded model has sha256 {have_sha256[:16]}…)" if have_sha256 else ""
        super().__init__(
            f"this archive needs model {needed_name!r} with sha256 {needed_sha256}{have}; "
            f"pass it with --model PATH"
        )
        self.needed_name = needed_name
        self.needed_sha256 = needed_sha256
        self.have_sha256 = have_sha256

    def __reduce__(self):  # rebuildable when raised in a worker process
        return (type(self), (self.needed_name, self.needed_sha256, self.have_sha256))


def chunk_offset_note(offset: int | None) -> str:
    """The part of a chunk error's message that says where the chunk's record starts."""
    return "" if offset is None else f" (chunk record at byte {offset} of the archive)"
