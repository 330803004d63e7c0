"""The ``lmzip``/``unlmzip``/``lmzcat`` command line (gzip conventions), run as subprocesses."""

from __future__ import annotations

import io
import os
import pty
import signal
import subprocess
import time

import pytest
import xxhash

import lmzip
from lmzip.formats.container import read_header

# Most tests use level 1 (xz only, no model): the CLI behaviour does not depend on it.
FAST = "-1"


def _leftovers(directory) -> list[str]:
    """Temporary files the CLI may have left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp"))


@pytest.fixture()
def txt(tmp_path, text_2k):
    p = tmp_path / "notes.txt"
    p.write_bytes(text_2k)
    return p


# ----------------------------------------------------------------------------- compress / decompress files


def test_compress_keeps_input_and_roundtrips(run_cli, tmp_path, txt, text_2k):
    r = run_cli("-q", FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout == b""
    archive = tmp_path / "notes.txt.lmz"
    assert txt.read_bytes() == text_2k  # kept by default
    assert lmzip.decompress(archive.read_bytes()) == text_2k
    assert read_header(io.BytesIO(archive.read_bytes()))[0]["level"] == 1

    txt.unlink()
    r = run_cli("-q", "-d", archive.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert txt.read_bytes() == text_2k
    assert archive.exists()  # -d keeps the archive by default too
    assert _leftovers(tmp_path) == []


def test_summary_without_quiet(run_cli, tmp_path, txt, text_2k):
    r = run_cli(FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 0
    size = (tmp_path / "notes.txt.lmz").stat().st_size
    assert f"{len(text_2k):,}" in r.stderr and f"{size:,}" in r.stderr


def test_python_dash_m_and_unlmzip_entry_point(run_cli, tmp_path, txt, text_2k):
    r = run_cli("-q", FAST, txt.name, prog="-m", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    txt.unlink()
    r = run_cli("-q", "notes.txt.lmz", prog="unlmzip", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert txt.read_bytes() == text_2k


def test_lmzcat_writes_stdout(run_cli, tmp_path, txt, text_2k):
    run_cli("-q", FAST, txt.name, cwd=tmp_path)
    r = run_cli("notes.txt.lmz", prog="lmzcat", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == text_2k
    # lmzcat of several files concatenates, like zcat
    r = run_cli("notes.txt.lmz", "notes.txt.lmz", prog="lmzcat", cwd=tmp_path)
    assert r.stdout == text_2k * 2


def test_mtime_and_mode_are_copied(run_cli, tmp_path, txt, text_2k):
    os.chmod(txt, 0o640)
    os.utime(txt, (1_000_000_000, 1_000_000_000))
    assert run_cli("-q", FAST, txt.name, cwd=tmp_path).returncode == 0
    archive = tmp_path / "notes.txt.lmz"
    st = archive.stat()
    assert st.st_mode & 0o7777 == 0o640
    assert st.st_mtime == 1_000_000_000

    txt.unlink()
    assert run_cli("-q", "-d", archive.name, cwd=tmp_path).returncode == 0
    st = txt.stat()
    assert st.st_mode & 0o7777 == 0o640
    assert st.st_mtime == 1_000_000_000
    assert txt.read_bytes() == text_2k


def test_refuses_to_overwrite_without_force(run_cli, tmp_path, txt, text_2k):
    archive = tmp_path / "notes.txt.lmz"
    archive.write_bytes(b"precious")
    r = run_cli(FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 2
    assert "exists" in r.stderr
    assert archive.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == []

    r = run_cli("-q", "-f", FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert lmzip.decompress(archive.read_bytes()) == text_2k

    # the same on decompression
    txt.write_bytes(b"also precious")
    r = run_cli("-d", archive.name, cwd=tmp_path)
    assert r.returncode == 2
    assert txt.read_bytes() == b"also precious"
    assert run_cli("-q", "-d", "-f", archive.name, cwd=tmp_path).returncode == 0
    assert txt.read_bytes() == text_2k


def test_decompress_unknown_suffix(run_cli, tmp_path, txt):
    (tmp_path / "data.bin").write_bytes(lmzip.compress(b"abc", level=1))
    r = run_cli("-d", "data.bin", cwd=tmp_path)
    assert r.returncode == 2
    assert "suffix" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin", "notes.txt"]


def test_compress_refuses_lmz_suffix(run_cli, tmp_path):
    (tmp_path / "a.lmz").write_bytes(b"whatever")
    r = run_cli(FAST, "a.lmz", cwd=tmp_path)
    assert r.returncode == 2
    assert not (tmp_path / "a.lmz.lmz").exists()


def test_stdout_mode(run_cli, tmp_path, txt, text_2k):
    r = run_cli("-c", FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert lmzip.decompress(r.stdout) == text_2k
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_stdin_to_stdout(run_cli, tmp_path, text_2k):
    r = run_cli(FAST, input=text_2k, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    blob = r.stdout
    assert lmzip.decompress(blob) == text_2k
    r = run_cli("-", FAST, "-q", input=text_2k, cwd=tmp_path)
    assert r.stdout == blob  # deterministic, and "-" means stdin
    r = run_cli("-d", input=blob, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == text_2k
    r = run_cli(input=blob, prog="lmzcat", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == text_2k
    assert list(tmp_path.iterdir()) == []


def test_flag_clusters(run_cli, tmp_path, txt, text_2k):
    r = run_cli("-2c", txt.name, cwd=tmp_path)  # level 2, to stdout
    assert r.returncode == 0, r.stderr
    assert read_header(io.BytesIO(r.stdout))[0]["level"] == 2
    (tmp_path / "x.lmz").write_bytes(r.stdout)
    r = run_cli("-dc", "x.lmz", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == text_2k
    r = run_cli("-qk3", txt.name, cwd=tmp_path)  # quiet, keep, level 3
    assert r.returncode == 0 and r.stderr == ""
    assert read_header(io.BytesIO((tmp_path / "notes.txt.lmz").read_bytes()))[0]["level"] == 3
    assert txt.exists()
    r = run_cli("--level", "1", "-c", txt.name, cwd=tmp_path)
    assert read_header(io.BytesIO(r.stdout))[0]["level"] == 1


def test_double_dash_ends_options(run_cli, tmp_path):
    (tmp_path / "-9").write_bytes(b"a file named like a flag\n")
    r = run_cli("-q", FAST, "--", "-9", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    blob = (tmp_path / "-9.lmz").read_bytes()
    assert read_header(io.BytesIO(blob))[0]["level"] == 1  # "-9" was a name, not level 9
    r = run_cli("-dc", "--", "-9.lmz", cwd=tmp_path)
    assert r.stdout == b"a file named like a flag\n"


@pytest.mark.parametrize("args", [["--level", "0"], ["--level", "10"], ["--no-such-option"]])
def test_usage_errors(run_cli, tmp_path, txt, args):
    r = run_cli(*args, txt.name, cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "notes.txt.lmz").exists()


def test_output_option(run_cli, tmp_path, txt, text_2k):
    r = run_cli("-q", FAST, "-o", "out.bin", txt.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert lmzip.decompress((tmp_path / "out.bin").read_bytes()) == text_2k
    r = run_cli("-q", "-d", "-o", "back.txt", "out.bin", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.txt").read_bytes() == text_2k
    r = run_cli("-q", FAST, "-o", "from-stdin.lmz", input=text_2k, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == b""
    assert lmzip.decompress((tmp_path / "from-stdin.lmz").read_bytes()) == text_2k
    (tmp_path / "b.txt").write_bytes(b"b")
    r = run_cli(FAST, "-o", "both.lmz", txt.name, "b.txt", cwd=tmp_path)
    assert r.returncode == 1
    assert not (tmp_path / "both.lmz").exists()


def test_output_from_stdin_respects_umask(run_cli, tmp_path, text_2k):
    umask = os.umask(0)
    os.umask(umask)
    assert run_cli("-q", FAST, "-o", "s.lmz", input=text_2k, cwd=tmp_path).returncode == 0
    assert (tmp_path / "s.lmz").stat().st_mode & 0o777 == 0o666 & ~umask


def test_multiple_files(run_cli, tmp_path):
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_bytes(name.encode() * 20)
    r = run_cli("-q", FAST, "a.txt", "b.txt", "c.txt", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("a.txt", "b.txt", "c.txt"):
        assert lmzip.decompress((tmp_path / (name + ".lmz")).read_bytes()) == name.encode() * 20
    r = run_cli("-c", FAST, "a.txt", "c.txt", cwd=tmp_path)
    assert lmzip.decompress(r.stdout) == b"a.txt" * 20 + b"c.txt" * 20


def test_empty_file(run_cli, tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert run_cli("-q", FAST, "empty", cwd=tmp_path).returncode == 0
    (tmp_path / "empty").unlink()
    assert run_cli("-q", "-d", "empty.lmz", cwd=tmp_path).returncode == 0
    assert (tmp_path / "empty").read_bytes() == b""


# ----------------------------------------------------------------------------- --rm


def test_rm_after_verified_compression(run_cli, tmp_path, txt, text_2k):
    r = run_cli("-q", "--rm", FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not txt.exists()
    assert lmzip.decompress((tmp_path / "notes.txt.lmz").read_bytes()) == text_2k
    r = run_cli("-q", "-d", "--rm", "notes.txt.lmz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "notes.txt.lmz").exists()
    assert txt.read_bytes() == text_2k


def test_rm_is_not_done_when_compression_fails(run_cli, tmp_path, txt, text_2k):
    (tmp_path / "notes.txt.lmz").write_bytes(b"existing")
    r = run_cli("-q", "--rm", FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 2
    assert txt.read_bytes() == text_2k
    assert (tmp_path / "notes.txt.lmz").read_bytes() == b"existing"


def test_rm_with_stdout_is_refused(run_cli, tmp_path, txt, text_2k):
    r = run_cli("--rm", "-c", FAST, txt.name, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == b""
    assert txt.read_bytes() == text_2k


def test_rm_keeps_corrupt_archive(run_cli, tmp_path, text_2k, layout):
    blob = lmzip.compress(text_2k, level=1)
    (rec,) = layout.chunk_records(blob)
    (tmp_path / "bad.txt.lmz").write_bytes(layout.flip(blob, rec.payload_start + 5))
    r = run_cli("-q", "-d", "--rm", "bad.txt.lmz", cwd=tmp_path)
    assert r.returncode == 1
    assert (tmp_path / "bad.txt.lmz").exists()
    assert not (tmp_path / "bad.txt").exists()


# ----------------------------------------------------------------------------- -t / -l


def test_test_option(run_cli, tmp_path, txt, layout, text_2k):
    run_cli("-q", FAST, txt.name, cwd=tmp_path)
    r = run_cli("-t", "notes.txt.lmz", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == b""
    r = run_cli("-t", "-v", "notes.txt.lmz", cwd=tmp_path)
    assert r.returncode == 0 and "OK" in r.stderr
    blob = (tmp_path / "notes.txt.lmz").read_bytes()
    (rec,) = layout.chunk_records(blob)
    (tmp_path / "bad.lmz").write_bytes(layout.flip(blob, rec.payload_end - 1))
    r = run_cli("-t", "bad.lmz", cwd=tmp_path)
    assert r.returncode == 1
    assert "chunk 0" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.lmz", "notes.txt", "notes.txt.lmz"]
    r = run_cli("-t", input=blob, cwd=tmp_path)  # stdin
    assert r.returncode == 0


def _list_row(stdout: bytes, name: str) -> list[str]:
    lines = stdout.decode().splitlines()
    header = lines[0].split()
    for column in ("compressed", "uncompressed", "ratio", "bits/byte", "chunks", "methods", "check", "model"):
        assert column in header
    (row,) = [line for line in lines[1:] if line.endswith(" " + name)]
    return row.split()


def test_list(run_cli, tmp_path, text_2k):
    (tmp_path / "t.txt").write_bytes(text_2k)
    run_cli("-q", FAST, "--chunk-size", "800", "t.txt", cwd=tmp_path)
    size = (tmp_path / "t.txt.lmz").stat().st_size
    r = run_cli("-l", "t.txt.lmz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    row = _list_row(r.stdout, "t.txt.lmz")
    assert row[0] == f"{size:,}"
    assert row[1] == f"{len(text_2k):,}"
    assert float(row[2].rstrip("x")) == pytest.approx(len(text_2k) / size, abs=0.01)
    assert float(row[3]) == pytest.approx(8 * size / len(text_2k), abs=1e-3)
    assert row[4] == "3"
    assert row[5] == "0"  # no LLM chunk, no lanes
    assert row[6] == "cm"  # level 1: the byte-level CM engine
    assert row[7] == "xxh64:..." + xxhash.xxh64_hexdigest(text_2k)[-8:]
    assert "none" in r.stdout.decode()  # no model at level 1
    r = run_cli("-l", "-v", "t.txt.lmz", cwd=tmp_path)
    assert r.stdout.decode().count("chunk ") == 3


def test_list_several_files_prints_one_header(run_cli, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(name.encode() * 100)
        run_cli("-q", FAST, name, cwd=tmp_path)
    r = run_cli("-l", "a.lmz", "b.lmz", cwd=tmp_path)
    assert r.returncode == 0
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 3
    assert lines[1].endswith("a.lmz") and lines[2].endswith("b.lmz")


def test_list_concatenated_archive(run_cli, tmp_path):
    one = lmzip.compress(b"first member " * 10, level=1)
    two = lmzip.compress(b"second member, longer " * 10, level=1)
    (tmp_path / "cat.lmz").write_bytes(one + two)
    assert run_cli("-t", "cat.lmz", cwd=tmp_path).returncode == 0  # it is a valid stream
    r = run_cli("-l", "cat.lmz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    row = _list_row(r.stdout, "cat.lmz")
    assert row[1] == f"{130 + 220:,}"


# ----------------------------------------------------------------------------- errors


def test_missing_file_is_one_line_error(run_cli, tmp_path):
    r = run_cli(FAST, "nope.txt", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["lmzip: nope.txt: No such file or directory"]


def test_directory_is_skipped_with_warning(run_cli, tmp_path):
    (tmp_path / "sub").mkdir()
    r = run_cli(FAST, "sub", cwd=tmp_path)
    assert r.returncode == 2
    assert "directory" in r.stderr
    assert list((tmp_path / "sub").iterdir()) == []


def test_garbage_is_one_line_error_and_debug_traceback(run_cli, tmp_path):
    (tmp_path / "junk.lmz").write_bytes(b"this is not an archive\n" * 5)
    r = run_cli("-d", "junk.lmz", cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("lmzip: junk.lmz: ")
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "junk").exists()
    r = run_cli("-d", "junk.lmz", cwd=tmp_path, env={"LMZIP_DEBUG": "1"})
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "NotLmzipError" in r.stderr
    r = run_cli("-d", "junk.lmz", prog="unlmzip", cwd=tmp_path)
    assert r.stderr.startswith("unlmzip: junk.lmz: ")


def test_corrupt_archive_leaves_no_output(run_cli, tmp_path, layout):
    data = layout.english(900)
    with lmzip.Codec(level=1, chunk_size=300) as codec:
        blob = codec.compress(data)
    last = layout.chunk_records(blob)[-1]
    (tmp_path / "c.txt.lmz").write_bytes(layout.flip(blob, last.payload_start + 3))
    r = run_cli("-d", "c.txt.lmz", cwd=tmp_path)
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and "chunk 2" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt.lmz"]  # no output, no temp file


@pytest.mark.parametrize("cut", [4, 60, -30, -1])
def test_truncated_archive_leaves_no_output(run_cli, tmp_path, cut, text_2k):
    blob = lmzip.compress(text_2k, level=1)
    (tmp_path / "t.txt.lmz").write_bytes(blob[:cut])
    r = run_cli("-d", "t.txt.lmz", cwd=tmp_path)
    assert r.returncode == 1
    assert "truncated" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt.lmz"]


def test_error_in_one_file_does_not_stop_the_others(run_cli, tmp_path):
    (tmp_path / "good.txt").write_bytes(b"good " * 30)
    r = run_cli("-q", FAST, "missing.txt", "good.txt", cwd=tmp_path)
    assert r.returncode == 1
    assert lmzip.decompress((tmp_path / "good.txt.lmz").read_bytes()) == b"good " * 30


def test_error_then_warning_exits_1(run_cli, tmp_path):
    (tmp_path / "already.lmz").write_bytes(b"x")
    r = run_cli(FAST, "missing.txt", "already.lmz", cwd=tmp_path)
    assert "missing.txt" in r.stderr and "already.lmz" in r.stderr
    assert r.returncode == 1


def test_warning_then_error_exits_1(run_cli, tmp_path):
    (tmp_path / "already.lmz").write_bytes(b"x")
    r = run_cli(FAST, "already.lmz", "missing.txt", cwd=tmp_path)
    assert r.returncode == 1


def test_trailing_garbage_is_an_error(run_cli, tmp_path):
    """The rule everywhere (API, file object, CLI): only whole archives, nothing after them."""
    blob = lmzip.compress(b"payload " * 10, level=1)
    for args in (["-t"], ["-d"], ["-dc"]):
        r = run_cli(*args, input=blob + b"GARBAGE", cwd=tmp_path)
        assert r.returncode == 1, args
        (line,) = r.stderr.splitlines()
        assert "7 bytes of trailing garbage" in line


def test_trailing_garbage_leaves_no_file(run_cli, tmp_path):
    blob = lmzip.compress(b"payload " * 10, level=1)
    (tmp_path / "g.txt.lmz").write_bytes(blob + b"GARBAGE")
    for args in (["-d", "g.txt.lmz"], ["-d", "--rm", "g.txt.lmz"], ["-l", "g.txt.lmz"]):
        r = run_cli(*args, cwd=tmp_path)
        assert r.returncode == 1, args
        assert "trailing garbage" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.txt.lmz"]


def test_refuses_compressed_data_to_terminal(tmp_path, txt):
    master, slave = pty.openpty()
    try:
        for args, stdin in ((["-c", FAST, txt.name], b""), ([FAST], b"text from a pipe")):
            proc = subprocess.run(["lmzip", *args], cwd=tmp_path, input=stdin, stdout=slave,
                                  stderr=subprocess.PIPE, timeout=60)
            assert proc.returncode == 1
            assert b"terminal" in proc.stderr
        os.set_blocking(master, False)
        try:
            written = os.read(master, 1 << 16)
        except (BlockingIOError, OSError):
            written = b""
        assert b"LMZ" not in written
        # -f forces it
        proc = subprocess.run(["lmzip", "-f", "-c", FAST, txt.name], cwd=tmp_path, input=b"",
                              stdout=slave, stderr=subprocess.PIPE, timeout=60)
        assert proc.returncode == 0
    finally:
        os.close(slave)
        os.close(master)


def test_missing_model_file(run_cli, tmp_path, txt):
    r = run_cli("--level", "4", "--model", str(tmp_path / "nope.gguf"), txt.name, cwd=tmp_path)
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and "nope.gguf" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ----------------------------------------------------------------------------- LLM levels


def test_llm_roundtrip_and_list(run_cli, tmp_path, llm_archive, layout):
    src = tmp_path / "llm.txt"
    src.write_bytes(llm_archive.data)
    r = run_cli("-q", "--level", "4", "--chunk-size", "40", "--context", "128", "llm.txt", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    blob = (tmp_path / "llm.txt.lmz").read_bytes()
    params = read_header(io.BytesIO(blob))[0]
    assert (params["level"], params["chunk_size"], params["backend"]["n_ctx"]) == (4, 40, 128)
    assert len(layout.chunk_records(blob)) == 2

    r = run_cli("-l", "llm.txt.lmz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    row = _list_row(r.stdout, "llm.txt.lmz")
    assert row[4] == "2"
    assert row[5] == str(sum(c.method == 2 for c in layout.chunk_records(blob)))  # one lane per LLM chunk
    assert "llm" in row[6].split(",")
    assert layout.MODEL_NAME in row

    from lmzip.models.llama_backend import bundled_model_path

    src.unlink()
    r = run_cli("-q", "-d", "-T", "2", "--model", bundled_model_path(), "llm.txt.lmz", prog="-m", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert src.read_bytes() == llm_archive.data


def test_model_mismatch_is_one_line_error(run_cli, tmp_path, mismatched_llm_blob, layout):
    (tmp_path / "m.txt.lmz").write_bytes(mismatched_llm_blob)
    for args in (["-t"], ["-d"]):
        r = run_cli(*args, "-T", "1", "m.txt.lmz", cwd=tmp_path)
        assert r.returncode == 1
        (line,) = r.stderr.splitlines()
        assert line.startswith("lmzip: m.txt.lmz: ")
        assert layout.MODEL_NAME in line and "--model" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.txt.lmz"]


def test_corrupt_chunk_with_workers_is_one_line_error(run_cli, tmp_path, codec4, binary_mix, layout):
    blob = codec4.compress(binary_mix)  # a level-4 archive: its chunks are decoded by the workers
    (rec,) = layout.chunk_records(blob)
    assert rec.method in (layout.XZ, 3)  # xz or the CM engine (method 3)
    bad = bytearray(blob)
    bad[rec.payload_start:rec.payload_end] = bytes(rec.payload_end - rec.payload_start)  # LZMA2 ends at once
    (tmp_path / "n.bin.lmz").write_bytes(layout.fix_chunk_crcs(bad, rec))
    r = run_cli("-d", "-T", "2", "n.bin.lmz", cwd=tmp_path)
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert line.startswith("lmzip: n.bin.lmz: ") and "chunk 0" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.bin.lmz"]


def test_sigint_leaves_nothing_behind(tmp_path, layout):
    src = tmp_path / "big.txt"
    data = layout.english(4000)
    src.write_bytes(data)
    proc = subprocess.Popen(["lmzip", "--level", "4", "--chunk-size", "64", "big.txt"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(4)
        assert proc.poll() is None, "compression finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert b"Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]
    assert src.read_bytes() == data
