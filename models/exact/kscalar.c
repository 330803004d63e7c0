/* The portable scalar path: the arithmetic of arith.py / reference.py written out one
 * operation at a time. Every other path must give the same bits as this one. */
#include <math.h>
#include <string.h>

#include "kcore.h"

const char *const kpath_names[N_PATHS] = {"scalar", "avx2", "avx512", "neon", "avxvnni"};

/* float16 bits -> float32, exact (every half is a float). */
float k_f16(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 0) {
        float f = (float)m * 0x1p-24f; /* subnormal half (or zero): m * 2^-24, exact */
        memcpy(&bits, &f, 4);
        bits |= sign;
    } else if (e == 31) {
        bits = sign | 0x7f800000u | (m << 13);
    } else {
        bits = sign | ((e + 112u) << 23) | (m << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

static inline float pow2i(int n) { /* 2^n, n in [-126, 127] */
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* arith.exp2: 2^u for u <= 0; 0 below EXP2_MIN. */
float k_exp2(float u) {
    if (u < EXP2_MIN_F) return 0.0f;
    float n = k_rne(u);
    if (n > u) n = n - 1.0f; /* floor */
    float f = u - n;
    float p = EXP2_C0;
    p = p * f; p = p + EXP2_C1;
    p = p * f; p = p + EXP2_C2;
    p = p * f; p = p + EXP2_C3;
    p = p * f; p = p + EXP2_C4;
    p = p * f; p = p + EXP2_C5;
    p = p * f; p = p + EXP2_C6;
    return p * pow2i((int)n);
}

/* arith.quantize_vector: one scale for n values; q = clip(rint(x / s)) (0 where s == 0). */
void k_quant_vec(const float *x, int n, float qmax, int32_t *q, float *s_out) {
    float mx = 0.0f;
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        mx = a > mx ? a : mx;
    }
    float s = mx / qmax;
    *s_out = s;
    if (s > 0.0f) {
        for (int i = 0; i < n; i++) {
            float v = k_rne(x[i] / s);
            v = v < -qmax ? -qmax : (v > qmax ? qmax : v);
            q[i] = (int32_t)v;
        }
    } else {
        for (int i = 0; i < n; i++) q[i] = 0;
    }
}

/* arith.rms_scale: 1/sqrt(mean(x^2) + eps) from an exact integer sum of squares. */
float k_rms_scale(const float *x, int n, float eps) {
    float a = 0.0f;
    for (int i = 0; i < n; i++) {
        float v = fabsf(x[i]);
        a = v > a ? v : a;
    }
    double v;
    if (a > 0.0f) {
        /* e with 2^(e-1) <= a < 2^e (frexp), from the bits */
        uint32_t bits;
        memcpy(&bits, &a, 4);
        int be = (int)(bits >> 23);
        int e;
        if (be > 0) {
            e = be - 126;
        } else { /* subnormal: a = m * 2^-149 */
            uint32_t m = bits & 0x7fffffu;
            e = -149 + (32 - __builtin_clz(m));
        }
        uint64_t ub = (uint64_t)(1023 + 24 - e) << 52;   /* 2^(24-e) */
        double up;
        memcpy(&up, &ub, 8);
        int64_t ss = 0;
        for (int i = 0; i < n; i++) {
            double t = (double)x[i] * up;                   /* exact, |t| < 2^24 */
            t = (t + 0x1.8p52) - 0x1.8p52;                  /* rint, exact for |t| < 2^51 */
            int64_t xi = (int64_t)t;
            ss += xi * xi;
        }
        uint64_t db = (uint64_t)(1023 + 2 * (e - 24)) << 52; /* 2^(2(e-24)) */
        double down;
        memcpy(&down, &db, 8);
        v = ((double)ss / (double)n) * down + (double)eps;
    } else {
        v = (double)eps;
    }
    return (float)(1.0 / sqrt(v));
}

/* RoPE on nv head vectors: each adjacent pair (a, b) -> (a*c - b*s, a*s + b*c). */
void k_rope(float *v, int nv, const float *cs, const float *sn) {
    for (int h = 0; h < nv; h++, v += HD)
        for (int i = 0; i < HD / 2; i++) {
            const float a = v[2 * i], c = v[2 * i + 1];
            v[2 * i] = (a * cs[i]) - (c * sn[i]);
            v[2 * i + 1] = (a * sn[i]) + (c * cs[i]);
        }
}

/* The query of one head as attend() uses it: int8 values with one scale sq, packed in
 * adjacent pairs (low 16 bits: even dim), and sq * 1/8. */
void k_attend_prep_q(const float *q, int32_t *qpair, float *sqs) {
    int32_t qi[HD];
    float sq;
    k_quant_vec(q, HD, 127.0f, qi, &sq);
    for (int j = 0; j < HD / 2; j++)
        qpair[j] = (int32_t)(((uint32_t)(uint16_t)qi[2 * j]) | ((uint32_t)(uint16_t)qi[2 * j + 1] << 16));
    *sqs = sq * 0.125f;
}

/* -- the scalar path --------------------------------------------------------------- */

static void quant_act_scalar(const float *x, int k, int8_t *xq, float *s, float *sx) {
    for (int b = 0; b < k / QB; b++) {
        int32_t q[QB];
        float sb;
        k_quant_vec(x + b * QB, QB, 127.0f, q, &sb);
        int32_t X = 0;
        for (int i = 0; i < QB; i++) {
            xq[b * QB + i] = (int8_t)q[i];
            X += q[i];
        }
        s[b] = sb;
        sx[b] = sb * (float)X;
    }
}

static void matmul_scalar(const QMat *w, const Act *a, float *y, size_t ystride, int g0, int g1, float *acc) {
    const int nb = w->nb, B = a->B;
    for (int g = g0; g < g1; g++) {
        for (int i = 0; i < B * RG; i++) acc[i] = 0.0f;
        for (int blk = 0; blk < nb; blk++) {
            const uint8_t *qs = w->qs + ((size_t)g * nb + blk) * w->qbytes;
            const uint16_t *dm = w->dm + ((size_t)g * nb + blk) * w->ds;
            for (int r = 0; r < RG; r++) {
                int8_t wr[QB]; /* the block's 32 weights of row r, in input order */
                for (int c = 0; c < 8; c++) {
                    for (int i = 0; i < 4; i++) {
                        if (w->kind == KIND_Q4_1) {
                            uint8_t byte = qs[(c & 3) * 32 + r * 4 + i];
                            wr[4 * c + i] = (int8_t)(c < 4 ? (byte & 15) : (byte >> 4));
                        } else {
                            wr[4 * c + i] = (int8_t)qs[c * 32 + r * 4 + i];
                        }
                    }
                }
                float d = k_f16(dm[r]);
                float m = w->kind == KIND_Q4_1 ? k_f16(dm[8 + r]) : 0.0f;
                for (int b = 0; b < B; b++) {
                    const int8_t *x = a->xq + b * a->qstride + blk * QB;
                    int32_t Q = 0;
                    for (int i = 0; i < QB; i++) Q += (int32_t)wr[i] * (int32_t)x[i];
                    float sb = a->s[b * a->sstride + blk];
                    float t = acc[b * RG + r] + (float)Q * (d * sb);
                    if (w->kind == KIND_Q4_1) t = t + m * a->sx[b * a->sstride + blk];
                    acc[b * RG + r] = t;
                }
            }
        }
        for (int b = 0; b < B; b++) {
            int nr = w->n - g * RG < RG ? w->n - g * RG : RG;
            memcpy(y + b * ystride + (size_t)g * RG, acc + b * RG, (size_t)nr * sizeof(float));
        }
    }
}

static inline int16_t key_at(const int16_t *k, int t, int d) {
    return k[(t / KT) * (KT * HD) + (d / 2) * (KT * 2) + (t % KT) * 2 + (d & 1)];
}

static inline int8_t val_at(const int8_t *v, int t, int d) {
    return v[(t / 2) * (2 * HD) + d * 2 + (t & 1)];
}

/* reference.attend, head by head, with int64 sums. */
static void attend_scalar(const AttnIn *in, float *out, AttnScratch *scr) {
    const int n = in->n;
    float *score = scr->score, *w = scr->w;
    for (int h = 0; h < in->r; h++) {
        int32_t qp[HD / 2], qi[HD];
        float sqs;
        k_attend_prep_q(in->q + h * HD, qp, &sqs);
        for (int j = 0; j < HD / 2; j++) {
            qi[2 * j] = (int16_t)(qp[j] & 0xffff);
            qi[2 * j + 1] = (int16_t)((uint32_t)qp[j] >> 16);
        }
        float mx = -INFINITY;
        for (int t = 0; t < n; t++) {
            int32_t dot = 0;
            for (int d = 0; d < HD; d++) dot += (int32_t)key_at(in->k, t, d) * qi[d];
            float sc = ((float)dot * in->sk[t]) * sqs;
            score[t] = sc;
            mx = sc > mx ? sc : mx;
        }
        int64_t esum = 0;
        float wmax = 0.0f;
        for (int t = 0; t < n; t++) {
            float u = (score[t] - mx) * LOG2E_F;
            float e = k_rne(k_exp2(u) * 65536.0f);
            esum += (int64_t)e;
            float wt = e * in->sv[t];
            w[t] = wt;
            wmax = wt > wmax ? wt : wmax;
        }
        float *o = out + h * HD;
        if (!(wmax > 0.0f)) {
            for (int d = 0; d < HD; d++) o[d] = 0.0f;
            continue;
        }
        int64_t acc[HD];
        for (int d = 0; d < HD; d++) acc[d] = 0;
        for (int t = 0; t < n; t++) {
            int64_t c = (int64_t)k_rne((w[t] / wmax) * 32768.0f);
            for (int d = 0; d < HD; d++) acc[d] += c * val_at(in->v, t, d);
        }
        float scale = wmax / ((float)(double)esum * 32768.0f);
        for (int d = 0; d < HD; d++) o[d] = (float)(double)acc[d] * scale;
    }
}

static void silu_mul_scalar(float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) {
        float x = g[i];
        float e = k_exp2(-fabsf(x) * LOG2E_F);
        float den = 1.0f + e;
        float num = x >= 0.0f ? x : x * e;
        g[i] = (num / den) * u[i];
    }
}

const KOps kops_scalar = {PATH_SCALAR, quant_act_scalar, matmul_scalar, attend_scalar, silu_mul_scalar,
                          k_rms_scale, k_quant_vec, k_rope};
