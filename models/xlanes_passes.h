/* The O(V) passes of the compiled "ensemble-x1" (included by _xlanes.c).
 *
 * Each pass is written once as plain C (the definition) and, on x86-64, once more with
 * AVX2 intrinsics (chosen at run time when the CPU has AVX2). Integer arithmetic only,
 * so both give the same bits; tests/test_xlanes.py runs both against the Python.
 *
 *   exp2w(d), 0 <= d <= 32 * 65536:  EXP2_FRAC[d & 0xFFFF] >> (d >> 16)    (Q31)
 *   with EXP2_FRAC of coder/quantize.py (passed in by xlanes.py, as uint32).
 */
#ifndef LMZIP_XLANES_PASSES_H
#define LMZIP_XLANES_PASSES_H

#include <stdint.h>

#define XL_ZD ((int64_t)32 << 16) /* exp2w(d) == 0 for every d >= this */

/* tables, filled once from Python (xlanes.py) */
static uint32_t XL_FRAC[1 << 16];
static int64_t XL_LOG2T[1025];
static int xl_tables_ready = 0;

static inline uint64_t xl_exp2w(int64_t d) { /* 0 <= d <= XL_ZD */
    return (uint64_t)XL_FRAC[d & 0xFFFF] >> (d >> 16);
}

/* models/fixedpoint.py log2q for 1 <= x < 2**63 */
static inline int64_t xl_log2q(uint64_t x) {
    const int e = 63 - __builtin_clzll(x);
    const uint64_t m = e <= 30 ? x << (30 - e) : x >> (e - 30);
    const int64_t t = (int64_t)(m - ((uint64_t)1 << 30));
    const int64_t i = t >> 20, f = t & ((1 << 20) - 1);
    const int64_t lo = XL_LOG2T[i];
    const int64_t y = (lo << 20) + (XL_LOG2T[i + 1] - lo) * f;
    return ((int64_t)e << 16) + ((y + ((int64_t)1 << 27)) >> 28);
}

/* fixedpoint.logaddexp2q */
static inline int64_t xl_logaddexp2q(int64_t a, int64_t b) {
    const int64_t top = a > b ? a : b;
    int64_t d = a > b ? a - b : b - a;
    if (d > XL_ZD) d = XL_ZD;
    return top + xl_log2q(((uint64_t)1 << 31) + xl_exp2w(d)) - ((int64_t)31 << 16);
}

/* -- scalar definitions ------------------------------------------------------------------ */

/* P1: z = L + ((b + f) >> 8) (absent terms 0); returns max(z) */
static int64_t xl_z1_scalar(const int32_t *restrict L, const int32_t *restrict b, const int64_t *restrict f,
                            int64_t *restrict z, int V) {
    int64_t top = INT64_MIN;
    for (int i = 0; i < V; i++) {
        int64_t v = L[i];
        if (f)
            v += ((int64_t)b[i] + f[i]) >> 8;
        else if (b)
            v += (int64_t)(b[i] >> 8);
        z[i] = v;
        top = v > top ? v : top;
    }
    return top;
}

/* P2 (softmax_q30 weights): w = exp2w(min(top - z, ZD)); returns sum(w) */
static uint64_t xl_exp_scalar(const int64_t *restrict z, int64_t top, uint32_t *restrict w, int V) {
    uint64_t s = 0;
    for (int i = 0; i < V; i++) {
        int64_t d = top - z[i];
        d = d < XL_ZD ? d : XL_ZD;
        const uint64_t v = xl_exp2w(d);
        w[i] = (uint32_t)v;
        s += v;
    }
    return s;
}

/* P3: p1 = (w * r) >> 32; logp1 = max(z - lse, floor); z = (logp1 * W) >> 16;
 * returns max(z) */
static int64_t xl_p1z2_scalar(const uint32_t *restrict w, uint64_t r, int64_t lse, int64_t floor_, int64_t W,
                              int64_t *restrict z, int32_t *restrict p1, int32_t *restrict lp, int V) {
    int64_t top = INT64_MIN;
    for (int i = 0; i < V; i++) {
        p1[i] = (int32_t)(((uint64_t)w[i] * r) >> 32);
        int64_t l = z[i] - lse;
        l = l < floor_ ? floor_ : l;
        lp[i] = (int32_t)l;
        const int64_t v = (l * W) >> 16;
        z[i] = v;
        top = v > top ? v : top;
    }
    return top;
}

/* P5: sum(((w * r) >> 32) * logp1) */
static int64_t xl_dot_scalar(const uint32_t *restrict w, uint64_t r, const int32_t *restrict lp, int V) {
    int64_t s = 0;
    for (int i = 0; i < V; i++) s += (int64_t)(((uint64_t)w[i] * r) >> 32) * lp[i];
    return s;
}

