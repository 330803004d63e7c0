"""Ablation of the exact ensemble ("ensemble-x1") on cached LLM logits.

    python scripts/xablation.py CACHE_DIR [CACHE_DIR...] [--only ROWS] [--v1]
        [--set NAME='{"mixer": {...}}'] [--markdown OUT.md] [--json OUT.json]

Caches come from ``scripts/llm_cache.py`` (float16 logits). Each row replays them as
integer log2q logits, ``rint(float32(logit) * float32(65536 / ln 2))`` (the convention of
the exact backend), through ``XEnsemblePredictor`` and the real coding path
(``quantize_log2q`` + range coder), and reports the exact payload size as bits/byte.
Rows: LLM alone (integer quantizer), the default, the default with each component
switched off or on, and (``--v1``) the float ensemble-v1 on the same float16 logits for
reference. ``--set`` adds rows whose params are the defaults updated (one level deep per
top-level key) by a JSON object: that is how the defaults were tuned.
The ms/token column is the measured cost of predict + update + quantize + range coding
per token on top of the LLM (the LLM-alone row's coding cost subtracted).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np

from lmzip.coder import PRECISION, RangeEncoder, quantize_log2q, quantize_logits
from lmzip.models.xensemble import COMPONENTS, MATCH_DEFAULT, NGRAM_DEFAULT, XEnsemblePredictor, xensemble_params

LOG2Q_PER_NAT = np.float32(1.4426950408889634 * 65536)


def to_log2q(logits: np.ndarray) -> np.ndarray:
    return np.rint(logits.astype(np.float32) * LOG2Q_PER_NAT).astype(np.int32)


class ReplayIntLLM:
    """Plays back cached logits as int32 log2q; checks it is fed the cached tokens."""

    def __init__(self, tokens: np.ndarray, logits: np.ndarray) -> None:
        self.tokens, self.logits, self.i = tokens, logits, 0

    def reset(self) -> np.ndarray:
        self.i = 0
        return to_log2q(self.logits[0])

    def feed(self, token: int) -> np.ndarray:
        assert token == self.tokens[self.i], "replay out of step"
        self.i += 1
        return to_log2q(self.logits[self.i])


class IntLLMAlone:
    """The LLM alone, lazily fed (as ``LLMPredictor``), integer logits."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self._pending = None

    def reset(self) -> None:
        self._logits = self.llm.reset()
        self._pending = None

    def predict(self) -> np.ndarray:
        if self._pending is not None:
            self._logits = self.llm.feed(self._pending)
            self._pending = None
        return self._logits

    def update(self, token: int) -> None:
        self._pending = token


def encode_x(predictor, tokens: list[int], quantize=quantize_log2q) -> tuple[bytes, float]:
    """The coding loop: predict -> quantize -> range code -> update. Returns the payload
    and the exact code length in bits of the frequencies used (-sum log2 f[t] / 2**24;
    float math here only measures, it decides nothing)."""
    enc = RangeEncoder()
    predictor.reset()
    bits = 0.0
    for t in tokens:
        f = quantize(predictor.predict())
        enc.encode(t, f)
        bits += PRECISION - math.log2(int(f[t]))
        predictor.update(t)
    return enc.finish(), bits


def merged(overrides: dict) -> dict:
    params = xensemble_params()
    for key, value in overrides.items():
        if key not in params:
            raise KeyError(key)
        if isinstance(value, dict) and isinstance(params[key], dict):
            params[key] = {**params[key], **value}
        else:
            params[key] = copy.deepcopy(value)
    return params


# ensemble-x1 with ensemble-v1's hyperparameters (bias lr 0.02 nats, limit 4 nats, mixer lr
# 0.001/nat, no learning-rate schedules): the straight port, before tuning.
V1_LIKE = {"bias": {"lr": 484083, "limit": 378194, "lr_boost": 0, "lr_half": 0, "fast_lr": 0, "fast_shift": 0},
           "mixer": {"lr": 727, "lr_boost": 0, "lr_half": 0, "ctx2": None}}


