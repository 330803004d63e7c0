"""Tests for lmzip.baselines and lmzip.bench (fast: small inputs, fake lmzip codec)."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zlib
from pathlib import Path

import pytest

from lmzip import bench
from lmzip.baselines import BASELINE_NAMES, BaselineUnavailable, get_baseline
from lmzip.bench import PUBLISHED, BenchError, run_bench

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["gzip-9", "bzip2-9"]  # stdlib only, so these tests never skip


def _sample(seed: int, n: int) -> bytes:
    rng = random.Random(seed)
    words = [b"the", b"quick", b"brown", b"fox", b"jumps", b"over", b"lazy", b"dog", b"\n"]
    text = b" ".join(rng.choice(words) for _ in range(n // 4))
    return (text + bytes(rng.randrange(256) for _ in range(n // 8)))[:n]


@pytest.fixture()
def two_files(tmp_path: Path) -> list[Path]:
    paths = []
    for i, n in enumerate((6000, 4500)):
        p = tmp_path / f"in{i}.txt"
        p.write_bytes(_sample(i, n))
        paths.append(p)
    return paths


def zlib_factory(level: int):
    return (lambda d: zlib.compress(d, level)), zlib.decompress


def _run(paths, tmp_path, **kw):
    args = dict(levels=[1, 9], max_bytes=None, json_out=tmp_path / "r.json", plot_out=None,
                markdown_out=None, lmzip_codec_factory=zlib_factory, baselines=FAST,
                progress=False, out=io.StringIO())
    args.update(kw)
    return run_bench(paths, **args)


# ---------------------------------------------------------------- baselines


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_every_baseline_round_trips(name: str) -> None:
    try:
        b = get_baseline(name)
    except BaselineUnavailable as exc:
        pytest.skip(str(exc))
    for data in (b"", b"a", _sample(7, 20000), bytes(range(256)) * 40, b"\0" * 50000):
        comp = b.compress(data)
        assert isinstance(comp, bytes)
        assert b.decompress(comp) == data, f"{name} failed on {len(data)} bytes"
    text = _sample(3, 20000)
    assert len(b.compress(text)) < len(text)  # it really compresses


def test_unknown_baseline_is_rejected() -> None:
    with pytest.raises(KeyError):
        get_baseline("gzip-10")


def test_ppmd_length_header_is_checked() -> None:
    try:
        b = get_baseline("ppmd-o6")
    except BaselineUnavailable as exc:
        pytest.skip(str(exc))
    with pytest.raises(ValueError):
        b.decompress(b"\x01\x02")


# ---------------------------------------------------------------- run_bench


def test_run_bench_json_fields(two_files: list[Path], tmp_path: Path) -> None:
    res = _run(two_files, tmp_path)
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk == json.loads(json.dumps(res))
    assert on_disk["complete"] is True and on_disk["status"] == "complete"
    assert on_disk["max_bytes"] is None and on_disk["scope"] == "full files"
    assert "1000 bytes" in on_disk["units"]["speed"]
    names = ["lmzip-L1", "lmzip-L9", *FAST]
    assert [c["name"] for c in on_disk["compressors"]] == names
    rows = on_disk["results"]
    assert len(rows) == 2 * len(names)
    sizes = {p.name: p.stat().st_size for p in two_files}
    for r in rows:
        assert r["ok"] is True and r["error"] is None
        assert r["published"] is False and r["measured"] is True
        assert r["original_bytes"] == sizes[r["file"]]
        assert r["bpb"] == pytest.approx(8 * r["compressed_bytes"] / r["original_bytes"])
        assert r["ratio"] == pytest.approx(r["original_bytes"] / r["compressed_bytes"])
        assert r["compress_kBps"] == pytest.approx(r["original_bytes"] / 1000 / r["compress_s"])
        assert r["decompress_kBps"] > 0
        assert r["peak_rss_compress_mib"] > 1 and r["peak_rss_decompress_mib"] > 1
    lz9 = [r for r in rows if r["compressor"] == "lmzip-L9"]
    for r, p in zip(lz9, two_files):
        assert r["compressed_bytes"] == len(zlib.compress(p.read_bytes(), 9))
    totals = {t["compressor"]: t for t in on_disk["totals"]}
    assert set(totals) == set(names)
    for name, t in totals.items():
        mine = [r for r in rows if r["compressor"] == name]
        assert t["complete"] and t["files_ok"] == 2
        assert t["original_bytes"] == sum(sizes.values())
        assert t["compressed_bytes"] == sum(r["compressed_bytes"] for r in mine)
        assert t["bpb"] == pytest.approx(8 * t["compressed_bytes"] / t["original_bytes"])
    assert [f["sha256_used"] for f in on_disk["files"]] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in two_files]
    assert all(r["py_heap_peak_mib"] is None for r in rows)  # tracemalloc off by default


def test_python_heap_tracing(two_files: list[Path], tmp_path: Path) -> None:
    res = _run(two_files, tmp_path, levels=[1], baselines=[], trace_python_heap=True)
    for r in res["results"]:
        # the input bytes are already allocated; the outputs are new heap objects
        assert r["ok"] and r["py_heap_peak_mib"] > 0
    assert "tracemalloc" in res["python_heap_method"]


def test_published_rows_are_flagged_and_separate(two_files: list[Path], tmp_path: Path) -> None:
    res = _run(two_files, tmp_path, levels=[], lmzip_codec_factory=None)
    assert len(res["published"]) == len(PUBLISHED)
    for p in res["published"]:
        assert p["published"] is True and p["measured"] is False
        assert "http" in p["source"]
        assert 0 < p["bpb"] < 8
    assert all(r["published"] is False for r in res["results"])
    assert {r["compressor"] for r in res["results"]} == set(FAST)
    cmix = next(p for p in res["published"] if p["key"] == "cmix-v21/enwik8")
    assert cmix["bpb"] == pytest.approx(8 * 14_623_723 / 1e8, abs=1e-4)
    nac = next(p for p in res["published"] if p["key"] == "nacrith/alice29.txt")
    assert nac["bpb"] == 0.918
    md = bench.render_markdown(res)
    measured, published = md.split("## Published results (NOT measured by this run)")
    assert "Nacrith" not in measured and "Nacrith" in published
    assert "gzip-9" in measured


def test_prefix_label_everywhere(two_files: list[Path], tmp_path: Path, monkeypatch) -> None:
    titles: list[str] = []
    import matplotlib.axes

    orig = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title",
                        lambda self, t, *a, **k: (titles.append(t), orig(self, t, *a, **k))[1])
    label = "prefix: first 1000 bytes of each file"
    out_path = tmp_path / "out.txt"
    with open(out_path, "w") as out:
        res = _run(two_files, tmp_path, max_bytes=1000, markdown_out=tmp_path / "r.md",
                   plot_out=tmp_path / "p.png", out=out)
    assert res["scope"] == label and res["max_bytes"] == 1000
    assert json.loads((tmp_path / "r.json").read_text())["scope"] == label
    assert all(f["bytes_used"] == 1000 for f in res["files"])
    assert all(r["original_bytes"] == 1000 for r in res["results"])
    md = (tmp_path / "r.md").read_text()
    assert md.count(label) >= 5  # inputs line, 2 file headings, TOTAL, published note
    for section in md.split("\n## ")[1:]:
        assert label in section.splitlines()[0] or section.startswith("Published")
    assert out_path.read_text().splitlines()[0].endswith(
        f"{label}; speeds in {bench.SPEED_UNIT}")
    assert len(titles) == 2 and all(label in t for t in titles)


def test_json_rewritten_after_every_measurement(two_files, tmp_path, monkeypatch) -> None:
    snapshots: list[int] = []
    real = bench._write_json

    def spy(result, path):
        real(result, path)
        snapshots.append(len(json.loads(Path(path).read_text())["results"]))

    monkeypatch.setattr(bench, "_write_json", spy)
    _run(two_files, tmp_path)
    n = 2 * 4
    for k in range(1, n + 1):
        assert k in snapshots, f"no JSON snapshot after measurement {k}"


def test_interrupted_run_keeps_earlier_results(two_files, tmp_path) -> None:
    calls = {"n": 0}

    def factory(level):
        def compress(d):
            calls["n"] += 1
            if calls["n"] == 3:  # file 2, first lmzip level
                raise KeyboardInterrupt
            return zlib.compress(d, level)
        return compress, zlib.decompress

    with pytest.raises(KeyboardInterrupt):
        _run(two_files, tmp_path, lmzip_codec_factory=factory)
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["complete"] is False
    assert saved["status"].startswith("interrupted: KeyboardInterrupt")
    done = saved["results"]
    assert len(done) == 4  # all of file 1
    assert all(r["ok"] and r["file"] == two_files[0].name for r in done)


def test_codec_exception_mid_run_is_error_row(two_files, tmp_path) -> None:
    def factory(level):
        def compress(d):
            if len(d) == 4500:  # second file only
                raise RuntimeError("model fell over")
            return zlib.compress(d, level)
        return compress, zlib.decompress

    with pytest.raises(BenchError) as ei:
        _run(two_files, tmp_path, levels=[5], lmzip_codec_factory=factory)
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["complete"] is True and "1 failures" in saved["status"]
    bad = [r for r in saved["results"] if not r["ok"]]
    assert len(bad) == 1 and bad[0]["compressor"] == "lmzip-L5"
    assert "compress raised RuntimeError: model fell over" in bad[0]["error"]
    good = [r for r in saved["results"] if r["ok"]]
    assert len(good) == 5 and any(r["compressor"] == "lmzip-L5" for r in good)
    tot = next(t for t in saved["totals"] if t["compressor"] == "lmzip-L5")
    assert tot["complete"] is False and tot["files_failed"] == 1
    assert ei.value.results["results"] == saved["results"]


def test_round_trip_mismatch_is_loud(two_files, tmp_path, capsys) -> None:
    def factory(level):
        return (lambda d: zlib.compress(d, level)), (lambda c: zlib.decompress(c)[:-1] + b"?")

    md = tmp_path / "r.md"
    with pytest.raises(BenchError, match="ROUND TRIP MISMATCH"):
        _run(two_files, tmp_path, levels=[6], lmzip_codec_factory=factory, markdown_out=md)
    saved = json.loads((tmp_path / "r.json").read_text())
    bad = [r for r in saved["results"] if r["compressor"] == "lmzip-L6"]
    assert len(bad) == 2 and not any(r["ok"] for r in bad)
    assert "first difference at byte" in bad[0]["error"]
    assert all(r["ok"] for r in saved["results"] if r["compressor"] != "lmzip-L6")
    assert "**FAILED: ROUND TRIP MISMATCH" in md.read_text()
    assert "INCOMPLETE: 2 of 2 files failed" in md.read_text()
    assert "!! FAILED: lmzip-L6" in capsys.readouterr().err


def test_factory_setup_failure_is_reported(two_files, tmp_path) -> None:
    def factory(level):
        raise OSError("model file not found")

    with pytest.raises(BenchError, match="model file not found"):
        _run(two_files, tmp_path, levels=[3], lmzip_codec_factory=factory)
    saved = json.loads((tmp_path / "r.json").read_text())
    rows = [r for r in saved["results"] if r["compressor"] == "lmzip-L3"]
    assert len(rows) == 2 and all("codec setup raised OSError" in r["error"] for r in rows)


def test_plots_are_png(two_files, tmp_path) -> None:
    _run(two_files, tmp_path, plot_out=tmp_path / "plot.png")
    for name in ("plot.png", "plot-speed.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_bad_arguments(two_files, tmp_path) -> None:
    with pytest.raises(ValueError):
        _run([], tmp_path)
    with pytest.raises(ValueError):
        _run(two_files, tmp_path, max_bytes=0)
    with pytest.raises(FileNotFoundError):
        _run([tmp_path / "nope"], tmp_path)
    with pytest.raises(ValueError):
        _run(two_files, tmp_path, levels=[], baselines=[])


def test_collect_inputs_from_corpus(tmp_path, capsys) -> None:
    (tmp_path / "canterbury").mkdir()
    (tmp_path / "canterbury" / "xargs.1").write_bytes(b"x" * 4227)
    files = bench.collect_inputs([], "canterbury", tmp_path)
    assert files == [tmp_path / "canterbury" / "xargs.1"]
    assert "10 files not present locally" in capsys.readouterr().err
    with pytest.raises(Exception, match="none of its files"):
        bench.collect_inputs([], "calgary", tmp_path)


def test_empty_file(tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    res = _run([empty], tmp_path, levels=[1], markdown_out=tmp_path / "r.md",
               plot_out=tmp_path / "p.png")
    assert all(r["ok"] and r["original_bytes"] == 0 and r["bpb"] is None
               for r in res["results"])
    assert "| lmzip-L1 |" in (tmp_path / "r.md").read_text()


def test_tables_go_to_current_stdout(two_files, tmp_path, capsys) -> None:
    _run(two_files, tmp_path, levels=[], lmzip_codec_factory=None, out=None)
    printed = capsys.readouterr().out
    assert "## TOTAL" in printed and "| gzip-9 |" in printed