static int64_t xl_max_scalar(const int64_t *z, int V) {
    int64_t top = INT64_MIN;
    for (int i = 0; i < V; i++) top = z[i] > top ? z[i] : top;
    return top;
}

/* bias step: b = clip(b - ((p1 * lr + 2**29) >> 30), -lim, lim) */
static void xl_bias_scalar(int32_t *restrict b, const int32_t *restrict p1, int64_t lr, int64_t lim, int V) {
    for (int i = 0; i < V; i++) {
        int64_t v = (int64_t)b[i] - (((int64_t)p1[i] * lr + ((int64_t)1 << 29)) >> 30);
        v = v < -lim ? -lim : (v > lim ? lim : v);
        b[i] = (int32_t)v;
    }
}

/* fast bias step: f = f - (f >> shift) - ((p1 * lr + 2**29) >> 30) */
static void xl_fast_scalar(int64_t *restrict f, const int32_t *restrict p1, int64_t lr, int shift, int V) {
    for (int i = 0; i < V; i++)
        f[i] = f[i] - (f[i] >> shift) - (((int64_t)p1[i] * lr + ((int64_t)1 << 29)) >> 30);
}

/* -- AVX2 ------------------------------------------------------------------------------ */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define XL_HAVE_AVX2 1
#include <immintrin.h>

#define XL_AVX2 __attribute__((target("avx2")))

XL_AVX2 static inline __m256i xl_max64(__m256i a, __m256i b) {
    return _mm256_blendv_epi8(b, a, _mm256_cmpgt_epi64(a, b));
}

XL_AVX2 static inline int64_t xl_hmax64(__m256i v) {
    int64_t t[4];
    _mm256_storeu_si256((__m256i *)t, v);
    int64_t m = t[0];
    for (int k = 1; k < 4; k++) m = t[k] > m ? t[k] : m;
    return m;
}

/* floor shift of signed 64-bit lanes: ((x ^ s) >> k) ^ s with s = x < 0 ? -1 : 0 */
XL_AVX2 static inline __m256i xl_srai64(__m256i x, int k) {
    const __m256i s = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
    return _mm256_xor_si256(_mm256_srli_epi64(_mm256_xor_si256(x, s), k), s);
}

XL_AVX2 static int64_t xl_z1_avx2(const int32_t *restrict L, const int32_t *restrict b, const int64_t *restrict f,
                                  int64_t *restrict z, int V) {
    if (f) return xl_z1_scalar(L, b, f, z, V);
    __m256i top = _mm256_set1_epi64x(INT64_MIN);
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        /* widen first: L + (b >> 8) may leave int32 */
        const __m256i l8 = _mm256_loadu_si256((const __m256i *)(L + i));
        __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(l8));
        __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(l8, 1));
        if (b) {
            const __m256i b8 = _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(b + i)), 8);
            lo = _mm256_add_epi64(lo, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(b8)));
            hi = _mm256_add_epi64(hi, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(b8, 1)));
        }
        _mm256_storeu_si256((__m256i *)(z + i), lo);
        _mm256_storeu_si256((__m256i *)(z + i + 4), hi);
        top = xl_max64(top, xl_max64(lo, hi));
    }
    int64_t t = xl_hmax64(top);
    if (i < V) {
        const int64_t t2 = xl_z1_scalar(L + i, b ? b + i : NULL, NULL, z + i, V - i);
        t = t2 > t ? t2 : t;
    }
    return t;
}

XL_AVX2 static inline __m256i xl_sum_u32(__m256i acc, __m256i w) {
    acc = _mm256_add_epi64(acc, _mm256_and_si256(w, _mm256_set1_epi64x(0xFFFFFFFF)));
    return _mm256_add_epi64(acc, _mm256_srli_epi64(w, 32));
}

XL_AVX2 static inline uint64_t xl_hsum64(__m256i v) {
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, v);
    return t[0] + t[1] + t[2] + t[3];
}

/* weights exp2w(min(top - z, ZD)): one gather from EXP2_FRAC (256 KB) per 8 entries, none
 * for a block of 8 entries that are all >= 32 bits below the top (their weights are 0) */
