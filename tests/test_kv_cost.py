"""scripts/kv_cost.py's pure parts (no model run)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def kc():
    spec = importlib.util.spec_from_file_location("kv_cost", ROOT / "scripts" / "kv_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variants(kc):
    assert kc.parse_variant("2048") == ("kernel", 2048, 512)
    assert kc.parse_variant("1024/128") == ("kernel", 1024, 128)
    assert kc.parse_variant("k8:512") == ("k8", 512, 128)
    assert kc.parse_variant("t:64/16") == ("torch", 64, 16)
    assert kc.variant_name("k8", 2048, 512) == "k8:2048/512"
    with pytest.raises(argparse.ArgumentTypeError):
        kc.parse_variant("x:2048")


def test_int8_keys_is_scoped(kc):
    pytest.importorskip("torch")
    from lmzip.models.exact import arith, torch_model

    with kc.int8_keys():
        assert torch_model.arith.K_MAX == np.float32(127.0)
        assert torch_model.arith.V_MAX == arith.V_MAX and torch_model.arith.exp2 is arith.exp2
    assert torch_model.arith is arith and arith.K_MAX == np.float32(32767.0)
