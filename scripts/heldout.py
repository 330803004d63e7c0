"""A held-out-style text sample built from files on this machine (never committed).

Four equal parts, each the concatenation of files in a fixed order, cut to size:
prose (git's release notes), Python source (the standard library), C source (CPython's
headers) and server logs (dpkg's log, whose start does not change once written). None of
it was used to tune lmzip. The sha256 of the result is printed so runs can be compared.

    python scripts/heldout.py --size 1048576 -o /tmp/heldout-1m.txt
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import sys
import sysconfig
from pathlib import Path


def _sources() -> dict[str, list[str]]:
    stdlib = sysconfig.get_paths()["stdlib"]
    include = sysconfig.get_paths()["include"]
    return {
        "prose": sorted(glob.glob("/usr/share/doc/git/RelNotes/*.txt")),
        "python": [os.path.join(stdlib, n) for n in ("argparse.py", "textwrap.py", "shutil.py", "tarfile.py",
                                                     "zipfile.py", "subprocess.py", "pathlib.py", "typing.py")],
        "c": sorted(glob.glob(os.path.join(include, "*.h")) + glob.glob(os.path.join(include, "cpython", "*.h"))),
        "logs": ["/var/log/dpkg.log", "/var/log/alternatives.log"],
    }


def build(size: int) -> bytes:
    """``size`` bytes: four parts of ``size // 4`` bytes (the last takes the remainder)."""
    parts = []
    kinds = list(_sources().items())
    for i, (kind, files) in enumerate(kinds):
        want = size // 4 if i < 3 else size - 3 * (size // 4)
        buf = bytearray()
        for f in files:
            if len(buf) >= want:
                break
            try:
                buf += Path(f).read_bytes()
            except OSError:
                continue
        if len(buf) < want:
            raise SystemExit(f"not enough {kind} text on this machine ({len(buf)} < {want} bytes)")
        parts.append(bytes(buf[:want]))
    return b"".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    data = build(args.size)
    Path(args.output).write_bytes(data)
    print(f"{args.output}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
