"""A loaded model plus the objects derived from it, cached per process.

Loading takes about a second; worker processes keep one runtime for their whole life,
and the in-process ``Codec`` keeps its own. Exact archives (backend ``exact-v1``) run on
``models/exact``; version-1 archives (backend ``llama.cpp``) still decode through
llama.cpp where this machine reproduces the logits that made them.
"""

from __future__ import annotations

import json
import os

import numpy as np

from lmzip._config import EXACT_BACKEND, LLAMA_BACKEND, CodingConfig, ModelIdentity
from lmzip.formats.errors import ModelMismatchError, UnsupportedVersionError
from lmzip.models import LLMPredictor, LlamaModel, LosslessTokenizer, WindowSpec
from lmzip.models.ensemble import ENSEMBLE_KIND, EnsemblePredictor, batch_size
from lmzip.models.exact.backend import ExactBackend, ExactSession, Window, fixed_kernel_threads
from lmzip.models.exact.weights import ExactWeights
from lmzip.models.lanes import LLMOnly


class Runtime:
    """Model, tokenizer and one LLM session per window size.

    ``n_threads`` is llama.cpp's (keep it 1: it spin-waits). The exact kernel keeps a pool
    of ``kernel_threads`` threads and, before each step, uses ``share()`` of them (all of
    them without ``share``); ``$LMZIP_KERNEL_THREADS`` fixes the count instead. None of
    these changes a bit of the output.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None, n_threads: int, device: str = "cpu",
                 kernel_threads: int = 1, share=None) -> None:
        # llama.cpp supplies the tokenizer (and v1 decoding); the exact core the logits.
        self.model = LlamaModel(model_path)
        self.tokenizer = LosslessTokenizer(self.model.pieces, self.model.tokenize)
        self.n_threads = max(1, n_threads)
        fixed = fixed_kernel_threads()
        self.kernel_threads = fixed if fixed is not None else max(1, kernel_threads)
        self.kernel_share = None if fixed is not None else share
        # Where the exact model runs: the compiled kernel ("cpu") or torch (CPU/CUDA).
        # Every device computes the same bits, so only speed depends on it.
        from lmzip._devices import parse_devices

        (self.device,) = parse_devices(device)
        self._weights: ExactWeights | None = None
        self._piece_bytes = None
        self._sessions: dict[tuple, object] = {}
        self._predictors: dict[str, object] = {}

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(
            name=self.model.name,
            sha256=self.model.sha256,
            n_vocab=self.model.n_vocab,
            tokenizer_sha256=self.tokenizer.identity,
            bos=self.model.bos,
        )

    @property
    def piece_bytes(self) -> "np.ndarray":
        """Bytes each token spells (int64 [V]; an escape 0, its substitute 1): for progress."""
        if self._piece_bytes is None:
            self._piece_bytes = np.array([len(p) for p in self.tokenizer.pieces], dtype=np.int64)
        return self._piece_bytes

    @property
    def weights(self) -> ExactWeights:
        if self._weights is None:
            self._weights = ExactWeights(self.model.path)
        return self._weights

    @property
    def kernel_path(self) -> str | None:
        """The exact kernel path the sessions of this runtime use (None before any)."""
        for session in self._sessions.values():
            if isinstance(session, ExactSession):
                return session.backend.path
            if hasattr(session, "path") and hasattr(session, "step"):  # an exact or torch backend
                return session.path
        return None

    def check(self, config: CodingConfig) -> None:
        """Refuse to code with a model other than the one the archive names."""
        need = config.model
        if need is None:
            return
        have = self.identity
        if need.sha256 != have.sha256:
            raise ModelMismatchError(need.name, need.sha256, have.sha256)
        if need != have:  # same file, different derived identity: a tokenizer/build change
            raise ModelMismatchError(need.name, need.sha256, have.sha256)

    def _session(self, config: CodingConfig):
        key = (config.backend, config.n_ctx, config.keep, config.discard, batch_size(config.predictor))
        if key not in self._sessions:
            if config.backend == EXACT_BACKEND:
                window = Window(config.n_ctx, config.keep, config.discard)
                backend = ExactBackend(self.weights, window, n_lanes=1, n_threads=self.kernel_threads,
                                       threads=self.kernel_share)
                self._sessions[key] = ExactSession(backend)
            elif config.backend == LLAMA_BACKEND:
                spec = WindowSpec(n_ctx=config.n_ctx, keep=config.keep, discard=config.discard)
                self._sessions[key] = self.model.new_session(spec, self.n_threads, key[4])
            else:  # pragma: no cover - from_params rejects unknown backends
                raise UnsupportedVersionError(f"unsupported model backend {config.backend!r}")
        return self._sessions[key]

    def lane_coder(self, config: CodingConfig):
        """``(backend, lane model)`` for coding the lanes of ``config``'s exact chunks."""
        if config.backend != EXACT_BACKEND:
            raise UnsupportedVersionError(f"lane coding needs the exact backend, not {config.backend!r}")
        n_lanes = config.lanes.max_lanes
        key = ("lanes", config.n_ctx, config.keep, config.discard, n_lanes)
        if key not in self._sessions:
            window = Window(config.n_ctx, config.keep, config.discard)
            if self.device.backend == "torch":
                from lmzip.models.exact.torch_backend import TorchBackend

                self._sessions[key] = TorchBackend(self.weights, window, n_lanes, device=self.device.torch_device)
            else:
                self._sessions[key] = ExactBackend(self.weights, window, n_lanes=n_lanes,
                                                   n_threads=self.kernel_threads, threads=self.kernel_share)
        backend = self._sessions[key]
        mkey = json.dumps(["lanes", config.predictor, config.lanes.to_params()], sort_keys=True)
        if mkey not in self._predictors:
            self._predictors[mkey] = self._lane_model(config)
        return backend, self._predictors[mkey]

    def _lane_model(self, config: CodingConfig):
        kind = config.predictor.get("kind")
        if kind == "llm":
            return LLMOnly()
        if kind == "ensemble-x1":
            from lmzip.models.xlanes import LaneEnsemble

            try:
                return LaneEnsemble(config.predictor, self.model.n_vocab, config.lanes.max_lanes,
                                    config.lanes.shared)
            except (KeyError, TypeError, ValueError) as exc:
                raise UnsupportedVersionError(f"ensemble parameters not understood: {exc}") from None
        raise UnsupportedVersionError(f"unsupported predictor kind {kind!r} for backend {config.backend!r}")

    def predictor(self, config: CodingConfig):
        """The predictor the header describes: the LLM alone, or an ensemble."""
        key = json.dumps([config.backend, config.n_ctx, config.keep, config.discard, config.predictor],
                         sort_keys=True)
        if key not in self._predictors:
            session = self._session(config)
            kind = config.predictor.get("kind")
            exact = config.backend == EXACT_BACKEND
            if kind == "llm":
                self._predictors[key] = LLMPredictor(session)
            elif kind == ENSEMBLE_KIND and not exact:
                self._predictors[key] = EnsemblePredictor(session, self.model.n_vocab, config.predictor)
            elif kind == "ensemble-x1" and exact:
                from lmzip.models.xensemble import XEnsemblePredictor

                self._predictors[key] = XEnsemblePredictor(session, self.model.n_vocab, config.predictor)
            else:
                raise UnsupportedVersionError(f"unsupported predictor kind {kind!r} for backend {config.backend!r}")
        return self._predictors[key]
