"""SmolLM2 (llama architecture) weights from a GGUF, as the exact model reads them.

Matrices keep ggml's integer blocks: Q4_1 (per 32 weights: float16 scale ``d`` and
minimum ``m``, 4-bit ``q`` in 0..15, weight = d*q + m) and Q8_0 (float16 ``d``, int8
``q``, weight = d*q). Nothing is dequantized to float for a product: the exact model
multiplies the integer ``q`` by integer activations and applies the scales block by
block (see ``reference.matmul``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from lmzip.formats.errors import ModelError
from lmzip.models.exact.gguf import GGML_F32, GGML_Q4_1, GGML_Q8_0, TYPE_NAMES, GGUFFile

F32 = np.float32


@dataclass(frozen=True)
class QMatrix:
    """An [n, k] weight matrix in integer blocks (y = W x maps k inputs to n outputs)."""

    kind: str          # "q4_1" or "q8_0"
    n: int
    k: int
    raw: np.ndarray    # the GGUF block bytes, uint8 [n, k/32 * block_bytes]
    d: np.ndarray      # float32 [n, k/32]
    m: np.ndarray | None  # float32 [n, k/32] (q4_1 only)
    q: np.ndarray      # q4_1: uint8 [n, k] in 0..15; q8_0: int8 [n, k]

    @property
    def nb(self) -> int:
        return self.k // 32


def _f16(raw: np.ndarray, offset: int) -> np.ndarray:
    return raw[:, :, offset:offset + 2].copy().view("<f2")[..., 0].astype(F32)


def load_qmatrix(gguf: GGUFFile, name: str) -> QMatrix:
    info, raw = gguf.raw(name)
    if len(info.shape) != 2:
        raise ModelError(f"tensor {name!r} is not a matrix")
    k, n = (int(s) for s in info.shape)
    if k % 32:
        raise ModelError(f"tensor {name!r} rows are not a whole number of 32-blocks")
    nb = k // 32
    if info.ggml_type == GGML_Q4_1:
        blocks = raw.reshape(n, nb, 20)
        qs = blocks[:, :, 4:]
        # Element i of a block is the low nibble of byte i, element i+16 the high nibble.
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=2).reshape(n, k)
        return QMatrix("q4_1", n, k, raw.reshape(n, nb * 20), _f16(blocks, 0), _f16(blocks, 2), q)
    if info.ggml_type == GGML_Q8_0:
        blocks = raw.reshape(n, nb, 34)
        q = blocks[:, :, 2:].copy().view(np.int8).reshape(n, k)
        return QMatrix("q8_0", n, k, raw.reshape(n, nb * 34), _f16(blocks, 0), None, q)
    raise ModelError(
        f"tensor {name!r} is {TYPE_NAMES.get(info.ggml_type, info.ggml_type)}; "
        f"the exact model reads Q4_1 and Q8_0 matrices"
    )


def load_vector(gguf: GGUFFile, name: str) -> np.ndarray:
    info, raw = gguf.raw(name)
    if info.ggml_type != GGML_F32:
        raise ModelError(f"tensor {name!r} must be F32")
    return raw.view("<f4").astype(F32)


@dataclass(frozen=True)
class LayerWeights:
    attn_norm: np.ndarray
    wq: QMatrix
    wk: QMatrix
    wv: QMatrix
    wo: QMatrix
    ffn_norm: np.ndarray
    w_gate: QMatrix
    w_up: QMatrix
    w_down: QMatrix


@dataclass(frozen=True)
class ModelConfig:
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_kv_head: int
    head_dim: int
    n_vocab: int
    rope_base: float
    norm_eps: np.float32
    n_ctx_train: int


class ExactWeights:
    """Everything the exact forward pass needs, read once from a GGUF."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        g = GGUFFile(path)
        meta = g.meta
        if meta.get("general.architecture") != "llama":
            raise ModelError(f"{path}: the exact model runs llama-architecture GGUFs, not {meta.get('general.architecture')!r}")
        try:
            n_embd = int(meta["llama.embedding_length"])
            n_head = int(meta["llama.attention.head_count"])
            self.config = ModelConfig(
                n_layer=int(meta["llama.block_count"]),
                n_embd=n_embd,
                n_ff=int(meta["llama.feed_forward_length"]),
                n_head=n_head,
                n_kv_head=int(meta["llama.attention.head_count_kv"]),
                head_dim=n_embd // n_head,
                n_vocab=len(meta["tokenizer.ggml.tokens"]),
                rope_base=float(meta.get("llama.rope.freq_base", 10000.0)),
                norm_eps=F32(meta["llama.attention.layer_norm_rms_epsilon"]),
                n_ctx_train=int(meta.get("llama.context_length", 2048)),
            )
        except KeyError as exc:
            raise ModelError(f"{path}: GGUF metadata lacks {exc}") from None
        c = self.config
        if c.head_dim != 64 or c.n_head % c.n_kv_head or int(meta.get("llama.rope.dimension_count", 64)) != 64:
            raise ModelError(f"{path}: the exact model needs 64-dimensional heads with full RoPE")
        self.gguf = g
        self.token_embd = load_qmatrix(g, "token_embd.weight")
        self.output_norm = load_vector(g, "output_norm.weight")
        self.output = load_qmatrix(g, "output.weight") if "output.weight" in g.tensors else self.token_embd
        self.layers = [
            LayerWeights(
                attn_norm=load_vector(g, f"blk.{i}.attn_norm.weight"),
                wq=load_qmatrix(g, f"blk.{i}.attn_q.weight"),
                wk=load_qmatrix(g, f"blk.{i}.attn_k.weight"),
                wv=load_qmatrix(g, f"blk.{i}.attn_v.weight"),
                wo=load_qmatrix(g, f"blk.{i}.attn_output.weight"),
                ffn_norm=load_vector(g, f"blk.{i}.ffn_norm.weight"),
                w_gate=load_qmatrix(g, f"blk.{i}.ffn_gate.weight"),
                w_up=load_qmatrix(g, f"blk.{i}.ffn_up.weight"),
                w_down=load_qmatrix(g, f"blk.{i}.ffn_down.weight"),
            )
            for i in range(c.n_layer)
        ]
        if self.token_embd.n != c.n_vocab or self.output.n != c.n_vocab:
            raise ModelError(f"{path}: embedding rows do not match the vocabulary")

    def embed(self, tokens: np.ndarray) -> np.ndarray:
        """Rows of the token embedding as float32: ``d * q`` (+ ``m`` for Q4_1). [B] -> [B, n_embd]"""
        e = self.token_embd
        q = e.q[tokens].astype(F32).reshape(len(tokens), e.nb, 32)
        x = q * e.d[tokens][:, :, None]
        if e.m is not None:
            x = x + e.m[tokens][:, :, None]
        return x.reshape(len(tokens), e.k)
