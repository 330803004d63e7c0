"""Throughput: a baseline revision of lmzip against the working tree, on one machine (issue 17).

Builds ``--baseline REV`` (default b06ab93, the commit before the speed work) in a
temporary git worktree into its own site folder (``pip install --no-deps
--no-build-isolation --target``: only lmzip's own C extensions are compiled; numpy, the
model wheel and the rest come from this venv), then, for every FILE, compresses and
decompresses it with the baseline and with this working tree's lmzip at the same level,
thread count and options, and prints one table (Markdown): bytes in and out, bits/byte,
wall seconds, KB/s and LLM tokens/s each way, CPU seconds, the round trip (decoded bytes
== input) and whether the new archive equals the baseline's (``bytes``: identical;
``payloads``: every chunk's coded bits identical, the container not, say a new header
parameter; ``no``). The CPU (model name and SIMD flags) and each code's kernel path are
printed with it.

    python scripts/heldout.py --size 1048576 -o /tmp/heldout-1m.txt
    python scripts/throughput_bench.py ../shared/corpora/canterbury/alice29.txt /tmp/heldout-1m.txt
    python scripts/throughput_bench.py FILE --level 4 --max-bytes 3000        # a quick check
    python scripts/throughput_bench.py FILE --baseline HEAD~3 -T 2 --repeat 2 --json out.json

Both codes run as ``python -P -m lmzip`` from a scratch folder, the baseline with
``PYTHONPATH=<its site>``, the new code without PYTHONPATH, so each imports its own
lmzip (checked before any run: a run from the repository root would import the working
tree's package whatever PYTHONPATH says). Rebuild the working tree's extensions first
(``python setup.py build_ext --inplace``); a C source newer than its built module is
reported. Runs of the two codes alternate (baseline first on even rounds and files, new
first on odd ones), so both see the same machine; with ``--repeat N`` each figure is the
best (lowest wall clock) of N runs. ``--level`` left out: each code's default level (the
table shows the level each archive's header records). ``--max-bytes N`` benchmarks a
prefix (say so when you quote it). Tokens are the LLM chunks' tokens, read back from the
archives' lane directories (``lanes_bench.llm_tokens``); chunks stored, xz- or CM-coded
have none. The worktree and scratch files are removed at the end, also on error or
Ctrl-C. Slow: full files take many minutes per code and direction.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel_bench import cpu_info  # noqa: E402  (the CPU's model name and SIMD flags)
from lanes_bench import llm_tokens, timed  # noqa: E402  (tokens read back from an archive; a timed run)

DEFAULT_BASELINE = "b06ab93"
CODES = ("baseline", "new")
# What each code's interpreter reports about itself (run from the scratch folder).
_PROBE = ("import os, lmzip\n"
          "try:\n"
          "    from lmzip.models.exact.kernel import resolve_path\n"
          "    path = resolve_path(os.environ.get('LMZIP_KERNEL') or 'auto')\n"
          "except Exception as exc:\n"
          "    path = f'? ({type(exc).__name__})'\n"
          "print(lmzip.__file__)\n"
          "print(path)\n")


@dataclass
class Code:
    """One lmzip to run: its name, revision and how to start it."""

    name: str  # "baseline" or "new"
    rev: str
    site: Path | None  # the baseline's --target folder; None: this venv's (editable) lmzip
    module: str = ""  # lmzip.__file__ as the code's own interpreter imports it
    kernel: str = ""  # the exact kernel path it picks on this CPU

    def python(self) -> list[str]:
        """The command prefix that starts this code's ``python`` (``env`` sets its PYTHONPATH)."""
        env = ["env", f"PYTHONPATH={self.site}"] if self.site is not None else ["env", "-u", "PYTHONPATH"]
        # -P (3.11+): the current folder is not put first on sys.path (the runs start in a
        # scratch folder anyway); worker processes inherit sys.path from lmzip's main process.
        return [*env, sys.executable, *(["-P"] if sys.version_info >= (3, 11) else [])]

    def lmzip(self, *args: str) -> list[str]:
        return [*self.python(), "-m", "lmzip", *args]


