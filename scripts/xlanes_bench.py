"""Time the compiled lane ensemble (models/xlanes.py): one step = predict + update of B lanes.

    python scripts/xlanes_bench.py [--vocab 49152] [--lanes 1 16 64] [--steps 200]
                                   [--path auto|scalar|avx2] [--shared] [--python]

Logits are synthetic int32 log2q rows shaped like an LLM's (a few likely tokens, a long
tail); tokens repeat phrases so the PPM tables fill. Params are explicit (bias with
schedule, PPM order 6 escape C, mixer), not the package defaults. ``--python`` also times
``XEnsemblePredictor`` (one lane) for comparison. Prints ms per step and ns per token per
lane in thread CPU time (so other processes' time slices do not count; "wall ns" is the
wall-clock figure); run it on an otherwise idle core for clean numbers.
"""

from __future__ import annotations

import argparse
import copy
import platform
import time

import numpy as np

from lmzip.models.xlanes import LaneEnsemble

PARAMS = {
    "kind": "ensemble-x1",
    "counts": {"slots_log2": 18, "max_candidates": 24},
    "bias": {"lr": 968166, "limit": 756388, "lr_boost": 5808996, "lr_half": 8000, "fast_lr": 0, "fast_shift": 0},
    "ngram": None,
    "ppm": {"max_order": 6, "escape": "C"},
    "match": None,
    "mixer": {"lr": 363, "lr_shift": 20, "conf_edges": [19661, 39322, 58982], "w_min": -262144, "w_max": 524288,
              "lr_boost": 5816, "lr_half": 2000, "ctx2": None},
    "min_escape": 107374,
    "logp_floor": -(64 << 16),
}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def synthetic_logits(rng: np.random.Generator, rows: int, n_vocab: int) -> np.ndarray:
    """int32 log2q rows: a Gumbel-like tail (about 20 bits wide) and a few peaks."""
    x = rng.standard_normal((rows, n_vocab)) * 3.0 * 65536 * 1.4427
    out = x.astype(np.int64)
    for r in range(rows):
        out[r, rng.integers(0, n_vocab, 4)] += rng.integers(8, 20) * 65536
    return out.astype(np.int32)


def token_streams(rng: np.random.Generator, lanes: int, n: int, n_vocab: int) -> np.ndarray:
    phrases = rng.integers(0, n_vocab, (16, 12))
    out = np.empty((lanes, n), dtype=np.int32)
    for lane in range(lanes):
        seq: list[int] = []
        while len(seq) < n:
            if rng.random() < 0.5:
                seq.extend(phrases[rng.integers(0, 16)].tolist())
            else:
                seq.extend(rng.integers(0, n_vocab, 5).tolist())
        out[lane] = seq[:n]
    return out


def bench(n_vocab: int, lanes: int, steps: int, path: str, shared: bool, warmup: int = 20) -> dict:
    rng = np.random.default_rng(lanes)
    ens = LaneEnsemble(copy.deepcopy(PARAMS), n_vocab, lanes, shared, path=path)
    ens.reset()
    pool = [synthetic_logits(rng, lanes, n_vocab) for _ in range(4)]
    tokens = token_streams(rng, lanes, warmup + steps, n_vocab)
    ids = np.arange(lanes, dtype=np.int32)
    out = np.empty((lanes, n_vocab), dtype=np.int64)
    t_pred = t_upd = wall = 0.0
    for s in range(warmup + steps):
        logits = pool[s % len(pool)]
        w0 = time.perf_counter()
        t0 = time.thread_time()
        ens.predict(ids, logits, out)
        t1 = time.thread_time()
        ens.update(ids, tokens[:, s])
        t2 = time.thread_time()
        if s >= warmup:
            t_pred += t1 - t0
            t_upd += t2 - t1
            wall += time.perf_counter() - w0
    per = 1e9 / (steps * lanes)
    return {"B": lanes, "path": ens.path, "shared": shared, "ms_step": (t_pred + t_upd) * 1e3 / steps,
            "ns_tok_lane": (t_pred + t_upd) * per, "ns_predict": t_pred * per, "ns_update": t_upd * per,
            "ns_per_entry": (t_pred + t_upd) * per / n_vocab, "wall_ns": wall * per,
            "mem_mb": ens.memory_bytes() / 2**20}


def bench_python(n_vocab: int, steps: int) -> float:
    from lmzip.models.xensemble import XEnsemblePredictor

    class Given:
        def reset(self):
            return None

    rng = np.random.default_rng(0)
    pred = XEnsemblePredictor(Given(), n_vocab, copy.deepcopy(PARAMS))
    pred.reset()
    pool = synthetic_logits(rng, 4, n_vocab)
    tokens = token_streams(rng, 1, steps, n_vocab)[0]
    t0 = time.thread_time()
    for s in range(steps):
        pred._pending, pred._logits = None, pool[s % 4]
        pred.predict()
        pred.update(int(tokens[s]))
    return (time.thread_time() - t0) * 1e9 / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=49152)
    ap.add_argument("--lanes", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--path", default="auto", choices=["auto", "scalar", "avx2"])
    ap.add_argument("--shared", action="store_true", help="lanes share their online models")
    ap.add_argument("--python", action="store_true", help="also time XEnsemblePredictor (1 lane)")
    args = ap.parse_args()
    print(f"CPU: {cpu_name()}; V = {args.vocab}; {args.steps} steps after 20 warm-up steps")
    print(f"{'B':>4} {'path':>6} {'shared':>6} {'ms/step':>9} {'ns/tok/lane':>12} {'predict':>9} {'update':>9} "
          f"{'ns/entry':>9} {'wall ns':>9} {'MB':>7}")
    for lanes in args.lanes:
        steps = max(10, args.steps // max(1, lanes // 8))
        r = bench(args.vocab, lanes, steps, args.path, args.shared)
        print(f"{r['B']:>4} {r['path']:>6} {str(r['shared']):>6} {r['ms_step']:>9.3f} {r['ns_tok_lane']:>12.0f} "
              f"{r['ns_predict']:>9.0f} {r['ns_update']:>9.0f} {r['ns_per_entry']:>9.2f} {r['wall_ns']:>9.0f} "
              f"{r['mem_mb']:>7.1f}")
    if args.python:
        ns = bench_python(args.vocab, max(10, args.steps // 4))
        print(f"XEnsemblePredictor (Python/numpy, 1 lane): {ns:.0f} ns/token ({ns / args.vocab:.2f} ns/entry)")


if __name__ == "__main__":
    main()
