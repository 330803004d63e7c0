"""Write the golden archives in tests/golden/ (run only when the format or a default
intentionally changes; keep old archives so tests prove they still decode).

    python scripts/make_golden.py
"""

from __future__ import annotations

from pathlib import Path

import lmzip

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden"

# Our own text (no third-party data in the repo), with the tokenizer's traps in it.
TEXT = (
    "The lmzip golden sample. It pins the container format and the coding numerics.\n"
    "Spaces:      and tabs\t\there; CRLF\r\nspecial text <|endoftext|> and <|im_start|>;\n"
    "bytes without tokens: \xff\xfe; a NUL \x00 and a repeated line:\n"
    "the quick brown fox jumps over the lazy dog\n"
    "the quick brown fox jumps over the lazy dog\n"
).encode("latin-1")

CASES = {"sample-l1": 1, "sample-l4": 4, "sample-l6": 6}


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    (GOLDEN / "sample.bin").write_bytes(TEXT)
    for name, level in CASES.items():
        blob = lmzip.Codec(level=level, threads=1).compress(TEXT)
        (GOLDEN / f"{name}.lmz").write_bytes(blob)
        print(f"{name}.lmz: {len(blob)} bytes")


if __name__ == "__main__":
    main()
