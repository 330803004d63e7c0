"""``--device`` / ``device=``: where the exact model runs.

Grammar (case-insensitive, comma-separated, spaces ignored)::

    cpu                     the compiled kernel on this CPU (the default)
    torch-cpu | torch:cpu   the torch path on the CPU (same bits; mainly for tests)
    torch-cpu:N             a numbered torch CPU "device" (torch-cpu:0,torch-cpu:1 spreads
                            lane groups over two CPU devices, to test the spreading)
    cuda                    every visible CUDA GPU (cuda:0 ... cuda:K-1)
    cuda:N[,cuda:M...]      the named GPUs ("torch-cuda:N" and "torch:cuda:N" also work)

Every device computes the same bits (exact-v1), so the archive never depends on the
choice; only speed does. ``parse_devices`` is pure apart from asking torch how many GPUs
are visible, and only when a CUDA device is named (pass ``cuda_count`` to skip that).
Errors are one-line ``DeviceError`` messages (the CLI prints them and exits 1):

    device cuda:3 is not available (2 CUDA devices visible)
    --device cuda needs PyTorch, which is not installed: pip install 'lmzip[gpu]'
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from lmzip.formats.errors import LmzipError

#: The extra that installs torch (pyproject.toml: ``gpu = ["torch==..."]``).
GPU_EXTRA = "pip install 'lmzip[gpu]'"
DEFAULT = "cpu"
_ITEM = re.compile(r"^(?:(?P<torch>torch)[-:])?(?P<kind>cpu|cuda)(?::(?P<index>\d+))?$")
_GRAMMAR = "cpu, torch-cpu, cuda or cuda:N[,cuda:M...]"


class DeviceError(LmzipError):
    """A ``--device`` that is malformed, not on this machine, or lacks torch (one line)."""


class TorchMissingError(DeviceError):
    """A device that needs torch was asked for and torch is not installed."""

    def __init__(self, spec: str) -> None:
        super().__init__(f"--device {spec} needs PyTorch, which is not installed: {GPU_EXTRA}")


@dataclass(frozen=True)
class Device:
    """One place that computes the exact model.

    ``backend``: ``"kernel"`` (the compiled C kernel, ``ExactBackend``) or ``"torch"``
    (``TorchBackend``); ``torch_device``: ``"cpu"`` or ``"cuda:N"`` for torch; ``index``:
    N of ``torch-cpu:N`` (several torch CPU devices share the one CPU).
    """

    backend: str
    torch_device: str | None = None
    index: int = 0

    @property
    def name(self) -> str:
        """The canonical ``--device`` spelling: ``cpu``, ``torch-cpu``, ``torch-cpu:1``, ``cuda:0``."""
        if self.backend == "kernel":
            return "cpu"
        if self.torch_device == "cpu":
            return "torch-cpu" if self.index == 0 else f"torch-cpu:{self.index}"
        return str(self.torch_device)

    @property
    def is_cuda(self) -> bool:
        return self.backend == "torch" and str(self.torch_device).startswith("cuda")

    @property
    def path(self) -> str:
        """What ``-v`` names: ``kernel``, ``torch-cpu`` or ``torch-cuda`` (``TorchBackend.path``)."""
        return "kernel" if self.backend == "kernel" else f"torch-{'cuda' if self.is_cuda else 'cpu'}"

    def torch(self):
        """This device as a ``torch.device`` (torch devices only)."""
        if self.backend != "torch":
            raise ValueError(f"device {self.name} is the compiled kernel, not a torch device")
        import torch

        return torch.device(self.torch_device)

    def __str__(self) -> str:
        return self.name


KERNEL = Device("kernel")


def torch_available() -> bool:
    """Is torch importable (without importing it)?"""
    return importlib.util.find_spec("torch") is not None


def cuda_device_count(spec: str = "cuda") -> int:
    """Visible CUDA GPUs; ``TorchMissingError`` (naming ``spec``) without torch."""
    if not torch_available():
        raise TorchMissingError(spec)
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _visible(count: int) -> str:
    if count == 0:
        return "no CUDA device visible"
    return f"{count} CUDA device{'s' if count != 1 else ''} visible"


def _no_cuda_reason(count: int) -> str:
    """Why a CUDA device is missing, in parentheses' words."""
    if count == 0 and torch_available():
        try:
            import torch

            if torch.version.cuda is None:
                return f"no CUDA device visible; PyTorch {torch.__version__} is built without CUDA"
        except Exception:  # noqa: BLE001 - only the wording depends on it
            pass
    return _visible(count)


