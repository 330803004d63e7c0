"""The exact SmolLM2 forward pass ("exact-v1") in torch, for CPU and CUDA.

Bit for bit ``reference.py`` (the definition): the same float32 element-wise operations
in the same order, and integer sums. Shapes: B lanes in this step, N lanes in all,
L = 30 layers, D = 576 width, H = 9 query heads, G = 3 key/value heads, r = H/G = 3,
hd = 64 head width, F = 1536 feed-forward width, V = 49152 vocab, T = n_ctx slots.

How each rule of ``arith.py`` is kept with torch:

* **Products of integers** run as float32 matmuls (``bmm``/``matmul``) only where every
  partial sum is an integer below 2**24 in magnitude, so any order, blocking, split-K or
  FMA gives the exact integer: weight blocks (|q| <= 128, |x| <= 127, 32 terms); keys
  split as ``k = 256*k_hi + k_lo`` (|k_hi| <= 128, 0 <= k_lo <= 255, 64 terms); the
  attention weights split the same way and summed over chunks of ``AV_CHUNK`` positions.
  The pieces are then combined in int32/int64. TF32 is switched off (it would still be
  exact for these operands, but nothing relies on that).
* **Element-wise float32** ops are separate torch calls (eager mode: one rounding each,
  never fused into an FMA), written in the reference's order. No ``addcmul``/``lerp``/
  ``torch.compile``. Every division has a *tensor* divisor (``div``): torch computes
  ``scalar / t`` as ``reciprocal(t) * scalar``, and CUDA computes ``t / cpu_scalar`` as
  ``t * (1 / scalar)``; both round differently from IEEE division.
* **No transcendental:** ``exp2`` is ``arith``'s polynomial, RoPE uses ``arith``'s tables,
  RMSNorm's sum of squares is int64 and its ``1/sqrt`` float64 (IEEE sqrt and division).
* **Reductions** are integer sums or ``amax`` (exact in any order). The per-32-block
  combine of a product, ``y = (y + Q*(d*s)) + m*(s*X)`` block by block, is a Python loop
  over blocks of tensors that cover every lane and output row at once.

The KV cache lives on the device: keys as int8 ``k_hi`` + uint8 ``k_lo`` (the int16 key,
pre-split for the exact product), values int8, one float32 scale per head vector.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F_

from lmzip.models.exact import arith
from lmzip.models.exact.weights import ExactWeights, QMatrix

F32, F64, I32, I64 = torch.float32, torch.float64, torch.int32, torch.int64

#: Positions per float32 matmul in the attention-times-V product: with weights split
#: into 8-bit halves (<= 255) and |v| <= 127, 256 * 255 * 127 < 2**24.
AV_CHUNK = 256
#: Above this many elements per temporary, a product is computed in column slices.
_MAX_TEMP = 1 << 26


def exact_matmul_settings() -> None:
    """Process-wide torch settings the exact path asks for (no TF32, highest precision)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


# -- element-wise primitives: arith.py in torch ----------------------------------------------

