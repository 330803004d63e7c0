"""Golden archives pin the container format and the coding numerics (like constriction's
golden bitstreams). ``golden/MANIFEST.tsv`` describes each one; never regenerate or edit
an archive: add a new one and its manifest line instead.

Kinds (the manifest's ``kind`` column):

- ``v1-xz``: format v1 without a model. Decodes byte-exactly; the encoder still codes
  its chunks identically.
- ``v1-llama``: format v1 whose LLM chunks were coded from llama.cpp's logits, which
  differ between CPUs (AVX2 vs AVX-512 kernels). It decodes to its input, or, on a CPU
  unlike the one that made it, fails with ``MachineDependentError``; nothing else (not
  a plain ``CorruptChunkError``, not a traceback). The encoder no longer makes it.
- ``exact``: numerics that are the same on every machine. Decodes byte-exactly and the
  encoder codes it again bit for bit.
- ``bytes``: format 2 without a model: chunks coded by the byte-level engines
  (``models/bytecm``, levels 1-3), xz or stored; integer-only, so the same everywhere.
  Decodes byte-exactly and the encoder codes it again bit for bit.

The encoder writes container format 2, so "again" means: re-encoded with the golden's
own parameters, the archive has the same parameters and, chunk by chunk, the same
method and the same payload bytes (every coded bit); only the container around them
differs. The golden's container bytes are pinned by decoding it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

import lmzip
from lmzip.formats import FORMAT_MAJOR, Chunk, Method, iter_chunks, read_header, read_index

GOLDEN = Path(__file__).parent / "golden"
MANIFEST = GOLDEN / "MANIFEST.tsv"
COLUMNS = ["archive", "input", "kind", "level", "cpu"]
KINDS = {"v1-xz", "v1-llama", "exact", "bytes"}
REENCODED_KINDS = {"v1-xz", "exact", "bytes"}  # the current encoder must reproduce these coded bits
LLM_KINDS = {"v1-llama", "exact"}  # kinds whose archives may hold LLM chunks


@dataclass(frozen=True)
class Golden:
    """One manifest row."""

    archive: Path
    input: Path
    kind: str
    level: int
    cpu: str  # CPU features of the machine that made it (informational)

    @property
    def name(self) -> str:
        return self.archive.name


def read_manifest(path: Path = MANIFEST) -> list[Golden]:
    """The manifest's rows; ``#`` lines are comments, the first other line names the columns."""
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    header, *body = rows
    assert header == COLUMNS, f"{path.name}: expected columns {COLUMNS}, got {header}"
    goldens = []
    for row in body:
        assert len(row) == len(COLUMNS), f"{path.name}: bad row {row}"
        archive, source, kind, level, cpu = row
        goldens.append(Golden(GOLDEN / archive, GOLDEN / source, kind, int(level), cpu))
    return goldens


GOLDENS = read_manifest()
REENCODED = [g for g in GOLDENS if g.kind in REENCODED_KINDS]


def _ids(goldens: list[Golden]) -> list[str]:
    return [g.name for g in goldens]


def _methods(golden: Golden) -> set[Method]:
    with open(golden.archive, "rb") as f:
        _, index, _ = read_index(f)
    return {c.method for c in index.chunks}


def test_manifest_describes_every_archive():
    assert sorted(_ids(GOLDENS)) == sorted(p.name for p in GOLDEN.glob("*.lmz"))
    for g in GOLDENS:
        assert g.kind in KINDS, f"{g.name}: unknown kind {g.kind!r}"
        assert g.input.is_file(), f"{g.name}: no input file {g.input.name}"
        assert g.cpu, f"{g.name}: the maker's CPU features are missing"


@pytest.mark.parametrize("golden", GOLDENS, ids=_ids(GOLDENS))
def test_golden_header_matches_manifest(golden):
    """The kind and level in the manifest are what the archive's header says."""
    with open(golden.archive, "rb") as f:
        params, _ = read_header(f)
    assert params["level"] == golden.level
    backend = params.get("backend", {}).get("name")
    if golden.kind == "v1-xz":
        assert "model" not in params and backend is None
        assert Method.LLM not in _methods(golden)
    elif golden.kind == "bytes":
        assert "model" not in params and backend is None and "cm" in params
        assert Method.LLM not in _methods(golden)
    elif golden.kind == "v1-llama":
        assert backend == "llama.cpp"
    else:
        assert backend is not None and backend != "llama.cpp"


@pytest.mark.parametrize("golden", GOLDENS, ids=_ids(GOLDENS))
def test_golden_archive_decodes(golden):
    blob = golden.archive.read_bytes()
    expected = golden.input.read_bytes()
    if golden.kind != "v1-llama":
        assert lmzip.decompress(blob, threads=1) == expected
        return
    try:
        out = lmzip.decompress(blob, threads=1)
    except lmzip.MachineDependentError as exc:
        # The honest failure on a CPU whose llama.cpp rounds differently from the maker's
        # (golden.cpu). Any other exception fails the test.
        assert str(exc).startswith(f"chunk {exc.index}: made with machine-dependent numerics")
        assert "\n" not in str(exc)
        return
    assert out == expected


def _coded(blob: bytes) -> tuple[dict, list[tuple[Method, int, bytes]]]:
    """An archive's parameters and its chunks as (method, raw_size, payload)."""
    stream = io.BytesIO(blob)
    params, size = read_header(stream)
    chunks = [(c.info.method, c.info.raw_size, c.payload) for c in iter_chunks(stream, size) if isinstance(c, Chunk)]
    return params, chunks


@pytest.mark.parametrize("golden", REENCODED, ids=_ids(REENCODED))
def test_encoder_reproduces_golden_bytes(golden):
    """The golden's input, encoded with the golden's parameters, gives the same
    parameters and, chunk by chunk, the same method and payload: every coded bit."""
    params, chunks = _coded(golden.archive.read_bytes())
    with lmzip.Codec.for_params(params, threads=1) as codec:
        again = codec.compress(golden.input.read_bytes())
    assert again[4] == FORMAT_MAJOR  # written as today's format, from the golden's parameters
    again_params, again_chunks = _coded(again)
    assert again_params == params
    assert [c[:2] for c in again_chunks] == [c[:2] for c in chunks]
    for i, ((_, _, payload), (_, _, expected)) in enumerate(zip(again_chunks, chunks)):
        assert payload == expected, f"chunk {i}: payload differs"


def test_exact_goldens_come_from_several_machines():
    """Invariant 6 (exact on every machine) is pinned by exact archives made on more than
    one kind of CPU (the AVX2 and the AVX-512 kernel paths), each decoded and re-encoded
    here, whatever this machine is."""
    cpus = {g.cpu for g in GOLDENS if g.kind == "exact"}
    assert {"avx2", "avx512"} <= cpus, cpus
    for cpu in cpus:
        assert any(Method.LLM in _methods(g) for g in GOLDENS if g.kind == "exact" and g.cpu == cpu), cpu


def test_goldens_cover_every_method():
    methods = set().union(*(_methods(g) for g in GOLDENS))
    assert {Method.LLM, Method.XZ, Method.CM} <= methods
    # Each LLM backend that has goldens must have one that really uses the LLM.
    for kind in LLM_KINDS & {g.kind for g in GOLDENS}:
        assert any(Method.LLM in _methods(g) for g in GOLDENS if g.kind == kind), kind
