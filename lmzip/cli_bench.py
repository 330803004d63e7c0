"""``lmzip bench``: lmzip against gzip/bzip2/xz/zstd/brotli/PPMd in one run."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import List, Optional

import typer

bench_app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})


@bench_app.command(help="Benchmark lmzip and the baseline compressors on files or a corpus. "
                   "Every lmzip round trip is verified.")
def bench(
    paths: List[Path] = typer.Argument(None, metavar="[PATH]...", help="files or directories"),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="a corpus from corpora/*.tsv (e.g. canterbury)"),
    corpus_dir: Optional[Path] = typer.Option(None, "--corpus-dir", help="local corpora (default: $LMZIP_CORPORA or ../shared/corpora)"),
    levels: str = typer.Option("6", "--levels", help="comma-separated lmzip levels; empty for baselines only"),
    max_bytes: Optional[int] = typer.Option(None, "--max-bytes", help="benchmark only the first N bytes of each file"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write results as JSON (updated after every measurement)"),
    plot_out: Optional[Path] = typer.Option(None, "--plot", help="write PNG plots (OUT.png and OUT-speed.png)"),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="write the Markdown report"),
    baselines: Optional[str] = typer.Option(None, "--baselines", help="comma-separated subset of baselines"),
    threads: int = typer.Option(0, "-T", "--threads", help="lmzip worker processes (0: one per core)"),
    model: Optional[Path] = typer.Option(None, "--model", help="llama.cpp GGUF model"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="no progress bars"),
) -> None:
    from lmzip import Codec
    from lmzip.bench import BenchError, collect_inputs, run_bench
    from lmzip.corpora import CorpusError

    try:
        level_list = [int(x) for x in levels.split(",") if x.strip()]
        files = collect_inputs(paths or [], corpus, corpus_dir)
        if not files:
            raise ValueError("nothing to benchmark: give PATHs or --corpus")
    except (ValueError, FileNotFoundError, CorpusError) as exc:
        print(f"lmzip bench: {exc}", file=sys.stderr)
        raise typer.Exit(1)

    codecs: list[Codec] = []

    def factory(level: int):
        codec = Codec(level=level, threads=threads or None, model=model)
        codecs.append(codec)
        return codec.compress, codec.decompress

    try:
        run_bench(
            files, levels=level_list, max_bytes=max_bytes, json_out=json_out, plot_out=plot_out,
            markdown_out=markdown_out, lmzip_codec_factory=factory if level_list else None,
            baselines=baselines.split(",") if baselines else None, progress=not quiet,
        )
    except BenchError as exc:
        print(f"lmzip bench: {exc}", file=sys.stderr)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        print("lmzip bench: interrupted; results so far are saved", file=sys.stderr)
        raise typer.Exit(1)
    except Exception as exc:  # one line unless debugging, as for the main command
        if os.environ.get("LMZIP_DEBUG"):
            traceback.print_exc()
        print(f"lmzip bench: {exc}", file=sys.stderr)
        raise typer.Exit(1)
    finally:
        for codec in codecs:
            codec.close()
