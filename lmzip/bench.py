"""Benchmark engine behind ``lmzip bench``.

:func:`run_bench` measures lmzip (at each requested level) and the baseline
compressors of :mod:`lmzip.baselines` on a list of files and reports, per
file and per compressor: compressed size, bits per byte, ratio, compress and
decompress speed, peak memory, and a byte-for-byte round-trip check.

Definitions used in every output:

* bits/byte = 8 x compressed bytes / original bytes; ratio = original / compressed.
* Speeds are KB/s with KB = 1000 bytes of *uncompressed* data (for
  decompression too) per second of wall-clock time, one run, in-process.
* Peak memory is the resident set size of the whole process (MiB), measured
  separately for compression and decompression. On Linux the kernel's
  peak-RSS counter is reset before each step (``/proc/self/clear_refs``), so
  the figure is the peak during that step; it includes the interpreter, any
  loaded model and the input itself. Elsewhere only the process-lifetime
  high-water mark (``ru_maxrss``) is available and is labelled as such.
  Optionally (``trace_python_heap=True``) the Python-heap peak from
  ``tracemalloc`` is recorded too; it misses allocations made inside C
  libraries and slows Python-heavy codecs, so it is off by default.
* With ``max_bytes`` only a prefix of each file is used and every output says
  "prefix: first N bytes of each file".

Results are written to the JSON file after every single measurement, so an
interrupted run keeps what it measured (``"complete": false``). A failed
round trip or a codec exception becomes an error row, is printed loudly, and
makes :func:`run_bench` raise :class:`BenchError` after all outputs are
written.

Published figures from other systems live in :data:`PUBLISHED`; they are
reported in their own section / JSON list, flagged ``"published": true``
with their source, and never mixed with measured rows.

Demo (baselines only): ``python -m lmzip.bench --max-bytes 20000 FILE...``
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import re
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from lmzip.baselines import (
    BASELINE_NAMES,
    Baseline,
    get_baseline,
    load_baselines,
    unavailable_baselines,
)

Codec = Callable[[bytes], bytes]
CodecFactory = Callable[[int], tuple[Codec, Codec]]

SCHEMA = "lmzip-bench/1"
KB = 1000  # speeds use decimal kilobytes
MIB = 1 << 20

SPEED_UNIT = "KB/s (KB = 1000 bytes of uncompressed data per wall-clock second)"
BPB_UNIT = "bits per byte = 8 * compressed bytes / original bytes"


class BenchError(RuntimeError):
    """One or more measurements failed (round-trip mismatch or codec error).

    Raised at the end of :func:`run_bench`, after the JSON, Markdown and
    plots were written; ``results`` holds the full result dict.
    """

    def __init__(self, message: str, results: dict[str, Any]):
        super().__init__(message)
        self.results = results


# --------------------------------------------------------------------------
# published reference figures (never measured here)
# --------------------------------------------------------------------------

_NACRITH_README = (
    "Nacrith GPU README, table 'Comparison with Neural & State-of-the-Art Compressors', "
    "https://github.com/st4ck/Nacrith"
)
_NACRITH_PAPER = "R. Tacconelli, Nacrith, arXiv:2602.19626 (abstract), https://arxiv.org/abs/2602.19626"
_TS_ZIP = "F. Bellard, ts_zip: Text Compression using Large Language Models, https://bellard.org/ts_zip/"
_MIDICOTH = (
    "Midicoth README, https://github.com/robtacconelli/midicoth; "
    "R. Tacconelli, arXiv:2603.08771"
)
_CMIX = "B. Knoll, cmix benchmarks table (cmix v21), http://www.byronknoll.com/cmix.html"

#: Published results of other systems, keyed "system/file". ``bpb`` is the
#: figure as published; where the source gives a byte count it is kept in
#: ``compressed_bytes`` (and ``bpb`` derived from it if not published).
#: Only figures read in the cited source are listed.
PUBLISHED: dict[str, dict[str, Any]] = {
    "nacrith/alice29.txt": {
        "system": "Nacrith (SmolLM2-135M f32 + online n-gram/LZP mixing)",
        "file": "alice29.txt", "original_bytes": 152089, "bpb": 0.918,
        "source": f"{_NACRITH_README}; {_NACRITH_PAPER}",
    },
    "nacrith/enwik8": {
        "system": "Nacrith (SmolLM2-135M f32 + online n-gram/LZP mixing)",
        "file": "enwik8", "original_bytes": 100_000_000, "compressed_bytes": 11_737_280,
        "bpb": 0.9389, "source": _NACRITH_PAPER,
    },
    "ts_zip/alice29.txt": {
        "system": "ts_zip (RWKV 169M v4, 8-bit weights)",
        "file": "alice29.txt", "original_bytes": 152089, "compressed_bytes": 21713,
        "bpb": 1.142, "source": _TS_ZIP,
    },
    "ts_zip/book1": {
        "system": "ts_zip (RWKV 169M v4, 8-bit weights)",
        "file": "book1", "original_bytes": 768771, "compressed_bytes": 137477,
        "bpb": 1.431, "source": _TS_ZIP,
    },
    "ts_zip/enwik8": {
        "system": "ts_zip (RWKV 169M v4, 8-bit weights)",
        "file": "enwik8", "original_bytes": 100_000_000, "compressed_bytes": 13_825_741,
        "bpb": 1.106, "source": _TS_ZIP,
    },
    "ts_zip/enwik9": {
        "system": "ts_zip (RWKV 169M v4, 8-bit weights)",
        "file": "enwik9", "original_bytes": 1_000_000_000, "compressed_bytes": 135_443_237,
        "bpb": 1.084, "source": _TS_ZIP,
    },
    "midicoth/alice29.txt": {
        "system": "Midicoth (PPM + Tweedie denoising)",
        "file": "alice29.txt", "original_bytes": 152089, "bpb": 2.119, "source": _MIDICOTH,
    },
    "midicoth/enwik8": {
        "system": "Midicoth (PPM + Tweedie denoising)",
        "file": "enwik8", "original_bytes": 100_000_000, "bpb": 1.753, "source": _MIDICOTH,
    },
    "cmix-v21/alice29.txt": {
        "system": "cmix v21",
        "file": "alice29.txt", "original_bytes": 152089, "bpb": 1.635,
        "source": _NACRITH_README, "note": "secondary source (Nacrith authors' figure)",
    },
    "cmix-v21/enwik8": {
        "system": "cmix v21",
        "file": "enwik8", "original_bytes": 100_000_000, "compressed_bytes": 14_623_723,
        "source": _CMIX,
    },
    "cmix-v21/enwik9": {
        "system": "cmix v21",
        "file": "enwik9", "original_bytes": 1_000_000_000, "compressed_bytes": 107_963_380,
        "source": _CMIX,
    },
    "cmix-v21/calgary.tar": {
        "system": "cmix v21",
        "file": "calgary.tar", "original_bytes": 3_152_896, "compressed_bytes": 534_512,
        "source": _CMIX, "note": "whole Calgary corpus as one tar file",
    },
    "paq8px/alice29.txt": {
        "system": "paq8px -8L",
        "file": "alice29.txt", "original_bytes": 152089, "bpb": 1.728,
        "source": _NACRITH_README, "note": "secondary source (Nacrith authors' figure)",
    },
    "xz/alice29.txt": {
        "system": "xz -9",
        "file": "alice29.txt", "original_bytes": 152089, "compressed_bytes": 48492,
        "bpb": 2.551, "source": f"{_TS_ZIP} (xz column); {_MIDICOTH} (as 'xz -9')",
        "note": "measurable: see the xz-9e rows of this benchmark",
    },
    "xz/enwik8": {
        "system": "xz -9",
        "file": "enwik8", "original_bytes": 100_000_000, "compressed_bytes": 24_865_244,
        "bpb": 1.989, "source": f"{_TS_ZIP} (xz column); {_MIDICOTH} (as 'xz -9')",
        "note": "measurable: see the xz-9e rows of this benchmark",
    },
}


def published_rows() -> list[dict[str, Any]]:
    """The :data:`PUBLISHED` figures as JSON rows flagged ``published: true``."""
    rows = []
    for key, e in PUBLISHED.items():
        bpb = e.get("bpb")
        if bpb is None and e.get("compressed_bytes"):
            bpb = round(8 * e["compressed_bytes"] / e["original_bytes"], 4)
        rows.append({
            "key": key, "system": e["system"], "file": e["file"],
            "original_bytes": e["original_bytes"],
            "compressed_bytes": e.get("compressed_bytes"),
            "bpb": bpb, "published": True, "measured": False,
            "source": e["source"], "note": e.get("note", ""),
        })
    return rows


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def prefix_label(max_bytes: int | None) -> str:
    """The scope label used in every output."""
    return "full files" if max_bytes is None else f"prefix: first {max_bytes} bytes of each file"


def collect_inputs(
    paths: Sequence[Path | str] = (),
    corpus: str | None = None,
    corpus_dir: Path | str | None = None,
    *,
    out: TextIO | None = None,
) -> list[Path]:
    """Files to benchmark: explicit ``paths`` plus the files of ``corpus``.

    Directories in ``paths`` expand to the regular files directly inside them
    (sorted). Corpus files missing locally are reported on ``out`` (default
    stderr) and left out; a corpus with no file present raises
    ``lmzip.corpora.CorpusError``.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(c for c in p.iterdir() if c.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"no such file: {p}")
    if corpus is not None:
        from lmzip import corpora

        found = corpora.resolve_files(corpus, corpus_dir, missing_ok=True)
        names = [e.name for e in corpora.load_manifest(corpus)]
        missing = [n for n in names if n not in {f.name for f in found}]
        if not found:
            raise corpora.CorpusError(
                f"corpus {corpus}: none of its files found under {corpora.corpus_dir(corpus_dir)}"
                f" (fetch with: python -m lmzip.corpora fetch {corpus})"
            )
        if missing:
            print(f"warning: corpus {corpus}: {len(missing)} files not present locally, "
                  f"skipped: {', '.join(missing)}", file=out or sys.stderr)
        files.extend(found)
    return files


