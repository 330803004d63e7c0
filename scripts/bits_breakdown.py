"""Where the bits go: ideal code length by token class and by position, for the LLM
alone and for the default ensemble, from a logits cache (scripts/llm_cache.py).

    python scripts/bits_breakdown.py CACHE_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ablation import ReplayLLM  # noqa: E402

from lmzip.models import LlamaModel  # noqa: E402
from lmzip.models.ensemble import EnsemblePredictor, ensemble_params  # noqa: E402
from lmzip.models.predictor import LLMPredictor  # noqa: E402


def token_class(piece: bytes) -> str:
    text = piece.decode("utf-8", errors="replace")
    if not text.strip():
        return "whitespace/newline"
    if text.startswith(" ") and text[1:].isalpha():
        return "word start (' word')"
    if text.isalpha():
        return "word continuation"
    if any(c.isdigit() for c in text):
        return "digits"
    return "punctuation/other"


def costs(predictor, tokens: np.ndarray) -> np.ndarray:
    predictor.reset()
    out = np.empty(len(tokens))
    for i, t in enumerate(tokens.tolist()):
        z = predictor.predict()
        z = z - z.max()
        out[i] = -(z[t] - np.log(np.exp(z).sum())) / np.log(2)
        predictor.update(t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache", type=Path)
    args = ap.parse_args()
    meta = json.loads((args.cache / "meta.json").read_text())
    tokens = np.load(args.cache / "tokens.npy")
    logits = np.load(args.cache / "logits.npy", mmap_mode="r")
    pieces = LlamaModel().pieces
    runs = {
        "LLM alone": costs(LLMPredictor(ReplayLLM(tokens, logits)), tokens),
        "default ensemble": costs(EnsemblePredictor(ReplayLLM(tokens, logits), logits.shape[1],
                                                    ensemble_params(calibration=None)), tokens),
    }
    n_bytes = meta["bytes"]
    classes = [token_class(pieces[t]) for t in tokens.tolist()]
    print(f"{meta['file']}: {len(tokens)} tokens, {n_bytes} bytes, window {meta['window']}\n")
    print("| token class | tokens | share of bits (LLM) | bits/token LLM | bits/token ensemble | saved |")
    print("|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for i, c in enumerate(classes):
        groups[c].append(i)
    total_llm = runs["LLM alone"].sum()
    for c, idx in sorted(groups.items(), key=lambda kv: -runs["LLM alone"][kv[1]].sum()):
        a, b = runs["LLM alone"][idx], runs["default ensemble"][idx]
        print(f"| {c} | {len(idx)} | {100 * a.sum() / total_llm:.1f}% | {a.mean():.3f} | {b.mean():.3f} | "
              f"{100 * (a.sum() - b.sum()) / a.sum():+.1f}% |")
    print("\n| position in chunk (tokens) | bits/byte LLM | bits/byte ensemble |\n|---|---|---|")
    piece_len = np.array([len(pieces[t]) or 1 for t in tokens.tolist()])
    for lo, hi in ((0, 512), (512, 4096), (4096, 16384), (16384, len(tokens))):
        if lo >= len(tokens):
            break
        sl = slice(lo, min(hi, len(tokens)))
        nb = piece_len[sl].sum()
        print(f"| {lo}-{min(hi, len(tokens))} | {runs['LLM alone'][sl].sum() / nb:.4f} | "
              f"{runs['default ensemble'][sl].sum() / nb:.4f} |")
    for name, c in runs.items():
        print(f"\n{name}: {c.sum() / n_bytes:.4f} bits/byte (ideal code length)")
    worst = np.argsort(-runs["default ensemble"])[:15]
    print("\nmost expensive tokens (ensemble):", ", ".join(f"{pieces[tokens[i]]!r}:{runs['default ensemble'][i]:.1f}" for i in worst))


if __name__ == "__main__":
    main()
