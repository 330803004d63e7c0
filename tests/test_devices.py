"""``--device`` parsing (lmzip/_devices.py): names, expansion, one-line refusals."""

from __future__ import annotations

import pytest

from lmzip import _devices as dv
from lmzip._devices import Device, DeviceError, TorchMissingError, describe, lane_groups, parse_devices
from lmzip.formats.errors import LmzipError


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


@pytest.fixture
def with_torch(monkeypatch):
    """Parse as if torch were installed (the parser only asks find_spec)."""
    monkeypatch.setattr(dv, "torch_available", lambda: True)


@pytest.fixture
def without_torch(monkeypatch):
    monkeypatch.setattr(dv, "torch_available", lambda: False)


def test_default_is_the_compiled_kernel():
    assert parse_devices(None) == (dv.KERNEL,)
    assert parse_devices("cpu") == parse_devices(" CPU ") == (Device("kernel"),)
    d = dv.KERNEL
    assert d.name == "cpu" and d.path == "kernel" and not d.is_cuda
    with pytest.raises(ValueError):
        d.torch()


@pytest.mark.parametrize("spec", ["torch-cpu", "torch:cpu", "TORCH-CPU", " torch-cpu ", "torch-cpu:0"])
def test_torch_cpu(spec, with_torch):
    (d,) = parse_devices(spec)
    assert d == Device("torch", "cpu", 0)
    assert d.name == "torch-cpu" and d.path == "torch-cpu" and not d.is_cuda


def test_numbered_torch_cpu_devices(with_torch):
    devs = parse_devices("torch-cpu:0,torch-cpu:1")
    assert [d.name for d in devs] == ["torch-cpu", "torch-cpu:1"]
    assert all(d.torch_device == "cpu" for d in devs)


def test_cuda_expands_to_every_visible_gpu(with_torch):
    devs = parse_devices("cuda", cuda_count=3)
    assert [d.name for d in devs] == ["cuda:0", "cuda:1", "cuda:2"]
    assert all(d.is_cuda and d.path == "torch-cuda" for d in devs)
    assert describe(devs) == "cuda:0,cuda:1,cuda:2"


@pytest.mark.parametrize("spec,names", [
    ("cuda:0,cuda:2", ["cuda:0", "cuda:2"]),
    ("cuda:2, cuda:0", ["cuda:2", "cuda:0"]),  # the order named
    ("torch-cuda:1", ["cuda:1"]),
    ("torch:cuda:1", ["cuda:1"]),
    (["cuda:0", "cuda:1"], ["cuda:0", "cuda:1"]),  # the API's list form
])
def test_named_gpus(spec, names, with_torch):
    assert [d.name for d in parse_devices(spec, cuda_count=3)] == names


@pytest.mark.parametrize("spec,count,message", [
    ("cuda:3", 2, "device cuda:3 is not available (2 CUDA devices visible)"),
    ("cuda:0,cuda:1", 1, "device cuda:1 is not available (1 CUDA device visible)"),
    ("cuda:0", 0, "device cuda:0 is not available ("),
    ("cuda", 0, "device cuda is not available ("),
])
def test_missing_gpu_is_a_one_line_error(spec, count, message, with_torch):
    with pytest.raises(DeviceError) as err:
        parse_devices(spec, cuda_count=count)
    assert isinstance(err.value, LmzipError)
    assert one_line(err.value).startswith(message)


@pytest.mark.parametrize("spec,fragment", [
    ("gpu", "unknown device 'gpu'"),
    ("cuda:x", "unknown device 'cuda:x'"),
    ("cuda:-1", "unknown device 'cuda:-1'"),
    ("cpu:1", "unknown device 'cpu:1'"),
    ("", "empty device name"),
    ("cuda:0,", "empty device name"),
    ("cuda:0,cuda:0", "device cuda:0 is named twice"),
    ("cuda,cuda:1", "device cuda:1 is named twice"),
    ("torch-cpu,torch-cpu:0", "device torch-cpu is named twice"),
    ("cpu,cuda:0", "cannot be combined"),
    ("cpu,torch-cpu", "cannot be combined"),
    ("torch-cpu,cuda:0", "mixes CPU and CUDA devices"),
])
def test_bad_specs_are_one_line_errors(spec, fragment, with_torch):
    with pytest.raises(DeviceError) as err:
        parse_devices(spec, cuda_count=2)
    assert fragment in one_line(err.value)


@pytest.mark.parametrize("spec", ["torch-cpu", "cuda", "cuda:0", "cuda:0,cuda:1"])
def test_torch_missing_names_the_extra(spec, without_torch):
    with pytest.raises(TorchMissingError) as err:
        parse_devices(spec)  # no cuda_count: it would have to ask torch
    text = one_line(err.value)
    assert f"--device {spec} needs PyTorch" in text and "pip install 'lmzip[gpu]'" in text
    assert isinstance(err.value, DeviceError) and isinstance(err.value, LmzipError)


def test_kernel_needs_no_torch(without_torch):
    assert parse_devices("cpu") == (dv.KERNEL,)


def test_cuda_on_this_machine():
    """Asking the real torch: every visible GPU, or a one-line refusal (a CPU-only torch
    build says so)."""
    torch = pytest.importorskip("torch", reason="needs PyTorch to count GPUs")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert dv.cuda_device_count() == count
    if count:
        assert len(parse_devices("cuda")) == count
        assert parse_devices("cuda:0")[0].torch() == torch.device("cuda:0")
    else:
        with pytest.raises(DeviceError) as err:
            parse_devices("cuda")
        text = one_line(err.value)
        assert text.startswith("device cuda is not available (no CUDA device visible")
        if torch.version.cuda is None:
            assert "built without CUDA" in text
    with pytest.raises(DeviceError, match=f"device cuda:{count} is not available"):
        parse_devices(f"cuda:{count}")
    assert parse_devices("torch-cpu")[0].torch() == torch.device("cpu")


@pytest.mark.parametrize("n,k,sizes", [(8, 2, [4, 4]), (7, 3, [3, 2, 2]), (2, 4, [1, 1, 0, 0]), (0, 1, [0])])
def test_lane_groups(n, k, sizes):
    groups = lane_groups(n, k)
    assert [len(g) for g in groups] == sizes
    assert [i for g in groups for i in g] == list(range(n))  # contiguous, in order, all lanes
    with pytest.raises(ValueError):
        lane_groups(4, 0)