class _RssProbe:
    """Peak resident set size of this process, resettable where the OS allows."""

    def __init__(self) -> None:
        self.resettable = False
        if Path("/proc/self/status").exists():
            try:
                self._clear()
                self._hwm_kib()
                self.resettable = True
            except (OSError, ValueError):
                pass
        self.method = (
            "peak RSS of the process during the step (Linux VmHWM, reset before the step)"
            if self.resettable
            else "process max RSS so far (ru_maxrss; cannot be reset on this OS)"
        )

    @staticmethod
    def _clear() -> None:
        # Writing 5 resets the peak-RSS counter (Linux >= 4.0, own process).
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    @staticmethod
    def _hwm_kib() -> int:
        m = re.search(r"VmHWM:\s+(\d+)\s+kB", Path("/proc/self/status").read_text())
        if not m:
            raise ValueError("VmHWM not found")
        return int(m.group(1))

    def reset(self) -> None:
        if self.resettable:
            self._clear()

    def peak_mib(self) -> float:
        if self.resettable:
            return self._hwm_kib() / 1024
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # ru_maxrss is KiB on Linux/BSD but bytes on macOS.
        return peak / MIB if sys.platform == "darwin" else peak / 1024


def _first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    step = 1 << 16
    for start in range(0, n, step):
        if a[start:start + step] != b[start:start + step]:
            for i in range(start, min(start + step, n)):
                if a[i] != b[i]:
                    return i
    return n