XL_AVX2 static uint64_t xl_exp_avx2(const int64_t *restrict z, int64_t top, uint32_t *restrict w, int V) {
    const __m256i vtop = _mm256_set1_epi64x(top), zd = _mm256_set1_epi64x(XL_ZD);
    const __m256i perm = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6), lo16 = _mm256_set1_epi32(0xFFFF);
    __m256i acc = _mm256_setzero_si256();
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        __m256i d0 = _mm256_sub_epi64(vtop, _mm256_loadu_si256((const __m256i *)(z + i)));
        __m256i d1 = _mm256_sub_epi64(vtop, _mm256_loadu_si256((const __m256i *)(z + i + 4)));
        const __m256i c0 = _mm256_cmpgt_epi64(zd, d0), c1 = _mm256_cmpgt_epi64(zd, d1);
        const __m256i any = _mm256_or_si256(c0, c1);
        if (_mm256_testz_si256(any, any)) {
            _mm256_storeu_si256((__m256i *)(w + i), _mm256_setzero_si256());
            continue;
        }
        d0 = _mm256_blendv_epi8(zd, d0, c0);
        d1 = _mm256_blendv_epi8(zd, d1, c1);
        /* the 8 values (0 <= d <= 2**21) as 8 int32, in order */
        const __m128i p0 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(d0, perm));
        const __m128i p1 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(d1, perm));
        const __m256i d = _mm256_inserti128_si256(_mm256_castsi128_si256(p0), p1, 1);
        const __m256i frac = _mm256_i32gather_epi32((const int *)XL_FRAC, _mm256_and_si256(d, lo16), 4);
        const __m256i v = _mm256_srlv_epi32(frac, _mm256_srli_epi32(d, 16)); /* >= 32: 0 */
        _mm256_storeu_si256((__m256i *)(w + i), v);
        acc = xl_sum_u32(acc, v);
    }
    uint64_t s = xl_hsum64(acc);
    if (i < V) s += xl_exp_scalar(z + i, top, w + i, V - i);
    return s;
}

/* (w * r) >> 32 for 8 weights (w, r < 2**32): as 8 int32 in order */
XL_AVX2 static inline __m256i xl_mulhi8(__m256i w, __m256i vr) {
    const __m256i pe = _mm256_srli_epi64(_mm256_mul_epu32(w, vr), 32);
    const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(w, 32), vr);
    return _mm256_blend_epi32(pe, po, 0xAA); /* odd lanes: the high half of po */
}

XL_AVX2 static int64_t xl_p1z2_avx2(const uint32_t *restrict w, uint64_t r, int64_t lse, int64_t floor_, int64_t W,
                                    int64_t *restrict z, int32_t *restrict p1, int32_t *restrict lp, int V) {
    const __m256i vr = _mm256_set1_epi64x((int64_t)r), vlse = _mm256_set1_epi64x(lse);
    const __m256i vfl = _mm256_set1_epi64x(floor_), vW = _mm256_set1_epi64x(W);
    const __m256i perm = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    __m256i top = _mm256_set1_epi64x(INT64_MIN);
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + i));
        _mm256_storeu_si256((__m256i *)(p1 + i), xl_mulhi8(wv, vr));
        __m256i l0 = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(z + i)), vlse);
        __m256i l1 = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(z + i + 4)), vlse);
        l0 = _mm256_blendv_epi8(l0, vfl, _mm256_cmpgt_epi64(vfl, l0));
        l1 = _mm256_blendv_epi8(l1, vfl, _mm256_cmpgt_epi64(vfl, l1));
        /* floor_ <= l <= 0 fits int32: signed 32 x 32 -> 64 products with W (|W| < 2**31) */
        const __m256i z0 = xl_srai64(_mm256_mul_epi32(l0, vW), 16);
        const __m256i z1 = xl_srai64(_mm256_mul_epi32(l1, vW), 16);
        _mm256_storeu_si256((__m256i *)(z + i), z0);
        _mm256_storeu_si256((__m256i *)(z + i + 4), z1);
        const __m128i q0 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(l0, perm));
        const __m128i q1 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(l1, perm));
        _mm256_storeu_si256((__m256i *)(lp + i), _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1));
        top = xl_max64(top, xl_max64(z0, z1));
    }
    int64_t t = xl_hmax64(top);
    if (i < V) {
        const int64_t t2 = xl_p1z2_scalar(w + i, r, lse, floor_, W, z + i, p1 + i, lp + i, V - i);
        t = t2 > t ? t2 : t;
    }
    return t;
}

XL_AVX2 static int64_t xl_dot_avx2(const uint32_t *restrict w, uint64_t r, const int32_t *restrict lp, int V) {
    const __m256i vr = _mm256_set1_epi64x((int64_t)r);
    __m256i acc = _mm256_setzero_si256();
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + i));
        const __m256i l = _mm256_loadu_si256((const __m256i *)(lp + i));
        const __m256i p = xl_mulhi8(wv, vr); /* p <= 2**30 */
        /* signed products p * logp1 of even and odd lanes */
        acc = _mm256_add_epi64(acc, _mm256_mul_epi32(p, l));
        acc = _mm256_add_epi64(acc, _mm256_mul_epi32(_mm256_srli_epi64(p, 32), _mm256_srli_epi64(l, 32)));
    }
    int64_t s = (int64_t)xl_hsum64(acc);
    if (i < V) s += xl_dot_scalar(w + i, r, lp + i, V - i);
    return s;
}