def _items(spec: str | Sequence[str] | None) -> tuple[str, list[str]]:
    if spec is None:
        return DEFAULT, [DEFAULT]
    if isinstance(spec, str):
        text = spec
        parts = spec.split(",")
    else:
        parts = [str(s) for s in spec]
        text = ",".join(parts)
    items = [re.sub(r"\s+", "", p).lower() for p in parts]
    if not items or any(not p for p in items):
        raise DeviceError(f"bad --device {text.strip()!r}: an empty device name (use {_GRAMMAR})")
    return text.strip(), items


def parse_devices(spec: str | Sequence[str] | None, *, cuda_count: int | None = None) -> tuple[Device, ...]:
    """Parse a ``--device`` value into devices, in the order named.

    ``spec``: a string such as ``"cuda:0,cuda:2"``, a sequence of names, or None (the
    default, ``cpu``). ``cuda_count``: visible CUDA GPUs (None: ask torch, only if a CUDA
    device is named). Raises ``DeviceError`` (one line) for a malformed name, a device
    named twice, ``cpu`` with other devices, CPU and CUDA devices mixed, a CUDA device
    that is not visible; ``TorchMissingError`` when torch is needed and not installed.
    """
    text, items = _items(spec)
    devices: list[Device] = []
    for item in items:
        m = _ITEM.match(item)
        if m is None:
            raise DeviceError(f"unknown device {item!r} in --device {text} (use {_GRAMMAR})")
        kind, index = m["kind"], m["index"]
        if kind == "cpu" and not m["torch"]:
            if index is not None:
                raise DeviceError(f"unknown device {item!r} (the compiled kernel is just 'cpu'; "
                                  f"torch-cpu:N numbers torch CPU devices)")
            devices.append(KERNEL)
        elif kind == "cpu":
            devices.append(Device("torch", "cpu", int(index or 0)))
        else:
            if cuda_count is None:
                cuda_count = cuda_device_count(text)
            if index is None:  # every visible GPU
                if cuda_count == 0:
                    raise DeviceError(f"device cuda is not available ({_no_cuda_reason(0)})")
                devices.extend(Device("torch", f"cuda:{i}") for i in range(cuda_count))
            else:
                if int(index) >= cuda_count:
                    raise DeviceError(f"device cuda:{int(index)} is not available ({_no_cuda_reason(cuda_count)})")
                devices.append(Device("torch", f"cuda:{int(index)}"))
    names = [d.name for d in devices]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DeviceError(f"device {twice[0]} is named twice in --device {text}")
    if KERNEL in devices and len(devices) > 1:
        raise DeviceError(f"--device {text}: 'cpu' (the compiled kernel) cannot be combined with other devices")
    if len({d.is_cuda for d in devices}) > 1:
        raise DeviceError(f"--device {text} mixes CPU and CUDA devices; name one kind")
    if any(d.backend == "torch" for d in devices) and not torch_available():
        raise TorchMissingError(text)
    return tuple(devices)


def describe(devices: Iterable[Device]) -> str:
    """The devices as one ``--device`` string (``"cuda:0,cuda:2"``)."""
    return ",".join(d.name for d in devices)


def lane_groups(n_lanes: int, n_devices: int) -> list[range]:
    """Split lanes 0..n_lanes-1 into ``n_devices`` contiguous groups, sizes differing by at
    most one, earlier groups larger. The split decides only where lanes run, never a bit."""
    if n_lanes < 0 or n_devices < 1:
        raise ValueError(f"bad split: {n_lanes} lanes over {n_devices} devices")
    base, extra = divmod(n_lanes, n_devices)
    groups, start = [], 0
    for i in range(n_devices):
        size = base + (i < extra)
        groups.append(range(start, start + size))
        start += size
    return groups
