"""Ablation of the ensemble on cached LLM logits (see scripts/llm_cache.py).

    python scripts/ablation.py CACHE_DIR [CACHE_DIR...] [--markdown OUT.md] [--json OUT.json]

For each cache (one file, one window) it replays the LLM's logits through the *real*
predictor and coding loop (``lmzip._engine.encode_tokens``, real range coder) with
component sets switched on and off, and reports the exact payload size as bits/byte.
Rows: LLM alone, all components, all minus each component, and the two mixer kinds.
Tokens/s combines the LLM's measured speed (from the cache run) with the measured
per-token cost of the ensemble on top: 1 / (1/llm_tok_s + overhead_s).
The cached logits are float16-rounded, so rows can differ from live coding in the 3rd
decimal; end-to-end numbers in the README come from real `lmzip` runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lmzip._engine import encode_tokens
from lmzip.models.ensemble import COMPONENTS, EnsemblePredictor, ensemble_params
from lmzip.models.predictor import LLMPredictor


class ReplayLLM:
    """Plays back cached logits; checks that it is fed the cached tokens in order."""

    def __init__(self, tokens: np.ndarray, logits: np.ndarray) -> None:
        self.tokens, self.logits, self.i = tokens, logits, 0

    def reset(self) -> np.ndarray:
        self.i = 0
        return self.logits[0].astype(np.float32)

    def feed(self, token: int) -> np.ndarray:
        assert token == self.tokens[self.i], "replay out of step"
        self.i += 1
        return self.logits[self.i].astype(np.float32)


def configs() -> dict[str, dict | None]:
    rows: dict[str, dict | None] = {"LLM alone": None, "all": ensemble_params()}
    # Confidence skip changes which LLM calls happen, so replayed logits cannot measure
    # it; it is measured live (scripts/skip_bench.py).
    for c in COMPONENTS:
        if c != "skip":
            rows[f"all - {c}"] = ensemble_params(**{c: None})
    mixer = ensemble_params()["mixer"]
    rows["all, linear mixer"] = ensemble_params(mixer={**mixer, "kind": "linear"})
    return rows


def run_one(cache: Path, params: dict | None) -> tuple[float, float, int]:
    """(bits/byte, seconds of predictor+coder time, n_tokens)."""
    meta = json.loads((cache / "meta.json").read_text())
    tokens = np.load(cache / "tokens.npy")
    logits = np.load(cache / "logits.npy", mmap_mode="r")
    llm = ReplayLLM(tokens, logits)
    if params is None:
        predictor = LLMPredictor(llm)
    else:
        predictor = EnsemblePredictor(llm, logits.shape[1], params)
    t0 = time.perf_counter()
    payload = encode_tokens(predictor, tokens.tolist())
    dt = time.perf_counter() - t0
    return 8 * len(payload) / meta["bytes"], dt, len(tokens)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("caches", nargs="+", type=Path)
    ap.add_argument("--only", help="comma-separated row names to run")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = configs()
    if args.only:
        rows = {k: v for k, v in rows.items() if k in args.only.split(",")}
    metas = [json.loads((c / "meta.json").read_text()) for c in args.caches]
    results: dict[str, dict] = {}
    base_time: dict[str, float] = {}
    for name, params in rows.items():
        results[name] = {}
        for cache, meta in zip(args.caches, metas):
            bpb, dt, n = run_one(cache, params)
            key = f"{meta['file']} ({meta['bytes']:,} B, w{meta['window']})"
            if name == "LLM alone":
                base_time[key] = dt
            overhead = max(0.0, dt - base_time.get(key, 0.0)) / n  # ensemble cost per token
            tok_s = 1.0 / (1.0 / meta["tokens_per_s"] + overhead)
            results[name][key] = {"bpb": bpb, "tok_s": tok_s, "overhead_ms": 1000 * overhead,
                                  "llm_ms": 1000 / meta["tokens_per_s"]}
            print(f"{name:<22} {key:<40} {bpb:.4f} bpb  {tok_s:6.1f} tok/s  +{1000*overhead:.2f} ms/token", flush=True)
    files = list(next(iter(results.values())).keys())
    lines = ["| configuration | " + " | ".join(files) + " | tokens/s (mean) |",
             "|---|" + "---|" * (len(files) + 1)]
    for name, per_file in results.items():
        cells = [f"{per_file[f]['bpb']:.4f}" for f in files]
        mean_tok = sum(per_file[f]["tok_s"] for f in files) / len(files)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean_tok:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
