"""coder.quantize: integer-exact, deterministic frequency tables."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lmzip.coder import TOTAL, quantize_logits, quantize_probabilities

finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(2, 3000), elements=finite))
def test_probabilities_give_exact_total_and_no_zero(p):
    f = quantize_probabilities(p)
    assert f.dtype == np.int64
    assert int(f.sum()) == TOTAL
    assert int(f.min()) >= 1
    assert np.array_equal(f, quantize_probabilities(p.copy()))  # deterministic


@settings(max_examples=100, deadline=None)
@given(arrays(np.float32, st.integers(2, 3000), elements=st.floats(-80, 80, width=32)))
def test_logits_give_exact_total_and_no_zero(z):
    f = quantize_logits(z)
    assert int(f.sum()) == TOTAL and int(f.min()) >= 1


def test_quantization_tracks_probabilities():
    p = np.array([0.5, 0.25, 0.125, 0.125])
    f = quantize_probabilities(p)
    assert np.allclose(f / TOTAL, p, atol=4 / TOTAL)


def test_larger_probability_never_gets_smaller_frequency():
    rng = np.random.default_rng(0)
    p = rng.random(49152) ** 8
    f = quantize_probabilities(p)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(f[order][:-1]) >= 0)  # the argmax may also get the rounding deficit


def test_logits_and_probabilities_agree():
    z = np.random.default_rng(1).normal(size=5000) * 4
    p = np.exp(z - z.max())
    assert np.array_equal(quantize_logits(z), quantize_probabilities(p))


@pytest.mark.parametrize("bad", [[np.nan, 1.0], [-1.0, 1.0], [np.inf, 1.0], [1.0]])
def test_invalid_inputs_raise(bad):
    with pytest.raises(ValueError):
        quantize_probabilities(np.array(bad))


def test_all_zero_is_uniform():
    f = quantize_probabilities(np.zeros(4))
    assert f.tolist() == [TOTAL // 4] * 4


def test_denormal_peak_does_not_overflow():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in the float -> int cast must not happen
        f = quantize_probabilities(np.array([5e-324, 0.0, 2.5e-324]))
    assert f.sum() == TOTAL and f[0] > f[1] >= 1
