"""The exact SmolLM2 forward pass: the readable definition ("exact-v1").

B lanes advance one token each per call; every lane has its own position and KV cache.
All arithmetic follows ``arith.py``: integer dot products and sums, element-wise float32,
no library transcendental. The compiled kernel (``_kernel.c``) must give the same bits;
tests hold the two together. Shapes: B lanes, D = 576 model width, H = 9 query heads,
G = 3 key/value heads, hd = 64 head width, F = 1536 feed-forward width, V = 49152 vocab,
T = n_ctx cache slots.
"""

from __future__ import annotations

import numpy as np

from lmzip.models.exact import arith
from lmzip.models.exact.arith import F32, F64
from lmzip.models.exact.weights import ExactWeights, QMatrix


def matmul(x: np.ndarray, w: QMatrix) -> np.ndarray:
    """y = W x with int8 activations per 32-block and the weights' integer blocks.

    x: [B, k] float32 -> y: [B, n] float32.
    ``Q[b, j, blk]`` = integer dot of the block's weights ``q`` and activations (exact);
    then, block by block in increasing order, ``y = (y + Q * (d * s)) + m * (s * X)``
    where ``s`` is the activation block scale and ``X`` the sum of its int8 values (the
    ``m`` term only for Q4_1).
    """
    B = x.shape[0]
    nb = w.nb
    xq, s = arith.quantize_blocks(x)                       # [B, k] int, [B, nb] f32
    xq = xq.reshape(B, nb, 32)
    # Exact: integer operands, every partial sum < 2**24 (|q| <= 127 weights, |x| <= 127,
    # 32 terms), so a float32 GEMM of any BLAS, in any order, gives the integer result.
    wq = w.q.reshape(w.n, nb, 32).transpose(1, 0, 2).astype(F32)   # [nb, n, 32]
    Q = np.matmul(wq, xq.transpose(1, 2, 0).astype(F32))           # [nb, n, B]
    X = xq.sum(axis=2)                                     # [B, nb] int
    y = np.zeros((B, w.n), dtype=F32)
    for blk in range(nb):
        ds = w.d[None, :, blk] * s[:, blk, None]           # [B, n]
        y = y + Q[blk].T * ds
        if w.m is not None:
            sx = s[:, blk] * arith.to_f32(X[:, blk])       # [B]
            y = y + w.m[None, :, blk] * sx[:, None]
    return y


class LaneCache:
    """One lane's KV cache: int16 keys (post-RoPE) and int8 values, each vector with a
    float32 scale. k: [L, G, T, hd], v: [L, G, T, hd], sk/sv: [L, G, T]."""

    def __init__(self, n_layer: int, n_kv: int, n_ctx: int, head_dim: int) -> None:
        self.k = np.zeros((n_layer, n_kv, n_ctx, head_dim), dtype=np.int64)
        self.v = np.zeros((n_layer, n_kv, n_ctx, head_dim), dtype=np.int64)
        self.sk = np.zeros((n_layer, n_kv, n_ctx), dtype=F32)
        self.sv = np.zeros((n_layer, n_kv, n_ctx), dtype=F32)
        self.n_past = 0

    def clear(self) -> None:
        self.n_past = 0


def attend(q: np.ndarray, k: np.ndarray, sk: np.ndarray, v: np.ndarray, sv: np.ndarray) -> np.ndarray:
    """One query head over n cached positions.

    q: [hd] float32 (post-RoPE); k: [n, hd] int, sk: [n]; v: [n, hd] int, sv: [n] -> [hd] f32.
    score = (dot(qi, k) * sk) * (sq * 1/8)        (qi: q as int8 with one scale sq)
    E     = rint(exp2((score - max) * LOG2E) * 2**16)                 integer, <= 2**16
    w     = E * sv;  C = rint((w / max w) * 2**15)                    integer, <= 2**15
    out   = sum_t C_t v_t  *  (max w / (sum E * 2**15))
    """
    qi, sq = arith.quantize_vector(q, arith.Q8_MAX)         # [hd] int, scalar
    dots = k @ qi.astype(np.int64)                          # [n] exact
    score = (arith.to_f32(dots) * sk) * (sq * F32(0.125))
    u = (score - score.max()) * arith.LOG2E
    e = arith.rint(arith.exp2(u) * F32(arith.SOFTMAX_ONE)).astype(np.int64)
    w = arith.to_f32(e) * sv
    wmax = w.max()
    if not wmax > 0:
        return np.zeros(q.shape, dtype=F32)
    c = arith.rint((w / wmax) * F32(arith.AV_ONE)).astype(np.int64)
    acc = c @ v                                             # [hd] exact int64
    scale = wmax / (arith.to_f32(e.sum()) * F32(arith.AV_ONE))
    return arith.to_f32(acc) * scale


