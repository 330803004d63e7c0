"""Time the compiled lane coder against quantize_log2q + coder/range.py (constriction).

For each batch size B, one step codes one symbol in each of B lanes from [B, V] int32
log2q logits. Reports nanoseconds per symbol (and symbols/s) for:

  lanes enc / dec     LaneEncoder.encode_log2q / LaneDecoder.decode_log2q (fused quantize + code)
  quant only          quantize_log2q_rows(z, dtype=uint32) (the quantizer alone, fresh output)
  freqs enc           LaneEncoder.encode with ready int64 frequency tables
  constriction        per lane: quantize_log2q(row), then RangeEncoder.encode / RangeDecoder.decode

Each figure is the best of --repeat runs of --steps steps. By default the clock is the
calling thread's CPU time (everything here runs in that thread, the compiled loops
included), which a machine shared with other jobs disturbs much less than wall time;
--clock wall measures elapsed time instead. The streams of both coders are compared byte
for byte as a sanity check.

    python scripts/lanecoder_bench.py [--vocab 49152] [--batch 1,16,64] [--steps 20] [--clock cpu|wall]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time

import numpy as np

from lmzip.coder.lanes import LaneDecoder, LaneEncoder, _c, quantize_log2q_rows, quantizer_paths
from lmzip.coder.quantize import quantize_log2q
from lmzip.coder.range import RangeDecoder, RangeEncoder


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown CPU"


def lm_like_logits(rng, steps: int, b: int, v: int) -> list[np.ndarray]:
    """log2q logits shaped like a language model's: natural-log logits ~ N(0, 2.5**2) plus a
    few strong candidates, in units of 2**-16 bit."""
    out = []
    for _ in range(steps):
        nat = rng.standard_normal((b, v)) * 2.5
        top = rng.integers(0, v, size=(b, 8))
        np.put_along_axis(nat, top, nat.max(axis=1, keepdims=True) + rng.random((b, 8)) * 6, axis=1)
        out.append(np.round(nat / np.log(2) * 65536).astype(np.int32))
    return out


def sample(rng, z: np.ndarray) -> np.ndarray:
    """A symbol per row, drawn from the row's own distribution (so code lengths are real)."""
    p = np.exp2((z - z.max(axis=1, keepdims=True)) / 65536.0)
    p /= p.sum(axis=1, keepdims=True)
    return np.array([rng.choice(z.shape[1], p=row) for row in p], dtype=np.int32)


CLOCK = time.thread_time


def best(fn, repeat: int) -> float:
    t = float("inf")
    for _ in range(repeat):
        t0 = CLOCK()
        fn()
        t = min(t, CLOCK() - t0)
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=49152)
    ap.add_argument("--batch", default="1,16,64")
    ap.add_argument("--steps", type=int, default=20, help="steps per timed run")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline-steps", type=int, default=3, help="min steps per timed constriction run")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    v = args.vocab
    rng = np.random.default_rng(0)
    print(f"CPU: {cpu_name()}; V = {v}; int32 logits; clock: {args.clock}; quantizer paths: {', '.join(quantizer_paths())}")
    header = f"{'B':>4} {'path':>6} | {'lanes enc':>10} {'lanes dec':>10} {'quant only':>10} {'freqs enc':>10} | {'constr enc':>10} {'constr dec':>10} | {'speedup e/d':>12}"
    # warm up (allocator, caches, clocks) before the first timed run: without it the first
    # batch size's baseline read up to 3x slow here
    warm_z = lm_like_logits(rng, 1, 4, v)[0]
    warm_s = sample(rng, warm_z)
    warm = [RangeEncoder() for _ in range(4)]
    t_end = time.perf_counter() + 2.0
    while time.perf_counter() < t_end:
        for j in range(4):
            warm[j].encode(int(warm_s[j]), quantize_log2q(warm_z[j]))
        LaneEncoder(4).encode_log2q(np.arange(4), warm_z, warm_s)
    print("ns per symbol (best of runs)")
    print(header)
    print("-" * len(header))
    for b in (int(x) for x in args.batch.split(",")):
        zs = lm_like_logits(rng, args.steps, b, v)
        syms = [sample(rng, z) for z in zs]
        lanes = np.arange(b)
        n = args.steps * b

        # baseline: per lane, quantize_log2q + constriction (through coder/range.py)
        k = min(max(args.baseline_steps, -(-48 // b)), args.steps)  # at least ~48 symbols
        freq_tables = [[quantize_log2q(row) for row in z] for z in zs[:k]]
        refs: list[RangeEncoder] = []

        def base_enc():
            refs.clear()
            refs.extend(RangeEncoder() for _ in range(b))
            for z, s in zip(zs[:k], syms[:k]):
                for j in range(b):
                    refs[j].encode(int(s[j]), quantize_log2q(z[j]))

        t_base_enc = best(base_enc, args.repeat) / (k * b)
        ref_streams = [r.finish() for r in refs]

        def base_dec():
            decs = [RangeDecoder(d) for d in ref_streams]
            for z in zs[:k]:
                for j in range(b):
                    decs[j].decode(quantize_log2q(z[j]))

        t_base_dec = best(base_dec, args.repeat) / (k * b)

        for path in quantizer_paths():
            _c.set_path(path)
            state = {}

            def enc():
                e = LaneEncoder(b)
                for z, s in zip(zs, syms):
                    e.encode_log2q(lanes, z, s)
                state["enc"] = e

            t_enc = best(enc, args.repeat) / n
            streams = [state["enc"].finish(j) for j in range(b)]

            # sanity: the first k steps equal the constriction streams
            e = LaneEncoder(b)
            for z, s in zip(zs[:k], syms[:k]):
                e.encode_log2q(lanes, z, s)
            assert [e.finish(j) for j in range(b)] == ref_streams, "streams differ from constriction"

            def dec():
                d = LaneDecoder(streams)
                for z, s in zip(zs, syms):
                    out = d.decode_log2q(lanes, z)
                state["ok"] = bool(np.array_equal(out, s))

            t_dec = best(dec, args.repeat) / n
            assert state["ok"], "decode mismatch"

            def quant():
                for z in zs:
                    quantize_log2q_rows(z, dtype=np.uint32)

            t_quant = best(quant, args.repeat) / n
            ftabs = [np.stack(f) for f in freq_tables]

            def fenc():
                e = LaneEncoder(b)
                for f, s in zip(ftabs, syms[:k]):
                    e.encode(lanes, f, s)

            t_fenc = best(fenc, args.repeat) / (k * b)
            print(
                f"{b:>4} {path:>6} | {t_enc * 1e9:>10.0f} {t_dec * 1e9:>10.0f} {t_quant * 1e9:>10.0f} {t_fenc * 1e9:>10.0f}"
                f" | {t_base_enc * 1e9:>10.0f} {t_base_dec * 1e9:>10.0f} | {t_base_enc / t_enc:>5.1f}x/{t_base_dec / t_dec:>4.1f}x"
            )
    print("symbols/s = 1e9 / (ns per symbol); 'freqs enc' excludes quantization (tables given).")


if __name__ == "__main__":
    main()
