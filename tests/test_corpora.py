"""Tests for corpora/*.tsv manifests and lmzip.corpora (verify, fetch)."""

from __future__ import annotations

import bz2
import csv
import hashlib
import io
import shutil
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import pytest

from lmzip import corpora
from lmzip.corpora import CorpusError, FetchError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
needs_shared = pytest.mark.skipif(not (SHARED / "canterbury").is_dir(),
                                  reason="local corpus copy not present")


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- manifests


def test_all_manifests_parse() -> None:
    names = corpora.list_corpora()
    assert {"canterbury", "calgary", "silesia", "enwik"} <= set(names)
    for c in names:
        entries = corpora.load_manifest(c)
        assert entries, c
        assert len({e.name for e in entries}) == len(entries)
        for e in entries:
            assert e.size_bytes > 0 and e.url.startswith("https://")
            assert e.sha256 is None or len(e.sha256) == 64


def test_known_manifest_facts() -> None:
    cant = {e.name: e for e in corpora.load_manifest("canterbury")}
    assert len(cant) == 11 and sum(e.size_bytes for e in cant.values()) == 2_810_784
    assert cant["alice29.txt"].size_bytes == 152089
    assert cant["alice29.txt"].url == (
        "https://corpus.canterbury.ac.nz/resources/cantrbry.tar.gz#alice29.txt")
    sil = {e.name: e for e in corpora.load_manifest("silesia")}
    assert len(sil) == 12 and sum(e.size_bytes for e in sil.values()) == 211_938_580
    assert sil["webster"].size_bytes == 41458703
    enwik = {e.name: e for e in corpora.load_manifest("enwik")}
    assert enwik["enwik8"].size_bytes == 10**8
    assert enwik["enwik8"].sha256.startswith("2b49720e")
    assert enwik["enwik8"].sha256.endswith("c024a8")
    assert enwik["enwik9"].url == "https://mattmahoney.net/dc/enwik9.zip#enwik9"
    large = {e.name: e for e in corpora.load_manifest("canterbury_large")}
    assert large["E.coli"].sha256 is None  # no trusted hash: verify says "unknown hash"


