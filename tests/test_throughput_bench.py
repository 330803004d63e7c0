"""scripts/throughput_bench.py's pure parts (no build, no model run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="module")
def tb():
    spec = importlib.util.spec_from_file_location("throughput_bench", ROOT / "scripts" / "throughput_bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_metrics(tb):
    m = tb.metrics(2048, 256, 500, 4.0, 2.0)
    assert m == {"bpb": 1.0, "compress_kb_s": 0.5, "decompress_kb_s": 1.0, "compress_tok_s": 125.0,
                 "decompress_tok_s": 250.0}
    assert tb.metrics(10, 5, None, 1.0, 1.0)["compress_tok_s"] is None  # tokens unreadable


def test_runs_alternate(tb):
    assert [tb.run_order(0, r) for r in range(3)] == [("baseline", "new"), ("new", "baseline"), ("baseline", "new")]
    assert tb.run_order(1, 0) == ("new", "baseline")


def test_each_code_imports_its_own_lmzip(tb, tmp_path):
    base, new = tb.Code("baseline", "abc1234", tmp_path / "site"), tb.Code("new", "def5678", None)
    assert base.lmzip("-d", "x")[:2] == ["env", f"PYTHONPATH={tmp_path / 'site'}"]
    assert new.lmzip("-d", "x")[:3] == ["env", "-u", "PYTHONPATH"]
    for cmd in (base.lmzip("-d", "x"), new.lmzip("-d", "x")):
        assert cmd[-4:] == ["-m", "lmzip", "-d", "x"]
        assert ("-P" in cmd) == (sys.version_info >= (3, 11))  # -P: the current folder is not searched first


def test_table_and_speedups(tb):
    rows = [tb.Row(file="f.txt", code=code, rev=rev, level=4, bytes_in=3000, bytes_out=out, tokens=786,
                   compress_s=cs, decompress_s=10.0, compress_cpu_s=5.0, decompress_cpu_s=5.0, compress_rss_mib=1.0,
                   decompress_rss_mib=1.0, round_trip=True, same_as_baseline=same)
            for code, rev, out, cs, same in (("baseline", "b06ab93", 480, 12.0, None), ("new", "x", 478, 6.0, "no"))]
    lines = tb.table(rows).splitlines()
    assert len(lines) == 4 and all(line.count("|") == len(tb.TABLE_COLUMNS) + 1 for line in lines)
    assert "| f.txt | new | x | 4 | 3,000 | 478 | 1.2747 | 6.00 | 0.488 | 131.0 |" in lines[3]
    assert lines[3].endswith("| 786 | ok | no |")
    assert tb.speedups(rows) == ["f.txt: new vs baseline: compress x2.00, decompress x1.00 (wall clock), size -0.42%"]


def test_compare_archives(tb):
    def read(name: str) -> bytes:
        return (GOLDEN / f"20261207-avx512-b06ab93-{name}.lmz").read_bytes()

    assert tb.compare_archives(read("L6-fields.c"), read("L6-fields.c")) == "bytes"
    # Levels 6 and 9 differ in the header (window) but code these 3,000 bytes identically.
    assert tb.compare_archives(read("L6-fields.c"), read("L9-fields.c")) == "payloads"
    assert tb.compare_archives(read("L4-fields.c"), read("L6-fields.c")) == "no"
    assert tb.compare_archives(read("L4-fields.c"), b"not an archive") == "no"
