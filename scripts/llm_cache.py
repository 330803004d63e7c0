"""Run the LLM over a file once and keep its logits, for window sweeps and ablations.

    python scripts/llm_cache.py FILE --window 8192 [--max-bytes N] [--out DIR]

Walks the file token by token exactly as the coder does (lossless tokenizer, BOS, one
token per decode, KV-cache slides) and writes, under OUT/<file>-w<window>-<max_bytes>/:
  tokens.npy   int32 (n,)                the token ids
  logits.f16   float16 memmap (n, vocab)  logits predicting token i (float16-rounded)
  meta.json    bits/byte of the LLM alone (from float32 logits, quantized exactly as the
               coder quantizes them), tokens/s, bytes, window, slides
The ablation (scripts/ablation.py) replays these logits through the real predictors.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lmzip.coder import TOTAL, quantize_logits
from lmzip.models import LlamaModel, LosslessTokenizer, WindowSpec


def cache_dir(out: Path, path: Path, window: int, max_bytes: int | None) -> Path:
    return out / f"{path.name}-w{window}-{max_bytes or 'all'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--window", type=int, default=8192)
    ap.add_argument("--max-bytes", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/lmzip-cache"))
    ap.add_argument("--no-logits", action="store_true", help="only measure bits/byte and speed")
    args = ap.parse_args()

    data = args.file.read_bytes()[: args.max_bytes]
    model = LlamaModel()
    tok = LosslessTokenizer(model.pieces, model.tokenize)
    tokens = tok.encode(data)
    assert tok.decode(tokens) == data
    out = cache_dir(args.out, args.file, args.window, args.max_bytes)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "tokens.npy", np.array(tokens, dtype=np.int32))
    logits_mm = None
    if not args.no_logits:
        logits_mm = np.lib.format.open_memmap(
            out / "logits.npy", mode="w+", dtype=np.float16, shape=(len(tokens), model.n_vocab)
        )
    session = model.new_session(WindowSpec(n_ctx=args.window, keep=1, discard=args.window // 4), args.threads)
    bits = 0.0
    t0 = time.time()
    logits = session.reset()
    for i, t in enumerate(tokens):
        if logits_mm is not None:
            logits_mm[i] = logits
        f = quantize_logits(logits.astype(np.float64))
        bits -= np.log2(f[t] / TOTAL)
        if i + 1 < len(tokens):
            logits = session.feed(t)
        if i % 2000 == 0:
            print(f"{i}/{len(tokens)} {bits / max(1, len(tok.decode(tokens[: i + 1]))):.4f} bpb", flush=True)
    dt = time.time() - t0
    meta = {
        "file": args.file.name, "bytes": len(data), "tokens": len(tokens), "window": args.window,
        "llm_bits_per_byte": bits / len(data), "tokens_per_s": len(tokens) / dt,
        "kB_per_s": len(data) / dt / 1000, "slides": session.slides, "threads": args.threads,
    }
    if logits_mm is not None:
        logits_mm.flush()
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