def _speed(nbytes: int, seconds: float | None) -> float | None:
    if seconds is None or seconds <= 0:
        return None
    return nbytes / KB / seconds


def _measure(
    file_label: str,
    compressor: str,
    kind: str,
    compress: Codec,
    decompress: Codec,
    data: bytes,
    probe: _RssProbe,
    trace_python_heap: bool,
) -> dict[str, Any]:
    """Compress, decompress and verify once; never raises for codec failures."""
    row: dict[str, Any] = {
        "file": file_label, "compressor": compressor, "kind": kind,
        "published": False, "measured": True,
        "original_bytes": len(data), "compressed_bytes": None, "bpb": None, "ratio": None,
        "compress_s": None, "decompress_s": None,
        "compress_kBps": None, "decompress_kBps": None,
        "peak_rss_compress_mib": None, "peak_rss_decompress_mib": None,
        "py_heap_peak_mib": None, "ok": False, "error": None,
    }
    step = "compress"
    py_peak = 0
    try:
        gc.collect()  # keep earlier garbage out of this step's timing and memory
        if trace_python_heap:
            tracemalloc.start()
        probe.reset()
        t0 = time.perf_counter()
        comp = compress(data)
        t1 = time.perf_counter()
        row["peak_rss_compress_mib"] = round(probe.peak_mib(), 1)
        if trace_python_heap:
            py_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
        comp = bytes(comp)
        row["compress_s"] = t1 - t0
        row["compressed_bytes"] = len(comp)
        row["bpb"] = 8 * len(comp) / len(data) if data else None
        row["ratio"] = len(data) / len(comp) if comp and data else None
        row["compress_kBps"] = _speed(len(data), t1 - t0)

        step = "decompress"
        gc.collect()
        probe.reset()
        t0 = time.perf_counter()
        restored = decompress(comp)
        t1 = time.perf_counter()
        row["peak_rss_decompress_mib"] = round(probe.peak_mib(), 1)
        if trace_python_heap:
            py_peak = max(py_peak, tracemalloc.get_traced_memory()[1])
        row["decompress_s"] = t1 - t0
        row["decompress_kBps"] = _speed(len(data), t1 - t0)

        step = "verify"
        restored = bytes(restored)
        if restored != data:
            at = _first_difference(restored, data)
            row["error"] = (
                f"ROUND TRIP MISMATCH: decompressed {len(restored)} bytes, expected "
                f"{len(data)}; first difference at byte {at}"
            )
        else:
            row["ok"] = True
    except Exception as exc:  # a broken codec is a result to report, not a crash
        row["error"] = f"{step} raised {type(exc).__name__}: {exc}"
    finally:
        if trace_python_heap and tracemalloc.is_tracing():
            tracemalloc.stop()
            row["py_heap_peak_mib"] = round(py_peak / MIB, 2)
    return row


