"""``lmzip.open`` / ``LmzipFile``: binary and text modes, append, seeking, misuse."""

from __future__ import annotations

import array
import io

import pytest

import lmzip
from lmzip import LmzipFile, TruncatedError


@pytest.fixture()
def path(tmp_path):
    return tmp_path / "data.lmz"


def test_write_then_read(path, text_2k):
    with lmzip.open(path, "wb", level=1) as f:
        assert isinstance(f, LmzipFile)
        assert isinstance(f, io.BufferedIOBase)
        assert f.writable() and not f.readable()
        assert f.write(text_2k[:1000]) == 1000
        assert f.tell() == 1000
        f.write(text_2k[1000:])
        assert f.tell() == len(text_2k)
    assert f.closed
    blob = path.read_bytes()
    assert blob == lmzip.compress(text_2k, level=1)  # same archive as the one-shot API
    with lmzip.open(path) as f:
        assert f.readable() and not f.writable()
        assert f.read() == text_2k
        assert f.read() == b""


def test_read_in_pieces(path, text_2k):
    path.write_bytes(lmzip.compress(text_2k, level=1))
    with lmzip.open(path, "rb") as f:
        assert f.read(5) == text_2k[:5]
        assert f.tell() == 5
        assert f.peek(1)[:1] == text_2k[5:6]
        assert f.read1(10) == text_2k[5:15]
        line = f.readline()
        assert line == text_2k[15:text_2k.index(b"\n", 15) + 1]
        rest = f.read()
    assert text_2k[:15] + line + rest == text_2k


def test_seek(path, text_2k):
    path.write_bytes(lmzip.compress(text_2k, level=1))
    with lmzip.open(path) as f:
        assert f.seekable()
        f.seek(100)
        assert f.read(20) == text_2k[100:120]
        f.seek(10)  # backwards: rewinds and decodes again
        assert f.read(5) == text_2k[10:15]
        f.seek(5, io.SEEK_CUR)
        assert f.tell() == 20
        assert f.seek(-10, io.SEEK_END) == len(text_2k) - 10
        assert f.read() == text_2k[-10:]


def test_iterate_lines(path):
    lines = [b"first line\n", b"second\r\n", b"\n", b"last line without newline"]
    with lmzip.open(path, "wb", level=1) as f:
        f.writelines(lines)
    with lmzip.open(path) as f:
        assert list(f) == lines


def test_text_mode(path):
    text = "naïve café ☕ — ünïcödé\nzweite Zeile\n"
    with lmzip.open(path, "wt", level=1, encoding="utf-8") as f:
        assert isinstance(f, io.TextIOWrapper)
        f.write(text)
    assert lmzip.decompress(path.read_bytes()) == text.encode("utf-8")
    with lmzip.open(path, "rt", encoding="utf-8") as f:
        assert f.readline() == "naïve café ☕ — ünïcödé\n"
        assert f.read() == "zweite Zeile\n"
    with lmzip.open(path, "rt", encoding="latin-1") as f:
        assert f.read() == text.encode("utf-8").decode("latin-1")


def test_text_mode_newline(path):
    with lmzip.open(path, "wt", level=1, encoding="ascii", newline="\r\n") as f:
        f.write("a\nb\n")
    assert lmzip.decompress(path.read_bytes()) == b"a\r\nb\r\n"
    with lmzip.open(path, "rt", encoding="ascii") as f:
        assert f.read() == "a\nb\n"
    with lmzip.open(path, "rt", encoding="ascii", newline="") as f:
        assert f.read() == "a\r\nb\r\n"


def test_append_makes_concatenated_archive(path):
    with lmzip.open(path, "wb", level=1) as f:
        f.write(b"first member\n")
    with lmzip.open(path, "ab", level=2) as f:
        f.write(b"second member\n")
    blob = path.read_bytes()
    assert blob.count(b"\x89LMZ\x02") == 2
    with lmzip.open(path) as f:
        assert f.read() == b"first member\nsecond member\n"
    assert lmzip.decompress(blob) == b"first member\nsecond member\n"


