"""The ``lmzip`` command line: gzip/xz/zstd conventions, plus ``lmzip bench``.

Exit status follows gzip: 0 success, 1 error, 2 warning; 130 after Ctrl-C (SIGINT) and
128+N after SIGTERM/SIGHUP. Errors are one line on stderr; set ``LMZIP_DEBUG=1`` for the
traceback. Output files appear only when complete (``_atomic``: an unnamed ``O_TMPFILE``
file linked into place on Linux), so an error, a full disk, Ctrl-C or even ``kill -9``
never leaves a partial or temporary file, worker processes die with the CLI, and the
input is deleted (``--rm``) only after the new archive was decoded back and compared.
Bytes after the last archive are an error (``TrailingDataError``), as in the API.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator, List, Optional

from lmzip._atomic import atomic_output
from lmzip._deps import missing_dependency

try:
    from lmzip.formats import container as fmt
    from lmzip.formats.errors import LmzipError
except ModuleNotFoundError as _exc:  # a dependency is missing: the entry points say which
    _MISSING = missing_dependency(_exc)
    if _MISSING is None:
        raise
else:
    _MISSING = None

if TYPE_CHECKING:  # the model, numpy and typer load in _main, once Ctrl-C is handled
    import typer

    from lmzip._codec import Codec, Stats

SUFFIX = ".lmz"
EXIT_OK, EXIT_ERROR, EXIT_WARNING = 0, 1, 2


class Warned(Exception):
    """A per-file condition that is reported and skipped (exit status 2)."""


@dataclass
class Options:
    decompress: bool
    stdout: bool
    keep: bool
    force: bool
    test: bool
    list: bool
    output: Optional[Path]
    verbose: bool
    quiet: bool
    threads: int
    level: int
    remove: bool
    model: Optional[Path]
    chunk_size: Optional[int]
    context: Optional[int]
    prog: str
    lanes: Optional[int] = None
    device: Optional[str] = None
    ray: Optional[str] = None


class Reporter:
    """Everything the CLI prints to stderr goes through here."""

    def __init__(self, prog: str, quiet: bool, verbose: bool) -> None:
        self.prog = prog
        self.quiet = quiet
        self.verbose = verbose

    def error(self, name: str | None, message: str) -> None:
        where = f"{name}: " if name else ""
        print(f"{self.prog}: {where}{message}", file=sys.stderr)

    def warn(self, name: str | None, message: str) -> None:
        if not self.quiet:
            self.error(name, message)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    @contextmanager
    def progress(self, total: int | None, desc: str) -> Iterator:
        """A tqdm bar on a TTY (stderr), else a no-op callback."""
        if self.quiet or not sys.stderr.isatty():
            yield None
            return
        from tqdm import tqdm

        with tqdm(total=total, desc=desc, unit="B", unit_scale=True, leave=False, file=sys.stderr) as bar:
            yield bar.update


def _summary(name: str, stats: Stats) -> str:
    orig, comp = stats.original_size, stats.compressed_size
    ratio = f"{orig / comp:.2f}x" if comp else "-"
    line = f"{name}: {orig:,} -> {comp:,} bytes, ratio {ratio}, {stats.bits_per_byte:.3f} bits/byte"
    if stats.llm_chunks and stats.kernel:
        line += f", model kernel {stats.kernel}"
    return line


# ----------------------------------------------------------------------------- actions


class Runner:
    def __init__(self, opts: Options, report: Reporter) -> None:
        self.opts = opts
        self.report = report
        self._codec: Codec | None = None

    @property
    def codec(self) -> Codec:
        if self._codec is None:
            from lmzip._codec import Codec

            o = self.opts
            self._codec = Codec(
                level=o.level,
                model=o.model,
                threads=o.threads or None,
                chunk_size=o.chunk_size,
                context=o.context,
                lanes=o.lanes,
                device=o.device,
                ray=o.ray,
            )
        return self._codec

    def close(self) -> None:
        if self._codec is not None:
            self._codec.close()

    def run(self, name: str) -> None:
        o = self.opts
        if o.list:
            self.list_file(name)
        elif o.test:
            self.test_file(name)
        elif o.decompress:
            self.decompress_file(name)
        else:
            self.compress_file(name)

    # -- compress ---------------------------------------------------------------
    def compress_file(self, name: str) -> None:
        o = self.opts
        if name == "-":
            if sys.stdout.isatty() and not o.force and o.output is None:
                raise LmzipError("compressed data not written to a terminal (use -f to force)")
            with self.report.progress(None, "stdin") as tick:
                stats = self._to_output(sys.stdin.buffer, o.output, tick, compress=True, meta_from=None)
            self.report.info(_summary("stdin", stats)) if o.verbose or o.output else None
            return
        src = Path(name)
        self._check_input(src)
        if src.suffix == SUFFIX and not o.stdout and o.output is None:
            raise Warned(f"already has {SUFFIX} suffix -- unchanged")
        if o.stdout and sys.stdout.isatty() and not o.force:
            raise LmzipError("compressed data not written to a terminal (use -f to force)")
        dst = None if o.stdout else (o.output or src.with_name(src.name + SUFFIX))
        with open(src, "rb") as f, self.report.progress(src.stat().st_size, src.name) as tick:
            stats = self._to_output(f, dst, tick, compress=True, meta_from=src)
        self.report.info(_summary(name, stats))
        if o.remove and dst is not None:
            self._verify_then_remove(src, dst)

    def _verify_then_remove(self, src: Path, archive: Path) -> None:
        """Decode the archive we just wrote and compare before deleting the input."""
        original = src.read_bytes()
        with open(archive, "rb") as f:
            import io

            out = io.BytesIO()
            with self.report.progress(len(original), f"verify {archive.name}") as tick:
                self.codec.decompress_stream(f, out, progress=tick)
        if out.getvalue() != original:
            raise LmzipError(f"verification of {archive} failed; input kept")
        _checkpoint()  # never remove the input after an interrupt
        src.unlink()

    # -- decompress -------------------------------------------------------------
    def decompress_file(self, name: str) -> None:
        o = self.opts
        if name == "-":
            with self.report.progress(None, "stdin") as tick:
                self._to_output(sys.stdin.buffer, o.output, tick, compress=False, meta_from=None)
            return
        src = Path(name)
        self._check_input(src)
        if o.stdout:
            dst = None
        elif o.output is not None:
            dst = o.output
        elif src.suffix == SUFFIX and len(src.name) > len(SUFFIX):
            dst = src.with_name(src.name[: -len(SUFFIX)])
        else:
            raise Warned(f"unknown suffix -- ignored (expected {SUFFIX})")
        with open(src, "rb") as f, self.report.progress(None, src.name) as tick:
            stats = self._to_output(f, dst, tick, compress=False, meta_from=src)
        if dst is not None and o.remove:
            src.unlink()  # the output was checksummed chunk by chunk and as a whole
        if o.verbose:
            self.report.info(_summary(name, stats))

    def _to_output(self, src: BinaryIO, dst: Path | None, tick, *, compress: bool,
                   meta_from: Path | None) -> Stats:
        work = self.codec.compress_stream if compress else self.codec.decompress_stream
        src = _Checked(src)
        if dst is None:
            out = sys.stdout.buffer
            try:
                stats = work(src, _Checked(out), progress=tick)
                out.flush()
            except OSError as exc:
                if exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
                    _stdout_broken()
                    exc.filename = "standard output"
                raise
            return stats
        if dst.exists() and not self.opts.force:
            raise Warned(f"{dst} already exists; not overwritten (use -f to force)")
        # The output appears, with the input's mode and times, only once complete.
        with atomic_output(dst, force=self.opts.force, meta_from=meta_from) as out:
            stats = work(src, _Checked(out), progress=tick)
            _checkpoint()  # a signal swallowed during the last step still cancels the output
            return stats

    # -- test / list ------------------------------------------------------------
    def test_file(self, name: str) -> None:
        class Null:
            def write(self, b: bytes) -> int:
                _checkpoint()
                return len(b)

        if name == "-":
            stats = self.codec.decompress_stream(sys.stdin.buffer, Null())
        else:
            src = Path(name)
            self._check_input(src)
            with open(src, "rb") as f, self.report.progress(None, src.name) as tick:
                stats = self.codec.decompress_stream(f, Null(), progress=tick)
        if self.opts.verbose:
            self.report.info(f"{name}: OK ({stats.original_size:,} bytes)")

    def list_file(self, name: str) -> None:
        if name == "-":
            raise LmzipError("--list needs a file, not standard input")
        src = Path(name)
        self._check_input(src)
        params, index, size = _list_members(src)
        orig = index.original_size
        bpb = 8 * size / orig if orig else 0.0
        ratio = f"{orig / size:.2f}x" if size else "-"
        model = params.get("model", {}).get("name", "(none: no LLM)")
        methods = ",".join(sorted({c.method.name.lower() for c in index.chunks})) or "-"
        lanes = _lanes_of(params)
        n_lanes = [lanes.count(c.raw_size) if c.method == fmt.Method.LLM else 0 for c in index.chunks]
        if not self._listed_header:
            print(f"{'compressed':>12} {'uncompressed':>12} {'ratio':>7} {'bits/byte':>9} {'chunks':>6} "
                  f"{'lanes':>6}  {'methods':<14} {'check':<22} {'model':<32} name")
            self._listed_header = True
        print(f"{size:>12,} {orig:>12,} {ratio:>7} {bpb:>9.3f} {len(index.chunks):>6} {sum(n_lanes):>6}  "
              f"{methods:<14} {index.check_text:<22} {model:<32} {name}")
        if self.opts.verbose:
            for i, c in enumerate(index.chunks):
                print(f"    chunk {i}: {c.method.name.lower():<6} {c.raw_size:>10,} -> {c.payload_size:>10,}"
                      + (f", {n_lanes[i]} lanes" if n_lanes[i] else ""))

    _listed_header = False

    @staticmethod
    def _check_input(src: Path) -> None:
        if not src.exists():
            raise LmzipError("No such file or directory")
        if src.is_dir():
            raise Warned("is a directory -- ignored")
        if not src.is_file():
            raise Warned("not a regular file -- ignored")


def _lanes_of(params: dict) -> "LaneSpec":
    """The lane spec a header describes (one lane where it says nothing or is not understood)."""
    from lmzip._lanes import LaneSpec

    try:
        return LaneSpec.from_params(params.get("lanes"))
    except (ValueError, TypeError, AttributeError):
        return LaneSpec()


def _list_members(src: Path) -> tuple[dict, fmt.Index, int]:
    """Header params of the first archive and the chunk table of all concatenated ones.

    A single archive is read from its footer (no payload I/O); concatenated archives
    are walked forward, record by record, without decoding any payload.
    """
    from lmzip._codec import TrailingDataError

    size = src.stat().st_size
    with open(src, "rb") as f:
        try:
            params, index, archive_size = fmt.read_index(f)
            if archive_size == size:
                return params, index, size
        except LmzipError:
            pass
        f.seek(0)
        first: dict | None = None
        total = fmt.Index()
        while True:
            magic = f.read(len(fmt.MAGIC))
            if not magic:
                break
            if first is not None and magic != fmt.MAGIC:
                raise TrailingDataError(size - f.tell() + len(magic))
            f.seek(-len(magic), 1)
            params, header_size = fmt.read_header(f)
            first = first if first is not None else params
            for item in fmt.iter_chunks(f, header_size, check_payload=False):
                if isinstance(item, fmt.Index):
                    total.chunks.extend(item.chunks)
                    total.original_size += item.original_size
                    total.whole_xxh64 = item.whole_xxh64
    assert first is not None
    return first, total, size


# ----------------------------------------------------------------------------- entry


def _expand_short_flags(argv: list[str]) -> list[str]:
    """gzip-style flag clusters: ``-9``, ``-dc``, ``-k9`` → separate options."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            out.extend(argv[i:])
            break
        if re.fullmatch(r"-[0-9dcktflvqh]+", arg) and re.search(r"[0-9]", arg) or re.fullmatch(r"-[dcktflvq]{2,}", arg):
            for ch in arg[1:]:
                out.extend(["--level", ch] if ch.isdigit() else [f"-{ch}"])
        else:
            out.append(arg)
    return out