@dataclass
class Row:
    """One file coded by one code (the best of the repeats)."""

    file: str
    code: str
    rev: str
    level: int
    bytes_in: int
    bytes_out: int
    tokens: int | None
    compress_s: float
    decompress_s: float | None  # None: not decompressed (--compress-only)
    compress_cpu_s: float
    decompress_cpu_s: float | None
    compress_rss_mib: float
    decompress_rss_mib: float | None
    round_trip: bool | None  # None: not checked (--compress-only)
    same_as_baseline: str | None = None  # compare_archives(new, baseline); None on baseline rows
    derived: dict = field(default_factory=dict)

    def __post_init__(self):
        self.derived = metrics(self.bytes_in, self.bytes_out, self.tokens, self.compress_s, self.decompress_s)


def metrics(bytes_in: int, bytes_out: int, tokens: int | None, compress_s: float, decompress_s: float) -> dict:
    """Bits/byte, KB/s (1 KB = 1024 bytes of input) and tokens/s each way."""
    def rate(x, s):
        return x / s if x is not None and s is not None and s > 0 else None

    return {"bpb": 8 * bytes_out / bytes_in if bytes_in else None,
            "compress_kb_s": rate(bytes_in / 1024, compress_s), "decompress_kb_s": rate(bytes_in / 1024, decompress_s),
            "compress_tok_s": rate(tokens, compress_s), "decompress_tok_s": rate(tokens, decompress_s)}


def compare_archives(new: bytes, base: bytes) -> str:
    """``bytes``: the archives are identical; ``payloads``: the same chunks (method, size and
    every coded bit) in a different container (header parameters, say); else ``no``."""
    if new == base:
        return "bytes"
    import io

    from lmzip import formats as fmt

    def coded(blob: bytes) -> list[tuple]:
        stream = io.BytesIO(blob)
        _, size = fmt.read_header(stream)
        return [(c.info.method, c.info.raw_size, c.payload) for c in fmt.iter_chunks(stream, size)
                if isinstance(c, fmt.Chunk)]

    try:
        return "payloads" if coded(new) == coded(base) else "no"
    except Exception:  # an archive this code cannot parse
        return "no"


def run_order(file_index: int, repeat: int) -> tuple[str, str]:
    """Which code runs first: the baseline on even (file + round), the new code on odd."""
    return CODES if (file_index + repeat) % 2 == 0 else CODES[::-1]


def _f(x, spec: str, none: str = "-") -> str:
    return none if x is None else format(x, spec)


TABLE_COLUMNS = ["file", "code", "rev", "lvl", "bytes in", "bytes out", "bits/byte", "c wall s", "c KB/s", "c tok/s",
                 "d wall s", "d KB/s", "d tok/s", "CPU c/d s", "tokens", "round trip", "= baseline"]


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |",
             "|" + "|".join("---" if i < 3 else "---:" for i in range(len(TABLE_COLUMNS))) + "|"]
    for r in rows:
        d = r.derived
        same = r.same_as_baseline or ""
        cells = [r.file, r.code, r.rev, str(r.level), f"{r.bytes_in:,}", f"{r.bytes_out:,}", _f(d["bpb"], ".4f"),
                 f"{r.compress_s:.2f}", _f(d["compress_kb_s"], ".3f"), _f(d["compress_tok_s"], ".1f"),
                 _f(r.decompress_s, ".2f"), _f(d["decompress_kb_s"], ".3f"), _f(d["decompress_tok_s"], ".1f"),
                 f"{r.compress_cpu_s:.1f} / {_f(r.decompress_cpu_s, '.1f')}", _f(r.tokens, ","),
                 "not run" if r.round_trip is None else "ok" if r.round_trip else "FAILED", same]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def speedups(rows: list[Row]) -> list[str]:
    """Per file: new against baseline (wall clock speed-up each way, size change)."""
    out = []
    by_file: dict[str, dict[str, Row]] = {}
    for r in rows:
        by_file.setdefault(r.file, {})[r.code] = r
    for name, pair in by_file.items():
        if set(pair) != set(CODES):
            continue
        b, n = pair["baseline"], pair["new"]
        d = (f"decompress x{b.decompress_s / n.decompress_s:.2f}" if b.decompress_s and n.decompress_s
             else "decompress not run")
        out.append(f"{name}: new vs baseline: compress x{b.compress_s / n.compress_s:.2f}, {d} (wall clock), "
                   f"size {100 * (n.bytes_out / b.bytes_out - 1):+.2f}%")
    return out


def cpu_line() -> str:
    model, flags = cpu_info()
    marks = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ("avx2", "avx512f", "avx512_vnni", "avxvnni"))
    return f"{model}; {os.cpu_count()} logical CPUs; {marks}; flags: {' '.join(flags) or '-'}"


