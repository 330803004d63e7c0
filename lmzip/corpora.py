"""Benchmark corpora: manifests, local lookup, verification and download.

The corpora themselves are third-party data and are never stored in the
repository. What the repository holds is one manifest per corpus
(``corpora/<corpus>.tsv``): file name, size, sha256 and the canonical
download location. This module reads those manifests, finds the files in a
local corpus directory laid out as ``<corpus_dir>/<corpus>/<name>``, checks
them against the manifest, and can download missing ones.

URL convention in the manifests:

* ``https://host/archive.tar.gz#member`` - the file is ``member`` inside the
  archive (``.tar.gz``/``.tgz``/``.tar`` or ``.zip``);
* ``https://host/name.bz2`` - the file is the bunzip2-decompressed download;
* anything else - the download is the file itself.

Command line: ``python -m lmzip.corpora {list,verify,fetch} ...``.
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urldefrag

ENV_CORPUS_DIR = "LMZIP_CORPORA"
# Resolved against the current working directory: the checkout lives next to
# a shared/ folder in the development layout (…/main and …/shared/corpora).
DEFAULT_CORPUS_DIR = Path("..") / "shared" / "corpora"
MANIFEST_COLUMNS = ("name", "size_bytes", "sha256", "url")

_CHUNK = 1 << 20


class CorpusError(Exception):
    """A corpus could not be found, parsed or resolved."""


class FetchError(CorpusError):
    """A download failed or produced bytes that do not match the manifest."""


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a corpus as recorded in its manifest."""

    corpus: str
    name: str
    size_bytes: int
    sha256: str | None  # None: no trusted hash recorded ("unknown hash")
    url: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking one local file against its manifest entry.

    ``status`` is one of ``ok``, ``missing``, ``size mismatch``,
    ``hash mismatch`` or ``unknown hash`` (size matches, no hash recorded).
    """

    entry: ManifestEntry
    path: Path
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --------------------------------------------------------------------------
# manifests
# --------------------------------------------------------------------------


def manifest_dir() -> Path | None:
    """Return the repository's ``corpora/`` folder, or None when not present.

    It exists in a source checkout and in an editable install. A regular
    wheel does not ship it, so :func:`load_manifest` falls back to the copy
    embedded at the bottom of this module (kept identical by a test).
    """
    d = Path(__file__).resolve().parent.parent / "corpora"
    return d if d.is_dir() and any(d.glob("*.tsv")) else None


def list_corpora(manifests: Path | None = None) -> list[str]:
    """Names of all corpora that have a manifest, sorted."""
    d = manifests if manifests is not None else manifest_dir()
    if d is not None:
        return sorted(p.stem for p in Path(d).glob("*.tsv"))
    return sorted(_EMBEDDED_MANIFESTS)


def parse_manifest(text: str, corpus: str) -> list[ManifestEntry]:
    """Parse manifest TSV text (``#`` comment lines, then a header row)."""
    entries: list[ManifestEntry] = []
    header: list[str] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if header is None:
            header = [f.strip() for f in fields]
            missing = [c for c in MANIFEST_COLUMNS if c not in header]
            if missing:
                raise CorpusError(f"manifest {corpus}: header lacks columns {missing}")
            continue
        if len(fields) != len(header):
            raise CorpusError(
                f"manifest {corpus} line {lineno}: {len(fields)} fields, expected {len(header)}"
            )
        row = dict(zip(header, (f.strip() for f in fields)))
        try:
            size = int(row["size_bytes"])
        except ValueError:
            raise CorpusError(
                f"manifest {corpus} line {lineno}: bad size {row['size_bytes']!r}"
            ) from None
        digest = row["sha256"].lower() or None
        if digest is not None and (
            len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise CorpusError(f"manifest {corpus} line {lineno}: bad sha256 {digest!r}")
        if not row["name"] or "/" in row["name"] or row["name"] in (".", ".."):
            raise CorpusError(f"manifest {corpus} line {lineno}: bad name {row['name']!r}")
        entries.append(ManifestEntry(corpus, row["name"], size, digest, row["url"]))
    if header is None:
        raise CorpusError(f"manifest {corpus}: empty")
    return entries


def load_manifest(corpus: str, manifests: Path | None = None) -> list[ManifestEntry]:
    """Load the manifest of ``corpus`` (e.g. ``"canterbury"``).

    ``manifests`` overrides the folder holding ``<corpus>.tsv`` files.
    """
    d = manifests if manifests is not None else manifest_dir()
    if d is not None:
        path = Path(d) / f"{corpus}.tsv"
        if not path.is_file():
            raise CorpusError(
                f"unknown corpus {corpus!r}; known: {', '.join(list_corpora(manifests))}"
            )
        return parse_manifest(path.read_text(encoding="utf-8"), corpus)
    if corpus not in _EMBEDDED_MANIFESTS:
        raise CorpusError(f"unknown corpus {corpus!r}; known: {', '.join(list_corpora())}")
    return parse_manifest(_EMBEDDED_MANIFESTS[corpus], corpus)


# --------------------------------------------------------------------------
# local corpus directory
# --------------------------------------------------------------------------


def corpus_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Resolve the local corpus directory.

    Order: ``explicit`` (``--corpus-dir``), then ``$LMZIP_CORPORA``, then
    ``../shared/corpora`` relative to the current directory if it exists.
    Returns None when nothing is configured and the default is absent; an
    explicitly named directory is returned even if it does not exist yet
    (``fetch`` creates it).
    """
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_CORPUS_DIR)
    if env:
        return Path(env)
    default = Path.cwd() / DEFAULT_CORPUS_DIR
    return default.resolve() if default.is_dir() else None


def _require_dir(directory: str | os.PathLike[str] | None) -> Path:
    d = corpus_dir(directory)
    if d is None:
        raise CorpusError(
            f"no corpus directory: pass --corpus-dir, set ${ENV_CORPUS_DIR}, "
            f"or create {DEFAULT_CORPUS_DIR} relative to the current directory"
        )
    return d


def resolve_files(
    corpus: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    missing_ok: bool = False,
    manifests: Path | None = None,
) -> list[Path]:
    """Paths of the corpus files under ``<corpus_dir>/<corpus>/``, manifest order.

    Missing files raise :class:`CorpusError` (listing them and how to fetch
    them) unless ``missing_ok``, in which case they are left out.
    """
    base = _require_dir(directory) / corpus
    entries = load_manifest(corpus, manifests)
    paths = [base / e.name for e in entries]
    missing = [p.name for p in paths if not p.is_file()]
    if missing and not missing_ok:
        raise CorpusError(
            f"corpus {corpus}: {len(missing)} of {len(paths)} files missing under {base}: "
            f"{', '.join(missing)} (fetch with: python -m lmzip.corpora fetch {corpus} "
            f"--corpus-dir {base.parent})"
        )
    return [p for p in paths if p.is_file()]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_entry(entry: ManifestEntry, path: Path) -> VerifyResult:
    """Check one file: existence, then size, then sha256."""
    if not path.is_file():
        return VerifyResult(entry, path, "missing")
    size = path.stat().st_size
    if size != entry.size_bytes:
        return VerifyResult(
            entry, path, "size mismatch", f"{size} bytes, manifest says {entry.size_bytes}"
        )
    if entry.sha256 is None:
        return VerifyResult(entry, path, "unknown hash", "size matches; no sha256 recorded")
    digest = sha256_file(path)
    if digest != entry.sha256:
        return VerifyResult(
            entry, path, "hash mismatch", f"sha256 {digest}, manifest says {entry.sha256}"
        )
    return VerifyResult(entry, path, "ok")


def verify(
    directory: str | os.PathLike[str] | None = None,
    corpora: Iterable[str] | None = None,
    *,
    manifests: Path | None = None,
) -> list[VerifyResult]:
    """Check every manifest entry of ``corpora`` (default: all) under the corpus dir."""
    base = _require_dir(directory)
    names = list(corpora) if corpora is not None else list_corpora(manifests)
    results: list[VerifyResult] = []
    for corpus in names:
        for entry in load_manifest(corpus, manifests):
            results.append(verify_entry(entry, base / corpus / entry.name))
    return results


def format_verify_report(results: list[VerifyResult]) -> str:
    """One line per file plus a summary line."""
    lines = []
    for r in results:
        tail = f"  ({r.detail})" if r.detail else ""
        lines.append(f"{r.status:<14} {r.entry.corpus}/{r.entry.name}{tail}")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append("summary: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# download
# --------------------------------------------------------------------------

Opener = Callable[[str], BinaryIO]


def _default_opener(timeout: float) -> Opener:
    def _open(url: str) -> BinaryIO:
        req = urllib.request.Request(url, headers={"User-Agent": "lmzip-corpora/1"})
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - manifest URLs

    return _open


def _download(url: str, dest: Path, opener: Opener) -> None:
    try:
        with opener(url) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FetchError(f"cannot download {url}: {reason}") from exc


def _copy_hashed(src: BinaryIO, dest: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    with open(dest, "wb") as out:
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            n += len(chunk)
            out.write(chunk)
    return n, h.hexdigest()


def _find_member(names: list[str], member: str, archive_url: str) -> str:
    # Archives differ in whether members carry "./" or a top-level folder.
    if member in names:
        return member
    norm = {n.lstrip("./"): n for n in names}
    if member in norm:
        return norm[member]
    same_base = [n for n in names if n.rstrip("/").rsplit("/", 1)[-1] == member]
    if len(same_base) == 1:
        return same_base[0]
    raise FetchError(f"{archive_url}: no unique member {member!r}")


def _extract(download: Path, url: str, member: str | None, dest: Path) -> tuple[int, str]:
    """Write the manifest file contained in ``download`` to ``dest``; return (size, sha256)."""
    lower = url.lower()
    if member is None:
        if lower.endswith(".bz2"):
            with bz2.open(download, "rb") as src:
                return _copy_hashed(src, dest)
        with open(download, "rb") as src:
            return _copy_hashed(src, dest)
    if lower.endswith(".zip"):
        with zipfile.ZipFile(download) as zf:
            name = _find_member(zf.namelist(), member, url)
            with zf.open(name) as src:
                return _copy_hashed(src, dest)
    if lower.endswith((".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")):
        with tarfile.open(download, "r:*") as tf:
            name = _find_member(tf.getnames(), member, url)
            src = tf.extractfile(name)
            if src is None:
                raise FetchError(f"{url}: member {name!r} is not a regular file")
            with src:
                return _copy_hashed(src, dest)
    raise FetchError(f"{url}: cannot take member {member!r} from this kind of archive")


def fetch(
    corpus: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    names: Iterable[str] | None = None,
    opener: Opener | None = None,
    timeout: float = 120.0,
    manifests: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download ``corpus`` into ``<dest>/<corpus>/`` and verify every file.

    Files that already verify are left alone; each archive is downloaded once
    even when several files come from it. A file is only moved into place
    after its size and sha256 match the manifest (entries without a recorded
    hash are checked by size and reported as "unknown hash" through ``log``).
    ``opener(url)`` returns a binary file object; the default uses urllib, so
    ``file://`` URLs work too. Raises :class:`FetchError` with a one-line
    message on any failure (for instance when there is no network).
    """
    base = _require_dir(dest) / corpus
    wanted = set(names) if names is not None else None
    entries = [e for e in load_manifest(corpus, manifests) if wanted is None or e.name in wanted]
    if wanted is not None:
        unknown = wanted - {e.name for e in entries}
        if unknown:
            raise CorpusError(f"corpus {corpus} has no files named {sorted(unknown)}")
    say = log or (lambda msg: None)
    open_url = opener or _default_opener(timeout)
    base.mkdir(parents=True, exist_ok=True)

    todo = []
    for e in entries:
        r = verify_entry(e, base / e.name)
        if r.status in ("ok", "unknown hash"):
            say(f"{r.status:<14} {corpus}/{e.name} (already present)")
        else:
            todo.append(e)
    done = [base / e.name for e in entries if e not in todo]
    if not todo:
        return done

    with tempfile.TemporaryDirectory(prefix=".lmzip-fetch-", dir=base) as tmp:
        tmpdir = Path(tmp)
        downloads: dict[str, Path] = {}
        for e in todo:
            url, member = urldefrag(e.url)
            member = member or None
            if url not in downloads:
                target = tmpdir / f"download{len(downloads)}"
                say(f"downloading {url}")
                _download(url, target, open_url)
                downloads[url] = target
            part = tmpdir / (e.name + ".part")
            size, digest = _extract(downloads[url], url, member, part)
            if size != e.size_bytes:
                raise FetchError(
                    f"{corpus}/{e.name}: got {size} bytes from {e.url}, manifest says {e.size_bytes}"
                )
            if e.sha256 is not None and digest != e.sha256:
                raise FetchError(
                    f"{corpus}/{e.name}: sha256 {digest} from {e.url}, manifest says {e.sha256}"
                )
            os.replace(part, base / e.name)
            say(f"{'ok' if e.sha256 else 'unknown hash':<14} {corpus}/{e.name} (sha256 {digest})")
            done.append(base / e.name)
    order = {e.name: i for i, e in enumerate(entries)}
    return sorted(done, key=lambda p: order[p.name])


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------


def render_embedded(manifests: Path) -> str:
    """Python source of the embedded manifest block for the TSVs in ``manifests``."""
    parts = ["# BEGIN EMBEDDED MANIFESTS (generated: python -m lmzip.corpora regen-embedded)",
             "_EMBEDDED_MANIFESTS: dict[str, str] = {"]
    for f in sorted(Path(manifests).glob("*.tsv")):
        parts.append(f"    {f.stem!r}: (")
        parts += [f"        {line!r}" for line in f.read_text(encoding="utf-8").splitlines(True)]
        parts.append("    ),")
    parts += ["}", "# END EMBEDDED MANIFESTS", ""]
    return "\n".join(parts)


def _regen_embedded() -> None:
    # Rewrites this very file; only meaningful in a source checkout.
    d = manifest_dir()
    if d is None:
        raise CorpusError("regen-embedded needs the repository's corpora/ folder")
    me = Path(__file__).resolve()
    src = me.read_text(encoding="utf-8")
    # Markers are matched at line starts so the literals above don't count.
    start = src.index("\n# BEGIN EMBEDDED MANIFESTS") + 1
    end_marker = "\n# END EMBEDDED MANIFESTS\n"
    end = src.index(end_marker, start) + len(end_marker)
    me.write_text(src[:start] + render_embedded(d) + src[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m lmzip.corpora {list,verify,fetch,regen-embedded}``; returns an exit status."""
    ap = argparse.ArgumentParser(prog="python -m lmzip.corpora", description=__doc__.split("\n")[0])
    ap.add_argument("--corpus-dir", help=f"local corpus folder (default ${ENV_CORPUS_DIR} or "
                    f"{DEFAULT_CORPUS_DIR})")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list corpora and their files")
    v = sub.add_parser("verify", help="check local files against the manifests")
    v.add_argument("corpora", nargs="*", help="corpora to check (default: all)")
    f = sub.add_parser("fetch", help="download and verify a corpus")
    f.add_argument("corpus")
    f.add_argument("names", nargs="*", help="only these files")
    sub.add_parser("regen-embedded", help="(developers) refresh the manifest copy in this module")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "list":
            for c in list_corpora():
                entries = load_manifest(c)
                total = sum(e.size_bytes for e in entries)
                print(f"{c}: {len(entries)} files, {total:,} bytes")
                for e in entries:
                    print(f"  {e.name}\t{e.size_bytes}\t{e.url}")
            return 0
        if args.cmd == "verify":
            results = verify(args.corpus_dir, args.corpora or None)
            print(format_verify_report(results))
            bad = [r for r in results if r.status in ("size mismatch", "hash mismatch")]
            return 1 if bad else 0
        if args.cmd == "regen-embedded":
            _regen_embedded()
            return 0
        fetch(args.corpus, args.corpus_dir, names=args.names or None, log=print)
        return 0
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


# --------------------------------------------------------------------------
# embedded copy of corpora/*.tsv (fallback for non-editable installs;
# tests/test_corpora.py checks it matches the files byte for byte)
# --------------------------------------------------------------------------

# BEGIN EMBEDDED MANIFESTS (generated: python -m lmzip.corpora regen-embedded)
_EMBEDDED_MANIFESTS: dict[str, str] = {
    'calgary': (
        '# Calgary Corpus (18-file version). https://corpus.canterbury.ac.nz/descriptions/#calgary\n'
        '# pic is byte-identical to canterbury/ptt5.\n'
        'name\tsize_bytes\tsha256\turl\n'
        'bib\t111261\t0f1a13936e358191533aca4a32ff42906d1b7f641f3afb0a90458b2410419fcf\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#bib\n'
        'book1\t768771\t9ffa47cd93bccd732f20e0c304203cfbc1b8a91bedac536e2d8f6051003d9951\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#book1\n'
        'book2\t610856\tc8538730cf2ce6a243acf3eb299c43d619b5c695d892f4884df796c13081fdf8\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#book2\n'
        'geo\t102400\t913ff6f45610599020c02f543a0d5a1f46cf772412e25a568b683d23db8c447d\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#geo\n'
        'news\t377109\t7f0482f9774681429eb7021050c17966f6acf19450e170de6611e1ed953d42e8\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#news\n'
        'obj1\t21504\t8c06109caffd7e794516e4ed10095b0238ea8df63ed66840907cd4dd23e2cf72\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#obj1\n'
        'obj2\t246814\t8b3e7f028bfefaebdd48a791060a1ab11d1ffd9bf27e0d63b15e58dda0deb984\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#obj2\n'
        'paper1\t53161\t8d9c42d9fa58b5bce1a8b5fae3cc27c9eb7cc7a032bc12a633d44e816497e143\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#paper1\n'
        'paper2\t82199\tdc4b9cf68094c632a920f4e76d0a0a8b9617b624c36928ca46a5d29798c5bbbe\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#paper2\n'
        'paper3\t46526\tc3e1ba94849992147cf68531311cf6512c9032b88f548d3e2d62cb659aef19d8\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#paper3\n'
        'paper4\t13286\taeecc3ff5b2e497e35fbd2d2190627fff4818dabf7aee9734ac090c21b04739b\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#paper4\n'
        'paper5\t11954\t7a4b1ee6aa419ca362a9bbae383287fe8fee4324c9d6aefa7e94b6d845452ee8\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#paper5\n'
        'paper6\t38105\t8f38dd101a4e0c0e4acefec93d5da8198db593557e9e0019140e2dff24b1b080\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#paper6\n'
        'pic\t513216\t0ec3a75089bb52342813496b17e51377bc9eba3cb519a444d67025354841d650\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#pic\n'
        'progc\t39611\t151377a9d6aa9b7e872000269707a15e2b038c826340628e6f4d8b4db9ec3c19\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#progc\n'
        'progl\t71646\t9388db0cfb71ffbe5687d381819a5ff69cdd992d6931e0cf81a310a1caed0ba0\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#progl\n'
        'progp\t49379\td0cd70ab5f7381a8584b25fa73b3608571a17ee1042cc5c546f63b904614d1bc\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#progp\n'
        'trans\t93695\t117a00c6af3e1c57f20013a8f1b468158f70634f685a348bedb7e4069cdd576a\thttps://corpus.canterbury.ac.nz/resources/calgary.tar.gz#trans\n'
    ),
    'canterbury': (
        '# Canterbury Corpus (standard set, 11 files). https://corpus.canterbury.ac.nz/descriptions/#cantrbry\n'
        '# url: archive#member -- the file is the named member of the tar.gz archive.\n'
        'name\tsize_bytes\tsha256\turl\n'
        'alice29.txt\t152089\t7467306ee0feed4971260f3c87421154a05be571d944e9cb021a5713700c38f0\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#alice29.txt\n'
        'asyoulik.txt\t125179\teaa3526fe53859f34ecdf255712f9ecf0b2c903451d4755b2edaa2e2599cb0fc\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#asyoulik.txt\n'
        'lcet10.txt\t426754\t5314ba1dbb03f471df88bec6cd120a938ef60d0fd3511c5c1dce61bf7463245f\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#lcet10.txt\n'
        'plrabn12.txt\t481861\t07e2e0b461af78c7c647cb53dab39de560198e16f799b4516eccf0fbd69f764c\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#plrabn12.txt\n'
        'cp.html\t24603\te0cd21cef5b6c4069461e949be100080c3ce887de6f1dd8626c480528efaaf61\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#cp.html\n'
        'fields.c\t11150\t85d73e354cc50cec76cb5a50537cf8dc035f8cbb8480f9e1cbe2f7d6c23393c7\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#fields.c\n'
        'grammar.lsp\t3721\t1b0805dfc0ae706b35aac2bb4e15f02485efd24dda5dbd29de7b2f84d1a88c15\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#grammar.lsp\n'
        'kennedy.xls\t1029744\t9af47239ca29dfe20e633f80bbbb9a4cc9783d0803d7b2b5626f42e4c3790420\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#kennedy.xls\n'
        'ptt5\t513216\t0ec3a75089bb52342813496b17e51377bc9eba3cb519a444d67025354841d650\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#ptt5\n'
        'sum\t38240\tee5733cd76ecc2f9d8ff156adc3c02a7a851051dcf43a2d56ff4ee4ff606bdb3\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#sum\n'
        'xargs.1\t4227\tc58aeb5d2d1e12751d47e7412b45784405fc30a5671b03d480fa05776e183619\thttps://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#xargs.1\n'
    ),
    'canterbury_artificial': (
        '# Canterbury Artificial Corpus. https://corpus.canterbury.ac.nz/descriptions/#artificial\n'
        'name\tsize_bytes\tsha256\turl\n'
        'a.txt\t1\tca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\thttps://corpus.canterbury.ac.nz/resources/artificial.tar.gz#a.txt\n'
        'aaa.txt\t100000\t6d1cf22d7cc09b085dfc25ee1a1f3ae0265804c607bc2074ad253bcc82fd81ee\thttps://corpus.canterbury.ac.nz/resources/artificial.tar.gz#aaa.txt\n'
        'alphabet.txt\t100000\tbc634ceb27746878af610424e3afd5024f31e06f1f3479deda6cb33a21258bf7\thttps://corpus.canterbury.ac.nz/resources/artificial.tar.gz#alphabet.txt\n'
        'random.txt\t100000\tf939ba0ca704df5e4665fca1d934411c856cf4409898c276ed26a3e591729201\thttps://corpus.canterbury.ac.nz/resources/artificial.tar.gz#random.txt\n'
    ),
    'canterbury_large': (
        '# Canterbury Large Corpus. https://corpus.canterbury.ac.nz/descriptions/#large\n'
        '# E.coli: size is the published one; its sha256 is not recorded here (no verified copy was available), so verify reports "unknown hash".\n'
        'name\tsize_bytes\tsha256\turl\n'
        'E.coli\t4638690\t\thttps://corpus.canterbury.ac.nz/resources/large.tar.gz#E.coli\n'
        'bible.txt\t4047392\t4e0a7e8dff7d9c82dbded57305c0ca3cdd3c4ca014db27121782fe9710f4723f\thttps://corpus.canterbury.ac.nz/resources/large.tar.gz#bible.txt\n'
        'world192.txt\t2473400\t1aebdc97d29904b25791da9aa32be90b69d7da6dc0ac9b95512ed27ed40d2112\thttps://corpus.canterbury.ac.nz/resources/large.tar.gz#world192.txt\n'
    ),
    'canterbury_misc': (
        '# Canterbury Miscellaneous Corpus. https://corpus.canterbury.ac.nz/descriptions/#misc\n'
        'name\tsize_bytes\tsha256\turl\n'
        'pi.txt\t1000000\t387877db67fdddbde761c053c4376e0b411b10fd2b126fd8b1249963cb628877\thttps://corpus.canterbury.ac.nz/resources/misc.tar.gz#pi.txt\n'
    ),
    'enwik': (
        '# Large Text Compression Benchmark / Hutter Prize inputs. https://mattmahoney.net/dc/textdata.html\n'
        '# enwik8 = first 10^8 bytes, enwik9 = first 10^9 bytes of enwiki-20060303-pages-articles.xml.\n'
        'name\tsize_bytes\tsha256\turl\n'
        'enwik8\t100000000\t2b49720ec4d78c3c9fabaee6e4179a5e997302b3a70029f30f2d582218c024a8\thttps://mattmahoney.net/dc/enwik8.zip#enwik8\n'
        'enwik9\t1000000000\t159b85351e5f76e60cbe32e04c677847a9ecba3adc79addab6f4c6c7aa3744bc\thttps://mattmahoney.net/dc/enwik9.zip#enwik9\n'
    ),
    'silesia': (
        '# Silesia Corpus (12 files). https://sun.aei.polsl.pl/~sdeor/index.php?page=silesia\n'
        '# Each file is also in https://sun.aei.polsl.pl/~sdeor/corpus/silesia.zip; the per-file .bz2 is fetched and bunzip2-decompressed.\n'
        '# mozilla, samba, sao, webster: hashes cross-checked in independent public sources that give the same hashes\n'
        '# as our verified local copies for the other eight files; not yet verified against a local copy.\n'
        'name\tsize_bytes\tsha256\turl\n'
        'dickens\t10192446\tb24c37886142e11d0ee687db6ab06f936207aa7f2ea1fd1d9a36763c7a507e6a\thttps://sun.aei.polsl.pl/~sdeor/corpus/dickens.bz2\n'
        'mozilla\t51220480\t657fc3764b0c75ac9de9623125705831ebbfbe08fed248df73bc2dc66e2a963b\thttps://sun.aei.polsl.pl/~sdeor/corpus/mozilla.bz2\n'
        'mr\t9970564\t68637ed52e3e4860174ed2dc0840ac77d5f1a60abbcb13770d5754e3774d53e6\thttps://sun.aei.polsl.pl/~sdeor/corpus/mr.bz2\n'
        'nci\t33553445\tfc63a31770947b8c2062d3b19ca94c00485a232bb91b502021948fee983e1635\thttps://sun.aei.polsl.pl/~sdeor/corpus/nci.bz2\n'
        'ooffice\t6152192\te7ee013880d34dd5208283d0d3d91b07f442e067454276095ded14f322a656eb\thttps://sun.aei.polsl.pl/~sdeor/corpus/ooffice.bz2\n'
        'osdb\t10085684\t60f027179302ca3ad87c58ac90b6be72ec23588aaa7a3b7fe8ecc0f11def3fa3\thttps://sun.aei.polsl.pl/~sdeor/corpus/osdb.bz2\n'
        'reymont\t6627202\t0eac0114a3dfe6e2ee1f345a0f79d653cb26c3bc9f0ed79238af4933422b7578\thttps://sun.aei.polsl.pl/~sdeor/corpus/reymont.bz2\n'
        'samba\t21606400\t93ba07bc44d8267789c1d911992f40b089ffa2140b4a160fac11ccae9a40e7b2\thttps://sun.aei.polsl.pl/~sdeor/corpus/samba.bz2\n'
        'sao\t7251944\tc2d0ea2cc59d4c21b7fe43a71499342a00cbe530a1d5548770e91ecd6214adcc\thttps://sun.aei.polsl.pl/~sdeor/corpus/sao.bz2\n'
        'webster\t41458703\t6a68f69b26daf09f9dd84f7470368553194a0b294fcfa80f1604efb11143a383\thttps://sun.aei.polsl.pl/~sdeor/corpus/webster.bz2\n'
        'x-ray\t8474240\t7de9fce1405dc44ae5e6813ed21cd5751e761bd4265655a005d39b9685d1c9ad\thttps://sun.aei.polsl.pl/~sdeor/corpus/x-ray.bz2\n'
        'xml\t5345280\t0e82e54e695c1938e4193448022543845b33020c8be6bf3bf3ead2224903e08c\thttps://sun.aei.polsl.pl/~sdeor/corpus/xml.bz2\n'
    ),
    'snappy_testdata': (
        '# google/snappy benchmark inputs. https://github.com/google/snappy/tree/main/testdata\n'
        'name\tsize_bytes\tsha256\turl\n'
        'fireworks.jpeg\t123093\t93b986ce7d7e361f0d3840f9d531b5f40fb6ca8c14d6d74364150e255f126512\thttps://raw.githubusercontent.com/google/snappy/main/testdata/fireworks.jpeg\n'
        'geo.protodata\t118588\t7c2875cd6d06c954240ba644618d1e1f2a167e4541731f019de5b4c1f8080f24\thttps://raw.githubusercontent.com/google/snappy/main/testdata/geo.protodata\n'
        'html\t102400\t5912445a6d50df1079f022d7e01fa615f5d128d53bad88acbf4f49e62a7ea759\thttps://raw.githubusercontent.com/google/snappy/main/testdata/html\n'
        'kppkn.gtb\t184320\t1df7e44e4ec9bad952e7716fbdba0a2208665091866ded43407d03ed9ce23c24\thttps://raw.githubusercontent.com/google/snappy/main/testdata/kppkn.gtb\n'
        'paper-100k.pdf\t102400\t60f73a051b7ca35bfec44734b2eed7736cb5c0b7f728beb7b97ade6c5e44849b\thttps://raw.githubusercontent.com/google/snappy/main/testdata/paper-100k.pdf\n'
        'urls.10K\t702087\t0319ce7fe1f51b14eace3de879fe7da15418d1525d3176c2b26c5985943a3cad\thttps://raw.githubusercontent.com/google/snappy/main/testdata/urls.10K\n'
    ),
}
# END EMBEDDED MANIFESTS

if __name__ == "__main__":
    sys.exit(main())
