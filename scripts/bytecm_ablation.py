#!/usr/bin/env python3
"""Ablation of the bytecm engine: bits/byte with each model or stage switched off.

Starts from a level's parameters (default 3) and turns off one thing at a time; prints
bits/byte per file, the total, and the change of the total against the full engine
(positive: the stage saves that much). Compression only (the decoder mirrors it), CPU
seconds on one core.

    python scripts/bytecm_ablation.py                     # level 3, the default files
    python scripts/bytecm_ablation.py --level 2 --json ablation.json
    python scripts/bytecm_ablation.py canterbury/alice29.txt calgary/geo

Files are relative to --corpora (default ../shared/corpora) or paths; each is cut to
--max-bytes. -j runs files in parallel processes (default 1: the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lmzip.models import bytecm

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
DEFAULT_FILES = ["canterbury/alice29.txt", "canterbury/fields.c", "canterbury/sum", "canterbury/kennedy.xls",
                 "calgary/obj2", "calgary/geo", "calgary/bib", "silesia/ooffice"]


def cm_params(level: int) -> dict:
    """The context-mixing engine's parameters of ``level``: level 1 is now the LZ engine, so
    level 1 here means the CM engine's own level 1 (``legacy_params(1)``)."""
    return bytecm.legacy_params(1) if level == 1 else bytecm.default_params(level)


def variants(level: int) -> list[tuple[str, dict]]:
    """(label, parameter changes) pairs; only those that change something at this level."""
    base = cm_params(level)
    out: list[tuple[str, dict]] = [("full engine", {})]
    cand = [
        ("no match model", {"match_log": 0, "match_long": 0}),
        ("no long match hash", {"match_long": 0}),
        ("no high order", {"high_order": 0}),
        ("no word model", {"word": 0}),
        ("no sparse contexts", {"sparse": 0}),
        ("no record model", {"record": 0}),
        ("no column/CSV model", {"column": 0}),
        ("no indirect contexts", {"indirect": 0}),
        ("no x86 model", {"x86": 0}),
        ("one input per context", {"inputs2": 0}),
        ("mixer: no gating (1 weight set)", {"mixer": ["none"]}),
        ("mixer: one gate (c0), no 2nd layer", {"mixer": ["c0"]}),
        ("no APM/SSE stages", {"apm": []}),
        ("no micro-diffusion", {"diffusion": 0}),
        ("no APM and no diffusion", {"apm": [], "diffusion": 0}),
    ]
    seen = [base]
    for label, change in cand:
        params = dict(base, **change)
        if params not in seen:  # skip what is off already, or the same as an earlier row
            seen.append(params)
            out.append((label, change))
    return out


def run(job):
    path, max_bytes, params = job
    data = Path(path).read_bytes()[:max_bytes]
    t = time.process_time()
    n = len(bytecm.compress(data, params))
    return n, len(data), time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*")
    ap.add_argument("--corpora", default=str(DEFAULT_CORPORA))
    ap.add_argument("--level", type=int, default=3)
    ap.add_argument("--max-bytes", type=int, default=300_000)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    paths = []
    for name in args.files or DEFAULT_FILES:
        p = Path(name) if os.path.exists(name) else Path(args.corpora) / name
        if p.exists():
            paths.append(p)
    names = [p.name for p in paths]
    print(f"# bytecm level {args.level} ablation, files cut to {args.max_bytes} bytes; bits/byte")
    print(f"{'variant':36s} " + " ".join(f"{n[:9]:>9s}" for n in names) + f" {'total':>7s} {'vs full':>8s} {'CPU s':>6s}")
    results = []
    full_total = None
    with ProcessPoolExecutor(args.jobs) as ex:
        for label, change in variants(args.level):
            params = cm_params(args.level)
            params.update(change)
            res = list(ex.map(run, [(str(p), args.max_bytes, params) for p in paths]))
            tot_c, tot_n = sum(r[0] for r in res), sum(r[1] for r in res)
            total = 8 * tot_c / tot_n
            if full_total is None:
                full_total = total
            delta = 100 * (total - full_total) / full_total
            secs = sum(r[2] for r in res)
            print(f"{label:36s} " + " ".join(f"{8 * c / n:9.4f}" for c, n, _ in res)
                  + f" {total:7.4f} {delta:+7.2f}% {secs:6.1f}", flush=True)
            results.append({"variant": label, "change": change, "bpb": {nm: 8 * c / n for nm, (c, n, _) in zip(names, res)},
                            "total_bpb": total, "delta_pct": delta, "cpu_s": secs})
    if args.json:
        Path(args.json).write_text(json.dumps({"level": args.level, "max_bytes": args.max_bytes, "files": names,
                                               "results": results}, indent=1))


if __name__ == "__main__":
    main()
