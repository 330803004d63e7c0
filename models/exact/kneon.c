/* The aarch64 NEON path: the scalar path's operations four lanes at a time (float32x4:
 * rows, positions, head dims), integer dot products with widening multiply-accumulate
 * (exact: every partial sum fits its integer type). No fused multiply-add: multiply and
 * add are separate intrinsics and the file is compiled with -ffp-contract=off. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kcore.h"

#if defined(__FAST_MATH__)
#error "never build the exact kernel with -ffast-math"
#endif

static inline int32_t ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline int8x16_t bc32(const int8_t *p) { return vreinterpretq_s8_s32(vdupq_n_s32(ld32(p))); }

static inline float32x4_t exp2v(float32x4_t u) {
    const uint32x4_t small = vcltq_f32(u, vdupq_n_f32(EXP2_MIN_F));
    const float32x4_t zero = vdupq_n_f32(0.0f);
    u = vbslq_f32(small, zero, u);
    const float32x4_t n = vrndmq_f32(u); /* floor */
    const float32x4_t f = vsubq_f32(u, n);
    float32x4_t p = vdupq_n_f32(EXP2_C0);
    p = vaddq_f32(vmulq_f32(p, f), vdupq_n_f32(EXP2_C1));
    p = vaddq_f32(vmulq_f32(p, f), vdupq_n_f32(EXP2_C2));
    p = vaddq_f32(vmulq_f32(p, f), vdupq_n_f32(EXP2_C3));
    p = vaddq_f32(vmulq_f32(p, f), vdupq_n_f32(EXP2_C4));
    p = vaddq_f32(vmulq_f32(p, f), vdupq_n_f32(EXP2_C5));
    p = vaddq_f32(vmulq_f32(p, f), vdupq_n_f32(EXP2_C6));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vbslq_f32(small, zero, vmulq_f32(p, vreinterpretq_f32_s32(e)));
}

static void quant_act_neon(const float *x, int k, int8_t *xq, float *s, float *sx) {
    const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
    for (int b = 0; b < k / QB; b++) {
        const float *xb = x + b * QB;
        float32x4_t v[8];
        float32x4_t a = vdupq_n_f32(0.0f);
        for (int i = 0; i < 8; i++) {
            v[i] = vld1q_f32(xb + 4 * i);
            a = vmaxq_f32(a, vabsq_f32(v[i]));
        }
        const float sb = vmaxvq_f32(a) / 127.0f;
        int32_t X = 0;
        if (sb > 0.0f) {
            const float32x4_t sv = vdupq_n_f32(sb);
            int32x4_t q[8], tot = vdupq_n_s32(0);
            for (int i = 0; i < 8; i++) {
                q[i] = vcvtq_s32_f32(vminq_f32(vmaxq_f32(vrndnq_f32(vdivq_f32(v[i], sv)), lo), hi));
                tot = vaddq_s32(tot, q[i]);
            }
            X = vaddvq_s32(tot);
            for (int i = 0; i < 8; i += 2) {
                const int16x8_t h = vcombine_s16(vmovn_s32(q[i]), vmovn_s32(q[i + 1]));
                vst1_s8(xq + b * QB + 4 * i, vmovn_s16(h));
            }
        } else {
            memset(xq + b * QB, 0, QB);
        }
        s[b] = sb;
        sx[b] = sb * (float)X;
    }
}

static inline void store_rows(const QMat *w, float *y, int g, float32x4_t a, float32x4_t b) {
    if (g * RG + RG <= w->n) {
        vst1q_f32(y + (size_t)g * RG, a);
        vst1q_f32(y + (size_t)g * RG + 4, b);
    } else {
        float tmp[RG];
        vst1q_f32(tmp, a);
        vst1q_f32(tmp + 4, b);
        memcpy(y + (size_t)g * RG, tmp, (size_t)(w->n - g * RG) * sizeof(float));
    }
}

