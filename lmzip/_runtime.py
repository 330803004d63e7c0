"""A loaded model plus the objects derived from it, cached per process.

Loading SmolLM2 takes about a second and ~100 MB; worker processes keep one runtime for
their whole life, and the in-process ``Codec`` keeps its own.
"""

from __future__ import annotations

import os

from lmzip._config import CodingConfig, ModelIdentity
from lmzip.formats.errors import ModelMismatchError
import json

from lmzip.models import LLMPredictor, LlamaModel, LosslessTokenizer, WindowSpec
from lmzip.models.ensemble import ENSEMBLE_KIND, EnsemblePredictor, batch_size
from lmzip.formats.errors import UnsupportedVersionError


class Runtime:
    """Model, tokenizer and one LLM session per window size."""

    def __init__(self, model_path: str | os.PathLike[str] | None, n_threads: int) -> None:
        self.model = LlamaModel(model_path)
        self.tokenizer = LosslessTokenizer(self.model.pieces, self.model.tokenize)
        self.n_threads = max(1, n_threads)
        self._sessions: dict[tuple[int, int, int, int], object] = {}
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

    def predictor(self, config: CodingConfig):
        """The predictor the header describes: the LLM alone, or the ensemble."""
        window = (config.n_ctx, config.keep, config.discard, batch_size(config.predictor))
        key = json.dumps([window, config.predictor], sort_keys=True)
        if key not in self._predictors:
            if window not in self._sessions:
                spec = WindowSpec(n_ctx=config.n_ctx, keep=config.keep, discard=config.discard)
                self._sessions[window] = self.model.new_session(spec, self.n_threads, window[3])
            session = self._sessions[window]
            kind = config.predictor.get("kind")
            if kind == "llm":
                self._predictors[key] = LLMPredictor(session)
            elif kind == ENSEMBLE_KIND:
                self._predictors[key] = EnsemblePredictor(session, self.model.n_vocab, config.predictor)
            else:
                raise UnsupportedVersionError(f"unsupported predictor kind {kind!r}")
        return self._predictors[key]