class ReferenceModel:
    """The definition. Slow (numpy), used by tests and as the ``reference`` kernel path."""

    name = "reference"

    def __init__(self, weights: ExactWeights, n_ctx: int) -> None:
        self.w = weights
        self.c = weights.config
        self.n_ctx = n_ctx
        self.cos, self.sin = arith.rope_tables(n_ctx, self.c.head_dim, self.c.rope_base)

    def new_cache(self) -> LaneCache:
        c = self.c
        return LaneCache(c.n_layer, c.n_kv_head, self.n_ctx, c.head_dim)

    # -- the window -------------------------------------------------------------------
    def slide(self, cache: LaneCache, keep: int, drop: int) -> None:
        """Drop slots [keep, keep+drop) and move the rest down by ``drop``; moved keys are
        dequantized (k * sk), rotated back by ``drop`` positions and requantized."""
        n = cache.n_past
        src = slice(keep + drop, n)
        dst = slice(keep, n - drop)
        kf = arith.to_f32(cache.k[:, :, src]) * cache.sk[:, :, src, None]    # [L, G, m, hd]
        kf = arith.unrope(kf, self.cos[drop], self.sin[drop])
        kq, ks = arith.quantize_vector(kf, arith.K_MAX)
        cache.k[:, :, dst] = kq
        cache.sk[:, :, dst] = ks
        cache.v[:, :, dst] = cache.v[:, :, src].copy()
        cache.sv[:, :, dst] = cache.sv[:, :, src].copy()
        cache.n_past = n - drop

    # -- one step ---------------------------------------------------------------------
    def step(self, tokens: np.ndarray, caches: list[LaneCache]) -> np.ndarray:
        """Feed tokens[i] to lane i at its next position; float32 logits [B, V].

        Every cache must have room (n_past < n_ctx): sliding is the caller's schedule.
        """
        c, w = self.c, self.w
        B = len(tokens)
        H, G, hd = c.n_head, c.n_kv_head, c.head_dim
        pos = np.array([cache.n_past for cache in caches])
        if (pos >= self.n_ctx).any():
            raise ValueError("a lane's window is full; slide it first")
        cos, sin = self.cos[pos][:, None, :], self.sin[pos][:, None, :]     # [B, 1, hd/2]
        x = w.embed(np.asarray(tokens, dtype=np.int64))                     # [B, D]
        for li, layer in enumerate(w.layers):
            h = arith.rmsnorm(x, layer.attn_norm, c.norm_eps)               # [B, D]
            q = arith.rope(matmul(h, layer.wq).reshape(B, H, hd), cos, sin)  # [B, H, hd]
            k = arith.rope(matmul(h, layer.wk).reshape(B, G, hd), cos, sin)  # [B, G, hd]
            v = matmul(h, layer.wv).reshape(B, G, hd)                        # [B, G, hd]
            kq, ks = arith.quantize_vector(k, arith.K_MAX)
            vq, vs = arith.quantize_vector(v, arith.V_MAX)
            att = np.empty((B, H, hd), dtype=F32)
            for b, cache in enumerate(caches):
                p = pos[b]
                cache.k[li, :, p], cache.sk[li, :, p] = kq[b], ks[b]
                cache.v[li, :, p], cache.sv[li, :, p] = vq[b], vs[b]
                for head in range(H):
                    g = head // (H // G)
                    att[b, head] = attend(q[b, head], cache.k[li, g, :p + 1], cache.sk[li, g, :p + 1],
                                          cache.v[li, g, :p + 1], cache.sv[li, g, :p + 1])
            x = x + matmul(att.reshape(B, H * hd), layer.wo)                # [B, D]
            h = arith.rmsnorm(x, layer.ffn_norm, c.norm_eps)
            a = arith.silu(matmul(h, layer.w_gate)) * matmul(h, layer.w_up)  # [B, F]
            x = x + matmul(a, layer.w_down)
        for cache in caches:
            cache.n_past += 1
        h = arith.rmsnorm(x, w.output_norm, c.norm_eps)
        return matmul(h, w.output)                                          # [B, V]