def stale_extensions(root: Path = ROOT) -> list[str]:
    """Built extension modules older than a C source beside them that setup.py names (a
    rebuild is due). A heuristic: sources in other folders are not looked at."""
    named = (root / "setup.py").read_text()
    stale = []
    for so in sorted(p for d in ("lmzip", "models", "coder", "formats") for p in (root / d).glob("**/*.so")):
        built = so.stat().st_mtime
        newer = [p.name for p in sorted(so.parent.iterdir())
                 if p.suffix in (".c", ".h", ".inc") and p.name in named and p.stat().st_mtime > built]
        if newer:
            stale.append(f"{so.relative_to(root)} is older than {', '.join(newer)}")
    return stale


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def new_rev() -> str:
    rev = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return rev + ("+dirty" if dirty else "")


def build_baseline(rev: str, tmp: Path) -> Code:
    """Check ``rev`` out in a worktree ``tmp/src`` and install it into ``tmp/site``."""
    short = _git("rev-parse", "--short", f"{rev}^{{commit}}")
    src = tmp / "src"
    _git("worktree", "add", "--detach", str(src), short)
    site = tmp / "site"
    print(f"building baseline {short} into {site} (lmzip's C extensions only) ...", flush=True)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "--target", str(site), str(src)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"building {short} failed:\n{r.stdout}\n{r.stderr}")
    return Code("baseline", short, site)


