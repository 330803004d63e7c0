"""Levels 1-3: the byte-level engines chosen per chunk (lmzip/_chunks.py): the LZ engine
at level 1, the context-mixing engine at levels 2-3 (and at level 1 in older archives)."""

from __future__ import annotations

import io
import lzma
import os

import pytest

import lmzip
from lmzip._config import CodingConfig
from lmzip.formats import container as fmt
from lmzip.formats.errors import UnsupportedVersionError

TEXT = b"".join(b"%d: the engine predicts each bit from its contexts and mixes them\n" % i for i in range(300))


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("data", [b"", b"x", bytes(range(256)) * 4, b"\0" * 5000, os.urandom(3000), TEXT])
def test_levels_1_to_3_round_trip(level, data):
    blob = lmzip.compress(data, level=level, threads=1)
    assert lmzip.decompress(blob) == data


@pytest.mark.parametrize("level", [1, 3])
def test_text_chunks_are_coded_by_the_engine(level):
    blob = lmzip.compress(TEXT, level=level, threads=1)
    params, index, _ = fmt.read_index(io.BytesIO(blob))
    assert params["cm"]["kind"] == ("bytecm-lz1" if level == 1 else "bytecm-v1")
    assert [c.method for c in index.chunks] == [fmt.Method.CM]
    assert len(blob) < len(lzma.compress(TEXT, preset=9 | lzma.PRESET_EXTREME))  # beats xz -9e, container included


def test_random_data_is_stored():
    data = os.urandom(5000)
    blob = lmzip.compress(data, level=3, threads=1)
    _, index, _ = fmt.read_index(io.BytesIO(blob))
    assert [c.method for c in index.chunks] == [fmt.Method.STORED]


def test_legacy_level1_archives_decode():
    """Archives whose level 1 used the CM engine (kind bytecm-v1) keep decoding."""
    from lmzip.models import bytecm

    config = CodingConfig.for_level(1)
    legacy = CodingConfig(level=1, chunk_size=config.chunk_size, n_ctx=0, cm=bytecm.legacy_params(1))
    for data in (TEXT, bytes(range(256)) * 8 + TEXT[:3000]):
        payload = bytecm.compress(data, legacy.cm)
        params = legacy.to_params()
        assert params["cm"]["kind"] == "bytecm-v1"
        back = CodingConfig.from_params(params)
        assert bytecm.decompress(payload, len(data), back.cm) == data


def test_hostile_engine_params_are_refused():
    params = CodingConfig.for_level(3).to_params()
    params["cm"] = dict(params["cm"], hash_log=40)  # tables beyond any level's maximum
    with pytest.raises(UnsupportedVersionError):
        CodingConfig.from_params(params)
    params = CodingConfig.for_level(1).to_params()
    assert params["cm"]["kind"] == "bytecm-lz1"
    for bad in (dict(params["cm"], hash_log=23), dict(params["cm"], lc=8, lp=5), dict(params["cm"], kind="bytecm-lz9")):
        with pytest.raises(UnsupportedVersionError):
            CodingConfig.from_params(dict(params, cm=bad))
