"""``TorchBackend``: the exact backend's lanes on a torch device (CPU or CUDA).

A drop-in for ``backend.ExactBackend``: the same interface and the same bits.

* ``step(lanes, tokens) -> np.ndarray`` int32 log2q logits [B, V] for each lane's next
  token (``tokens[i]`` fed to lane ``lanes[i]``; distinct lanes, any subset, any order).
  A lane whose window is full slides first (keep ``window.keep``, drop ``window.drop``),
  exactly where ``ExactBackend`` slides it.
* ``step_tensor(lanes, tokens) -> torch.Tensor``: the same int32 logits left on the
  device, for callers that mix and quantize there.
* ``reset(lane)``, ``n_past(lane)``, ``slides`` (int64 numpy array, slides per lane),
  ``bos``, ``window``, ``n_lanes``, ``weights``, and ``path`` (``"torch-cpu"`` or
  ``"torch-cuda"``: the name ``-v`` reports; the archive records ``exact-v1`` either way).

Per step, only B tokens and lane numbers go to the device and the [B, V] int32 logits
come back; the weights and every lane's KV cache stay on the device.

On the CPU, torch's intra-op threads are set (process-wide) to ``n_threads``, else
``$LMZIP_KERNEL_THREADS``, else 1, as for the compiled kernel: lmzip's parallelism is
chunks in worker processes, and spinning OpenMP threads on busy cores collapse
throughput. The thread count never changes a bit (every sum is an integer sum).
``lmzip.models.exact.backend.ExactSession(TorchBackend(...))`` gives the single-stream
session the predictors use.
"""

from __future__ import annotations

import numpy as np
import torch

from lmzip.models.exact.backend import Window, kernel_threads
from lmzip.models.exact.torch_model import TorchModel, logits_to_log2q
from lmzip.models.exact.weights import ExactWeights


class TorchBackend:
    """``n_lanes`` lanes over one loaded model on one torch device."""

    def __init__(self, weights: ExactWeights, window: Window, n_lanes: int = 1,
                 device: str | torch.device = "cpu", n_threads: int | None = None) -> None:
        self.weights = weights
        self.window = window
        self.n_lanes = int(n_lanes)
        self.device = torch.device(device)
        self.path = f"torch-{self.device.type}"
        if self.device.type == "cpu":
            torch.set_num_threads(kernel_threads(n_threads))
        self.bos = int(weights.gguf.meta.get("tokenizer.ggml.bos_token_id", 1))
        self.slides = np.zeros(self.n_lanes, dtype=np.int64)
        self.model = TorchModel(weights, window.n_ctx, self.n_lanes, self.device)

    def n_past(self, lane: int) -> int:
        return self.model.n_past(lane)

    def reset(self, lane: int) -> None:
        """Empty a lane's window."""
        self.model.reset(lane)
        self.slides[int(lane)] = 0

    def _slide_full(self, lanes: np.ndarray) -> None:
        w = self.window
        for lane in lanes:
            if self.model.n_past(int(lane)) >= w.n_ctx:
                self.model.slide(int(lane), w.keep, w.drop)
                self.slides[int(lane)] += 1

    def step_tensor(self, lanes, tokens) -> torch.Tensor:
        """Feed ``tokens[i]`` to lane ``lanes[i]``; int32 log2q logits [B, V] on the device."""
        lanes = np.asarray(lanes).reshape(-1)
        tokens = np.asarray(tokens).reshape(-1)
        self._slide_full(lanes)
        return logits_to_log2q(self.model.forward(lanes, tokens))

    def step(self, lanes, tokens) -> np.ndarray:
        """Feed ``tokens[i]`` to lane ``lanes[i]``; int32 log2q logits [B, V] for each lane's next token."""
        return self.step_tensor(lanes, tokens).cpu().numpy()