/* acc = (acc + Q * (d * s)) [+ m * sx] for 4 rows */
#define FLOAT4(ACC, QI, D4, M4, SB, SXB, HAS_M)                                                      \
    do {                                                                                            \
        float32x4_t t_ = vaddq_f32((ACC), vmulq_f32(vcvtq_f32_s32(QI), vmulq_f32((D4), vdupq_n_f32(SB)))); \
        if (HAS_M) t_ = vaddq_f32(t_, vmulq_f32((M4), vdupq_n_f32(SXB)));                            \
        (ACC) = t_;                                                                                 \
    } while (0)

/* NL lanes x 8 rows of one group, all blocks (see kx86.inc's tile41 for the layout). */
static inline __attribute__((always_inline)) void tile(const QMat *w, const uint8_t *qs, const uint16_t *dm,
                                                       const int8_t *x, size_t qstr, const float *s, const float *sx,
                                                       size_t sstr, const int NL, float32x4_t *out) {
    const int nb = w->nb, q41 = w->kind == KIND_Q4_1;
    float32x4_t acc[8];
    for (int i = 0; i < 2 * NL; i++) acc[i] = vdupq_n_f32(0.0f);
    for (int blk = 0; blk < nb; blk++, qs += w->qbytes, dm += w->ds, x += QB) {
        const float32x4_t d0 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(dm)));
        const float32x4_t d1 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(dm + 4)));
        float32x4_t m0 = d0, m1 = d1;
        int32x4_t q[8]; /* lane i: rows 0-3 in q[2i], rows 4-7 in q[2i+1] */
        if (q41) {
            m0 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(dm + 8)));
            m1 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(dm + 12)));
            /* int16 sums of 8 chunks x 4 products of 15 * 127 at most: no overflow */
            int16x8_t p[4][4];
            for (int j = 0; j < 4; j++) {
                const uint8x16_t va = vld1q_u8(qs + 32 * j), vb = vld1q_u8(qs + 32 * j + 16);
                const int8x16_t wla = vreinterpretq_s8_u8(vandq_u8(va, vdupq_n_u8(15)));
                const int8x16_t wha = vreinterpretq_s8_u8(vshrq_n_u8(va, 4));
                const int8x16_t wlb = vreinterpretq_s8_u8(vandq_u8(vb, vdupq_n_u8(15)));
                const int8x16_t whb = vreinterpretq_s8_u8(vshrq_n_u8(vb, 4));
                for (int i = 0; i < NL; i++) {
                    const int8x16_t xl = bc32(x + i * qstr + 4 * j), xh = bc32(x + i * qstr + 4 * j + 16);
                    if (j == 0) {
                        p[i][0] = vmull_s8(vget_low_s8(wla), vget_low_s8(xl));
                        p[i][1] = vmull_high_s8(wla, xl);
                        p[i][2] = vmull_s8(vget_low_s8(wlb), vget_low_s8(xl));
                        p[i][3] = vmull_high_s8(wlb, xl);
                    } else {
                        p[i][0] = vmlal_s8(p[i][0], vget_low_s8(wla), vget_low_s8(xl));
                        p[i][1] = vmlal_high_s8(p[i][1], wla, xl);
                        p[i][2] = vmlal_s8(p[i][2], vget_low_s8(wlb), vget_low_s8(xl));
                        p[i][3] = vmlal_high_s8(p[i][3], wlb, xl);
                    }
                    p[i][0] = vmlal_s8(p[i][0], vget_low_s8(wha), vget_low_s8(xh));
                    p[i][1] = vmlal_high_s8(p[i][1], wha, xh);
                    p[i][2] = vmlal_s8(p[i][2], vget_low_s8(whb), vget_low_s8(xh));
                    p[i][3] = vmlal_high_s8(p[i][3], whb, xh);
                }
            }
            for (int i = 0; i < NL; i++) {
                q[2 * i] = vpaddq_s32(vpaddlq_s16(p[i][0]), vpaddlq_s16(p[i][1]));
                q[2 * i + 1] = vpaddq_s32(vpaddlq_s16(p[i][2]), vpaddlq_s16(p[i][3]));
            }
        } else {
            /* products of up to 128 * 127: pairwise into int32 after every chunk */
            int32x4_t p[4][4];
            for (int c = 0; c < 8; c++) {
                const int8x16_t wa = vld1q_s8((const int8_t *)qs + 32 * c), wb = vld1q_s8((const int8_t *)qs + 32 * c + 16);
                for (int i = 0; i < NL; i++) {
                    const int8x16_t xc = bc32(x + i * qstr + 4 * c);
                    const int16x8_t t0 = vmull_s8(vget_low_s8(wa), vget_low_s8(xc)), t1 = vmull_high_s8(wa, xc);
                    const int16x8_t t2 = vmull_s8(vget_low_s8(wb), vget_low_s8(xc)), t3 = vmull_high_s8(wb, xc);
                    if (c == 0) {
                        p[i][0] = vpaddlq_s16(t0);
                        p[i][1] = vpaddlq_s16(t1);
                        p[i][2] = vpaddlq_s16(t2);
                        p[i][3] = vpaddlq_s16(t3);
                    } else {
                        p[i][0] = vpadalq_s16(p[i][0], t0);
                        p[i][1] = vpadalq_s16(p[i][1], t1);
                        p[i][2] = vpadalq_s16(p[i][2], t2);
                        p[i][3] = vpadalq_s16(p[i][3], t3);
                    }
                }
            }
            for (int i = 0; i < NL; i++) {
                q[2 * i] = vpaddq_s32(p[i][0], p[i][1]);
                q[2 * i + 1] = vpaddq_s32(p[i][2], p[i][3]);
            }
        }
        for (int i = 0; i < NL; i++) {
            const float sb = s[i * sstr + blk], sxb = q41 ? sx[i * sstr + blk] : 0.0f;
            FLOAT4(acc[2 * i], q[2 * i], d0, m0, sb, sxb, q41);
            FLOAT4(acc[2 * i + 1], q[2 * i + 1], d1, m1, sb, sxb, q41);
        }
    }
    for (int i = 0; i < 2 * NL; i++) out[i] = acc[i];
}

