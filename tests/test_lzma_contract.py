"""lmzip as a user of Python's ``lzma`` would try it (level 1: xz, no model).

Each test is a behaviour CPython's own ``test_lzma`` checks for ``lzma``, run against
lmzip. Where lmzip differs on purpose it says so: bytes after the last archive are an
error (``TrailingDataError``) everywhere, where ``lzma`` skips them silently; a level of
type bool is refused, where ``lzma`` takes ``preset=True`` as 1.
"""

from __future__ import annotations

import array
import copy
import io
import pickle
import subprocess

import pytest

import lmzip
from lmzip import Codec, Compressor, Decompressor, LmzipFile, NotLmzipError, TrailingDataError

DATA = b"lmzip follows the lzma module's contract where it can. " * 40


@pytest.fixture(scope="module")
def blob() -> bytes:
    return lmzip.compress(DATA, level=1)


# ----------------------------------------------------------------------------- Decompressor


def test_decompressor_bad_arguments_leave_its_state_unchanged(blob):
    """lzma checks every argument before it touches the stream; so must lmzip.
    (Before: decompress(b"foo", b"bar") raised TypeError but kept b"foo" buffered.)"""
    d = Decompressor()
    for args in [(), ([],), ("text",), (None,), (b"foo", b"bar"), (b"foo", 1.5), (blob, "1")]:
        with pytest.raises(TypeError):
            d.decompress(*args)
    assert d.decompress(blob) == DATA
    assert d.eof and d.unused_data == b""
    with pytest.raises(EOFError):
        d.decompress(b"quux")


def test_decompressor_accepts_any_bytes_like(blob):
    d = Decompressor()
    out = d.decompress(bytearray(blob[:50])) + d.decompress(memoryview(blob)[50:], max_length=100)
    while not d.eof:
        out += d.decompress(b"")
    assert out == DATA


def test_decompressor_bad_input_raises_every_time():
    # CPython issue 28275: a second call after an error must raise again, not crash.
    d = Decompressor()
    for _ in range(2):
        with pytest.raises(NotLmzipError):
            d.decompress(b"definitely not an archive")


def test_decompressor_keeps_what_follows_in_unused_data(blob):
    # One archive per Decompressor, like LZMADecompressor with concatenated streams.
    d = Decompressor()
    assert d.decompress(blob + b"fooblibar") == DATA
    assert d.eof and d.unused_data == b"fooblibar"
    d = Decompressor()
    assert d.decompress(blob + blob) == DATA and d.unused_data == blob


# ----------------------------------------------------------------------------- Compressor


def test_compressor_bad_arguments(blob):
    c = Compressor(level=1)
    for args in [(), ([],), ("text",), (None,), (b"foo", b"bar")]:
        with pytest.raises(TypeError):
            c.compress(*args)
    with pytest.raises(TypeError):
        c.flush(b"blah")
    assert c.compress(DATA) + c.flush() == blob  # the bad calls changed nothing
    with pytest.raises(ValueError):
        c.compress(b"quux")
    with pytest.raises(ValueError):
        c.flush()


# ----------------------------------------------------------------------------- the trailing-data rule


@pytest.mark.parametrize("junk", [b"\x00", b"JUNK" * 100, b"\x89LMZ"])
def test_trailing_data_is_refused_everywhere(blob, tmp_path, junk):
    """One rule for the one-shot API, the file object and the CLI: a stream is whole
    archives and nothing else; anything after the last one raises TrailingDataError
    (the CLI: exit 1, one line). lzma, by contrast, ignores such bytes."""
    for stream in (blob + junk, blob + blob + junk):
        with pytest.raises(TrailingDataError) as info:
            lmzip.decompress(stream)
        assert info.value.n_bytes == len(junk)
        with pytest.raises(TrailingDataError) as info:
            LmzipFile(io.BytesIO(stream)).read()
        assert info.value.n_bytes == len(junk)
        with LmzipFile(io.BytesIO(stream)) as f:  # the archives before the junk read fine
            assert f.read(len(DATA)) == DATA
    path = tmp_path / "junk.lmz"
    path.write_bytes(blob + junk)
    with lmzip.open(path, "rb") as f, pytest.raises(TrailingDataError):
        f.read()
    r = subprocess.run(["lmzip", "-dc", path.name], cwd=tmp_path, capture_output=True)
    assert r.returncode == 1
    assert r.stderr.decode().splitlines() == [f"lmzip: {path.name}: {len(junk)} bytes of trailing garbage "
                                              f"after the archive"]