@pytest.mark.skipif(not (SHARED / "MANIFEST.tsv").is_file(), reason="no shared MANIFEST.tsv")
def test_manifests_agree_with_verified_local_manifest() -> None:
    with open(SHARED / "MANIFEST.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            entry = {e.name: e for e in corpora.load_manifest(row["corpus"])}[row["name"]]
            assert entry.size_bytes == int(row["size_bytes"])
            assert entry.sha256 == row["sha256"]


def test_embedded_copy_matches_tsv_files() -> None:
    d = corpora.manifest_dir()
    assert d is not None
    files = {p.stem: p.read_text(encoding="utf-8") for p in d.glob("*.tsv")}
    assert files == corpora._EMBEDDED_MANIFESTS


def test_embedded_fallback_is_used_without_repo_folder(monkeypatch) -> None:
    monkeypatch.setattr(corpora, "manifest_dir", lambda: None)
    assert "silesia" in corpora.list_corpora()
    assert len(corpora.load_manifest("calgary")) == 18


@pytest.mark.parametrize("text", [
    "name\tsize\tsha256\turl\nx\t1\t\thttps://a\n",                    # missing column
    "name\tsize_bytes\tsha256\turl\nx\tone\t\thttps://a\n",            # bad size
    "name\tsize_bytes\tsha256\turl\nx\t1\tabc\thttps://a\n",           # bad hash
    "name\tsize_bytes\tsha256\turl\nx\t1\thttps://a\n",                # field count
    "name\tsize_bytes\tsha256\turl\n../x\t1\t\thttps://a\n",           # path escape
    "# only a comment\n",
])
def test_bad_manifests_are_rejected(text: str) -> None:
    with pytest.raises(CorpusError):
        corpora.parse_manifest(text, "bad")


def test_unknown_corpus() -> None:
    with pytest.raises(CorpusError, match="unknown corpus"):
        corpora.load_manifest("nope")


# ---------------------------------------------------------------- corpus_dir


def test_corpus_dir_resolution(tmp_path, monkeypatch) -> None:
    work = tmp_path / "main"
    shared = tmp_path / "shared" / "corpora"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv(corpora.ENV_CORPUS_DIR, raising=False)
    assert corpora.corpus_dir() is None
    shared.mkdir(parents=True)
    assert corpora.corpus_dir() == shared.resolve()
    monkeypatch.setenv(corpora.ENV_CORPUS_DIR, str(tmp_path / "env"))
    assert corpora.corpus_dir() == tmp_path / "env"
    assert corpora.corpus_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_no_corpus_dir_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(corpora.ENV_CORPUS_DIR, raising=False)
    with pytest.raises(CorpusError, match="--corpus-dir"):
        corpora.resolve_files("canterbury")


# ---------------------------------------------------------------- verify


@needs_shared
def test_verify_shared_canterbury_ok() -> None:
    results = corpora.verify(SHARED, ["canterbury", "canterbury_artificial"])
    assert len(results) == 15 and all(r.ok for r in results), corpora.format_verify_report(
        results)
    assert [p.name for p in corpora.resolve_files("canterbury", SHARED)][:2] == [
        "alice29.txt", "asyoulik.txt"]


@needs_shared
def test_verify_detects_tampered_copy(tmp_path) -> None:
    dst = tmp_path / "canterbury"
    dst.mkdir()
    for name in ("grammar.lsp", "xargs.1", "fields.c"):
        shutil.copy(SHARED / "canterbury" / name, dst / name)
    data = bytearray((dst / "xargs.1").read_bytes())
    data[100] ^= 0x01  # one flipped bit, same size
    (dst / "xargs.1").write_bytes(bytes(data))
    (dst / "fields.c").write_bytes((SHARED / "canterbury" / "fields.c").read_bytes()[:-1])

    status = {r.entry.name: r.status for r in corpora.verify(tmp_path, ["canterbury"])}
    assert status["grammar.lsp"] == "ok"
    assert status["xargs.1"] == "hash mismatch"
    assert status["fields.c"] == "size mismatch"
    assert status["alice29.txt"] == "missing"
    assert corpora.main(["--corpus-dir", str(tmp_path), "verify", "canterbury"]) == 1
    with pytest.raises(CorpusError, match="8 of 11 files missing"):
        corpora.resolve_files("canterbury", tmp_path)
    assert len(corpora.resolve_files("canterbury", tmp_path, missing_ok=True)) == 3


def test_verify_unknown_hash(tmp_path) -> None:
    man = tmp_path / "man"
    man.mkdir()
    (man / "toy.tsv").write_text("name\tsize_bytes\tsha256\turl\nf\t3\t\thttps://x/f\n")
    (tmp_path / "data" / "toy").mkdir(parents=True)
    (tmp_path / "data" / "toy" / "f").write_bytes(b"abc")
    [r] = corpora.verify(tmp_path / "data", ["toy"], manifests=man)
    assert r.status == "unknown hash" and not r.ok
    assert "unknown hash" in corpora.format_verify_report([r])


# ---------------------------------------------------------------- fetch


def _toy_sources(src: Path) -> dict[str, bytes]:
    """Build a tar.gz, a zip, a .bz2 and a plain file; return file name -> bytes."""
    files = {"a.txt": b"alpha " * 500, "b.bin": bytes(range(256)) * 9,
             "c.txt": b"gamma\n" * 300, "d.dat": b"delta"}
    src.mkdir()
    with tarfile.open(src / "set.tar.gz", "w:gz") as tf:
        for name in ("a.txt", "b.bin"):
            info = tarfile.TarInfo("./" + name)  # members carry "./" like cantrbry.tar.gz
            info.size = len(files[name])
            tf.addfile(info, io.BytesIO(files[name]))
    with zipfile.ZipFile(src / "one.zip", "w") as zf:
        zf.writestr("c.txt", files["c.txt"])
    (src / "d.dat.bz2").write_bytes(bz2.compress(files["d.dat"]))
    return files


def _toy_manifest(man: Path, src: Path, files: dict[str, bytes], *, bad: str = "") -> None:
    urls = {"a.txt": f"{src.as_uri()}/set.tar.gz#a.txt",
            "b.bin": f"{src.as_uri()}/set.tar.gz#b.bin",
            "c.txt": f"{src.as_uri()}/one.zip#c.txt",
            "d.dat": f"{src.as_uri()}/d.dat.bz2"}
    lines = ["# toy corpus", "name\tsize_bytes\tsha256\turl"]
    for name, data in files.items():
        digest = _sha(data if name != bad else data + b"!")
        lines.append(f"{name}\t{len(data)}\t{digest}\t{urls[name]}")
    man.mkdir(exist_ok=True)
    (man / "toy.tsv").write_text("\n".join(lines) + "\n")


def test_fetch_from_file_urls(tmp_path) -> None:
    files = _toy_sources(tmp_path / "src")
    _toy_manifest(tmp_path / "man", tmp_path / "src", files)
    opened: list[str] = []

    def opener(url):
        opened.append(url)
        return corpora._default_opener(5)(url)  # real urllib on file:// URLs

    dest = tmp_path / "dest"
    got = corpora.fetch("toy", dest, manifests=tmp_path / "man", opener=opener)
    assert [p.name for p in got] == list(files)
    for name, data in files.items():
        assert (dest / "toy" / name).read_bytes() == data
    assert len(opened) == 3  # the tar.gz is downloaded once for two files
    assert all(r.ok for r in corpora.verify(dest, ["toy"], manifests=tmp_path / "man"))
    assert not list((dest / "toy").glob(".lmzip-fetch-*"))  # temp dir cleaned up

    opened.clear()
    corpora.fetch("toy", dest, manifests=tmp_path / "man", opener=opener)
    assert opened == []  # already verified: nothing downloaded


def test_fetch_with_default_opener(tmp_path) -> None:
    files = _toy_sources(tmp_path / "src")
    _toy_manifest(tmp_path / "man", tmp_path / "src", files)
    corpora.fetch("toy", tmp_path / "dest", names=["d.dat"], manifests=tmp_path / "man")
    assert (tmp_path / "dest" / "toy" / "d.dat").read_bytes() == files["d.dat"]
    assert not (tmp_path / "dest" / "toy" / "a.txt").exists()


def test_fetch_rejects_hash_mismatch(tmp_path) -> None:
    files = _toy_sources(tmp_path / "src")
    _toy_manifest(tmp_path / "man", tmp_path / "src", files, bad="c.txt")
    with pytest.raises(FetchError, match="c.txt: sha256"):
        corpora.fetch("toy", tmp_path / "dest", manifests=tmp_path / "man")
    assert not (tmp_path / "dest" / "toy" / "c.txt").exists()


def test_fetch_without_network_fails_in_one_line(tmp_path) -> None:
    def offline(url):
        raise urllib.error.URLError("Temporary failure in name resolution")

    with pytest.raises(FetchError) as ei:
        corpora.fetch("canterbury", tmp_path, names=["xargs.1"], opener=offline)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith("cannot download https://corpus.canterbury.ac.nz/resources/cantrbry")
    assert "name resolution" in msg


def test_fetch_connection_refused_with_real_urllib(tmp_path) -> None:
    man = tmp_path / "man"
    man.mkdir()
    (man / "toy.tsv").write_text(
        "name\tsize_bytes\tsha256\turl\nf\t3\t\thttp://127.0.0.1:9/f\n")
    with pytest.raises(FetchError, match="cannot download http://127.0.0.1:9/f"):
        corpora.fetch("toy", tmp_path / "dest", manifests=man, timeout=5)
    assert corpora.main(["--corpus-dir", str(tmp_path / "dest"), "fetch", "nope"]) == 1
