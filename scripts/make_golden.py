"""Add golden archives to tests/golden/ made on this machine (never overwrites one).

    python scripts/make_golden.py            # exact archives at levels 4 and 6
    python scripts/make_golden.py 1 3        # other levels (1-3: the byte-level engines)

Each archive's name carries this CPU's widest SIMD feature (``sample-x6-avx2.lmz``), and
a line goes into tests/golden/MANIFEST.tsv. The tests decode every golden on whatever
machine runs them and re-encode the exact ones byte for byte: archives made on
different CPUs prove that the numerics are portable. The v1 archives (sample-l*.lmz)
stay as they were made.
"""

from __future__ import annotations

import sys
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

LEVELS = (4, 6)


def cpu_feature() -> str:
    flags = set()
    for line in open("/proc/cpuinfo"):
        if line.startswith(("flags", "Features")):
            flags = set(line.split(":", 1)[1].split())
            break
    for name in ("avx512f", "avx2", "asimd"):
        if name in flags:
            return {"avx512f": "avx512", "asimd": "neon"}.get(name, name)
    return "scalar"


def main() -> None:
    sample = GOLDEN / "sample.bin"
    if sample.read_bytes() != TEXT:
        raise SystemExit("tests/golden/sample.bin differs from TEXT: the goldens pin that input")
    cpu = cpu_feature()
    manifest = GOLDEN / "MANIFEST.tsv"
    levels = tuple(int(a) for a in sys.argv[1:]) or LEVELS
    for level in levels:
        name = f"sample-x{level}-{cpu}.lmz"
        path = GOLDEN / name
        if path.exists():
            print(f"{name}: exists, kept")
            continue
        blob = lmzip.Codec(level=level, threads=1).compress(TEXT)
        path.write_bytes(blob)
        with open(manifest, "a") as f:
            kind = "exact" if level >= 4 else "bytes"
            f.write(f"{name}\tsample.bin\t{kind}\t{level}\t{cpu}\n")
        print(f"{name}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
