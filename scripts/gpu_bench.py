"""Throughput and ratio of the torch exact backend against the number of lanes.

For each lane count B, B lanes of ``--tokens-per-lane`` S tokens each (consecutive
pieces of the text) are coded in lockstep, as lmzip codes the lanes of a chunk with the
LLM alone (level 4's predictor): one batched model step per token, then the compiled
lane range coder. Compression, then decompression (the tokens are checked); both timed.
Reports tok/s, MB/s (of input text) and bits/byte, as JSON and a plot. With
``--verify K`` the first K steps' logits are also compared with the compiled kernel's
(``ExactBackend`` on this CPU): on a GPU that is the bit-exactness check.

    python scripts/gpu_bench.py --device cuda --lanes 1 64 256 1024 4096 --tokens-per-lane 256
    python scripts/gpu_bench.py --device cpu --lanes 1 16 64 --tokens-per-lane 16 --context 128
    python scripts/gpu_bench.py --backend kernel --lanes 1 16 64 ...   # the compiled kernel, for comparison

Every lane has the same length, so bits/byte stays comparable across lane counts (it
depends on S and the window, not on B). Text: ``--text FILE``, else Python standard
library sources (never used to tune lmzip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

STDLIB_FILES = ("argparse.py", "textwrap.py", "shutil.py", "tarfile.py", "zipfile.py", "subprocess.py",
                "pathlib.py", "typing.py", "inspect.py", "dataclasses.py", "enum.py", "logging/__init__.py")


def default_text() -> bytes:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return b"".join((stdlib / name).read_bytes() for name in STDLIB_FILES if (stdlib / name).exists())


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} CPUs visible)"
    except OSError:
        pass
    return platform.processor() or "cpu"


def lane_tokens(tokens: np.ndarray, n_lanes: int, per_lane: int) -> np.ndarray:
    """[B, S] tokens: lane i codes tokens[i*S : (i+1)*S] (the text repeats if too short)."""
    need = n_lanes * per_lane
    if need > len(tokens):
        print(f"note: the text has {len(tokens)} tokens, {need} wanted: it repeats", file=sys.stderr)
        tokens = np.resize(tokens, need)
    return np.ascontiguousarray(tokens[:need].reshape(n_lanes, per_lane), dtype=np.int32)


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_lanes(backend, table: np.ndarray, coder, decode: bool = False):
    """Code every lane of ``table`` [B, S] in lockstep: BOS, then S tokens per lane.

    Returns (tokens [B, S] as coded, seconds in model steps, seconds in the coder)."""
    B, S = table.shape
    lanes = np.arange(B, dtype=np.int32)
    for lane in lanes:
        backend.reset(int(lane))
    out = np.zeros_like(table)
    t_model = t_coder = 0.0
    t0 = time.perf_counter()
    z = backend.step(lanes, np.full(B, backend.bos, dtype=np.int32))
    t_model += time.perf_counter() - t0
    for t in range(S):
        t0 = time.perf_counter()
        if decode:
            symbols = coder.decode_log2q(lanes, z)
        else:
            symbols = table[:, t]
            coder.encode_log2q(lanes, z, symbols)
        out[:, t] = symbols
        t1 = time.perf_counter()
        t_coder += t1 - t0
        if t + 1 < S:
            z = backend.step(lanes, np.ascontiguousarray(symbols, dtype=np.int32))
            t_model += time.perf_counter() - t1
    return out, t_model, t_coder


def verify(weights, window, table: np.ndarray, backend, steps: int) -> bool:
    """The first ``steps`` steps' int32 logits of ``backend`` == the compiled kernel's."""
    from lmzip.models.exact.backend import ExactBackend

    B = table.shape[0]
    ref = ExactBackend(weights, window, n_lanes=B)
    lanes = np.arange(B, dtype=np.int32)
    for lane in lanes:
        backend.reset(int(lane))
    toks = np.full(B, backend.bos, dtype=np.int32)
    for t in range(steps):
        if not np.array_equal(backend.step(lanes, toks), ref.step(lanes, toks)):
            return False
        toks = table[:, t]
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N (default cpu)")
    ap.add_argument("--backend", choices=("torch", "kernel"), default="torch",
                    help="torch (TorchBackend on --device) or kernel (the compiled C kernel, a CPU baseline)")
    ap.add_argument("--lanes", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--tokens-per-lane", type=int, default=32, help="tokens each lane codes (default 32)")
    ap.add_argument("--context", type=int, default=512, help="window n_ctx (default 512, level 4's)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--verify", type=int, default=2, metavar="K",
                    help="compare the first K steps with the compiled kernel (0: skip; default 2)")
    ap.add_argument("--text", type=Path, help="input text (default: Python stdlib sources)")
    ap.add_argument("--model", help="GGUF path (default: the bundled SmolLM2-135M)")
    ap.add_argument("--json", type=Path, default=Path("gpu_bench.json"))
    ap.add_argument("--plot", type=Path, default=Path("gpu_bench.png"))
    args = ap.parse_args(argv)

    import torch

    from lmzip._runtime import Runtime
    from lmzip.coder.lanes import LaneDecoder, LaneEncoder
    from lmzip.models.exact.backend import ExactBackend, Window
    from lmzip.models.exact.torch_backend import TorchBackend

    device = torch.device("cuda" if args.device == "cuda" else args.device)
    if args.backend == "kernel":
        device = torch.device("cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"error: --device {args.device}: no CUDA device visible (torch {torch.__version__})", file=sys.stderr)
        return 1
    runtime = Runtime(args.model, 1)
    weights = runtime.weights
    text = args.text.read_bytes() if args.text else default_text()
    tokens = np.asarray(runtime.tokenizer.encode(text), dtype=np.int32)
    piece_bytes = runtime.piece_bytes
    window = Window(args.context, 1, args.context // 4)
    report = {
        "backend": args.backend, "device": str(device), "device_name": device_name(device), "torch": torch.__version__,
        "threads": args.threads if device.type == "cpu" else None, "context": args.context,
        "tokens_per_lane": args.tokens_per_lane, "predictor": "llm (level 4)", "results": [],
    }
    print(f"{report['device_name']}: {args.backend} backend, torch {torch.__version__}, window {args.context}, "
          f"{args.tokens_per_lane} tokens per lane", flush=True)
    for B in args.lanes:
        table = lane_tokens(tokens, B, args.tokens_per_lane)
        n_bytes = int(piece_bytes[table].sum())
        if args.backend == "kernel":
            backend = ExactBackend(weights, window, n_lanes=B, n_threads=args.threads)
            exact = None
        else:
            backend = TorchBackend(weights, window, n_lanes=B, device=device,
                                   n_threads=args.threads if device.type == "cpu" else None)
            exact = verify(weights, window, table, backend, min(args.verify, table.shape[1])) if args.verify else None
        backend.step(np.arange(B, dtype=np.int32), np.full(B, backend.bos, dtype=np.int32))  # warm up
        sync(device)
        enc = LaneEncoder(B)
        t0 = time.perf_counter()
        _, m_enc, c_enc = run_lanes(backend, table, enc)
        t_enc = time.perf_counter() - t0
        streams = [enc.finish(i) for i in range(B)]
        dec = LaneDecoder(streams)
        t0 = time.perf_counter()
        decoded, m_dec, c_dec = run_lanes(backend, table, dec, decode=True)
        t_dec = time.perf_counter() - t0
        if not np.array_equal(decoded, table):
            print(f"error: B={B}: decoding gave other tokens", file=sys.stderr)
            return 1
        n_tok = table.size
        row = {
            "lanes": B, "tokens": n_tok, "bytes": n_bytes,
            "compressed_bytes": sum(len(s) for s in streams),
            "bits_per_byte": 8 * sum(len(s) for s in streams) / n_bytes,
            "compress_s": t_enc, "decompress_s": t_dec,
            "model_s": {"compress": m_enc, "decompress": m_dec}, "coder_s": {"compress": c_enc, "decompress": c_dec},
            "tok_s": {"compress": n_tok / t_enc, "decompress": n_tok / t_dec},
            "mb_s": {"compress": n_bytes / t_enc / 1e6, "decompress": n_bytes / t_dec / 1e6},
            "exact_vs_kernel": exact,
        }
        report["results"].append(row)
        print(f"B={B:5d}: {row['tok_s']['compress']:9.1f} tok/s compress, {row['tok_s']['decompress']:9.1f} "
              f"decompress, {row['mb_s']['compress'] * 1e3:8.2f} KB/s, {row['bits_per_byte']:.3f} bits/byte, "
              f"model {100 * m_enc / t_enc:.0f}% of the time, exact vs kernel: {exact}", flush=True)
        del backend
        if device.type == "cuda":
            torch.cuda.empty_cache()
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    plot(report, args.plot)
    print(f"wrote {args.json} and {args.plot}")
    return 0


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["results"]
    lanes = [r["lanes"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for kind, marker in (("compress", "o"), ("decompress", "s")):
        ax1.plot(lanes, [r["tok_s"][kind] for r in rows], marker=marker, label=kind)
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("lanes (B)")
    ax1.set_ylabel("tokens / s")
    ax1.set_title(f"{report['backend']} exact backend on {report['device']}")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend()
    ax2.plot(lanes, [r["bits_per_byte"] for r in rows], marker="o", color="C2")
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("lanes (B)")
    ax2.set_ylabel("bits / byte")
    ax2.set_title(f"{report['tokens_per_lane']} tokens per lane, window {report['context']}")
    ax2.grid(True, which="both", alpha=0.3)
    fig.suptitle(report["device_name"], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
