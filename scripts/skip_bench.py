"""Confidence skip, measured live (it changes which LLM calls happen, so cached logits
cannot measure it): bits/byte and tokens/s with and without skip.

    python scripts/skip_bench.py FILE [FILE...] [--max-bytes N] [--window W]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lmzip._config import CodingConfig
from lmzip._engine import decode_tokens, encode_tokens
from lmzip._runtime import Runtime
from lmzip.models.ensemble import SKIP_DEFAULT, ensemble_params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--max-bytes", type=int, default=8000)
    ap.add_argument("--window", type=int, default=2048)
    args = ap.parse_args()
    runtime = Runtime(None, 1)
    print(f"prefix: first {args.max_bytes} bytes of each file; window {args.window}; 1 llama.cpp thread")
    print("| file | skip | bits/byte | tokens/s | LLM calls skipped | round trip |\n|---|---|---|---|---|---|")
    for path in args.files:
        data = path.read_bytes()[: args.max_bytes]
        tokens = runtime.tokenizer.encode(data)
        for skip in (None, SKIP_DEFAULT):
            config = CodingConfig(level=6, chunk_size=1 << 30, n_ctx=args.window, discard=args.window // 4,
                                  predictor=ensemble_params(calibration=None, skip=skip))
            predictor = runtime.predictor(config)
            t0 = time.perf_counter()
            payload = encode_tokens(predictor, tokens)
            dt = time.perf_counter() - t0
            skipped = getattr(predictor, "skipped", 0)
            ok = decode_tokens(runtime.predictor(config), payload, len(tokens)) == tokens
            print(f"| {path.name} | {'on' if skip else 'off'} | {8 * len(payload) / len(data):.4f} | "
                  f"{len(tokens) / dt:.1f} | {skipped}/{len(tokens)} | {'ok' if ok else 'FAILED'} |", flush=True)


if __name__ == "__main__":
    main()
