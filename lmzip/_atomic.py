"""Output files that appear only when complete, whatever happens to the process.

On Linux the data goes to an unnamed file (``O_TMPFILE``) in the destination directory,
which is fsynced, given its final mode and times, and only then linked into place
(``linkat`` through ``/proc/self/fd``). Until that moment the file has no name, so a
``kill -9``, a crash, a power cut or a full disk can leave nothing behind: the kernel
frees an unnamed file when its last descriptor closes.

Elsewhere (no ``O_TMPFILE``, a filesystem without it, no ``/proc``) the data goes to a
hidden named temporary file beside the destination, renamed over it when complete and
removed on any error or signal the process survives (only ``kill -9`` can leave it).
Overwriting an existing file (``-f``) links the finished file under a hidden temporary
name and renames it over the old one: that leaves a window of two system calls.
"""

from __future__ import annotations

import errno
import os
import secrets
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

# O_TMPFILE is refused with one of these where the kernel or the filesystem lacks it.
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP}


class _Output:
    """The file handed to the caller: write errors name the output file."""

    def __init__(self, raw: BinaryIO, path: Path) -> None:
        self._raw = raw
        self._path = path

    def write(self, data) -> int:
        try:
            return self._raw.write(data)
        except OSError as exc:
            raise _named(exc, self._path)

    def flush(self) -> None:
        try:
            self._raw.flush()
        except OSError as exc:
            raise _named(exc, self._path)


def _named(exc: OSError, path: Path) -> OSError:
    if exc.filename is None:
        exc.filename = str(path)
    return exc


def _unnamed_file(directory: Path) -> int | None:
    """An ``O_TMPFILE`` descriptor in ``directory`` that can be linked later, or None."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        fd = os.open(directory, flag | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise _named(exc, directory)
    return fd


def _apply_meta(fd: int, like: Path | None) -> None:
    """Give the new file ``like``'s permission bits and times (best effort, like gzip)."""
    if like is None:
        return
    try:
        st = os.stat(like)
        os.chmod(fd, st.st_mode & 0o7777)
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
    except (OSError, NotImplementedError):
        pass


def _hidden_name(path: Path) -> str:
    return f".{path.name}.{secrets.token_hex(4)}.tmp"


def _fsync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


@contextmanager
def atomic_output(path: Path, *, force: bool = False, meta_from: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file whose contents appear at ``path`` only if the block succeeds.

    ``force`` replaces an existing ``path``; without it an existing ``path`` raises
    ``FileExistsError`` (also if it appears while the block runs). ``meta_from`` is a
    file whose mode and times the output gets before it becomes visible.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not force and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    fd = _unnamed_file(directory)
    if fd is not None:
        with _unnamed_output(fd, path, directory, force, meta_from) as out:
            yield out
    else:
        with _named_output(path, directory, force, meta_from) as out:
            yield out
    _fsync_dir(directory)


@contextmanager
def _write_all(fd: int, path: Path) -> Iterator[BinaryIO]:
    """A buffered writer on ``fd``, flushed and fsynced at the end; ``fd`` stays open.

    On failure the first error is the one raised: closing the buffer would try to write
    the same data again (and fail again, on a full disk).
    """
    f = os.fdopen(fd, "wb", closefd=False)
    try:
        yield _Output(f, path)
        try:
            f.flush()
            os.fsync(fd)
        except OSError as exc:
            raise _named(exc, path)
    finally:
        try:
            f.close()
        except OSError:
            pass


@contextmanager
def _unnamed_output(fd: int, path: Path, directory: Path, force: bool, meta_from: Path | None):
    try:
        with _write_all(fd, path) as out:
            yield out
        _apply_meta(fd, meta_from)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            proc = f"/proc/self/fd/{fd}"
            try:
                os.link(proc, path.name, dst_dir_fd=dfd, follow_symlinks=True)
            except FileExistsError:
                if not force:
                    raise
                hidden = _hidden_name(path)
                os.link(proc, hidden, dst_dir_fd=dfd, follow_symlinks=True)
                try:
                    os.replace(hidden, path.name, src_dir_fd=dfd, dst_dir_fd=dfd)
                except BaseException:
                    os.unlink(hidden, dir_fd=dfd)
                    raise
        except OSError as exc:
            raise _named(exc, path)
        finally:
            os.close(dfd)
    finally:
        os.close(fd)  # an unnamed file that was never linked vanishes here


@contextmanager
def _named_output(path: Path, directory: Path, force: bool, meta_from: Path | None):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give what open() would
        with _write_all(fd, path) as out:
            yield out
        _apply_meta(fd, meta_from)
        if force:
            os.replace(tmp, path)
        else:
            # link() refuses to replace a file that appeared meanwhile; rename() would not
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:  # filesystems without hard links
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(fd)