@lru_cache(maxsize=256)
def _const(value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(value, dtype=dtype, device=device)


def div(a: torch.Tensor, b) -> torch.Tensor:
    """IEEE ``a / b`` element-wise; ``b`` becomes a tensor on ``a``'s device (never ``a * (1/b)``)."""
    if not isinstance(b, torch.Tensor):
        b = _const(float(b), a.dtype, a.device)
    return torch.div(a, b)


def to_f32(n: torch.Tensor) -> torch.Tensor:
    """``arith.to_f32``: an integer to float32 via float64 (exact), then one rounding."""
    return n.to(F64).to(F32)


def pow2_f32(n: torch.Tensor) -> torch.Tensor:
    """2**n as float32 for int32 n in [-126, 127], from the exponent bits."""
    return ((n.to(I32) + 127) << 23).view(F32)


def pow2_f64(n: torch.Tensor) -> torch.Tensor:
    """2**n as float64 for int64 n in [-1022, 1023], from the exponent bits."""
    return ((n.to(I64) + 1023) << 52).view(F64)


def exp2(u: torch.Tensor) -> torch.Tensor:
    """``arith.exp2``: 2**u for float32 u <= 0 (fixed polynomial, Horner, then 2**floor(u))."""
    small = u < float(arith.EXP2_MIN)
    u = torch.where(small, 0.0, u)
    n = torch.floor(u)
    f = u - n
    p = torch.full_like(f, float(arith.EXP2_COEFFS[0]))
    for c in arith.EXP2_COEFFS[1:]:
        p = p * f
        p = p + float(c)
    out = p * pow2_f32(n.to(I32))
    return torch.where(small, 0.0, out)


def silu(g: torch.Tensor) -> torch.Tensor:
    """``arith.silu``: ``e = exp2(-|g| * LOG2E)``; ``g / (1 + e)`` or ``(g * e) / (1 + e)``."""
    e = exp2(torch.neg(torch.abs(g)) * float(arith.LOG2E))
    den = e + 1.0
    num = torch.where(g >= 0, g, g * e)
    return div(num, den)


def _quantize_with(x: torch.Tensor, s: torch.Tensor, qmax: float) -> torch.Tensor:
    ok = (s > 0)[..., None]
    safe = torch.where(ok, s[..., None], 1.0)
    q = torch.clamp(torch.round(div(x, safe)), -qmax, qmax)
    return torch.where(ok, q, 0.0) + 0.0  # + 0.0: -0.0 -> +0.0, the reference's integer 0


def quantize_blocks(x: torch.Tensor, qmax: float = float(arith.Q8_MAX)) -> tuple[torch.Tensor, torch.Tensor]:
    """``arith.quantize_blocks``: x [..., K] -> q [..., K/32, 32] (float32 integers), s [..., K/32]."""
    xb = x.reshape(*x.shape[:-1], x.shape[-1] // arith.QBLOCK, arith.QBLOCK)
    s = div(torch.abs(xb).amax(-1), qmax)
    return _quantize_with(xb, s, qmax), s


def quantize_vector(x: torch.Tensor, qmax: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``arith.quantize_vector``: one scale per last-axis vector. [..., D] -> q [..., D], s [...]."""
    s = div(torch.abs(x).amax(-1), qmax)
    return _quantize_with(x, s, qmax), s


def rms_scale(x: torch.Tensor, eps: float) -> torch.Tensor:
    """``arith.rms_scale``: 1/sqrt(mean(x**2) + eps) per row from an exact int64 sum of squares.

    ``e`` (``2**(e-1) <= max|x| < 2**e``) is read from the float64 exponent bits of max|x|.
    x: [..., n] float32 -> [...] float32
    """
    n = x.shape[-1]
    a = torch.abs(x).amax(-1)                                    # [...]
    e = ((a.to(F64).view(I64) >> 52) & 0x7FF) - 1022             # frexp's exponent
    e = torch.where((a > 0) & torch.isfinite(a), e, 0)
    up = pow2_f64(24 - e)[..., None]
    xi = torch.round(x.to(F64) * up).to(I64)                     # |xi| <= 2**24
    ss = (xi * xi).sum(-1)                                       # exact
    eps64 = float(np.float64(eps))
    v = div(ss.to(F64), float(n)) * pow2_f64(2 * (e - 24)) + eps64
    v = torch.where(a > 0, v, eps64)
    return div(torch.ones_like(v), torch.sqrt(v)).to(F32)


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """``(x * r) * weight`` with ``r = rms_scale(x)``. [..., n] -> [..., n]"""
    return (x * rms_scale(x, eps)[..., None]) * weight


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``arith.rope`` on adjacent pairs: ``a' = a*c - b*s``, ``b' = a*s + b*c``. x: [..., D]"""
    a, b = x[..., 0::2], x[..., 1::2]
    out_a = (a * cos) - (b * sin)
    out_b = (a * sin) + (b * cos)
    return torch.stack([out_a, out_b], dim=-1).reshape(x.shape)


def unrope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``arith.unrope``: ``a' = a*c + b*s``, ``b' = b*c - a*s``."""
    a, b = x[..., 0::2], x[..., 1::2]
    out_a = (a * cos) + (b * sin)
    out_b = (b * cos) - (a * sin)
    return torch.stack([out_a, out_b], dim=-1).reshape(x.shape)


def logits_to_log2q(y: torch.Tensor) -> torch.Tensor:
    """``arith.logits_to_log2q``: float32 logits -> int32 log2q, clamped to +-2**30."""
    z = torch.round(y * float(arith.LOGIT_TO_LOG2Q))
    return torch.clamp(z, -float(2 ** 30), float(2 ** 30)).to(I32)


def split_hi_lo(n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An integer tensor as ``256 * hi + lo`` with ``0 <= lo < 256`` (arithmetic shift)."""
    n = n.to(I32)
    return n >> 8, n & 0xFF


# -- products ------------------------------------------------------------------------------

class QLinear:
    """``reference.matmul`` for one or more QMatrix of one kind stacked by rows.

    Rows are independent, so stacking (q, k and v; gate and up) gives each matrix's exact
    result. Weights are kept as float32 integers [nb, 32, n] (Q4_1: 0..15, Q8_0: -128..127)
    with scales d, m [nb, 1, n].
    """

    def __init__(self, mats: list[QMatrix], device: torch.device) -> None:
        kind, k = mats[0].kind, mats[0].k
        if any(m.kind != kind or m.k != k for m in mats):
            raise ValueError("stacked matrices must share kind and width")
        self.k, self.nb = k, k // 32
        self.sizes = [m.n for m in mats]
        self.n = sum(self.sizes)
        q = np.concatenate([m.q for m in mats], axis=0)                        # [n, k]
        w = q.reshape(self.n, self.nb, 32).transpose(1, 2, 0).astype(np.float32)  # [nb, 32, n]
        self.w = torch.from_numpy(np.ascontiguousarray(w)).to(device)
        d = np.concatenate([m.d for m in mats], axis=0).T                       # [nb, n]
        self.d = torch.from_numpy(np.ascontiguousarray(d, dtype=np.float32)).to(device)[:, None, :]
        self.m = None
        if mats[0].m is not None:
            m = np.concatenate([mm.m for mm in mats], axis=0).T
            self.m = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32)).to(device)[:, None, :]

    def __call__(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        """x: [B, k] float32 -> [B, n] (a list split by the stacked matrices' rows)."""
        B = x.shape[0]
        xq, s = quantize_blocks(x)                         # [B, nb, 32], [B, nb]
        xq = xq.transpose(0, 1)                            # [nb, B, 32]
        sT = s.T[:, :, None]                               # [nb, B, 1]
        X = xq.sum(-1)                                     # [nb, B] exact (|X| <= 32*127)
        step = max(1, _MAX_TEMP // max(1, self.nb * B))
        parts = [self._columns(xq, sT, X, c, min(self.n, c + step)) for c in range(0, self.n, step)]
        y = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return y if len(self.sizes) == 1 else list(torch.split(y, self.sizes, dim=1))

    def _columns(self, xq, sT, X, c0: int, c1: int) -> torch.Tensor:
        Q = torch.bmm(xq, self.w[:, :, c0:c1])             # [nb, B, n'] exact integer dots
        ds = self.d[:, :, c0:c1] * sT                      # d * s
        t1 = Q.mul_(ds)                                    # Q * (d * s)
        t2 = None
        if self.m is not None:
            sx = sT[:, :, 0] * X                           # s * X          [nb, B]
            t2 = self.m[:, :, c0:c1] * sx[:, :, None]      # m * (s * X)    [nb, B, n']
        y = torch.zeros(t1.shape[1:], dtype=F32, device=t1.device)
        for blk in range(self.nb):                         # fixed order: block 0, 1, ...
            y.add_(t1[blk])
            if t2 is not None:
                y.add_(t2[blk])
        return y


def attend(q: torch.Tensor, k_hi: torch.Tensor, k_lo: torch.Tensor, sk: torch.Tensor,
           v: torch.Tensor, sv: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``reference.attend`` for every lane and query head at once.

    q: [B, G, r, hd] float32 (post-RoPE); k_hi, k_lo, v: [B, G, T, hd] integer tensors
    (key = 256*k_hi + k_lo); sk, sv: [B, G, T] float32; valid: [B, T] bool (slots 0..p of
    each lane). -> [B, G, r, hd] float32.
    """
    B, G, r, hd = q.shape
    T = k_hi.shape[2]
    qi, sq = quantize_vector(q, float(arith.Q8_MAX))                       # [B, G, r, hd], [B, G, r]
    dots_hi = torch.matmul(qi, k_hi.to(F32).transpose(-1, -2))             # [B, G, r, T] exact
    dots_lo = torch.matmul(qi, k_lo.to(F32).transpose(-1, -2))
    dots = dots_hi.to(I32) * 256 + dots_lo.to(I32)                         # |dot| < 2**28
    score = (to_f32(dots) * sk[:, :, None, :]) * (sq * 0.125)[..., None]
    valid = valid[:, None, None, :]                                        # [B, 1, 1, T]
    smax = torch.where(valid, score, -torch.inf).amax(-1, keepdim=True)
    u = (score - smax) * float(arith.LOG2E)
    u = torch.where(valid, u, -1000.0)                                     # exp2 -> 0
    e = torch.round(exp2(u) * float(arith.SOFTMAX_ONE))                    # integers <= 2**16
    w = torch.where(valid, e * sv[:, :, None, :], 0.0)                     # to_f32(E) * sv
    wmax = w.amax(-1, keepdim=True)                                        # [B, G, r, 1]
    ok = wmax > 0
    c = torch.round(div(w, torch.where(ok, wmax, 1.0)) * float(arith.AV_ONE))  # integers <= 2**15
    # sum_t c_t v_t exactly: c = 256*c_hi + c_lo, positions in chunks of AV_CHUNK
    pad = -T % AV_CHUNK
    nc = (T + pad) // AV_CHUNK
    vf = F_.pad(v.to(F32), (0, 0, 0, pad)).reshape(B, G, nc, AV_CHUNK, hd)  # [B, G, nc, C, hd]
    acc = torch.zeros((B, G, r, hd), dtype=I64, device=q.device)
    for part, weight in zip(split_hi_lo(c), (256, 1)):
        part = F_.pad(part.to(F32), (0, pad)).reshape(B, G, r, nc, AV_CHUNK).transpose(2, 3)  # [B, G, nc, r, C]
        acc = acc + torch.matmul(part, vf).to(I64).sum(2) * weight        # [B, G, r, hd]
    esum = e.to(I64).sum(-1, keepdim=True)                                 # [B, G, r, 1]
    scale = div(wmax, to_f32(esum) * float(arith.AV_ONE))
    return torch.where(ok, to_f32(acc) * scale, 0.0)


# -- the model -------------------------------------------------------------------------------

class _Layer:
    def __init__(self, layer, device: torch.device) -> None:
        self.attn_norm = torch.from_numpy(layer.attn_norm).to(device)
        self.ffn_norm = torch.from_numpy(layer.ffn_norm).to(device)
        self.qkv = QLinear([layer.wq, layer.wk, layer.wv], device)
        self.wo = QLinear([layer.wo], device)
        self.gate_up = QLinear([layer.w_gate, layer.w_up], device)
        self.down = QLinear([layer.w_down], device)


class TorchModel:
    """SmolLM2 over ``n_lanes`` lanes of ``n_ctx`` slots each, on one torch device.

    The interface of ``kernel.KernelModel``: ``step(lanes, tokens)`` feeds ``tokens[i]``
    to lane ``lanes[i]`` (distinct lanes, any subset, any order) and returns float32
    logits [B, V] as numpy, bit for bit ``ReferenceModel.step``; ``forward`` is the same
    step returning the logits as a tensor on the device; ``slide``, ``reset``,
    ``n_past`` act on one lane. A refused step (ValueError) changes nothing.
    """

    def __init__(self, weights: ExactWeights, n_ctx: int, n_lanes: int = 1,
                 device: str | torch.device = "cpu") -> None:
        if n_ctx < 1 or n_lanes < 1:
            raise ValueError(f"bad sizes: n_ctx={n_ctx} n_lanes={n_lanes}")
        exact_matmul_settings()
        c = weights.config
        self.c = c
        self.device = dev = torch.device(device)
        self.n_ctx, self.n_lanes, self.n_vocab = int(n_ctx), int(n_lanes), c.n_vocab
        self.eps = c.norm_eps
        cos, sin = arith.rope_tables(n_ctx, c.head_dim, c.rope_base)
        self.cos = torch.from_numpy(np.array(cos)).to(dev)                   # [T, hd/2]
        self.sin = torch.from_numpy(np.array(sin)).to(dev)
        e = weights.token_embd
        self.emb_q = torch.from_numpy(np.ascontiguousarray(e.q)).to(dev)      # [V, D] int8/uint8
        self.emb_d = torch.from_numpy(e.d).to(dev)                           # [V, D/32]
        self.emb_m = None if e.m is None else torch.from_numpy(e.m).to(dev)
        self.layers = [_Layer(layer, dev) for layer in weights.layers]
        self.output_norm = torch.from_numpy(weights.output_norm).to(dev)
        self.output = QLinear([weights.output], dev)
        L, G, hd = c.n_layer, c.n_kv_head, c.head_dim
        shape = (L, n_lanes, G, n_ctx, hd)                                   # [L, N, G, T, hd]
        self.k_hi = torch.zeros(shape, dtype=torch.int8, device=dev)
        self.k_lo = torch.zeros(shape, dtype=torch.uint8, device=dev)
        self.v = torch.zeros(shape, dtype=torch.int8, device=dev)
        self.sk = torch.zeros(shape[:-1], dtype=F32, device=dev)              # [L, N, G, T]
        self.sv = torch.zeros(shape[:-1], dtype=F32, device=dev)
        self._n_past = np.zeros(n_lanes, dtype=np.int64)                     # host bookkeeping

    # -- lanes ---------------------------------------------------------------------------
    def n_past(self, lane: int) -> int:
        """Positions filled in a lane's window."""
        return int(self._n_past[self._lane(lane)])

    def reset(self, lane: int) -> None:
        """Empty a lane's window."""
        self._n_past[self._lane(lane)] = 0

    def _lane(self, lane: int) -> int:
        lane = int(lane)
        if not 0 <= lane < self.n_lanes:
            raise ValueError(f"lane {lane} out of range (0..{self.n_lanes - 1})")
        return lane

    @torch.inference_mode()
    def slide(self, lane: int, keep: int, drop: int) -> None:
        """``ReferenceModel.slide``: drop slots [keep, keep+drop), move the rest down by
        ``drop``; moved keys are dequantized, rotated back by ``drop`` and requantized."""
        lane = self._lane(lane)
        n = int(self._n_past[lane])
        if keep < 0 or drop < 1 or keep + drop > n:
            raise ValueError(f"cannot slide lane {lane}: keep={keep} drop={drop} with {n} positions")
        src, dst = slice(keep + drop, n), slice(keep, n - drop)
        k = self.k_hi[:, lane, :, src].to(I32) * 256 + self.k_lo[:, lane, :, src].to(I32)   # [L, G, m, hd]
        kf = to_f32(k) * self.sk[:, lane, :, src, None]
        kf = unrope(kf, self.cos[drop], self.sin[drop])
        kq, ks = quantize_vector(kf, float(arith.K_MAX))
        hi, lo = split_hi_lo(kq)
        self.k_hi[:, lane, :, dst] = hi.to(torch.int8)
        self.k_lo[:, lane, :, dst] = lo.to(torch.uint8)
        self.sk[:, lane, :, dst] = ks
        self.v[:, lane, :, dst] = self.v[:, lane, :, src].clone()
        self.sv[:, lane, :, dst] = self.sv[:, lane, :, src].clone()
        self._n_past[lane] = n - drop

    # -- one step ------------------------------------------------------------------------
    def _check(self, lanes, tokens) -> tuple[np.ndarray, np.ndarray]:
        lanes, tokens = np.asarray(lanes), np.asarray(tokens)
        if lanes.dtype.kind not in "iu" or tokens.dtype.kind not in "iu":
            raise TypeError("lanes and tokens must be integers")
        lanes, tokens = lanes.reshape(-1).astype(np.int64), tokens.reshape(-1).astype(np.int64)
        if lanes.shape != tokens.shape or len(lanes) == 0:
            raise ValueError(f"{len(lanes)} lanes but {len(tokens)} tokens")
        if ((lanes < 0) | (lanes >= self.n_lanes)).any():
            raise ValueError(f"a lane is out of range (0..{self.n_lanes - 1})")
        if len(np.unique(lanes)) != len(lanes):
            raise ValueError("a lane appears twice in one step")
        if ((tokens < 0) | (tokens >= self.n_vocab)).any():
            raise ValueError(f"a token is out of range (0..{self.n_vocab - 1})")
        if (self._n_past[lanes] >= self.n_ctx).any():
            raise ValueError("a lane's window is full; slide it first")
        return lanes, tokens

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """``ExactWeights.embed``: ``d * q`` (+ ``m``). [B] -> [B, D]"""
        B = tokens.shape[0]
        nb = self.emb_d.shape[1]
        x = self.emb_q[tokens].to(F32).view(B, nb, 32) * self.emb_d[tokens][:, :, None]
        if self.emb_m is not None:
            x = x + self.emb_m[tokens][:, :, None]
        return x.view(B, nb * 32)

    @torch.inference_mode()
    def forward(self, lanes, tokens) -> torch.Tensor:
        """One token for each of the given lanes; float32 logits [B, V] on the device."""
        lanes, tokens = self._check(lanes, tokens)
        c = self.c
        B, H, G, hd = len(lanes), c.n_head, c.n_kv_head, c.head_dim
        r = H // G
        pos = self._n_past[lanes]
        T = int(pos.max()) + 1                                        # slots any lane reads
        lanes_t, pos_t, tok_t = torch.from_numpy(np.stack([lanes, pos, tokens])).to(self.device).unbind(0)
        every = B == self.n_lanes and bool((lanes == np.arange(B)).all())
        cos, sin = self.cos[pos_t][:, None, :], self.sin[pos_t][:, None, :]     # [B, 1, hd/2]
        valid = torch.arange(T, device=self.device)[None, :] <= pos_t[:, None]  # [B, T]
        x = self._embed(tok_t)                                                   # [B, D]
        for li, layer in enumerate(self.layers):
            h = rmsnorm(x, layer.attn_norm, self.eps)                            # [B, D]
            q, k, v = layer.qkv(h)                                               # [B, H*hd], [B, G*hd] x2
            q = rope(q.reshape(B, H, hd), cos, sin)                              # [B, H, hd]
            k = rope(k.reshape(B, G, hd), cos, sin)                              # [B, G, hd]
            kq, ks = quantize_vector(k, float(arith.K_MAX))
            vq, vs = quantize_vector(v.reshape(B, G, hd), float(arith.V_MAX))
            k_hi, k_lo = split_hi_lo(kq)
            self.k_hi[li, lanes_t, :, pos_t] = k_hi.to(torch.int8)                # slot p of each lane
            self.k_lo[li, lanes_t, :, pos_t] = k_lo.to(torch.uint8)
            self.v[li, lanes_t, :, pos_t] = vq.to(torch.int8)
            self.sk[li, lanes_t, :, pos_t] = ks
            self.sv[li, lanes_t, :, pos_t] = vs
            if every:                                                            # [B, G, T, ...] views
                cache = [a[li, :, :, :T] for a in (self.k_hi, self.k_lo, self.sk, self.v, self.sv)]
            else:                                                                # gathered copies
                cache = [a[li][lanes_t, :, :T] for a in (self.k_hi, self.k_lo, self.sk, self.v, self.sv)]
            att = attend(q.view(B, G, r, hd), *cache, valid)                     # [B, G, r, hd]
            x = x + layer.wo(att.reshape(B, H * hd))                             # [B, D]
            h = rmsnorm(x, layer.ffn_norm, self.eps)
            g, u = layer.gate_up(h)                                              # [B, F] x2
            x = x + layer.down(silu(g) * u)                                      # [B, D]
        self._n_past[lanes] += 1
        h = rmsnorm(x, self.output_norm, self.eps)
        return self.output(h)                                                    # [B, V]

    def step(self, lanes, tokens) -> np.ndarray:
        """``forward`` with the logits as a numpy float32 array [B, V] (``KernelModel.step``)."""
        return self.forward(lanes, tokens).cpu().numpy()
