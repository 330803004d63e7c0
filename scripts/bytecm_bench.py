#!/usr/bin/env python3
"""Bits/byte and speed of the bytecm engines per level, side by side with xz -9e.

Level 1 is the LZ engine (kind bytecm-lz1), levels 2-3 the CM engine; "legacy" (in
--levels) is the CM engine's former level 1. Every chunk is compressed, decompressed
and checked; speeds are CPU seconds of this process (time.process_time, one core), so a
busy machine slows them less than wall time would. xz runs in the same process through
Python's lzma (preset 9 | extreme, raw LZMA2 as lmzip's xz chunks), so "x of xz" is
measured side by side in one run: per file and level, the "c/d % of xz" columns are the
level's compress and decompress speed as a percentage of xz -9e's on that file.

    python scripts/bytecm_bench.py                        # the default file set, levels 1-3
    python scripts/bytecm_bench.py --levels 1 --json out.json canterbury/alice29.txt
    python scripts/bytecm_bench.py --levels 1,legacy        # the LZ level 1 and the old CM one
    python scripts/bytecm_bench.py --max-bytes 1000000 silesia/dickens

Files are named relative to --corpora (default ../shared/corpora beside the repo) or
given as paths. Files larger than --max-bytes are cut to a prefix (the table says so).
Data is coded in chunks of --chunk bytes (default 1 MiB, lmzip's level 1-3 chunk size).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import sys
import time
from pathlib import Path

from lmzip.models import bytecm

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
DEFAULT_FILES = [
    "canterbury/alice29.txt", "canterbury/kennedy.xls", "canterbury/ptt5", "canterbury/sum",
    "calgary/bib", "calgary/book1", "calgary/book2", "calgary/geo", "calgary/news", "calgary/obj1",
    "calgary/obj2", "calgary/paper1", "calgary/paper2", "calgary/progc", "calgary/progl", "calgary/progp",
    "calgary/trans", "silesia/dickens", "silesia/ooffice", "silesia/xml",
]
XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def cpu_info() -> dict:
    info = {"model": platform.processor() or platform.machine(), "flags": []}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if line.startswith("model name") and info["model"] in ("", platform.machine(), platform.processor()):
            info["model"] = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            info["flags"] = sorted(f for f in flags if f in ("avx2", "avx512f", "avx512bw", "avx512vl", "bmi2"))
            break
    return info


def chunks(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def run_xz(data: bytes, chunk: int) -> dict:
    out, tc, td = 0, 0.0, 0.0
    for part in chunks(data, chunk):
        t = time.process_time()
        c = lzma.compress(part, format=lzma.FORMAT_RAW, filters=XZ_FILTERS)
        tc += time.process_time() - t
        t = time.process_time()
        d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=XZ_FILTERS).decompress(c)
        td += time.process_time() - t
        assert d == part
        out += len(c)
    return {"bytes": out, "c_s": tc, "d_s": td}


def run_ppmd(data: bytes, chunk: int) -> dict:
    import pyppmd  # optional (lmzip[bench])

    out, tc, td = 0, 0.0, 0.0
    for part in chunks(data, chunk):
        t = time.process_time()
        c = pyppmd.compress(part, max_order=8, mem_size=256 << 20)
        tc += time.process_time() - t
        t = time.process_time()
        d = pyppmd.decompress(c, max_order=8, mem_size=256 << 20)
        td += time.process_time() - t
        assert d == part
        out += len(c)
    return {"bytes": out, "c_s": tc, "d_s": td}


def level_params(level) -> dict:
    return bytecm.legacy_params(1) if level == "legacy" else bytecm.default_params(level)


def run_cm(data: bytes, chunk: int, params: dict) -> dict:
    out, tc, td = 0, 0.0, 0.0
    for part in chunks(data, chunk):
        t = time.process_time()
        c = bytecm.compress(part, params)
        tc += time.process_time() - t
        t = time.process_time()
        d = bytecm.decompress(c, len(part), params)
        td += time.process_time() - t
        if d != part:
            raise SystemExit("round trip failed")
        out += len(c)
    return {"bytes": out, "c_s": tc, "d_s": td}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="files (relative to --corpora, or paths)")
    ap.add_argument("--corpora", default=str(DEFAULT_CORPORA))
    ap.add_argument("--levels", default="1,2,3")
    ap.add_argument("--max-bytes", type=int, default=2_000_000, help="prefix length for large files")
    ap.add_argument("--chunk", type=int, default=1 << 20)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--no-xz", action="store_true")
    ap.add_argument("--ppmd", action="store_true", help="also PPMd order 8, 256 MB (pyppmd) sizes")
    args = ap.parse_args()
    levels = [x if x == "legacy" else int(x) for x in args.levels.split(",")]
    names = args.files or DEFAULT_FILES
    rows = []
    cpu = cpu_info()

    def lab(level):
        return "Lleg" if level == "legacy" else f"L{level}"

    print(f"# CPU: {cpu['model']}  flags: {' '.join(cpu['flags']) or '-'}  python {platform.python_version()}")
    print(f"# speeds: KB/s of CPU time on one core; chunk {args.chunk} bytes; round trips verified")
    head = f"{'file':24s} {'bytes':>9s} " + ("" if args.no_xz else f"{'xz-9e':>7s} ") + " ".join(f"{lab(l):>7s}" for l in levels)
    head += "   " + ("" if args.no_xz else f"{'xz c/d KB/s':>14s} ") + " ".join(f"{'%s c/d KB/s' % lab(l):>14s}" for l in levels)
    if not args.no_xz:
        head += "   " + " ".join(f"{'%s c/d %% of xz' % lab(l):>17s}" for l in levels)
    print(head)
    worst = {l: [float("inf"), float("inf")] for l in levels}
    totals = {"xz": [0, 0], **{l: [0, 0] for l in levels}}
    for name in names:
        path = Path(name) if os.path.exists(name) else Path(args.corpora) / name
        if not path.exists():
            print(f"{name}: missing, skipped", file=sys.stderr)
            continue
        data = path.read_bytes()
        full = len(data)
        data = data[: args.max_bytes]
        row = {"file": name, "size": full, "bytes_used": len(data), "prefix": len(data) < full}
        if args.ppmd:
            row["ppmd8"] = run_ppmd(data, args.chunk)
        if not args.no_xz:
            row["xz"] = run_xz(data, args.chunk)
            totals["xz"][0] += row["xz"]["bytes"]
            totals["xz"][1] += len(data)
        for lvl in levels:
            row[f"L{lvl}"] = run_cm(data, args.chunk, level_params(lvl))
            totals[lvl][0] += row[f"L{lvl}"]["bytes"]
            totals[lvl][1] += len(data)
        rows.append(row)

        def bpb(r):
            return 8 * r["bytes"] / len(data) if data else 0.0

        def speed(r):
            return f"{len(data) / 1e3 / max(r['c_s'], 1e-9):6.0f}/{len(data) / 1e3 / max(r['d_s'], 1e-9):<7.0f}"

        label = Path(name).name + ("*" if row["prefix"] else "")
        line = f"{label:24s} {len(data):9d} " + ("" if args.no_xz else f"{bpb(row['xz']):7.3f} ")
        line += " ".join(f"{bpb(row[f'L{l}']):7.3f}" for l in levels) + "   "
        line += ("" if args.no_xz else f"{speed(row['xz']):>14s} ") + " ".join(f"{speed(row[f'L{l}']):>14s}" for l in levels)
        if not args.no_xz:
            cells = []
            for lvl in levels:
                r = row[f"L{lvl}"]
                cpct = 100 * row["xz"]["c_s"] / max(r["c_s"], 1e-9)
                dpct = 100 * row["xz"]["d_s"] / max(r["d_s"], 1e-9)
                r["c_pct_of_xz"], r["d_pct_of_xz"] = cpct, dpct
                worst[lvl] = [min(worst[lvl][0], cpct), min(worst[lvl][1], dpct)]
                cells.append(f"{cpct:7.0f}%/{dpct:.0f}%".rjust(17))
            line += "   " + " ".join(cells)
        if args.ppmd:
            line += f"   ppmd-o8 {bpb(row['ppmd8']):.3f}"
        print(line, flush=True)
    tot = "total"
    line = f"{tot:24s} {totals[levels[0]][1]:9d} "
    if not args.no_xz:
        line += f"{8 * totals['xz'][0] / max(totals['xz'][1], 1):7.3f} "
    line += " ".join(f"{8 * totals[l][0] / max(totals[l][1], 1):7.3f}" for l in levels)
    print(line)
    if any(r["prefix"] for r in rows):
        print(f"* first {args.max_bytes} bytes of the file")
    if not args.no_xz and rows:
        for lvl in levels:
            c, d = worst[lvl]
            print(f"# {lab(lvl)}: slowest file at {c:.0f}% of xz -9e's compress speed and {d:.0f}% of its decompress"
                  f" speed ({'meets' if min(c, d) >= 20 else 'misses'} the 20% criterion)")
    mem = {lab(l): bytecm.memory(level_params(l), args.chunk) for l in levels}
    print("# memory per chunk (MiB): " + ", ".join(f"{k} {v / 2**20:.0f}" for k, v in mem.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu, "chunk": args.chunk, "max_bytes": args.max_bytes,
                                               "memory": mem, "rows": rows,
                                               "params": {lab(l): level_params(l) for l in levels}},
                                              indent=1))


if __name__ == "__main__":
    main()
