"""Levels and the complete coding configuration that goes into every archive header.

The decoder builds its configuration from the header alone (``CodingConfig.from_params``),
never from defaults, so changing a default here can never break an old archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmzip._lanes import LaneSpec
from lmzip.formats.errors import UnsupportedVersionError
from lmzip.models.ensemble import batch_size

DEFAULT_LEVEL = 6


@dataclass(frozen=True)
class LevelSpec:
    """A level. ``chunk_size`` and ``n_ctx`` are its single-stream settings (``--lanes 1``);
    a level with lanes (``lanes`` not single) codes chunks of ``lane_chunk_size`` bytes,
    each cut into lanes, with a ``lane_n_ctx`` window per lane, unless ``--lanes 1``."""

    chunk_size: int
    n_ctx: int  # 0: no LLM at this level (fast path: stored or xz per chunk)
    ensemble: bool = True  # online models + mixer on top of the LLM
    lanes: LaneSpec = LaneSpec()  # how each chunk is cut into lanes coded in lockstep
    lane_chunk_size: int = 0
    lane_n_ctx: int = 0
    cm_level: int = 3  # the byte-level CM engine's level (models/bytecm), tried on every chunk


# Where the lanes of new archives are cut (lmzip/_lanes.py): by token count. Archives
# made before (no "cut" in their header) are cut by bytes, and decode so forever.
LANE_CUT = "tokens"

# Chunk size is fixed by the level (or --chunk-size), never by the worker count, so the
# archive is byte-identical for any -T. Bigger chunks keep more context per LLM window.
LEVELS: dict[int, LevelSpec] = {
    # Levels 1-3: the byte-level context-mixing engine (or xz, or stored: the smallest).
    1: LevelSpec(chunk_size=1 << 20, n_ctx=0, cm_level=1),
    2: LevelSpec(chunk_size=1 << 20, n_ctx=0, cm_level=2),
    3: LevelSpec(chunk_size=1 << 20, n_ctx=0, cm_level=3),
    # Levels 4-6 code lanes in lockstep (issue 8: README "Lanes"); --lanes 1 gives their
    # single-stream form. Lane groups of 512 KiB: a 1 MB input keeps two workers busy.
    # Lanes are cut by token count (issue 17), so no lane of mixed text runs a long tail.
    4: LevelSpec(chunk_size=32 << 10, n_ctx=512, ensemble=False,
                 lanes=LaneSpec(32, 16 << 10, shared=False, cut=LANE_CUT), lane_chunk_size=512 << 10,
                 lane_n_ctx=512),
    # Levels 5-6: lanes of >= 32 KiB (measured on held-out text: +2.4% against --lanes 1;
    # 16 KiB lanes +4.5%), so a 512 KiB group has 16 lanes.
    5: LevelSpec(chunk_size=64 << 10, n_ctx=1024,
                 lanes=LaneSpec(32, 32 << 10, shared=True, cut=LANE_CUT), lane_chunk_size=512 << 10,
                 lane_n_ctx=512),
    6: LevelSpec(chunk_size=128 << 10, n_ctx=2048,
                 lanes=LaneSpec(32, 32 << 10, shared=True, cut=LANE_CUT), lane_chunk_size=512 << 10,
                 lane_n_ctx=2048),
    7: LevelSpec(chunk_size=256 << 10, n_ctx=4096),
    8: LevelSpec(chunk_size=512 << 10, n_ctx=8192),
    9: LevelSpec(chunk_size=1 << 20, n_ctx=8192),
}

# v1 (llama.cpp) archives quantize float log-probabilities; exact archives quantize
# integer log2q logits with integer arithmetic only.
CODER_PARAMS = {"name": "constriction-range", "word_bits": 32, "precision": 24, "quantizer": "int-floor-v1"}
CODER_PARAMS_EXACT = {"name": "constriction-range", "word_bits": 32, "precision": 24, "quantizer": "log2q-exp2-v1"}
LLAMA_BACKEND = "llama.cpp"  # format v1: machine-dependent numerics, decode only
EXACT_BACKEND = "exact-v1"  # models/exact: identical logits on every machine
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
    backend: str = EXACT_BACKEND
    lanes: LaneSpec = LaneSpec()
    cm: dict[str, Any] | None = None  # byte-level CM engine parameters (None: not tried)

    @property
    def coder_params(self) -> dict[str, Any]:
        # Archives without the LLM never quantize: they keep the v1 coder entry (and so
        # their bytes) unchanged.
        return CODER_PARAMS_EXACT if self.uses_llm and self.backend == EXACT_BACKEND else CODER_PARAMS

    @property
    def uses_llm(self) -> bool:
        return self.n_ctx > 0

    @classmethod
    def for_level(cls, level: int, chunk_size: int | None = None, n_ctx: int | None = None,
                  lanes: int | None = None) -> "CodingConfig":
        """The configuration of ``level``; ``chunk_size``, ``n_ctx`` and ``lanes`` (exactly
        that many lanes per chunk; None or 0: the level's default) override it."""
        if level not in LEVELS:
            raise ValueError(f"level must be 1..9, got {level}")
        spec = LEVELS[level]
        if lanes is not None and lanes < 0:
            raise ValueError(f"lanes must be >= 0 (0: the level's default), got {lanes}")
        if lanes and lanes > 1 and not spec.n_ctx:
            raise ValueError(f"lanes need an LLM level (4-9), not level {level}")
        lane_spec = spec.lanes
        if lanes:
            # Exactly that many lanes per chunk, sharing the online models as the level does.
            lane_spec = LaneSpec(lanes, 0, (spec.lanes.shared or spec.lanes.single) and lanes > 1,
                                 LANE_CUT if lanes > 1 else "bytes")
        if lane_spec.single:
            default_size, default_ctx = spec.chunk_size, spec.n_ctx
        else:
            default_size = spec.lane_chunk_size or spec.chunk_size
            default_ctx = spec.lane_n_ctx or spec.n_ctx
        ctx = default_ctx if n_ctx is None else n_ctx
        if ctx and not 64 <= ctx <= 32768:
            raise ValueError(f"context window must be 64..32768 tokens, got {ctx}")
        size = default_size if chunk_size is None else chunk_size
        if not 1 <= size <= (1 << 31):
            raise ValueError(f"chunk size must be 1 byte..2 GiB, got {size}")
        # Calibration and confidence skip are built and measured (README ablation) but did
        # not earn a place in the default levels: calibration cost bits on every file
        # measured, skip only pays on highly repetitive input.
        if spec.ensemble:
            from lmzip.models.xensemble import xensemble_params

            predictor = xensemble_params()
        else:
            predictor = {"kind": "llm"}
        cm = None
        if spec.cm_level:
            from lmzip.models import bytecm

            cm = bytecm.default_params(spec.cm_level)
        return cls(level=level, chunk_size=size, n_ctx=ctx, discard=ctx // 4 if ctx else 0, predictor=predictor,
                   lanes=lane_spec, cm=cm)

    def with_model(self, model: ModelIdentity) -> "CodingConfig":
        return CodingConfig(self.level, self.chunk_size, self.n_ctx, self.keep, self.discard, model,
                            self.predictor, self.backend, self.lanes, self.cm)

    def with_lanes(self, lanes: LaneSpec) -> "CodingConfig":
        return CodingConfig(self.level, self.chunk_size, self.n_ctx, self.keep, self.discard, self.model,
                            self.predictor, self.backend, lanes, self.cm)

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "level": self.level,
            "chunk_size": self.chunk_size,
            "coder": self.coder_params,
            "xz": XZ_PARAMS,
        }
        if self.cm is not None:  # absent in older archives: no CM chunks
            params["cm"] = self.cm
        if self.uses_llm:
            assert self.model is not None, "LLM config without a model identity"
            params["model"] = self.model.to_params()
            params["tokenizer"] = {"kind": TOKENIZER_KIND, "sha256": self.model.tokenizer_sha256}
            params["backend"] = self._backend_params()
            params["predictor"] = self.predictor
            if not self.lanes.single:  # absent: one lane (the layout of older archives)
                params["lanes"] = self.lanes.to_params()
        return params

    def _backend_params(self) -> dict[str, Any]:
        assert self.model is not None
        if self.backend == EXACT_BACKEND:
            return {"name": EXACT_BACKEND, "n_ctx": self.n_ctx, "keep": self.keep, "discard": self.discard,
                    "bos": self.model.bos}
        return {
            "name": LLAMA_BACKEND,
            "n_ctx": self.n_ctx,
            "keep": self.keep,
            "discard": self.discard,
            "n_batch": batch_size(self.predictor),
            "flash_attn": False,
            "extra_bufts": False,
            "bos": self.model.bos,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "CodingConfig":
        try:
            level = int(params["level"])
            chunk_size = int(params["chunk_size"])
            backend = params.get("backend")
            name = backend.get("name") if backend is not None else None
            if name not in (None, LLAMA_BACKEND, EXACT_BACKEND):
                raise UnsupportedVersionError(f"unsupported model backend {name!r}")
            coder = CODER_PARAMS_EXACT if name == EXACT_BACKEND else CODER_PARAMS
            if params.get("coder", coder) != coder:
                raise UnsupportedVersionError(f"unsupported entropy coder {params['coder']!r}")
            cm = params.get("cm")
            if cm is not None:
                from lmzip.models import bytecm

                bytecm.check_params(cm)  # a header is data: bounded before anything is allocated
                cm = dict(cm)
            if backend is None:
                return cls(level=level, chunk_size=chunk_size, n_ctx=0, cm=cm)
            tok = params["tokenizer"]
            if tok.get("kind") != TOKENIZER_KIND:
                raise UnsupportedVersionError(f"unsupported tokenizer scheme {tok.get('kind')!r}")
            m = params["model"]
            model = ModelIdentity(m["name"], m["sha256"], int(m["n_vocab"]), tok["sha256"], int(m["bos"]))
            lanes = LaneSpec.from_params(params.get("lanes"))
            if not lanes.single and name != EXACT_BACKEND:
                raise UnsupportedVersionError("lanes need the exact model backend")
            return cls(
                level=level,
                chunk_size=chunk_size,
                n_ctx=int(backend["n_ctx"]),
                keep=int(backend["keep"]),
                discard=int(backend["discard"]),
                model=model,
                predictor=dict(params["predictor"]),
                backend=name,
                lanes=lanes,
                cm=cm,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UnsupportedVersionError(f"archive header parameters not understood: {exc!r}") from None