static void matmul_neon(const QMat *w, const Act *a, float *y, size_t ystride, int g0, int g1, float *accf) {
    (void)accf;
    const int nb = w->nb, B = a->B;
    for (int g = g0; g < g1; g++) {
        const uint8_t *qs = w->qs + (size_t)g * nb * w->qbytes;
        const uint16_t *dm = w->dm + (size_t)g * nb * w->ds;
        for (int b = 0; b < B; b += 4) {
            const int nl = B - b < 4 ? B - b : 4;
            const int8_t *x = a->xq + b * a->qstride;
            const float *sb = a->s + b * a->sstride, *sxb = a->sx + b * a->sstride;
            float32x4_t out[8];
            switch (nl) {
            case 4: tile(w, qs, dm, x, a->qstride, sb, sxb, a->sstride, 4, out); break;
            case 3: tile(w, qs, dm, x, a->qstride, sb, sxb, a->sstride, 3, out); break;
            case 2: tile(w, qs, dm, x, a->qstride, sb, sxb, a->sstride, 2, out); break;
            default: tile(w, qs, dm, x, a->qstride, sb, sxb, a->sstride, 1, out); break;
            }
            for (int i = 0; i < nl; i++) store_rows(w, y + (b + i) * ystride, g, out[2 * i], out[2 * i + 1]);
        }
    }
}