def test_concatenated_archives_are_one_stream(blob):
    assert lmzip.decompress(blob * 3) == DATA * 3
    with LmzipFile(io.BytesIO(blob * 3)) as f:
        assert f.read() == DATA * 3


# ----------------------------------------------------------------------------- levels


BAD_LEVEL_TYPES = ["asdf", 4.39, 1.0, True, False, b"1", [1]]


@pytest.mark.parametrize("level", BAD_LEVEL_TYPES, ids=repr)
def test_level_of_wrong_type_is_a_type_error(level):
    """lzma: preset="asdf" and 4.39 raise TypeError. lmzip also refuses 1.0 and True
    (before: ValueError for "asdf"/4.39, and True/1.0 were taken as level 1)."""
    lmzip.compress(b"warm the shared level-1 codec", level=1)  # True == 1.0 == 1 as dict keys
    with pytest.raises(TypeError):
        lmzip.compress(b"data", level=level)
    with pytest.raises(TypeError):
        Codec(level=level)
    with pytest.raises(TypeError):
        Compressor(level=level)
    with pytest.raises(TypeError):
        LmzipFile(io.BytesIO(), "w", level=level)
    with pytest.raises(TypeError):
        lmzip.open(io.BytesIO(), "wb", level=level)


@pytest.mark.parametrize("level", [0, 10, -1, 2**1000])
def test_level_out_of_range_is_a_value_error(level):
    with pytest.raises(ValueError):
        lmzip.compress(b"data", level=level)
    with pytest.raises(ValueError):
        LmzipFile(io.BytesIO(), "w", level=level)


@pytest.mark.parametrize("threads", ["2", 2.0, True])
def test_threads_of_wrong_type_is_a_type_error(threads):
    with pytest.raises(TypeError):
        Codec(level=1, threads=threads)
    with pytest.raises(ValueError):
        Codec(level=1, threads=-1)


def test_level_in_read_mode_is_a_value_error(blob, tmp_path):
    """lzma: LZMAFile(f, preset=3) in read mode raises ValueError (before: ignored)."""
    for level in (1, 3, 6):
        with pytest.raises(ValueError):
            LmzipFile(io.BytesIO(blob), level=level)
        with pytest.raises(ValueError):
            LmzipFile(io.BytesIO(blob), "rb", level=level)
        with pytest.raises(ValueError):
            lmzip.open(io.BytesIO(blob), "rb", level=level)
        with pytest.raises(ValueError):
            lmzip.open(io.BytesIO(blob), "rt", level=level)
    path = tmp_path / "a.lmz"
    path.write_bytes(blob)
    with pytest.raises(ValueError):
        lmzip.open(path, "r", level=6)
    with lmzip.open(path, "r") as f:  # no level: fine
        assert f.read() == DATA


# ----------------------------------------------------------------------------- modes


BAD_MODES = ["br", "rbb", "", "rt", "wt", "xt", "at", "r+", "w+", "x+", "rw", "rx", "wx", "z", "bw", "wbb",
             (3, "x"), 3, None, b"r", ["r"]]


@pytest.mark.parametrize("mode", BAD_MODES, ids=repr)
def test_bad_mode_is_a_value_error(blob, mode):
    """Exactly lzma's modes: "r", "rb", "w", "wb", "x", "xb", "a", "ab" (before: "br" and
    "rbb" were accepted and a tuple gave AttributeError)."""
    with pytest.raises(ValueError):
        LmzipFile(io.BytesIO(blob), mode)


@pytest.mark.parametrize("mode", ["br", "rbb", "rtb", "tb", "wbt", (3, "x"), 3, None, b"rb"], ids=repr)
def test_open_bad_mode_is_a_value_error(blob, mode):
    with pytest.raises(ValueError):
        lmzip.open(io.BytesIO(blob), mode)