XL_AVX2 static int64_t xl_max_avx2(const int64_t *z, int V) {
    __m256i top = _mm256_set1_epi64x(INT64_MIN);
    int i = 0;
    for (; i + 4 <= V; i += 4) top = xl_max64(top, _mm256_loadu_si256((const __m256i *)(z + i)));
    int64_t t = xl_hmax64(top);
    for (; i < V; i++) t = z[i] > t ? z[i] : t;
    return t;
}

XL_AVX2 static void xl_bias_avx2(int32_t *restrict b, const int32_t *restrict p1, int64_t lr, int64_t lim, int V) {
    /* p1 * lr < 2**55: 64-bit products of even and odd lanes; the step is < 2**26 */
    const __m256i vlr = _mm256_set1_epi64x(lr), half = _mm256_set1_epi64x((int64_t)1 << 29);
    const __m256i vlim = _mm256_set1_epi32((int32_t)lim), vnlim = _mm256_set1_epi32((int32_t)-lim);
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        const __m256i p = _mm256_loadu_si256((const __m256i *)(p1 + i));
        const __m256i se = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epu32(p, vlr), half), 30);
        const __m256i so =
            _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(p, 32), vlr), half), 30);
        const __m256i step = _mm256_or_si256(se, _mm256_slli_epi64(so, 32));
        /* |b| <= 2**30 and step < 2**26: b - step fits int32 */
        __m256i v = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(b + i)), step);
        v = _mm256_min_epi32(_mm256_max_epi32(v, vnlim), vlim);
        _mm256_storeu_si256((__m256i *)(b + i), v);
    }
    if (i < V) xl_bias_scalar(b + i, p1 + i, lr, lim, V - i);
}

/* -- AVX2, 32-bit values: the usual case ----------------------------------------------------
 * When z1 = L + (b >> 8) fits int32 (no fast bias, logits not near the int32 limits) the
 * first softmax runs on int32 values, 8 per vector; when z2 spans less than 2**32, so
 * does the second one (on z2 mod 2**32). Same results: the differences top - z
 * (0 <= top - z < 2**32) are exact as uint32 differences of the values mod 2**32. */

/* P1: z32 = L + (b >> 8); 0 with *top = max, or -1 if a value leaves int32 */
XL_AVX2 static int xl_z1_32_avx2(const int32_t *restrict L, const int32_t *restrict b, int32_t *restrict z32, int V,
                                 int32_t *top_out) {
    __m256i top = _mm256_set1_epi32(INT32_MIN), ovf = _mm256_setzero_si256();
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        const __m256i l = _mm256_loadu_si256((const __m256i *)(L + i));
        __m256i x = l;
        if (b) {
            const __m256i c = _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(b + i)), 8);
            x = _mm256_add_epi32(l, c);
            /* signed overflow: both terms differ in sign from the sum */
            ovf = _mm256_or_si256(ovf, _mm256_and_si256(_mm256_xor_si256(x, l), _mm256_xor_si256(x, c)));
        }
        _mm256_storeu_si256((__m256i *)(z32 + i), x);
        top = _mm256_max_epi32(top, x);
    }
    if (_mm256_movemask_ps(_mm256_castsi256_ps(ovf))) return -1;
    int32_t t[8];
    _mm256_storeu_si256((__m256i *)t, top);
    int64_t m = t[0];
    for (int k = 1; k < 8; k++) m = t[k] > m ? t[k] : m;
    for (; i < V; i++) {
        const int64_t v = (int64_t)L[i] + (b ? (int64_t)(b[i] >> 8) : 0);
        if (v < INT32_MIN || v > INT32_MAX) return -1;
        z32[i] = (int32_t)v;
        m = v > m ? v : m;
    }
    *top_out = (int32_t)m;
    return 0;
}

/* softmax weights w = exp2w(min(top - z, ZD)) of values given mod 2**32 (z, top), all
 * within 2**32 - 1 below top; returns sum(w) */
