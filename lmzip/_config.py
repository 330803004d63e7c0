"""Levels and the complete coding configuration that goes into every archive header.

The decoder builds its configuration from the header alone (``CodingConfig.from_params``),
never from defaults, so changing a default here can never break an old archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmzip.formats.errors import UnsupportedVersionError
from lmzip.models.ensemble import batch_size, ensemble_params

DEFAULT_LEVEL = 6


@dataclass(frozen=True)
class LevelSpec:
    chunk_size: int
    n_ctx: int  # 0: no LLM at this level (fast path: stored or xz per chunk)
    ensemble: bool = True  # online models + mixer + calibration on top of the LLM


# Chunk size is fixed by the level (or --chunk-size), never by the worker count, so the
# archive is byte-identical for any -T. Bigger chunks keep more context per LLM window.
LEVELS: dict[int, LevelSpec] = {
    1: LevelSpec(chunk_size=1 << 20, n_ctx=0),
    2: LevelSpec(chunk_size=1 << 20, n_ctx=0),
    3: LevelSpec(chunk_size=1 << 20, n_ctx=0),
    4: LevelSpec(chunk_size=32 << 10, n_ctx=512, ensemble=False),
    5: LevelSpec(chunk_size=64 << 10, n_ctx=1024),
    6: LevelSpec(chunk_size=128 << 10, n_ctx=2048),
    7: LevelSpec(chunk_size=256 << 10, n_ctx=4096),
    8: LevelSpec(chunk_size=512 << 10, n_ctx=8192),
    9: LevelSpec(chunk_size=1 << 20, n_ctx=8192),
}

CODER_PARAMS = {"name": "constriction-range", "word_bits": 32, "precision": 24, "quantizer": "int-floor-v1"}
XZ_PARAMS = {"container": "raw-lzma2", "preset": 9, "extreme": True}
TOKENIZER_KIND = "model-pieces+byte-fallback+escape-v1"


@dataclass(frozen=True)
class ModelIdentity:
    name: str
    sha256: str
    n_vocab: int
    tokenizer_sha256: str
    bos: int

    def to_params(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "n_vocab": self.n_vocab, "bos": self.bos}


@dataclass(frozen=True)
class CodingConfig:
    """Everything both sides need to code chunks identically."""

    level: int
    chunk_size: int
    n_ctx: int
    keep: int = 1
    discard: int = 0
    model: ModelIdentity | None = None
    predictor: dict[str, Any] = field(default_factory=lambda: {"kind": "llm"})

    @property
    def uses_llm(self) -> bool:
        return self.n_ctx > 0

    @classmethod
    def for_level(cls, level: int, chunk_size: int | None = None, n_ctx: int | None = None) -> "CodingConfig":
        if level not in LEVELS:
            raise ValueError(f"level must be 1..9, got {level}")
        spec = LEVELS[level]
        ctx = spec.n_ctx if n_ctx is None else n_ctx
        if ctx and not 64 <= ctx <= 32768:
            raise ValueError(f"context window must be 64..32768 tokens, got {ctx}")
        size = spec.chunk_size if chunk_size is None else chunk_size
        if not 1 <= size <= (1 << 31):
            raise ValueError(f"chunk size must be 1 byte..2 GiB, got {size}")
        # Calibration and confidence skip are built and measured (README ablation) but did
        # not earn a place in the default levels: calibration cost bits on every file
        # measured, skip only pays on highly repetitive input.
        predictor = ensemble_params(calibration=None) if spec.ensemble else {"kind": "llm"}
        return cls(level=level, chunk_size=size, n_ctx=ctx, discard=ctx // 4 if ctx else 0, predictor=predictor)

    def with_model(self, model: ModelIdentity) -> "CodingConfig":
        return CodingConfig(self.level, self.chunk_size, self.n_ctx, self.keep, self.discard, model, self.predictor)

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "level": self.level,
            "chunk_size": self.chunk_size,
            "coder": CODER_PARAMS,
            "xz": XZ_PARAMS,
        }
        if self.uses_llm:
            assert self.model is not None, "LLM config without a model identity"
            params["model"] = self.model.to_params()
            params["tokenizer"] = {"kind": TOKENIZER_KIND, "sha256": self.model.tokenizer_sha256}
            params["backend"] = {
                "name": "llama.cpp",
                "n_ctx": self.n_ctx,
                "keep": self.keep,
                "discard": self.discard,
                "n_batch": batch_size(self.predictor),
                "flash_attn": False,
                "extra_bufts": False,
                "bos": self.model.bos,
            }
            params["predictor"] = self.predictor
        return params

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "CodingConfig":
        try:
            if params.get("coder", CODER_PARAMS) != CODER_PARAMS:
                raise UnsupportedVersionError(f"unsupported entropy coder {params['coder']!r}")
            level = int(params["level"])
            chunk_size = int(params["chunk_size"])
            if "backend" not in params:
                return cls(level=level, chunk_size=chunk_size, n_ctx=0)
            backend = params["backend"]
            if backend.get("name") != "llama.cpp":
                raise UnsupportedVersionError(f"unsupported model backend {backend.get('name')!r}")
            tok = params["tokenizer"]
            if tok.get("kind") != TOKENIZER_KIND:
                raise UnsupportedVersionError(f"unsupported tokenizer scheme {tok.get('kind')!r}")
            m = params["model"]
            model = ModelIdentity(m["name"], m["sha256"], int(m["n_vocab"]), tok["sha256"], int(m["bos"]))
            return cls(
                level=level,
                chunk_size=chunk_size,
                n_ctx=int(backend["n_ctx"]),
                keep=int(backend["keep"]),
                discard=int(backend["discard"]),
                model=model,
                predictor=dict(params["predictor"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UnsupportedVersionError(f"archive header parameters not understood: {exc!r}") from None