def _totals(rows: list[dict[str, Any]], compressors: list[str], n_files: int) -> list[dict]:
    """TOTAL per compressor: sum compressed / sum original over successful rows."""
    out = []
    for name in compressors:
        mine = [r for r in rows if r["compressor"] == name]
        good = [r for r in mine if r["ok"]]
        orig = sum(r["original_bytes"] for r in good)
        comp = sum(r["compressed_bytes"] for r in good)
        ct = sum(r["compress_s"] for r in good)
        dt = sum(r["decompress_s"] for r in good)
        failed = sum(1 for r in mine if not r["ok"])
        out.append({
            "compressor": name, "kind": mine[0]["kind"] if mine else None,
            "files_ok": len(good), "files_failed": failed, "files_total": n_files,
            "complete": len(good) == n_files,
            "original_bytes": orig, "compressed_bytes": comp,
            "bpb": 8 * comp / orig if orig else None,
            "ratio": orig / comp if comp else None,
            "compress_kBps": _speed(orig, ct), "decompress_kBps": _speed(orig, dt),
            "peak_rss_compress_mib": max((r["peak_rss_compress_mib"] for r in good), default=None),
            "peak_rss_decompress_mib": max(
                (r["peak_rss_decompress_mib"] for r in good), default=None),
        })
    return out