def configs() -> dict[str, dict | None]:
    d = xensemble_params()
    rows: dict[str, dict | None] = {"LLM alone": None, "x1 default": d}
    for c in COMPONENTS:
        if d[c]:
            rows[f"default - {c}"] = xensemble_params(**{c: None})
    if not d["ngram"]:
        rows["default + ngram"] = xensemble_params(ngram=NGRAM_DEFAULT)
    if not d["match"]:
        rows["default + match"] = xensemble_params(match=MATCH_DEFAULT)
    if not d["ngram"] and not d["match"]:
        rows["default + ngram + match"] = xensemble_params(ngram=NGRAM_DEFAULT, match=MATCH_DEFAULT)
    rows["x1 with v1's hyperparameters"] = merged(V1_LIKE)
    return rows


class ReplayFloatLLM(ReplayIntLLM):
    """Plays back the cached float logits (for the ensemble-v1 reference row)."""

    def reset(self) -> np.ndarray:
        self.i = 0
        return self.logits[0].astype(np.float32)

    def feed(self, token: int) -> np.ndarray:
        assert token == self.tokens[self.i], "replay out of step"
        self.i += 1
        return self.logits[self.i].astype(np.float32)


def run_one(cache: Path, params: dict | None) -> tuple[float, float, float, int]:
    """(payload bits/byte, code-length bits/byte, seconds of predictor+coder, n_tokens)."""
    meta = json.loads((cache / "meta.json").read_text())
    tokens = np.load(cache / "tokens.npy")
    logits = np.load(cache / "logits.npy", mmap_mode="r")
    quantize = quantize_log2q
    if params is not None and params.get("kind") == "ensemble-v1":
        from lmzip.models.ensemble import EnsemblePredictor

        if params.get("calibration") or params.get("skip"):
            raise ValueError("the v1 reference row runs without calibration and skip")
        predictor = EnsemblePredictor(ReplayFloatLLM(tokens, logits), logits.shape[1], params)
        quantize = quantize_logits
    else:
        llm = ReplayIntLLM(tokens, logits)
        predictor = IntLLMAlone(llm) if params is None else XEnsemblePredictor(llm, logits.shape[1], params)
    t0 = time.perf_counter()
    payload, bits = encode_x(predictor, tokens.tolist(), quantize)
    dt = time.perf_counter() - t0
    return 8 * len(payload) / meta["bytes"], bits / meta["bytes"], dt, len(tokens)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("caches", nargs="+", type=Path)
    ap.add_argument("--only", help="comma-separated row names to run")
    ap.add_argument("--v1", action="store_true", help="add the float ensemble-v1 (levels 5-9 params) row")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                    help="extra row: defaults updated by a JSON object")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = configs()
    if args.v1:
        from lmzip.models.ensemble import ensemble_params

        rows["v1 float (levels 5-9)"] = ensemble_params(calibration=None)
    for spec in args.set:
        name, _, js = spec.partition("=")
        rows[name] = merged(json.loads(js))
    if args.only:
        keep = args.only.split(",")
        rows = {k: v for k, v in rows.items() if k in keep}
    metas = [json.loads((c / "meta.json").read_text()) for c in args.caches]
    results: dict[str, dict] = {}
    base_time: dict[str, float] = {}
    for name, params in rows.items():
        results[name] = {}
        for cache, meta in zip(args.caches, metas):
            bpb, ideal, dt, n = run_one(cache, params)
            key = f"{meta['file']} ({meta['bytes']:,} B, w{meta['window']})"
            if name == "LLM alone":
                base_time[key] = dt
            overhead = max(0.0, dt - base_time.get(key, 0.0)) / n
            results[name][key] = {"bpb": bpb, "code_bpb": ideal, "ms_per_token": 1000 * dt / n,
                                  "overhead_ms": 1000 * overhead}
            print(f"{name:<28} {key:<40} {ideal:.4f} bpb (payload {bpb:.4f})  {1000 * dt / n:.2f} ms/token "
                  f"(+{1000 * overhead:.2f} over LLM alone)", flush=True)
    files = list(next(iter(results.values())).keys())
    tables = []
    for col, title in (("code_bpb", "code length"), ("bpb", "payload")):
        lines = [f"| configuration ({title}, bits/byte) | " + " | ".join(files) + " | ms/token (mean) |",
                 "|---|" + "---|" * (len(files) + 1)]
        for name, per_file in results.items():
            cells = [f"{per_file[f][col]:.4f}" for f in files]
            ms = sum(per_file[f]["ms_per_token"] for f in files) / len(files)
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {ms:.2f} |")
        tables.append("\n".join(lines))
    table = "\n\n".join(tables)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps({"rows": results, "params": {k: v for k, v in rows.items()}}, indent=1))


if __name__ == "__main__":
    main()