def remove_worktree(src: Path) -> None:
    """Remove the worktree ``src`` (if there is one) and git's record of it."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(src)], capture_output=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)


def probe(code: Code, work: Path) -> None:
    """Fill in which lmzip and kernel path ``code`` really runs, and check it is the intended one."""
    r = subprocess.run([*code.python(), "-c", _PROBE], cwd=work, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{code.name} ({code.rev}): importing lmzip failed:\n{r.stderr}")
    code.module, code.kernel = r.stdout.strip().splitlines()[-2:]
    module = Path(code.module).resolve()
    if code.site is not None and not module.is_relative_to(code.site.resolve()):
        raise SystemExit(f"baseline imports {module}, not its own build under {code.site}")
    if code.site is None and not module.is_relative_to(ROOT):
        raise SystemExit(f"the new code imports {module}, not this working tree's lmzip ({ROOT}): pip install -e .")


def _archive_level(arc: Path) -> int:
    from lmzip import formats as fmt

    with arc.open("rb") as f:
        return int(fmt.read_header(f)[0]["level"])


def _tokens(arc: Path) -> int | None:
    try:
        return llm_tokens(arc)
    except Exception as exc:  # a lane directory this code cannot read: report, don't fail the run
        print(f"  (tokens of {arc.name} unreadable: {type(exc).__name__}: {exc})", flush=True)
        return None


def bench_file(src: Path, label: str, index: int, codes: dict[str, Code], args, work: Path) -> list[Row]:
    """Compress and decompress ``src`` with both codes, ``args.repeat`` rounds; the best of each."""
    level = [f"-{args.level}"] if args.level else []
    threads = ["-T", str(args.threads)]
    best: dict[str, dict[str, tuple]] = {c: {} for c in CODES}
    archives: dict[str, bytes] = {}
    data = src.read_bytes()
    for rnd in range(args.repeat):
        order = run_order(index, rnd)
        for direction in ("compress",) if args.compress_only else ("compress", "decompress"):
            for name in order:
                code = codes[name]
                arc, out = work / f"{index}.{name}.lmz", work / f"{index}.{name}.out"
                if direction == "compress":
                    cmd = code.lmzip(*level, *threads, *args.extra, "-q", "-f", "-o", str(arc), str(src))
                else:
                    cmd = code.lmzip("-d", *threads, "-q", "-f", "-o", str(out), str(arc))
                seconds, rss, cpu = timed(cmd)
                print(f"  {label}: {name} {direction} {seconds:.2f} s", flush=True)
                if direction == "compress":
                    blob = arc.read_bytes()
                    if archives.setdefault(name, blob) != blob:
                        raise SystemExit(f"{label}: {name} made a different archive in round {rnd}")
                else:
                    if out.read_bytes() != data:
                        best[name]["round_trip_failed"] = True
                    out.unlink()
                prev = best[name].get(direction)
                if prev is None or seconds < prev[0]:
                    best[name][direction] = (seconds, rss, cpu)
    rows = []
    for name in CODES:
        arc = work / f"{index}.{name}.lmz"
        (cs, crss, ccpu), (ds, drss, dcpu) = best[name]["compress"], best[name].get("decompress", (None,) * 3)
        rows.append(Row(file=label, code=name, rev=codes[name].rev, level=_archive_level(arc), bytes_in=len(data),
                        bytes_out=len(archives[name]), tokens=_tokens(arc), compress_s=cs, decompress_s=ds,
                        compress_cpu_s=ccpu, decompress_cpu_s=dcpu, compress_rss_mib=crss / 1024,
                        decompress_rss_mib=None if drss is None else drss / 1024,
                        round_trip=None if args.compress_only else not best[name].get("round_trip_failed"),
                        same_as_baseline=None if name == "baseline" else compare_archives(archives[name],
                                                                                            archives["baseline"])))
    return rows


def run_all(args) -> tuple[dict[str, Code], list[Row]]:
    """Build the baseline, check both codes, benchmark every file; clean up whatever happens."""
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="lmzip-throughput-") as tmp_name:
            tmp = Path(tmp_name)
            work = tmp / "work"
            work.mkdir()
            cwd = os.getcwd()
            try:
                codes = {"baseline": build_baseline(args.baseline, tmp), "new": Code("new", new_rev(), None)}
                for code in codes.values():
                    probe(code, work)
                    print(f"{code.name} {code.rev}: {code.module} (kernel path {code.kernel})", flush=True)
                os.chdir(work)  # every run starts here (timed() runs in the current folder)
                for i, f in enumerate(args.files):
                    src, label = f, f.name
                    if args.max_bytes:
                        label = f"{f.name}[:{args.max_bytes}]"
                        src = work / f"{i}.input"
                        src.write_bytes(f.read_bytes()[:args.max_bytes])
                    rows += bench_file(src, label, i, codes, args, work)
            finally:
                os.chdir(cwd)
                remove_worktree(tmp / "src")
    finally:  # a worktree whose folder went without "git worktree remove" is pruned here
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)
    return codes, rows


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (Linux /proc; none found elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _terminate(signum, frame):
    """SIGTERM: stop the lmzip runs below us (timed() starts them through a wrapper that a
    plain kill would orphan), then exit through the clean-up (the worktree is removed)."""
    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--baseline", default=DEFAULT_BASELINE, metavar="REV",
                    help=f"git revision to compare with (default {DEFAULT_BASELINE})")
    ap.add_argument("--level", type=int, default=None, help="lmzip level for both (default: each code's default)")
    ap.add_argument("-T", "--threads", type=int, default=0, help="lmzip -T for both (default 0: one per core)")
    ap.add_argument("--max-bytes", type=int, default=0, help="benchmark each file's first N bytes")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; each figure is the best of them")
    ap.add_argument("--args", dest="extra", type=shlex.split, default=[],
                    help="more lmzip compress options for both, one string (say --args='--lanes 1')")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--compress-only", action="store_true",
                    help="time compression only (long inputs: halves the run; no round-trip check)")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    for f in args.files:
        if not f.is_file():
            ap.error(f"no such file: {f}")
    args.files = [f.resolve() for f in args.files]  # the runs start in a scratch folder

    signal.signal(signal.SIGTERM, _terminate)
    started = datetime.datetime.now(datetime.timezone.utc)
    load = os.getloadavg()
    for line in stale_extensions():
        print(f"warning: {line}: rebuild with python setup.py build_ext --inplace", flush=True)
    codes, rows = run_all(args)
    level = f"-{args.level}" if args.level else "each code's default level"
    print()
    print(f"CPU: {cpu_line()}")
    print(f"{started:%Y-%m-%d %H:%M} UTC; load average {load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
          f"{level}, -T {args.threads}{' ' + shlex.join(args.extra) if args.extra else ''}; "
          f"best of {args.repeat}; baseline {codes['baseline'].rev} (kernel {codes['baseline'].kernel}), "
          f"new {codes['new'].rev} (kernel {codes['new'].kernel})")
    print()
    print(table(rows))
    print()
    for line in speedups(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_line(), "started": started.isoformat(), "level": args.level,
                                         "threads": args.threads, "extra": args.extra, "max_bytes": args.max_bytes,
                                         "repeat": args.repeat,
                                         "codes": {k: {"rev": c.rev, "module": c.module, "kernel": c.kernel}
                                                   for k, c in codes.items()},
                                         "rows": [asdict(r) for r in rows]}, indent=2))
    return 0 if all(r.round_trip is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
