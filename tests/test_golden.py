"""Golden archives pin format v1 and the coding numerics (like constriction's golden
bitstreams). Regenerate only on purpose: python scripts/make_golden.py."""

from pathlib import Path

import pytest

import lmzip

GOLDEN = Path(__file__).parent / "golden"
SAMPLE = (GOLDEN / "sample.bin").read_bytes()
ARCHIVES = sorted(GOLDEN.glob("*.lmz"))


def _level(path: Path) -> int:
    return int(path.stem.rsplit("-l", 1)[1])


@pytest.mark.parametrize("path", ARCHIVES, ids=[p.name for p in ARCHIVES])
def test_golden_archive_decodes(path):
    assert lmzip.decompress(path.read_bytes(), threads=1) == SAMPLE


@pytest.mark.parametrize("path", ARCHIVES, ids=[p.name for p in ARCHIVES])
def test_encoder_reproduces_golden_bytes(path):
    """Same input and level give the same bytes: header, params and every coded bit."""
    assert lmzip.Codec(level=_level(path), threads=1).compress(SAMPLE) == path.read_bytes()


def test_goldens_cover_every_method():
    methods = set()
    for path in ARCHIVES:
        with open(path, "rb") as f:
            _, index, _ = lmzip.formats.read_index(f)
        methods |= {c.method for c in index.chunks}
    assert {lmzip.formats.Method.LLM, lmzip.formats.Method.XZ} <= methods
