"""Bits/byte of the exact core against llama.cpp on the same text, token for token.

    python scripts/exact_vs_llama.py FILE [--max-bytes N] [--window W] [--kernel PATH]

Both models see the same tokens (lmzip's lossless tokenizer) and the same window
schedule; the script prints the LLM-alone code length of each (ideal -log2 p of the true
token, statistics only) and how far their logits differ. The CPU is printed with it.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from lmzip._runtime import Runtime
from lmzip.models import WindowSpec
from lmzip.models.exact.backend import ExactBackend, ExactSession, Window


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                flags = open("/proc/cpuinfo").read()
                return f"{name} ({'avx512' if 'avx512f' in flags else 'avx2' if 'avx2' in flags else 'no avx2'})"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def log2_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    z = z - z.max()
    return (z - np.log(np.exp(z).sum())) / np.log(2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--max-bytes", type=int, default=4000)
    ap.add_argument("--window", type=int, default=2048)
    ap.add_argument("--kernel", default=None, help="exact kernel path (default: fastest)")
    args = ap.parse_args()
    raw = open(args.file, "rb").read()[: args.max_bytes]
    rt = Runtime(None, 1)
    tokens = rt.tokenizer.encode(raw)
    llama = rt.model.new_session(WindowSpec(n_ctx=args.window, discard=args.window // 4), 1)
    backend = ExactBackend(rt.weights, Window(args.window, 1, args.window // 4), 1, args.kernel)
    exact = ExactSession(backend)
    bits_l = bits_e = 0.0
    diffs = []
    t_l = t_e = 0.0
    t0 = time.perf_counter(); zl = llama.reset(); t_l += time.perf_counter() - t0
    t0 = time.perf_counter(); ze = exact.reset(); t_e += time.perf_counter() - t0
    for i, tok in enumerate(tokens):
        bits_l -= log2_softmax(zl)[tok]
        ze_nats = ze.astype(np.float64) / 65536.0 / np.log2(np.e)
        bits_e -= log2_softmax(ze_nats)[tok]
        diffs.append(np.abs((zl - zl.max()) - (ze_nats - ze_nats.max())).max())
        if i + 1 < len(tokens):
            t0 = time.perf_counter(); zl = llama.feed(tok); t_l += time.perf_counter() - t0
            t0 = time.perf_counter(); ze = exact.feed(tok); t_e += time.perf_counter() - t0
    n = len(raw)
    print(f"{args.file}: {n} bytes, {len(tokens)} tokens, window {args.window}, CPU {cpu_name()}")
    print(f"llama.cpp   {8 * 0 + bits_l / n:.4f} bpb   {len(tokens) / t_l:.1f} tok/s")
    print(f"exact/{backend.path:9s} {bits_e / n:.4f} bpb   {len(tokens) / t_e:.1f} tok/s"
          f"   ({100 * (bits_e / bits_l - 1):+.2f}%)")
    print(f"max |logit difference| per token: median {np.median(diffs):.3f}, max {np.max(diffs):.3f}")


if __name__ == "__main__":
    main()
