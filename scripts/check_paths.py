"""Compress one input with every exact-kernel path this CPU runs, and compare the bytes.

    python scripts/check_paths.py [FILE] [--level 4] [--max-bytes 2000] [--context 256]

For each path (``LMZIP_KERNEL``) and each combination of worker processes (-T 1, 2) and
kernel threads (``LMZIP_KERNEL_THREADS`` 1, 2) it prints the archive's size and sha256,
then whether all are identical and whether the archive decodes. Exit status 1 if any
differs. The CPU's name and SIMD features are printed first.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEXT = ROOT / "tests" / "golden" / "sample.bin"


def cpu() -> str:
    name, flags = "unknown CPU", set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and name == "unknown CPU":
            name = line.split(":", 1)[1].strip()
        if line.startswith(("flags", "Features")) and not flags:
            flags = set(line.split(":", 1)[1].split())
    simd = [f for f in ("avx2", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "asimd") if f in flags]
    return f"{name} [{' '.join(simd) or 'no SIMD'}]"


def compress(data: bytes, path: str, workers: int, kthreads: int, level: int, context: int) -> bytes:
    env = dict(os.environ, LMZIP_KERNEL=path, LMZIP_KERNEL_THREADS=str(kthreads))
    code = ("import sys, lmzip; d = sys.stdin.buffer.read(); "
            f"sys.stdout.buffer.write(lmzip.Codec(level={level}, threads={workers}, context={context}, "
            f"chunk_size={max(1, len(data) // 2)}).compress(d))")
    return subprocess.run([sys.executable, "-c", code], input=data, env=env, check=True,
                          capture_output=True).stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", default=str(DEFAULT_TEXT))
    ap.add_argument("--level", type=int, default=4)
    ap.add_argument("--max-bytes", type=int, default=2000)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--no-reference", action="store_true", help="skip the slow numpy reference path")
    args = ap.parse_args()
    import lmzip
    from lmzip.models.exact.backend import available_paths

    data = Path(args.file).read_bytes()[: args.max_bytes]
    print(f"CPU: {cpu()}")
    print(f"input: {args.file} ({len(data)} bytes), level {args.level}, context {args.context}")
    results = {}
    for path in available_paths():
        combos = [(1, 1)] if path == "reference" else [(1, 1), (2, 1), (1, 2), (2, 2)]
        if path == "reference" and args.no_reference:
            continue
        for workers, kthreads in combos:
            blob = compress(data, path, workers, kthreads, args.level, args.context)
            results[(path, workers, kthreads)] = blob
            print(f"  {path:<9} -T {workers}  kernel threads {kthreads}: {len(blob):6d} bytes  "
                  f"sha256 {hashlib.sha256(blob).hexdigest()[:16]}")
    blobs = set(results.values())
    same = len(blobs) == 1
    decodes = lmzip.decompress(next(iter(blobs))) == data
    print(f"paths compared: {', '.join(sorted({p for p, _, _ in results}))}")
    print(f"identical: {'yes' if same else 'NO'}; decodes: {'yes' if decodes else 'NO'}")
    return 0 if same and decodes else 1


if __name__ == "__main__":
    sys.exit(main())