/* reference.attend for the r query heads sharing one key/value head (see kx86.inc). */
static void attend_neon(const AttnIn *in, float *out, AttnScratch *scr) {
    const int n = in->n, r = in->r, ntile = (n + KT - 1) / KT, tcap = scr->tcap;
    int32_t qp[MAX_RATIO][HD / 2];
    float sqs[MAX_RATIO], wmax[MAX_RATIO];
    int64_t esum[MAX_RATIO];
    int live[MAX_RATIO];
    for (int h = 0; h < r; h++) k_attend_prep_q(in->q + h * HD, qp[h], &sqs[h]);
    /* scores: a key tile holds, per dim pair j, 8 positions x 2 dims as int16 */
    for (int h = 0; h < r; h++) {
        int16x4_t qv[HD / 2];
        for (int j = 0; j < HD / 2; j++) qv[j] = vreinterpret_s16_s32(vdup_n_s32(qp[h][j])); /* q0 q1 q0 q1 */
        float *score = scr->score + (size_t)h * tcap;
        const float32x4_t sqv = vdupq_n_f32(sqs[h]);
        for (int tile = 0; tile < ntile; tile++) {
            const int16_t *kt = in->k + (size_t)tile * KT * HD;
            int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0; /* positions (0,1) (2,3) (4,5) (6,7) */
            for (int j = 0; j < HD / 2; j++) {
                const int16x8_t k0 = vld1q_s16(kt + j * 2 * KT), k1 = vld1q_s16(kt + j * 2 * KT + 8);
                a0 = vmlal_s16(a0, vget_low_s16(k0), qv[j]);
                a1 = vmlal_high_s16(a1, k0, vcombine_s16(qv[j], qv[j]));
                a2 = vmlal_s16(a2, vget_low_s16(k1), qv[j]);
                a3 = vmlal_high_s16(a3, k1, vcombine_s16(qv[j], qv[j]));
            }
            const int32x4_t d0 = vpaddq_s32(a0, a1), d1 = vpaddq_s32(a2, a3); /* positions 0-3, 4-7 */
            vst1q_f32(score + tile * KT, vmulq_f32(vmulq_f32(vcvtq_f32_s32(d0), vld1q_f32(in->sk + tile * KT)), sqv));
            vst1q_f32(score + tile * KT + 4, vmulq_f32(vmulq_f32(vcvtq_f32_s32(d1), vld1q_f32(in->sk + tile * KT + 4)), sqv));
        }
    }
    const float32x4_t log2e = vdupq_n_f32(LOG2E_F), one16 = vdupq_n_f32(65536.0f), one15 = vdupq_n_f32(32768.0f);
    for (int h = 0; h < r; h++) {
        float *score = scr->score + (size_t)h * tcap, *w = scr->w + (size_t)h * tcap;
        for (int t = n; t < ntile * KT; t++) score[t] = -INFINITY;
        float32x4_t vm = vdupq_n_f32(-INFINITY);
        for (int t = 0; t < ntile * KT; t += 4) vm = vmaxq_f32(vm, vld1q_f32(score + t));
        const float32x4_t mx = vdupq_n_f32(vmaxvq_f32(vm));
        int32x4_t es = vdupq_n_s32(0);
        float32x4_t wm = vdupq_n_f32(0.0f);
        for (int t = 0; t < ntile * KT; t += 4) {
            const float32x4_t u = vmulq_f32(vsubq_f32(vld1q_f32(score + t), mx), log2e);
            const float32x4_t e = vrndnq_f32(vmulq_f32(exp2v(u), one16));
            es = vaddq_s32(es, vcvtq_s32_f32(e));
            const float32x4_t wt = vmulq_f32(e, vld1q_f32(in->sv + t));
            vst1q_f32(w + t, wt);
            wm = vmaxq_f32(wm, wt);
        }
        esum[h] = vaddvq_s32(es);
        wmax[h] = vmaxvq_f32(wm);
        live[h] = wmax[h] > 0.0f;
        scr->nfull[h] = 0;
        uint16_t *c = scr->c + (size_t)h * tcap;
        if (!live[h]) {
            memset(c, 0, (size_t)ntile * KT * sizeof(uint16_t));
            continue;
        }
        const float32x4_t wmv = vdupq_n_f32(wmax[h]);
        int *fl = scr->full + (size_t)h * tcap;
        int nf = 0;
        for (int t = 0; t < ntile * KT; t += 4) {
            const uint32x4_t ci = vreinterpretq_u32_s32(vcvtq_s32_f32(vrndnq_f32(vmulq_f32(vdivq_f32(vld1q_f32(w + t), wmv), one15))));
            uint32_t cc[4];
            vst1q_u32(cc, ci);
            for (int i = 0; i < 4; i++) {
                if (cc[i] == 32768u) fl[nf++] = t + i;
                c[t + i] = (uint16_t)cc[i];
            }
        }
        scr->nfull[h] = nf;
    }
    /* attention x V per head in int32 chunks (c = 2^15 wraps to -2^15 and is corrected) */
    for (int i = 0; i < r * HD; i++) scr->acc64[i] = 0;
    int fpos[MAX_RATIO] = {0};
    const int npair = (n + 1) / 2;
    for (int p0 = 0; p0 < npair; p0 += AV_CHUNK / 2) {
        const int p1 = npair - p0 < AV_CHUNK / 2 ? npair : p0 + AV_CHUNK / 2;
        for (int h = 0; h < r; h++) {
            const uint16_t *c = scr->c + (size_t)h * tcap;
            for (int half = 0; half < 2; half++) {
                int32x4_t acc[16]; /* dims half*32 + 2i, +1 (x 2 positions) in acc[i] */
                for (int i = 0; i < 16; i++) acc[i] = vdupq_n_s32(0);
                const int8_t *vp = in->v + (size_t)p0 * 2 * HD + half * 64;
                for (int p = p0; p < p1; p++, vp += 2 * HD) {
                    const int16x4_t cp = vreinterpret_s16_s32(vdup_n_s32(ld32(c + 2 * p))); /* c0 c1 c0 c1 */
                    const int16x8_t cp8 = vcombine_s16(cp, cp);
                    for (int sl = 0; sl < 4; sl++) {
                        const int8x16_t v = vld1q_s8(vp + 16 * sl); /* 8 dims x 2 positions */
                        const int16x8_t vl = vmovl_s8(vget_low_s8(v)), vh = vmovl_high_s8(v);
                        acc[4 * sl] = vmlal_s16(acc[4 * sl], vget_low_s16(vl), cp);
                        acc[4 * sl + 1] = vmlal_high_s16(acc[4 * sl + 1], vl, cp8);
                        acc[4 * sl + 2] = vmlal_s16(acc[4 * sl + 2], vget_low_s16(vh), cp);
                        acc[4 * sl + 3] = vmlal_high_s16(acc[4 * sl + 3], vh, cp8);
                    }
                }
                int32_t *o = scr->acc32 + (size_t)h * HD + half * 32;
                for (int i = 0; i < 16; i += 2) vst1q_s32(o + 2 * i, vpaddq_s32(acc[i], acc[i + 1]));
            }
            uint32_t *a32 = (uint32_t *)(scr->acc32 + (size_t)h * HD);
            const int *fl = scr->full + (size_t)h * tcap;
            while (fpos[h] < scr->nfull[h] && fl[fpos[h]] < 2 * p1) {
                const int t = fl[fpos[h]++];
                const int8_t *vt = in->v + (size_t)(t / 2) * 2 * HD + (t & 1);
                for (int d = 0; d < HD; d++) a32[d] += (uint32_t)((int32_t)vt[2 * d] * 65536);
            }
            int64_t *a64 = scr->acc64 + (size_t)h * HD;
            for (int d = 0; d < HD; d++) a64[d] += (int32_t)a32[d];
        }
    }
    for (int h = 0; h < r; h++) {
        float *o = out + h * HD;
        if (!live[h]) {
            memset(o, 0, HD * sizeof(float));
            continue;
        }
        const float scale = wmax[h] / ((float)(double)esum[h] * 32768.0f);
        const int64_t *a64 = scr->acc64 + (size_t)h * HD;
        for (int d = 0; d < HD; d++) o[d] = (float)(double)a64[d] * scale;
    }
}

static void silu_mul_neon(float *g, const float *u, int n) {
    const float32x4_t log2e = vdupq_n_f32(LOG2E_F), one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t x = vld1q_f32(g + i);
        const float32x4_t e = exp2v(vmulq_f32(vnegq_f32(vabsq_f32(x)), log2e));
        const float32x4_t den = vaddq_f32(one, e);
        const float32x4_t num = vbslq_f32(vcgeq_f32(x, zero), x, vmulq_f32(x, e));
        vst1q_f32(g + i, vmulq_f32(vdivq_f32(num, den), vld1q_f32(u + i)));
    }
    if (i < n) kops_scalar.silu_mul(g + i, u + i, n - i);
}

const KOps kops_neon = {PATH_NEON, quant_act_neon, matmul_neon, attend_neon, silu_mul_neon,
                        k_rms_scale, k_quant_vec, k_rope};
#endif
