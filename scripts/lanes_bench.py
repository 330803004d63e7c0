"""Lanes: speed and size against ``--lanes 1`` on held-out-style text (issue 8).

Runs the installed ``lmzip`` CLI (compress, then decompress and compare) for each lane
setting and prints/writes: seconds, KB/s, tokens/s, archive bytes, bits/byte, size
against the first setting, peak RSS of the largest process. The CPU is recorded.

    python scripts/heldout.py --size 1048576 -o /tmp/heldout-1m.txt
    python scripts/lanes_bench.py /tmp/heldout-1m.txt --lanes 1 0 -T 2 --json out.json

``--lanes 0`` is the level's default. ``--max-bytes N`` benchmarks a prefix (say so when
you quote it). ``--count`` only prints the tokens of every lane group and lane, cut by
bytes (archives before issue 17) and by tokens (today's default), to see how evenly the
work is spread: the lockstep loop runs as many steps as its longest lane has tokens, so
``tokens / (lanes * steps)`` is how full its batches are on average (groups are cut by
bytes either way). Slow: ``--lanes 1`` codes about 0.2-0.3 KB/s per core.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs a command and prints, last on stderr, the peak RSS (KiB) of its largest process and
# the CPU seconds of the whole tree (worker processes are reaped by lmzip, so they count).
_RSS = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr); sys.exit(r.returncode)")


def cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    name = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), "unknown")
    flags = next((l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")), [])
    simd = "avx512" if any(f.startswith("avx512") for f in flags) else ("avx2" if "avx2" in flags else "")
    return f"{name} ({simd})" if simd else name


def timed(cmd: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) of the largest process and CPU seconds of ``cmd``'s tree."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _RSS, *cmd], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    rss, cpu = r.stderr.strip().splitlines()[-1].split()
    return seconds, int(rss), float(cpu)


def llm_tokens(arc: Path) -> int:
    """Tokens the archive's LLM chunks code, read from their lane directories."""
    from lmzip import formats as fmt
    from lmzip._lanes import LaneSpec

    total = 0
    with arc.open("rb") as f:
        params, size = fmt.read_header(f)
        spec = LaneSpec.from_params(params.get("lanes"))
        for item in fmt.iter_chunks(f, size):
            if isinstance(item, fmt.Chunk) and item.info.method == fmt.Method.LLM:
                total += sum(spec.unpack(item.payload, item.info.raw_size)[0])
    return total


def run(src: Path, level: int, lanes: int, threads: int, work: Path) -> dict:
    lmzip = shutil.which("lmzip") or "lmzip"
    arc = work / f"{src.name}.l{lanes}.lmz"
    out = work / f"{src.name}.l{lanes}.out"
    enc_s, enc_rss, enc_cpu = timed([lmzip, f"-{level}", "--lanes", str(lanes), "-T", str(threads), "-q", "-f",
                            "-o", str(arc), str(src)])
    dec_s, dec_rss, dec_cpu = timed([lmzip, "-d", "-T", str(threads), "-q", "-f", "-o", str(out), str(arc)])
    if out.read_bytes() != src.read_bytes():
        raise SystemExit(f"round trip failed for --lanes {lanes}")
    listing = subprocess.run([lmzip, "-l", str(arc)], capture_output=True, text=True, check=True).stdout
    n_lanes = int(listing.splitlines()[1].split()[5])
    n = src.stat().st_size
    size = arc.stat().st_size
    tokens = llm_tokens(arc)
    return {"lanes_flag": lanes, "lanes": n_lanes, "bytes": n, "archive": size, "bpb": 8 * size / n,
            "compress_s": enc_s, "decompress_s": dec_s, "compress_kb_s": n / 1024 / enc_s,
            "decompress_kb_s": n / 1024 / dec_s, "compress_cpu_s": enc_cpu, "decompress_cpu_s": dec_cpu,
            "llm_tokens": tokens, "compress_tok_s": tokens / enc_s, "compress_tok_per_cpu_s": tokens / enc_cpu,
            "compress_rss_mib": enc_rss / 1024,
            "decompress_rss_mib": dec_rss / 1024}


def lane_tokens(data: bytes, level: int, lanes: int, cut: str) -> list[list[int]]:
    """Tokens per lane of every chunk (lane group), cut as ``lmzip -LEVEL --lanes LANES``
    cuts it, by ``cut`` ("bytes" or "tokens")."""
    from dataclasses import replace

    from lmzip._config import CodingConfig
    from lmzip.models import LlamaModel, LosslessTokenizer

    config = CodingConfig.for_level(level, lanes=lanes or None)
    spec = replace(config.lanes, cut=cut)
    model = LlamaModel(None)
    tokenizer = LosslessTokenizer(model.pieces, model.tokenize)
    size = config.chunk_size
    groups = []
    for start in range(0, len(data), size):
        chunk = data[start:start + size]
        groups.append([len(t) for t in spec.tokenize(chunk, tokenizer.encode, tokenizer.escape_token)])
    return groups


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--lanes", type=int, nargs="+", default=[1, 0])
    ap.add_argument("-T", "--threads", type=int, default=2)
    ap.add_argument("--max-bytes", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--count", action="store_true",
                    help="only print the tokens of every lane group and lane (no coding; fast)")
    args = ap.parse_args()
    if args.count:
        data = args.file.read_bytes()[:args.max_bytes or None]
        for lanes in args.lanes:
            for cut in ("bytes", "tokens"):
                groups = lane_tokens(data, args.level, lanes, cut)
                print(f"--lanes {lanes}, cut by {cut}: {sum(map(sum, groups)):,} tokens")
                for i, g in enumerate(groups):
                    steps = max(g)
                    print(f"  group {i}: {sum(g):,} tokens in {len(g)} lanes, {min(g):,}..{steps:,} per lane "
                          f"(spread {steps - min(g):,}); {steps:,} steps, batches "
                          f"{sum(g) / (len(g) * steps):.1%} full: {' '.join(map(str, g))}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = args.file
        if args.max_bytes:
            src = work / f"{args.file.name}.{args.max_bytes}"
            src.write_bytes(args.file.read_bytes()[:args.max_bytes])
        rows = []
        for lanes in args.lanes:
            row = run(src, args.level, lanes, args.threads, work)
            base = rows[0] if rows else row
            row["size_vs_first"] = row["archive"] / base["archive"]
            row["speedup_vs_first"] = base["compress_s"] / row["compress_s"]
            rows.append(row)
            print(f"lanes {lanes:>3} ({row['lanes']:>4} in all): {row['archive']:>9,} B  {row['bpb']:.4f} bpb  "
                  f"x{row['size_vs_first']:.4f} size  compress {row['compress_s']:8.1f} s "
                  f"({row['compress_kb_s']:.2f} KB/s, x{row['speedup_vs_first']:.2f})  "
                  f"decompress {row['decompress_s']:8.1f} s ({row['decompress_kb_s']:.2f} KB/s)  "
                  f"CPU {row['compress_cpu_s']:.0f}/{row['decompress_cpu_s']:.0f} s  "
                  f"{row['llm_tokens']:,} tokens: {row['compress_tok_s']:.1f} tok/s, "
                  f"{row['compress_tok_per_cpu_s']:.1f} per CPU-second  "
                  f"RSS {row['compress_rss_mib']:.0f}/{row['decompress_rss_mib']:.0f} MiB", flush=True)
    result = {"cpu": cpu_name(), "file": str(args.file), "max_bytes": args.max_bytes, "level": args.level,
              "threads": args.threads, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(f"CPU: {result['cpu']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
