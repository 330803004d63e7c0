"""An exactly invertible tokenizer on top of a model's (lossy) tokenizer.

The decoder never tokenizes: it maps each decoded token id to its byte *piece* through a
fixed table and concatenates. So any id sequence whose pieces concatenate to the input is
a valid encoding. The encoder tokenizes with the model's tokenizer for efficiency, then
*verifies* every token against the input bytes and falls back to single-byte tokens
wherever the model's tokenizer would have lost or changed bytes (runs of spaces, invalid
UTF-8, control characters, text that looks like special tokens).
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Sequence

# Windows handed to the model's tokenizer. Bounded so that a retry after a mismatch
# costs O(window), not O(chunk).
SEGMENT_BYTES = 2048
RETRY_BYTES = 32


class LosslessTokenizer:
    """Maps bytes to token ids and back, exactly, for every byte string."""

    def __init__(self, pieces: Sequence[bytes], raw_tokenize: Callable[[bytes], list[int]]) -> None:
        self.pieces = list(pieces)
        self._raw_tokenize = raw_tokenize
        byte_tokens: dict[int, int] = {}
        for token, piece in enumerate(self.pieces):
            if len(piece) == 1 and piece[0] not in byte_tokens:
                byte_tokens[piece[0]] = token
        # Some vocabularies (SmolLM2's among them) have no token for a few byte values
        # (0xC0, 0xF5..0xFF, some controls). Those are spelled ESC + a substitute byte
        # token, where ESC is a token whose piece is empty, so it can never appear in a
        # verified tokenization and the pair is unambiguous.
        missing = [b for b in range(256) if b not in byte_tokens]
        present = sorted(byte_tokens)
        empty = [t for t, p in enumerate(self.pieces) if not p]
        if missing and (not empty or len(missing) > len(present)):
            raise ValueError("the model's vocabulary cannot spell every byte (no byte tokens and no escape token)")
        self.escape_token = empty[0] if missing else -1
        self.byte_tokens: list[list[int]] = []
        self._unescape: dict[int, int] = {}
        for b in range(256):
            if b in byte_tokens:
                self.byte_tokens.append([byte_tokens[b]])
            else:
                substitute = byte_tokens[present[missing.index(b)]]
                self.byte_tokens.append([self.escape_token, substitute])
                self._unescape[substitute] = b

    @property
    def identity(self) -> str:
        """sha256 over the piece table: two tokenizers with equal identity decode alike."""
        h = hashlib.sha256()
        for piece in self.pieces:
            h.update(len(piece).to_bytes(4, "little"))
            h.update(piece)
        h.update(self.escape_token.to_bytes(4, "little", signed=True))
        return h.hexdigest()

    def decode(self, tokens: Sequence[int]) -> bytes:
        """Bytes for a token sequence; ``ValueError`` if it is not one ``encode`` can make."""
        pieces = self.pieces
        esc = self.escape_token
        if esc not in tokens:
            return b"".join(pieces[t] for t in tokens)
        out = bytearray()
        it = iter(tokens)
        for t in it:
            if t == esc:
                sub = next(it, None)
                if sub not in self._unescape:
                    raise ValueError("escape token not followed by a substitute byte token")
                out.append(self._unescape[sub])
            else:
                out += pieces[t]
        return bytes(out)

    def encode(self, data: bytes) -> list[int]:
        """Token ids whose pieces concatenate to exactly ``data``."""
        out: list[int] = []
        for is_text, span in _split_utf8(data):
            if is_text:
                self._encode_text(span, out)
            else:
                for b in span:
                    out.extend(self.byte_tokens[b])
        return out

    def _encode_text(self, text: bytes, out: list[int]) -> None:
        pos = 0
        n = len(text)
        window = SEGMENT_BYTES
        while pos < n:
            end = _segment_end(text, pos, window)
            accepted = self._accept_prefix(text, pos, end, out)
            if accepted == 0:
                if window > RETRY_BYTES:
                    # The tokenizer mangles the bytes near here: look through a small window
                    # until it works again, so a bad stretch costs O(small) per byte.
                    window = RETRY_BYTES
                    continue
                out.extend(self.byte_tokens[text[pos]])
                accepted = 1
            elif window < SEGMENT_BYTES and accepted >= window // 2:
                window = min(SEGMENT_BYTES, window * 4)
            pos += accepted

    def _accept_prefix(self, text: bytes, start: int, end: int, out: list[int]) -> int:
        """Tokenize text[start:end], keep the longest verified prefix, return bytes kept."""
        tokens = self._raw_tokenize(text[start:end])
        pieces = self.pieces
        pos = start
        kept: list[int] = []
        for t in tokens:
            piece = pieces[t] if 0 <= t < len(pieces) else b""
            # An empty piece (special/control token) would "match" anywhere: never accept it.
            if not piece or pos + len(piece) > end or not text.startswith(piece, pos):
                break
            kept.append(t)
            pos += len(piece)
        if pos < end and kept:
            # The last kept token may have been cut short by the mismatch that follows it
            # (or by the window edge); drop it and let the next window re-tokenize there.
            pos -= len(pieces[kept.pop()])
        out.extend(kept)
        return pos - start


def _segment_end(text: bytes, pos: int, size: int) -> int:
    """End of a tokenizer window: prefer to cut just after a newline."""
    end = pos + size
    if end >= len(text):
        return len(text)
    cut = text.rfind(b"\n", pos + size // 2, end)
    return cut + 1 if cut >= 0 else end


# Bytes handed straight to byte tokens: undecodable UTF-8 (as surrogateescape maps it) and
# C0 controls other than whitespace and ESC, plus DEL. Tokenizers do nothing useful with
# them, and binary data is full of them.
_NOT_TEXT = re.compile("([\udc80-\udcff\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]+)")


def _split_utf8(data: bytes) -> list[tuple[bool, bytes]]:
    """Split into (is_text, bytes) spans: tokenizable UTF-8 text vs everything else."""
    parts = _NOT_TEXT.split(data.decode("utf-8", errors="surrogateescape"))
    spans: list[tuple[bool, bytes]] = []
    for i, part in enumerate(parts):
        if part:
            # re.split with one group alternates: even = text, odd = not text
            spans.append((i % 2 == 0, part.encode("utf-8", errors="surrogateescape")))
    return spans