def test_good_modes(blob, tmp_path):
    for mode in ("r", "rb"):
        with LmzipFile(io.BytesIO(blob), mode) as f:
            assert f.mode == "rb" and f.read() == DATA
    for mode in ("w", "wb", "a", "ab"):
        out = io.BytesIO()
        with LmzipFile(out, mode, level=1) as f:
            assert f.mode == "wb"
            f.write(DATA)
        assert out.getvalue() == blob
    path = tmp_path / "x.lmz"
    for mode in ("x", "xb"):
        with LmzipFile(path, mode, level=1) as f:
            assert f.name == str(path)
        with pytest.raises(FileExistsError):
            LmzipFile(path, mode, level=1)
        path.unlink()


# ----------------------------------------------------------------------------- pickling


def _objects(blob):
    yield Compressor(level=1)
    used = Compressor(level=1)
    used.compress(b"some")
    yield used
    yield Decompressor()  # fresh: before, this one pickled
    started = Decompressor()
    started.decompress(blob[:20])
    yield started
    yield LmzipFile(io.BytesIO(blob))
    yield LmzipFile(io.BytesIO(), "w", level=1)
    yield Codec(level=1)


def test_objects_refuse_pickling_and_copying(blob):
    """lzma: pickle.dumps(LZMACompressor()) and of LZMADecompressor() raise TypeError.
    (Before: a fresh Decompressor pickled, others failed only by accident.)"""
    for obj in _objects(blob):
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            with pytest.raises(TypeError, match="cannot pickle"):
                pickle.dumps(obj, protocol)
        with pytest.raises(TypeError):
            copy.copy(obj)
        with pytest.raises(TypeError):
            copy.deepcopy(obj)


# ----------------------------------------------------------------------------- the file object


def test_file_object_basics(blob, tmp_path):
    """A selection of LZMAFile behaviours that hold for LmzipFile too."""
    src = io.BytesIO(blob)
    f = LmzipFile(src)
    assert f.readable() and not f.writable() and f.seekable()
    with pytest.raises(io.UnsupportedOperation):
        f.fileno()  # BytesIO has none
    with pytest.raises(TypeError):
        f.read(1.5)
    assert f.read(0) == b"" and f.read(10) == DATA[:10] and f.read1(5) == DATA[10:15]
    f.close()
    assert f.closed and not src.closed  # a caller's file object stays open
    f.close()
    for method in (f.read, f.readable, f.writable, f.seekable, f.tell, f.fileno):
        with pytest.raises(ValueError):
            method()

    out = io.BytesIO()
    with LmzipFile(out, "w", level=1) as w:
        for bad in ("text", None, 5):
            with pytest.raises(TypeError):
                w.write(bad)
        assert w.write(array.array("I", [1, 2, 3, 4])) == 16
        with pytest.raises(io.UnsupportedOperation):
            w.read()
        with pytest.raises(ValueError):
            w.peek()
    assert lmzip.decompress(out.getvalue()) == array.array("I", [1, 2, 3, 4]).tobytes()

    with LmzipFile(io.BytesIO(blob)) as r:
        with pytest.raises(TypeError):
            r.seek()
        with pytest.raises(ValueError):
            r.seek(0, 3)
        assert r.seek(len(DATA) - 5) == len(DATA) - 5 and r.read() == DATA[-5:]


def test_truncated_file_raises_eof_error(blob):
    with LmzipFile(io.BytesIO(blob[:-10])) as f:
        with pytest.raises(EOFError):
            f.read()
        with pytest.raises(EOFError):
            f.read()


def test_one_shot_bad_arguments(blob):
    with pytest.raises(TypeError):
        lmzip.compress()
    with pytest.raises(TypeError):
        lmzip.compress([], level=1)
    with pytest.raises(TypeError):
        lmzip.decompress()
    with pytest.raises(TypeError):
        lmzip.decompress([])
    with pytest.raises(TypeError):
        lmzip.decompress(blob, level=1)  # decompression takes no level at all