def _make_app(prog: str, force_decompress: bool, force_stdout: bool) -> typer.Typer:
    import typer

    from lmzip._codec import Codec  # noqa: F401 - loads numpy and the model backend now
    from lmzip._config import DEFAULT_LEVEL

    app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})

    @app.command(help="Compress or decompress FILEs with a language model (lossless). "
                 "With no FILE, or when FILE is -, read standard input.",
                 epilog="Benchmarks: lmzip bench --help. Format: formats/SPEC.md.")
    def main(
        files: List[str] = typer.Argument(None, metavar="[FILE]..."),
        decompress: bool = typer.Option(force_decompress, "-d", "--decompress", "--uncompress", help="decompress"),
        stdout: bool = typer.Option(force_stdout, "-c", "--stdout", "--to-stdout", help="write to standard output, keep input"),
        keep: bool = typer.Option(True, "-k", "--keep", help="keep input files (the default, as in zstd)"),
        remove: bool = typer.Option(False, "--rm", help="delete input after the output is complete and verified"),
        force: bool = typer.Option(False, "-f", "--force", help="overwrite output; write compressed data to a terminal"),
        test: bool = typer.Option(False, "-t", "--test", help="test archive integrity (full decode)"),
        list_: bool = typer.Option(False, "-l", "--list", help="list archive contents"),
        output: Optional[Path] = typer.Option(None, "-o", "--output", help="output file (one input only)"),
        verbose: bool = typer.Option(False, "-v", "--verbose", help="more output"),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="no summary, warnings or progress"),
        threads: int = typer.Option(0, "-T", "--threads", help="worker processes (0: one per core); never changes the output"),
        level: int = typer.Option(DEFAULT_LEVEL, "--level", min=1, max=9, help="1-3: byte-level context mixing (no model needed); 4-9: LLM, longer context (-1..-9)"),
        model: Optional[Path] = typer.Option(None, "--model", help="llama.cpp GGUF model (default: bundled SmolLM2-135M)"),
        chunk_size: Optional[int] = typer.Option(None, "--chunk-size", help="bytes per independently coded chunk (default: by level)"),
        context: Optional[int] = typer.Option(None, "--context", help="LLM context window in tokens (default: by level)"),
        lanes: Optional[int] = typer.Option(None, "--lanes", min=0, max=1024, help="lanes per chunk, coded in lockstep (0: by level; 1: one stream, best ratio, slowest)"),
        device: Optional[str] = typer.Option(None, "--device", help="where the model runs: cpu (default), cuda (every GPU), cuda:0,cuda:2, torch-cpu; never changes the output"),
        ray: Optional[str] = typer.Option(None, "--ray", help="run chunks on a Ray cluster: ADDRESS or auto (pip install 'lmzip[ray]'); -T sets the actors"),
    ) -> None:
        opts = Options(decompress, stdout, keep, force, test, list_, output, verbose, quiet, threads, level,
                       remove, model, chunk_size, context, prog, lanes, device, ray)
        raise typer.Exit(run(files or ["-"], opts))

    return app