def _write_json(result: dict[str, Any], path: Path) -> None:
    # Write-then-rename so a crash mid-write never leaves a truncated file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


# --------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _row_cells(r: dict[str, Any]) -> list[str]:
    mem = f"{_fmt(r['peak_rss_compress_mib'], '.0f')} / {_fmt(r['peak_rss_decompress_mib'], '.0f')}"
    if not r["ok"]:
        return [r["compressor"], _fmt(r["compressed_bytes"], ","), _fmt(r["bpb"], ".3f"),
                "—", "—", "—", mem, f"**FAILED: {r['error']}**"]
    return [
        r["compressor"], f"{r['compressed_bytes']:,}", _fmt(r["bpb"], ".3f"),  # None: empty input
        _fmt(r["ratio"], ".2f"), _fmt(r["compress_kBps"], ",.1f"),
        _fmt(r["decompress_kBps"], ",.1f"), mem, "ok",
    ]


_MEASURED_HEADER = [
    "compressor", "compressed bytes", "bits/byte", "ratio", "compress KB/s",
    "decompress KB/s", "peak RSS MiB (process) c / d", "round trip",
]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _file_section(result: dict[str, Any], f: dict[str, Any]) -> str:
    rows = [r for r in result["results"] if r["file"] == f["label"]]
    head = f"## {f['label']} — {f['bytes_used']:,} bytes"
    if result["max_bytes"] is not None:
        head += f" ({result['scope']}; file has {f['size_bytes']:,})"
    return head + "\n\n" + _table(_MEASURED_HEADER, [_row_cells(r) for r in rows]) + "\n"


def _totals_section(result: dict[str, Any]) -> str:
    n = len(result["files"])
    rows = []
    for t in result["totals"]:
        status = "ok" if t["complete"] else (
            f"**INCOMPLETE: {t['files_failed']} of {t['files_total']} files failed**")
        mem = (f"{_fmt(t['peak_rss_compress_mib'], '.0f')} / "
               f"{_fmt(t['peak_rss_decompress_mib'], '.0f')}")
        rows.append([
            f"TOTAL {t['compressor']}", f"{t['compressed_bytes']:,}", _fmt(t["bpb"], ".3f"),
            _fmt(t["ratio"], ".2f"), _fmt(t["compress_kBps"], ",.1f"),
            _fmt(t["decompress_kBps"], ",.1f"), mem, status,
        ])
    orig = sum(f["bytes_used"] for f in result["files"])
    return (f"## TOTAL — {n} files, {orig:,} bytes ({result['scope']}); "
            f"total compressed / total original\n\n" + _table(_MEASURED_HEADER, rows) + "\n")


def _published_section(result: dict[str, Any]) -> str:
    rows = [[p["system"], p["file"], _fmt(p["original_bytes"], ","),
             _fmt(p["compressed_bytes"], ","), _fmt(p["bpb"], ".4g"),
             p["source"] + (f" — {p['note']}" if p["note"] else "")]
            for p in result["published"]]
    text = ("## Published results (NOT measured by this run)\n\n"
            "Figures copied from the cited sources for the full files named; other "
            "machines, other versions. Shown for reference only.")
    if result["max_bytes"] is not None:
        text += (f" The measured rows above use {result['scope']}, so they are not directly "
                 "comparable with these full-file figures.")
    header = ["system (published)", "file", "original bytes", "compressed bytes",
              "bits/byte", "source"]
    return text + "\n\n" + _table(header, rows) + "\n"


