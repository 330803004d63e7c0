"""A loaded model plus the objects derived from it, cached per process.

Loading SmolLM2 takes about a second and ~100 MB; worker processes keep one runtime for
their whole life, and the in-process ``Codec`` keeps its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from lmzip._config import CodingConfig, ModelIdentity
from lmzip.formats.errors import ModelMismatchError
from lmzip.models import LLMPredictor, LlamaModel, LosslessTokenizer, WindowSpec


class Runtime:
    """Model, tokenizer and one LLM session per window size."""

    def __init__(self, model_path: str | os.PathLike[str] | None, n_threads: int) -> None:
        self.model = LlamaModel(model_path)
        self.tokenizer = LosslessTokenizer(self.model.pieces, self.model.tokenize)
        self.n_threads = max(1, n_threads)
        self._predictors: dict[tuple[int, int, int], LLMPredictor] = {}

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

    def predictor(self, config: CodingConfig) -> LLMPredictor:
        key = (config.n_ctx, config.keep, config.discard)
        if key not in self._predictors:
            window = WindowSpec(n_ctx=config.n_ctx, keep=config.keep, discard=config.discard)
            self._predictors[key] = LLMPredictor(self.model.new_session(window, self.n_threads))
        return self._predictors[key]


def model_path_or_bundled(path: str | os.PathLike[str] | None) -> Path | None:
    return Path(path) if path is not None else None