def test_exclusive_create(path):
    with lmzip.open(path, "xb", level=1) as f:
        f.write(b"x")
    with pytest.raises(FileExistsError):
        lmzip.open(path, "xb", level=1)
    assert lmzip.decompress(path.read_bytes()) == b"x"


def test_file_objects_are_not_closed():
    buf = io.BytesIO()
    with lmzip.open(buf, "wb", level=1) as f:
        f.write(b"into a file object")
    assert not buf.closed
    buf.seek(0)
    with lmzip.LmzipFile(buf) as f:
        assert f.read() == b"into a file object"
    assert not buf.closed


def test_write_buffer_protocol(path):
    arr = array.array("H", range(100))
    with lmzip.open(path, "wb", level=1) as f:
        assert f.write(arr) == arr.itemsize * len(arr)
        assert f.write(memoryview(b"tail")) == 4
    assert lmzip.decompress(path.read_bytes()) == arr.tobytes() + b"tail"


def test_empty_file(path):
    with lmzip.open(path, "wb", level=1):
        pass
    assert path.stat().st_size > 0  # a valid empty archive, not an empty file
    with lmzip.open(path) as f:
        assert f.read() == b""


def test_mode_errors(path):
    path.write_bytes(lmzip.compress(b"x", level=1))
    with pytest.raises(ValueError):
        lmzip.open(path, "rtb")
    with pytest.raises(ValueError):
        lmzip.open(path, "rb", encoding="utf-8")
    with pytest.raises(ValueError):
        lmzip.open(path, "rb", errors="strict")
    with pytest.raises(ValueError):
        lmzip.open(path, "rb", newline="\n")
    with pytest.raises(ValueError):
        LmzipFile(path, "z")
    with pytest.raises(TypeError):
        LmzipFile(12.5)


def test_wrong_direction_and_closed(path):
    with lmzip.open(path, "wb", level=1) as f:
        with pytest.raises(io.UnsupportedOperation):
            f.read()
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)
    with lmzip.open(path) as f:
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")
    f.close()  # closing twice is fine
    with pytest.raises(ValueError):
        f.read()
    assert f.closed


def test_read_garbage(path):
    path.write_bytes(b"definitely not an archive" * 4)
    with lmzip.open(path) as f:
        with pytest.raises(lmzip.NotLmzipError):
            f.read()


def test_read_truncated_never_returns_partial_silently(path, text_2k):
    blob = lmzip.compress(text_2k, level=1)
    path.write_bytes(blob[:-6])
    with lmzip.open(path) as f:
        # lzma raises EOFError here; lmzip's TruncatedError is acceptable too, but
        # returning the data without any error is not.
        with pytest.raises((EOFError, TruncatedError)):
            f.read()


def test_read_trailing_garbage_is_an_error(path):
    path.write_bytes(lmzip.compress(b"payload", level=1) + b"JUNKJUNKJUNK")
    with lmzip.open(path) as f:
        with pytest.raises(lmzip.TrailingDataError):
            f.read()


def test_read_corrupt(path, text_2k, layout):
    blob = lmzip.compress(text_2k, level=1)
    (rec,) = layout.chunk_records(blob)
    path.write_bytes(layout.flip(blob, rec.payload_start + 10))
    with lmzip.open(path) as f:
        with pytest.raises(lmzip.CorruptChunkError):
            f.read()


def test_llm_text_roundtrip(path, llm_archive):
    """Level 4 through the file object writes exactly the archive ``Codec`` writes."""
    text = llm_archive.data.decode("ascii")
    with lmzip.open(path, "wt", level=4, threads=2, encoding="ascii") as f:
        f.write(text[:20])
        f.write(text[20:])
    assert path.read_bytes() == llm_archive.blob
    with lmzip.open(path, "rt", encoding="ascii", threads=2) as f:
        assert f.read() == text