def render_markdown(result: dict[str, Any], *, files_done: int | None = None) -> str:
    """Markdown report: settings, one table per file, TOTAL, published figures."""
    files = result["files"][:files_done] if files_done is not None else result["files"]
    parts = [
        "# lmzip benchmark\n",
        f"- Inputs: {len(result['files'])} files, {result['scope']}",
        f"- bits/byte = 8 × compressed bytes / original bytes; ratio = original / compressed",
        f"- Speeds: {SPEED_UNIT}; single run, in-process",
        f"- Peak RSS: {result['memory_method']}; includes interpreter, loaded model and input",
        "- Every round trip is verified byte for byte; failures are shown as FAILED rows",
        f"- {'Complete' if result['complete'] else 'INCOMPLETE (run interrupted or in progress)'}"
        f"; {result['created']}",
    ]
    if result["skipped_baselines"]:
        parts.append("- Skipped baselines (library missing): "
                     + ", ".join(result["skipped_baselines"]))
    parts.append("")
    parts += [_file_section(result, f) for f in files]
    parts.append(_totals_section(result))
    parts.append(_published_section(result))
    return "\n".join(parts)


def write_plots(result: dict[str, Any], plot_out: Path) -> list[Path]:
    """Write ``X.png`` (bits/byte bars per file and compressor, plus TOTAL) and
    ``X-speed.png`` (TOTAL bits/byte vs compress KB/s, log x) for ``plot_out = X.png``.

    Only successful measured rows are plotted; published figures are not.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_out = Path(plot_out)
    speed_out = plot_out.with_name(plot_out.stem + "-speed" + (plot_out.suffix or ".png"))
    scope = result["scope"]
    names = [c["name"] for c in result["compressors"]]
    groups = [f["label"] for f in result["files"]] + ["TOTAL"]
    value: dict[tuple[str, str], float] = {}
    for r in result["results"]:
        if r["ok"] and r["bpb"] is not None:
            value[(r["file"], r["compressor"])] = r["bpb"]
    for t in result["totals"]:
        if t["complete"] and t["bpb"] is not None:
            value[("TOTAL", t["compressor"])] = t["bpb"]

    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(8.0, 0.22 * len(groups) * len(names) + 3), 5))
    cmap = plt.get_cmap("tab20")
    for j, name in enumerate(names):
        xs, ys = [], []
        for i, g in enumerate(groups):
            if (g, name) in value:
                xs.append(i - 0.4 + width * (j + 0.5))
                ys.append(value[(g, name)])
        ax.bar(xs, ys, width, label=name, color=cmap(j % 20))
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylabel("bits per byte (lower is better)")
    ax.set_title(f"Compressed size in bits/byte — {scope} (measured)")
    ax.legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(plot_out, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9.5, 5.5))
    for j, t in enumerate(result["totals"]):
        if not t["complete"] or not t["compress_kBps"] or t["bpb"] is None:
            continue
        ax.scatter(t["compress_kBps"], t["bpb"], color=cmap(j % 20), s=60,
                   marker="*" if t["kind"] == "lmzip" else "o", label=t["compressor"])
    if ax.get_legend_handles_labels()[0]:  # nothing to show when every total failed
        ax.legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_xscale("log")
    ax.set_xlabel("compress speed, KB/s (KB = 1000 B of input; log scale)")
    ax.set_ylabel("bits per byte over all files (lower is better)")
    ax.set_title(f"Size vs. compression speed — {scope} (measured)")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(speed_out, dpi=120)
    plt.close(fig)
    return [plot_out, speed_out]


# --------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------


def run_bench(
    paths: list[Path],
    *,
    levels: list[int],
    max_bytes: int | None,
    json_out: Path | None,
    plot_out: Path | None,
    markdown_out: Path | None,
    lmzip_codec_factory: CodecFactory | None,
    baselines: list[str] | None = None,
    progress: bool = True,
    out: TextIO | None = None,
    trace_python_heap: bool = False,
) -> dict[str, Any]:
    """Benchmark lmzip and baseline compressors on ``paths``; return the result dict.

    ``lmzip_codec_factory(level)`` returns ``(compress, decompress)`` for lmzip
    at that level; it is called once per level before any measurement. With
    None (or empty ``levels``) no lmzip rows are produced. ``baselines`` names
    baselines from :data:`lmzip.baselines.BASELINE_NAMES`; None means every
    baseline whose library is installed (missing ones are listed under
    ``skipped_baselines``), ``[]`` means none. Files are truncated to their
    first ``max_bytes`` bytes when given. Tables go to ``out`` (default: the
    current sys.stdout), progress bars to stderr. The JSON (if ``json_out``) is rewritten after every
    measurement; Markdown after every file; plots (``plot_out`` = ``X.png``
    gives ``X.png`` and ``X-speed.png``) at the end.

    Raises :class:`BenchError` after writing all outputs if any round trip
    failed or any codec raised; ValueError/KeyError for bad arguments;
    :class:`lmzip.baselines.BaselineUnavailable` if an explicitly requested
    baseline's library is missing.
    """
    # Resolved per call (not as a default argument) so a swapped sys.stdout is honoured.
    out = out if out is not None else sys.stdout
    if max_bytes is not None and max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no input files")
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"no such file: {p}")

    if baselines is None:
        skipped = unavailable_baselines()
        chosen: list[Baseline] = load_baselines([n for n in BASELINE_NAMES if n not in skipped])
    else:
        skipped = {}
        chosen = [get_baseline(n) for n in baselines]

    names = [p.name for p in paths]
    labels = [str(p) if names.count(p.name) > 1 else p.name for p in paths]
    scope = prefix_label(max_bytes)
    probe = _RssProbe()

    result: dict[str, Any] = {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": False,
        "status": "running",
        "max_bytes": max_bytes,
        "scope": scope,
        "units": {
            "bpb": BPB_UNIT, "ratio": "original bytes / compressed bytes",
            "speed": SPEED_UNIT, "time": "seconds (wall clock, time.perf_counter)",
            "memory": "MiB (2^20 bytes)",
        },
        "memory_method": probe.method,
        "python_heap_method": (
            "tracemalloc peak over compress+decompress (Python-heap allocations only)"
            if trace_python_heap else None),
        "environment": _environment(),
        "files": [],
        "compressors": [],
        "skipped_baselines": skipped,
        "results": [],
        "totals": [],
        "published": published_rows(),
    }

    # (name, kind, compress, decompress, error-if-setup-failed)
    codecs: list[tuple[str, str, Codec | None, Codec | None, str | None]] = []
    if lmzip_codec_factory is not None:
        for level in levels:
            name = f"lmzip-L{level}"
            try:
                c, d = lmzip_codec_factory(level)
                codecs.append((name, "lmzip", c, d, None))
            except Exception as exc:  # reported as error rows on every file
                codecs.append((name, "lmzip", None, None,
                               f"codec setup raised {type(exc).__name__}: {exc}"))
            result["compressors"].append({"name": name, "kind": "lmzip", "level": level})
    for b in chosen:
        codecs.append((b.name, "baseline", b.compress, b.decompress, None))
        result["compressors"].append(
            {"name": b.name, "kind": "baseline", "params": b.params, "library": b.library})
    if not codecs:
        raise ValueError("nothing to benchmark: no lmzip levels and no baselines")
    comp_names = [c[0] for c in codecs]

    def save() -> None:
        result["totals"] = _totals(result["results"], comp_names, len(result["files"]))
        if json_out is not None:
            _write_json(result, Path(json_out))

    def save_markdown(files_done: int | None = None) -> None:
        if markdown_out is not None:
            Path(markdown_out).write_text(
                render_markdown(result, files_done=files_done), encoding="utf-8")

    if skipped:
        print(f"warning: baselines skipped (library missing): {', '.join(skipped)}", file=out)
    print(f"# lmzip benchmark — {len(paths)} files, {scope}; speeds in {SPEED_UNIT}\n", file=out)

    failures: list[str] = []
    try:
        for i, (path, label) in enumerate(zip(paths, labels), 1):
            with open(path, "rb") as fh:
                data = fh.read() if max_bytes is None else fh.read(max_bytes)
            result["files"].append({
                "label": label, "path": str(path), "size_bytes": path.stat().st_size,
                "bytes_used": len(data), "sha256_used": hashlib.sha256(data).hexdigest(),
            })
            save()
            bar = _progress_bar(progress, 2 * len(data) * len(codecs),
                                f"[{i}/{len(paths)}] {label}")
            for name, kind, comp, decomp, setup_error in codecs:
                if bar is not None:
                    bar.set_postfix_str(name)
                if setup_error is not None:
                    row = _error_row(label, name, kind, len(data), setup_error)
                else:
                    assert comp is not None and decomp is not None
                    row = _measure(label, name, kind, comp, decomp, data, probe,
                                   trace_python_heap)
                result["results"].append(row)
                save()
                if bar is not None:
                    bar.update(2 * len(data))
                if not row["ok"]:
                    msg = f"{name} on {label}: {row['error']}"
                    failures.append(msg)
                    print(f"!! FAILED: {msg}", file=sys.stderr)
            if bar is not None:
                bar.close()
            print(_file_section(result, result["files"][-1]), file=out)
            save_markdown(files_done=i)
        result["complete"] = True
        result["status"] = "complete" if not failures else f"complete with {len(failures)} failures"
    except BaseException as exc:
        result["status"] = f"interrupted: {type(exc).__name__}: {exc}"
        raise
    finally:
        save()
        save_markdown()

    print(_totals_section(result), file=out)
    print(_published_section(result), file=out)
    if plot_out is not None:
        written = write_plots(result, Path(plot_out))
        print("plots: " + ", ".join(map(str, written)), file=out)
    if failures:
        raise BenchError(
            f"{len(failures)} measurement(s) failed:\n  " + "\n  ".join(failures), result)
    return result


def _error_row(file_label: str, name: str, kind: str, n: int, error: str) -> dict[str, Any]:
    return {
        "file": file_label, "compressor": name, "kind": kind, "published": False,
        "measured": True, "original_bytes": n, "compressed_bytes": None, "bpb": None,
        "ratio": None, "compress_s": None, "decompress_s": None, "compress_kBps": None,
        "decompress_kBps": None, "peak_rss_compress_mib": None,
        "peak_rss_decompress_mib": None, "py_heap_peak_mib": None, "ok": False, "error": error,
    }


def _progress_bar(enabled: bool, total: int, desc: str):  # -> tqdm | None
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # progress is cosmetic; tqdm is a core dependency anyway
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1000,
                file=sys.stderr, leave=False, dynamic_ncols=True)


# --------------------------------------------------------------------------
# demo entry point: baselines only
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m lmzip.bench``: run the baselines (no lmzip) on files or a corpus."""
    ap = argparse.ArgumentParser(prog="python -m lmzip.bench",
                                 description="Benchmark the baseline compressors (no lmzip).")
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--corpus", help="corpus name from corpora/*.tsv")
    ap.add_argument("--corpus-dir", type=Path)
    ap.add_argument("--max-bytes", type=int)
    ap.add_argument("--baselines", help=f"comma list from: {','.join(BASELINE_NAMES)}")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    files = collect_inputs(args.paths, args.corpus, args.corpus_dir)
    try:
        run_bench(
            files, levels=[], max_bytes=args.max_bytes, json_out=args.json,
            plot_out=args.plot, markdown_out=args.markdown, lmzip_codec_factory=None,
            baselines=args.baselines.split(",") if args.baselines else None,
            progress=not args.no_progress,
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
