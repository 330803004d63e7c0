"""Per-token cost of each ensemble stage, against the LLM's own time per token.

    python scripts/overhead.py CACHE_DIR [--tokens N]

Replays cached logits (scripts/llm_cache.py) through the full ensemble (all components,
calibration on) and times the mixer (mix + update), the calibration tree walk (including
its binary range coding) and the online models, with wall-clock timers around the real
methods. The LLM's time per token comes from the cache run's own measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ablation import ReplayLLM  # noqa: E402

from lmzip._engine import encode_tokens  # noqa: E402
from lmzip.models import bias, calibration, counts, match, mixer, ngram, ppm  # noqa: E402
from lmzip.models.ensemble import EnsemblePredictor, ensemble_params  # noqa: E402

TIMERS: dict[str, float] = defaultdict(float)


def timed(cls, name: str, bucket: str) -> None:
    original = getattr(cls, name)

    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMERS[bucket] += time.perf_counter() - t

    setattr(cls, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache", type=Path)
    ap.add_argument("--tokens", type=int, default=5000)
    args = ap.parse_args()
    meta = json.loads((args.cache / "meta.json").read_text())
    tokens = np.load(args.cache / "tokens.npy")[: args.tokens]
    logits = np.load(args.cache / "logits.npy", mmap_mode="r")
    for name in ("mix", "update"):
        timed(mixer.Mixer, name, "mixer")
    for name in ("begin", "left_probability", "push"):
        timed(calibration.TreeCalibrator, name, "calibration")
    timed(bias.BiasHead, "apply", "bias head")
    timed(bias.BiasHead, "update", "bias head")
    timed(ngram.TokenNGram, "predict", "n-gram + PPM + counts")
    timed(ppm.TokenPPM, "predict", "n-gram + PPM + counts")
    timed(counts.ContextCounts, "update", "n-gram + PPM + counts")
    timed(match.TokenMatch, "predict", "match")
    timed(match.TokenMatch, "update", "match")
    predictor = EnsemblePredictor(ReplayLLM(tokens, logits), logits.shape[1], ensemble_params())
    t0 = time.perf_counter()
    encode_tokens(predictor, tokens.tolist())
    total = time.perf_counter() - t0
    n = len(tokens)
    llm_ms = 1000 / meta["tokens_per_s"]
    print(f"{meta['file']}, window {meta['window']}, {n} tokens; LLM alone: {llm_ms:.2f} ms/token (measured in the cache run)")
    print("| stage | ms/token | % of LLM time |\n|---|---|---|")
    for name, secs in sorted(TIMERS.items()):
        print(f"| {name} | {1000 * secs / n:.3f} | {100 * 1000 * secs / n / llm_ms:.1f}% |")
    both = TIMERS["mixer"] + TIMERS["calibration"]
    print(f"| mixer + calibration | {1000 * both / n:.3f} | {100 * 1000 * both / n / llm_ms:.1f}% |")
    print(f"| whole ensemble loop (replay, incl. coding) | {1000 * total / n:.3f} | {100 * 1000 * total / n / llm_ms:.1f}% |")


if __name__ == "__main__":
    main()