XL_AVX2 static uint64_t xl_exp32_avx2(const int32_t *restrict z, int32_t top, uint32_t *restrict w, int V) {
    const __m256i vtop = _mm256_set1_epi32(top), zd = _mm256_set1_epi32((int32_t)XL_ZD);
    const __m256i lo16 = _mm256_set1_epi32(0xFFFF);
    __m256i acc = _mm256_setzero_si256();
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        /* top - z as uint32 (exact: 0 <= top - z < 2**32), then min with ZD */
        const __m256i d = _mm256_min_epu32(_mm256_sub_epi32(vtop, _mm256_loadu_si256((const __m256i *)(z + i))), zd);
        if (_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(d, zd))) == 0xFF) {
            _mm256_storeu_si256((__m256i *)(w + i), _mm256_setzero_si256()); /* all 32+ bits down */
            continue;
        }
        const __m256i frac = _mm256_i32gather_epi32((const int *)XL_FRAC, _mm256_and_si256(d, lo16), 4);
        const __m256i v = _mm256_srlv_epi32(frac, _mm256_srli_epi32(d, 16)); /* >= 32: 0 */
        _mm256_storeu_si256((__m256i *)(w + i), v);
        acc = xl_sum_u32(acc, v);
    }
    uint64_t s = xl_hsum64(acc);
    for (; i < V; i++) {
        uint64_t d = (uint32_t)top - (uint32_t)z[i];
        d = d < (uint64_t)XL_ZD ? d : (uint64_t)XL_ZD;
        const uint64_t v = xl_exp2w((int64_t)d);
        w[i] = (uint32_t)v;
        s += v;
    }
    return s;
}

/* P3 on int32 z1 (z32, overwritten with the low 32 bits of z2): p1 = (w * r) >> 32;
 * logp1 = max(z1, thr) - lse (= max(z1 - lse, floor) with thr = floor + lse; the caller
 * checks that lse and thr fit int32); z = (logp1 * W) >> 16 into z (int64). Returns
 * max(z), *zmin = min(z). */
XL_AVX2 static int64_t xl_p1z2_32_avx2(const uint32_t *restrict w, uint64_t r, int32_t lse, int32_t thr, int64_t W,
                                       int32_t *restrict z32, int64_t *restrict z, int32_t *restrict p1,
                                       int32_t *restrict lp, int V, int64_t *zmin) {
    const __m256i vr = _mm256_set1_epi64x((int64_t)r), vW = _mm256_set1_epi64x(W);
    const __m256i vlse = _mm256_set1_epi32(lse), vthr = _mm256_set1_epi32(thr);
    const __m256i perm = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    __m256i top = _mm256_set1_epi64x(INT64_MIN), bot = _mm256_set1_epi64x(INT64_MAX);
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + i));
        _mm256_storeu_si256((__m256i *)(p1 + i), xl_mulhi8(wv, vr));
        const __m256i zv = _mm256_loadu_si256((const __m256i *)(z32 + i));
        const __m256i l = _mm256_sub_epi32(_mm256_max_epi32(zv, vthr), vlse); /* floor <= l <= 0 */
        _mm256_storeu_si256((__m256i *)(lp + i), l);
        const __m256i z0 = xl_srai64(_mm256_mul_epi32(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(l)), vW), 16);
        const __m256i z1 = xl_srai64(_mm256_mul_epi32(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(l, 1)), vW), 16);
        _mm256_storeu_si256((__m256i *)(z + i), z0);
        _mm256_storeu_si256((__m256i *)(z + i + 4), z1);
        const __m128i q0 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(z0, perm));
        const __m128i q1 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(z1, perm));
        _mm256_storeu_si256((__m256i *)(z32 + i), _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1));
        top = xl_max64(top, xl_max64(z0, z1));
        bot = _mm256_blendv_epi8(bot, z0, _mm256_cmpgt_epi64(bot, z0));
        bot = _mm256_blendv_epi8(bot, z1, _mm256_cmpgt_epi64(bot, z1));
    }
    int64_t t = xl_hmax64(top), b[4];
    _mm256_storeu_si256((__m256i *)b, bot);
    int64_t mn = b[0];
    for (int k = 1; k < 4; k++) mn = b[k] < mn ? b[k] : mn;
    for (; i < V; i++) {
        p1[i] = (int32_t)(((uint64_t)w[i] * r) >> 32);
        const int32_t l = (z32[i] > thr ? z32[i] : thr) - lse;
        lp[i] = l;
        const int64_t v = ((int64_t)l * W) >> 16;
        z[i] = v;
        z32[i] = (int32_t)v;
        t = v > t ? v : t;
        mn = v < mn ? v : mn;
    }
    *zmin = mn;
    return t;
}

static int xl_cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#else
#define XL_HAVE_AVX2 0
static int xl_cpu_avx2(void) { return 0; }
#endif

#endif