_STDOUT_DEAD = False
# A write to standard output failed with one of these: the output, not the input, is at fault.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EPIPE, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _stdout_broken() -> bool:
    """After a failed write to stdout (full disk, closed pipe): send what is left to
    /dev/null, so that the interpreter's final flush cannot print a second error."""
    global _STDOUT_DEAD
    if not _STDOUT_DEAD:
        _STDOUT_DEAD = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        except (OSError, ValueError):
            pass
    return True


class _Signalled(KeyboardInterrupt):
    """SIGINT/SIGTERM/SIGHUP: unwind like Ctrl-C (outputs removed, workers stopped)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# The signal received, if any. A KeyboardInterrupt raised while C code runs a Python
# callback (llama.cpp logs through ctypes while it loads a model) is swallowed there;
# the flag stays set and the next checkpoint (any read or write of the data) raises again.
_received: int | None = None
_interrupt_reported = False


def _on_signal(signum: int, frame: object) -> None:
    global _received
    _received = signum
    raise _Signalled(signum)


def _checkpoint() -> None:
    if _received is not None:
        raise _Signalled(_received)


def _unraisable(args) -> None:  # sys.unraisablehook
    if isinstance(args.exc_value, KeyboardInterrupt):
        return  # swallowed inside a C callback: _checkpoint raises it again, quietly
    sys.__unraisablehook__(args)


def _install_signal_handlers() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            try:
                signal.signal(signum, _on_signal)
            except (ValueError, OSError):  # not the main thread
                pass
    sys.unraisablehook = _unraisable


class _Checked:
    """A file object whose every read and write first checks for a pending signal."""

    def __init__(self, f) -> None:
        self._f = f

    def read(self, n: int = -1) -> bytes:
        _checkpoint()
        return self._f.read(n)

    def write(self, b) -> int:
        _checkpoint()
        return self._f.write(b)

    def flush(self) -> None:
        _checkpoint()
        self._f.flush()


def _exit_status_for(exc: KeyboardInterrupt) -> int:
    return 128 + (exc.signum if isinstance(exc, _Signalled) else signal.SIGINT)


def run(files: list[str], opts: Options) -> int:
    report = Reporter(opts.prog, opts.quiet, opts.verbose)
    if opts.output is not None and len(files) > 1:
        report.error(None, "-o/--output takes a single input file")
        return EXIT_ERROR
    if opts.remove and opts.stdout:
        report.error(None, "--rm cannot be combined with -c (standard output)")
        return EXIT_ERROR
    errors = warnings = False
    runner = Runner(opts, report)
    try:
        for name in files:
            _checkpoint()
            try:
                runner.run(name)
            except Warned as exc:
                report.warn(name, str(exc))
                warnings = True
            except (LmzipError, OSError, ValueError) as exc:
                if os.environ.get("LMZIP_DEBUG"):
                    traceback.print_exc()
                report.error(None if name == "-" else name, _message(exc, name))
                errors = True
    except KeyboardInterrupt as exc:
        global _interrupt_reported
        runner.close()  # stop the workers before saying so
        report.error(None, "interrupted; no partial output left")
        _interrupt_reported = True
        return _exit_status_for(exc)
    finally:
        runner.close()
    # As in gzip, an error anywhere wins over warnings.
    return EXIT_ERROR if errors else (EXIT_WARNING if warnings else EXIT_OK)


def _message(exc: Exception, name: str) -> str:
    """One line: an OSError's reason, and the file it concerns when that is not ``name``."""
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename is not None and os.fspath(exc.filename) != name:
            return f"{exc.strerror}: {os.fspath(exc.filename)}"
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _main(prog: str, *, decompress: bool = False, stdout: bool = False) -> None:
    _install_signal_handlers()
    argv = sys.argv[1:]
    try:
        if _MISSING is not None:
            raise ModuleNotFoundError(_MISSING)
        if prog == "lmzip" and argv[:1] == ["bench"]:
            from lmzip.cli_bench import bench_app

            bench_app(prog_name="lmzip bench", args=argv[1:])
            return
        app = _make_app(prog, decompress, stdout)  # the heavy imports happen here
        try:
            app(prog_name=prog, args=_expand_short_flags(argv))
        except SystemExit:
            # typer turns a KeyboardInterrupt outside run() (while it parses, say) into a
            # silent exit 130, also for SIGTERM: report it here, with the right status.
            if _received is not None and not _interrupt_reported:
                print(f"{prog}: interrupted", file=sys.stderr)
                sys.exit(128 + _received)
            raise
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(_exit_status_for(exc))
    except ModuleNotFoundError as exc:  # a dependency is missing: say which package to install
        message = _MISSING or missing_dependency(exc)
        if message is None:
            raise
        print(f"{prog}: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def main_lmzip() -> None:
    _main("lmzip")


def main_unlmzip() -> None:
    _main("unlmzip", decompress=True)


def main_lmzcat() -> None:
    _main("lmzcat", decompress=True, stdout=True)


if __name__ == "__main__":
    main_lmzip()
