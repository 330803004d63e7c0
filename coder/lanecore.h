/* lanecore.h: the multi-lane range coder and the log2q quantizer, without Python.
 *
 * Range coder: constriction 0.5's stream::queue::RangeEncoder / RangeDecoder with
 * Word = u32, State = u64, PRECISION = 24 (constriction's DefaultRangeEncoder /
 * DefaultRangeDecoder, which coder/range.py uses), written out field by field from
 * src/stream/queue.rs so that the same (symbol, frequency table) sequence gives the same
 * words and the same decoded symbols. The categorical model that coder/range.py hands
 * constriction has CDF == cumsum(freqs) exactly (see coder/range.py), so here a symbol is
 * coded with left = sum(freqs[:s]) and prob = freqs[s], and the decoder's quantile
 * function is "the s with cdf[s] <= quantile < cdf[s + 1]".
 *
 * Quantizer: coder/quantize.py::quantize_log2q in integer C (same tables, same floors,
 * same deficit rule), with the one per-element division replaced by a multiplication by
 * a per-row reciprocal and a one-step correction that is exact (proof at lc_recip).
 *
 * Everything is integer arithmetic; the AVX2 functions compute exactly what the scalar
 * ones compute (the tests run both and compare). */
#ifndef LMZIP_LANECORE_H
#define LMZIP_LANECORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LC_PRECISION 24
#define LC_TOTAL ((uint64_t)1 << LC_PRECISION)
/* constriction's Categorical(perfect=False) refuses len >= 2**24 - 1. */
#define LC_MAX_SYMBOLS (LC_TOTAL - 2)
/* quantize_log2q refuses n >= 2**23 (TOTAL // 2). */
#define LC_MAX_LOG2Q_SYMBOLS ((LC_TOTAL >> 1) - 1)
#define LC_LOG2Q_LIMIT ((int64_t)1 << 61)
/* exp2 weight of any d >= 32 * 65536 is 0 (a right shift by >= 32 of a value <= 2**31). */
#define LC_ZERO_D ((uint64_t)32 << 16)
#define LC_WEIGHT_ONE ((uint32_t)1 << 31)
/* Frequencies are summed in blocks of this many symbols so that the decoder finds the
 * block holding its quantile first and then scans at most one block. */
#define LC_BLOCK 64

/* A state whose range drops below 2**32 (State::BITS - Word::BITS) shifts out a word. */
#define LC_RENORM ((uint64_t)1 << 32)

enum {
    LC_OK = 0,
    LC_ERR_FREQS = 1,    /* a frequency row is not (each >= 1, sum == 2**24) */
    LC_ERR_RANGE = 2,    /* a log2q logit beyond +-2**61 */
    LC_ERR_INVALID = 3,  /* decoder: the point lies in no symbol's interval */
    LC_ERR_STATE = 4,    /* an invariant failed: the input changed while we read it */
};

/* ---------------------------------------------------------------------------------- */
/* Encoder                                                                            */
/* ---------------------------------------------------------------------------------- */

/* One lane's encoder: constriction's RangeEncoder { bulk, state, situation }. */
typedef struct {
    uint64_t lower;
    uint64_t range;           /* u64::MAX until the first symbol (RangeCoderState::default) */
    uint64_t n_inverted;      /* EncoderSituation: 0 = Normal, k > 0 = Inverted(k, first_inverted) */
    uint32_t first_inverted;
    uint64_t symbols;         /* symbols coded so far (bookkeeping only) */
    uint32_t *words;          /* the bulk: words already final */
    size_t len, cap;
} LcEnc;

static inline void lc_enc_init(LcEnc *e) {
    memset(e, 0, sizeof *e);
    e->range = UINT64_MAX;
}

/* The most words one lc_encode call can append: the n_inverted delayed words, then one. */
static inline uint64_t lc_enc_step_words(const LcEnc *e) { return e->n_inverted + 1; }

/* Encode one symbol with cumulative frequency `left` and frequency `prob` (>= 1,
 * left + prob <= 2**24). The caller has reserved lc_enc_step_words(e) words of room.
 * Mirrors Encode::encode_symbol in constriction's queue.rs step by step. */
static inline void lc_encode(LcEnc *e, uint32_t left, uint32_t prob) {
    /* range >= 2**32 between calls, so scale >= 2**8 and the new range is >= 2**8. */
    const uint64_t scale = e->range >> LC_PRECISION;
    const uint64_t range = scale * prob;
    const uint64_t new_lower = e->lower + scale * left; /* wrapping_add: mod 2**64 */

    if (e->n_inverted && new_lower + range > new_lower) {
        /* The pending words are now decided: either a carry reached them (new_lower
         * wrapped below the old lower) or it never will (the interval no longer wraps). */
        uint32_t first, rest;
        if (new_lower < e->lower) {
            first = e->first_inverted + 1u; /* u32 wrapping, as Rust release builds do */
            rest = 0;
        } else {
            first = e->first_inverted;
            rest = UINT32_MAX;
        }
        e->words[e->len++] = first;
        for (uint64_t k = 1; k < e->n_inverted; k++) e->words[e->len++] = rest;
        e->n_inverted = 0;
    }
    e->lower = new_lower;
    e->range = range;

    if (range < LC_RENORM) {
        e->range = range << 32;
        const uint32_t lower_word = (uint32_t)(e->lower >> 32);
        e->lower <<= 32;
        if (e->n_inverted)
            e->n_inverted++;
        else if (e->lower + e->range > e->lower)
            e->words[e->len++] = lower_word;
        else { /* the interval wraps: this word may still receive a carry */
            e->n_inverted = 1;
            e->first_inverted = lower_word;
        }
    }
    e->symbols++;
}

/* Number of words lc_seal appends (constriction's num_seal_words). */
static inline uint64_t lc_seal_count(const LcEnc *e) {
    if (e->range == UINT64_MAX) return 0;
    const uint64_t point = e->lower + (LC_RENORM - 1);
    const uint32_t point_word = (uint32_t)(point >> 32);
    const uint32_t upper_word = (uint32_t)((e->lower + e->range) >> 32);
    return e->n_inverted + (upper_word == point_word ? 2 : 1);
}

/* The words get_compressed() appends to the bulk (constriction's iter_seal /
 * seal_words), written to out (room for lc_seal_count(e) words). The state is not
 * changed: like constriction's EncoderGuard, finishing does not end the stream. */
static inline size_t lc_seal(const LcEnc *e, uint32_t *out) {
    if (e->range == UINT64_MAX) return 0; /* nothing encoded: empty stream */
    /* Any point in [lower, lower + range) identifies the stream; this one has its low
     * word all ones, so one word (sometimes two) suffices. */
    const uint64_t point = e->lower + (LC_RENORM - 1);
    size_t n = 0;
    if (e->n_inverted) {
        uint32_t first, rest;
        if (point >= e->lower) {
            first = e->first_inverted;
            rest = UINT32_MAX;
        } else {
            first = e->first_inverted + 1u;
            rest = 0;
        }
        out[n++] = first;
        for (uint64_t k = 1; k < e->n_inverted; k++) out[n++] = rest;
    }
    const uint32_t point_word = (uint32_t)(point >> 32);
    const uint32_t upper_word = (uint32_t)((e->lower + e->range) >> 32);
    out[n++] = point_word;
    if (upper_word == point_word) out[n++] = 0;
    return n;
}

/* ---------------------------------------------------------------------------------- */
/* Decoder                                                                            */
/* ---------------------------------------------------------------------------------- */

/* One lane's decoder state (constriction's RangeDecoder { bulk cursor, state, point }).
 * Words past the end of the stream read as 0, exactly as constriction's decoder, whose
 * read() returns None there and leaves the shifted-in word 0; past_end counts them. */
typedef struct {
    uint64_t lower, range, point;
    size_t pos;        /* next word to read */
    uint64_t past_end; /* words that were wanted after the stream ended */
    uint64_t symbols;
} LcDec;

static inline uint32_t lc_read_word(LcDec *d, const uint32_t *words, size_t n_words) {
    if (d->pos < n_words) return words[d->pos++];
    d->past_end++;
    return 0;
}

/* RangeDecoder::from_compressed: read_point takes up to two words; a stream of one word
 * w gives point = w << 32, an empty stream point = 0. */
static inline void lc_dec_init(LcDec *d, const uint32_t *words, size_t n_words) {
    memset(d, 0, sizeof *d);
    d->range = UINT64_MAX;
    d->pos = n_words < 2 ? n_words : 2;
    d->past_end = 2 - d->pos;
    if (n_words >= 2)
        d->point = ((uint64_t)words[0] << 32) | words[1];
    else if (n_words == 1)
        d->point = (uint64_t)words[0] << 32;
}

/* The quantile of the current point, or LC_ERR_INVALID where constriction returns
 * DecoderFrontendError::InvalidData (which its Python binding raises as AssertionError). */
static inline int lc_quantile(const LcDec *d, uint32_t *quantile) {
    const uint64_t scale = d->range >> LC_PRECISION; /* >= 2**8: range >= 2**32 */
    const uint64_t q = (d->point - d->lower) / scale; /* wrapping_sub */
    if (q >= LC_TOTAL) return LC_ERR_INVALID;
    *quantile = (uint32_t)q;
    return LC_OK;
}

/* Consume the symbol with cumulative `left` and frequency `prob` (the one that owns the
 * quantile). Mirrors Decode::decode_symbol after the quantile function. */
static inline void lc_decode_update(LcDec *d, const uint32_t *words, size_t n_words, uint32_t left,
                                    uint32_t prob) {
    const uint64_t scale = d->range >> LC_PRECISION;
    d->lower += scale * left;
    d->range = scale * prob;
    if (d->range < LC_RENORM) {
        d->lower <<= 32;
        d->range <<= 32;
        d->point = (d->point << 32) | lc_read_word(d, words, n_words);
    }
    d->symbols++;
}

/* ---------------------------------------------------------------------------------- */
/* Quantizer: quantize_log2q, one row                                                  */
/* ---------------------------------------------------------------------------------- */

/* EXP2_FRAC from coder/quantize.py as u32 (set once from Python: the values are part of
 * the archive format and computed there with decimal). Checked on load: frac[0] == 2**31
 * and frac[f] < 2**31 for f >= 1, so weight 2**31 occurs exactly where d == 0. */
extern uint32_t lc_exp2_frac[1 << 16];

/* Per-row constants of the floor division freqs = (w * F) // T.
 *
 * quantize_log2q computes q_i = floor(w_i * F / T) with F = 2**24 - V and T = sum(w):
 * 0 <= w_i <= 2**31, 1 <= F < 2**24, 2**31 <= T < 2**54 (the maximum weight is 2**31 and
 * V < 2**23). With M = floor(F * 2**32 / T) (one division per row; F * 2**32 < 2**56):
 *
 *   F * 2**32 / T - 1 < M <= F * 2**32 / T, so with x = w * F / T,
 *   x - w / 2**32 < w * M / 2**32 <= x, and w / 2**32 <= 1/2, hence
 *   q_e = floor(w * M / 2**32) is floor(x) or floor(x) - 1 (floor is monotone and
 *   x - 1/2 > x - 1).
 *
 * floor(x) = q_e + 1 exactly when (q_e + 1) * T <= w * F, an exact integer comparison, so
 * q = q_e + [(q_e + 1) * T <= w * F] is floor(x) for every input. No overflow: w * M <=
 * 2**31 * 2**25 = 2**56 (M < 2**24 * 2**32 / 2**31 = 2**25); w * F < 2**55; (q_e + 1) * T
 * <= (floor(x) + 1) * T <= w * F + T < 2**55 + 2**54 < 2**63 (so signed 64-bit compares,
 * as AVX2 has, are exact too). M, F, q_e + 1 < 2**25 and w <= 2**31 fit 32 bits, which
 * lets AVX2's 32x32->64 multiply do every product (T split into 32-bit halves). */
typedef struct {
    uint64_t F, T, M;
} LcRecip;

static inline LcRecip lc_recip(size_t V, uint64_t T) {
    LcRecip r;
    r.F = LC_TOTAL - V;
    r.T = T;
    r.M = (r.F << 32) / T;
    return r;
}

/* floor(w * F / T) + 1: one frequency before the deficit. */
static inline uint32_t lc_freq1(uint32_t w, const LcRecip *r) {
    const uint64_t n = (uint64_t)w * r->F;
    uint64_t q = ((uint64_t)w * r->M) >> 32;
    q += ((q + 1) * r->T <= n);
    return (uint32_t)(q + 1);
}

/* -- scalar passes -- */

/* Pass 1: max, min and the first index of the max. */
#define LC_DEFINE_MAXMIN(NAME, T)                                                    \
    static void NAME(const T *z, size_t V, int64_t *top, int64_t *bottom, size_t *arg) { \
        T hi = z[0], lo = z[0];                                                      \
        for (size_t i = 1; i < V; i++) {                                             \
            hi = z[i] > hi ? z[i] : hi;                                              \
            lo = z[i] < lo ? z[i] : lo;                                              \
        }                                                                            \
        size_t a = 0;                                                                \
        while (a < V && z[a] != hi) a++;                                             \
        *top = (int64_t)hi;                                                          \
        *bottom = (int64_t)lo;                                                       \
        *arg = a; /* a == V only if z changed under us: the caller checks */        \
    }
LC_DEFINE_MAXMIN(lc_maxmin_i32, int32_t)
LC_DEFINE_MAXMIN(lc_maxmin_i64, int64_t)

/* Pass 2: w[i] = exp2_weights(min(top - z[i], 32 * 65536)) and their sum.
 * d = top - z[i] is computed as an unsigned difference: it is in [0, 2**62] for the
 * values pass 1 saw, and anything else (the array changed meanwhile) wraps to a huge
 * value that the clamp maps to weight 0: never an out-of-bounds table index. */
static inline uint32_t lc_weight(uint64_t d) {
    if (d > LC_ZERO_D) d = LC_ZERO_D;
    /* d >> 16 <= 32: shift a 64-bit value so that a shift by 32 is defined (gives 0). */
    return (uint32_t)((uint64_t)lc_exp2_frac[d & 0xFFFF] >> (d >> 16));
}

static uint64_t lc_weights_i32(const int32_t *z, size_t V, int64_t top, uint32_t *w) {
    uint64_t sum = 0;
    const uint32_t t = (uint32_t)top;
    for (size_t i = 0; i < V; i++) {
        /* for int32 input, top - z[i] < 2**32: the u32 difference is exact */
        const uint32_t x = lc_weight((uint32_t)(t - (uint32_t)z[i]));
        w[i] = x;
        sum += x;
    }
    return sum;
}

static uint64_t lc_weights_i64(const int64_t *z, size_t V, int64_t top, uint32_t *w) {
    uint64_t sum = 0;
    for (size_t i = 0; i < V; i++) {
        const uint32_t x = lc_weight((uint64_t)top - (uint64_t)z[i]);
        w[i] = x;
        sum += x;
    }
    return sum;
}

/* Pass 3: w[i] <- floor(w[i] * F / T) + 1 in place; blocks[b] = sum of block b; returns
 * the total. */
static uint64_t lc_freqs_scalar(uint32_t *w, size_t V, const LcRecip *r, uint32_t *blocks) {
    uint64_t total = 0;
    for (size_t lo = 0, b = 0; lo < V; lo += LC_BLOCK, b++) {
        const size_t hi = V - lo > LC_BLOCK ? lo + LC_BLOCK : V;
        uint64_t s = 0;
        for (size_t i = lo; i < hi; i++) {
            const uint32_t f = lc_freq1(w[i], r);
            w[i] = f;
            s += f;
        }
        blocks[b] = (uint32_t)s; /* <= 64 * 2**24 */
        total += s;
    }
    return total;
}

/* -- AVX2 passes (same results; chosen at run time) -- */

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define LC_HAVE_AVX2 1
#include <immintrin.h>
#define LC_AVX2 __attribute__((target("avx2")))

LC_AVX2 static inline int64_t lc_hmax_epi32(__m256i v) {
    __m128i m = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0xB1));
    return _mm_cvtsi128_si32(m);
}

LC_AVX2 static inline int64_t lc_hmin_epi32(__m256i v) {
    __m128i m = _mm_min_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_min_epi32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_min_epi32(m, _mm_shuffle_epi32(m, 0xB1));
    return _mm_cvtsi128_si32(m);
}

LC_AVX2 static inline uint64_t lc_hsum_epi64(__m256i v) {
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, v);
    return t[0] + t[1] + t[2] + t[3];
}

LC_AVX2 static void lc_maxmin_i32_avx2(const int32_t *z, size_t V, int64_t *top, int64_t *bottom,
                                       size_t *arg) {
    size_t i = 0;
    int32_t hi = z[0], lo = z[0];
    if (V >= 8) {
        __m256i mx = _mm256_loadu_si256((const __m256i *)z), mn = mx;
        for (i = 8; i + 8 <= V; i += 8) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(z + i));
            mx = _mm256_max_epi32(mx, v);
            mn = _mm256_min_epi32(mn, v);
        }
        hi = (int32_t)lc_hmax_epi32(mx);
        lo = (int32_t)lc_hmin_epi32(mn);
    }
    for (; i < V; i++) {
        hi = z[i] > hi ? z[i] : hi;
        lo = z[i] < lo ? z[i] : lo;
    }
    size_t a = 0;
    const __m256i t = _mm256_set1_epi32(hi);
    for (; a + 8 <= V; a += 8) {
        const __m256i eq = _mm256_cmpeq_epi32(_mm256_loadu_si256((const __m256i *)(z + a)), t);
        const unsigned m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(eq));
        if (m) {
            a += (size_t)__builtin_ctz(m);
            goto found;
        }
    }
    while (a < V && z[a] != hi) a++;
found:
    *top = hi;
    *bottom = lo;
    *arg = a;
}

LC_AVX2 static void lc_maxmin_i64_avx2(const int64_t *z, size_t V, int64_t *top, int64_t *bottom,
                                       size_t *arg) {
    size_t i = 0;
    int64_t hi = z[0], lo = z[0];
    if (V >= 4) {
        __m256i mx = _mm256_loadu_si256((const __m256i *)z), mn = mx;
        for (i = 4; i + 4 <= V; i += 4) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(z + i));
            mx = _mm256_blendv_epi8(mx, v, _mm256_cmpgt_epi64(v, mx));
            mn = _mm256_blendv_epi8(mn, v, _mm256_cmpgt_epi64(mn, v));
        }
        int64_t a[4], b[4];
        _mm256_storeu_si256((__m256i *)a, mx);
        _mm256_storeu_si256((__m256i *)b, mn);
        hi = a[0];
        lo = b[0];
        for (int k = 1; k < 4; k++) {
            hi = a[k] > hi ? a[k] : hi;
            lo = b[k] < lo ? b[k] : lo;
        }
    }
    for (; i < V; i++) {
        hi = z[i] > hi ? z[i] : hi;
        lo = z[i] < lo ? z[i] : lo;
    }
    size_t a = 0;
    const __m256i t = _mm256_set1_epi64x(hi);
    for (; a + 4 <= V; a += 4) {
        const __m256i eq = _mm256_cmpeq_epi64(_mm256_loadu_si256((const __m256i *)(z + a)), t);
        const unsigned m = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(eq));
        if (m) {
            a += (size_t)__builtin_ctz(m);
            goto found;
        }
    }
    while (a < V && z[a] != hi) a++;
found:
    *top = hi;
    *bottom = lo;
    *arg = a;
}

/* Eight weights from eight clamped d (u32 lanes, d <= 32 * 65536): table look-ups, then a
 * variable right shift (vpsrlvd gives 0 for a count of 32, like the scalar 64-bit shift).
 * Adds the weights to the four u64 lanes of *acc. The look-ups are eight scalar loads
 * rather than vpgatherdd: as fast on AMD Zen 3 (both are bound by the 256 KB table's L2
 * misses), and not slowed down on Intel CPUs whose microcode makes gathers slow (GDS). */
LC_AVX2 static inline __m256i lc_weights8(__m256i d, __m256i *acc) {
    uint32_t idx[8] __attribute__((aligned(32))), g[8] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)idx, _mm256_and_si256(d, _mm256_set1_epi32(0xFFFF)));
    for (int k = 0; k < 8; k++) g[k] = lc_exp2_frac[idx[k]]; /* idx <= 0xFFFF: in bounds */
    const __m256i w = _mm256_srlv_epi32(_mm256_load_si256((const __m256i *)g), _mm256_srli_epi32(d, 16));
    const __m256i lo32 = _mm256_set1_epi64x(0xFFFFFFFF);
    *acc = _mm256_add_epi64(*acc, _mm256_add_epi64(_mm256_and_si256(w, lo32), _mm256_srli_epi64(w, 32)));
    return w;
}

LC_AVX2 static uint64_t lc_weights_i32_avx2(const int32_t *z, size_t V, int64_t top, uint32_t *w) {
    const __m256i t = _mm256_set1_epi32((int32_t)top), lim = _mm256_set1_epi32((int32_t)LC_ZERO_D);
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= V; i += 8) {
        /* u32 difference, exact for int32 input; vpminud clamps it as unsigned */
        __m256i d = _mm256_sub_epi32(t, _mm256_loadu_si256((const __m256i *)(z + i)));
        d = _mm256_min_epu32(d, lim);
        _mm256_storeu_si256((__m256i *)(w + i), lc_weights8(d, &acc));
    }
    uint64_t sum = lc_hsum_epi64(acc);
    const uint32_t tt = (uint32_t)top;
    for (; i < V; i++) {
        w[i] = lc_weight((uint32_t)(tt - (uint32_t)z[i]));
        sum += w[i];
    }
    return sum;
}

/* Four int64 d = top - z to u64 lanes clamped to [0, ZERO_D] (a negative d, impossible
 * unless z changed, clamps like the scalar path's unsigned wrap-around). */
LC_AVX2 static inline __m256i lc_clamp_d64(__m256i t, const int64_t *z) {
    const __m256i lim = _mm256_set1_epi64x((int64_t)LC_ZERO_D);
    const __m256i d = _mm256_sub_epi64(t, _mm256_loadu_si256((const __m256i *)z));
    const __m256i out = _mm256_or_si256(_mm256_cmpgt_epi64(d, lim), _mm256_cmpgt_epi64(_mm256_setzero_si256(), d));
    return _mm256_blendv_epi8(d, lim, out);
}

LC_AVX2 static uint64_t lc_weights_i64_avx2(const int64_t *z, size_t V, int64_t top, uint32_t *w) {
    const __m256i t = _mm256_set1_epi64x(top);
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= V; i += 8) {
        /* low 32-bit halves of both groups of four, in order, as eight u32 */
        const __m256i a = _mm256_permutevar8x32_epi32(lc_clamp_d64(t, z + i), even);
        const __m256i b = _mm256_permutevar8x32_epi32(lc_clamp_d64(t, z + i + 4), even);
        const __m256i d = _mm256_permute2x128_si256(a, b, 0x20);
        _mm256_storeu_si256((__m256i *)(w + i), lc_weights8(d, &acc));
    }
    uint64_t sum = lc_hsum_epi64(acc);
    for (; i < V; i++) {
        w[i] = lc_weight((uint64_t)top - (uint64_t)z[i]);
        sum += w[i];
    }
    return sum;
}

/* lc_freq1 on four u64 lanes whose low 32 bits hold w (vpmuludq reads only those), per
 * the proof at lc_recip; returns floor(w * F / T) + 1 in u64 lanes (< 2**25). */
LC_AVX2 static inline __m256i lc_freq4(__m256i w, __m256i F, __m256i M, __m256i Tlo, __m256i Thi) {
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i n = _mm256_mul_epu32(w, F);
    const __m256i q1 = _mm256_add_epi64(_mm256_srli_epi64(_mm256_mul_epu32(w, M), 32), one);
    /* (q_e + 1) * T = (q_e + 1) * T_lo + ((q_e + 1) * T_hi << 32): each part <= the sum < 2**63 */
    const __m256i p = _mm256_add_epi64(_mm256_mul_epu32(q1, Tlo), _mm256_slli_epi64(_mm256_mul_epu32(q1, Thi), 32));
    /* p <= n  <=>  n + 1 > p (signed compare, both < 2**63): then q = q_e + 1 */
    const __m256i up = _mm256_cmpgt_epi64(_mm256_add_epi64(n, one), p);
    return _mm256_sub_epi64(q1, up); /* up is 0 or -1 */
}

LC_AVX2 static uint64_t lc_freqs_avx2(uint32_t *w, size_t V, const LcRecip *r, uint32_t *blocks) {
    const __m256i F = _mm256_set1_epi64x((int64_t)r->F), M = _mm256_set1_epi64x((int64_t)r->M);
    const __m256i Tlo = _mm256_set1_epi64x((int64_t)(r->T & 0xFFFFFFFF));
    const __m256i Thi = _mm256_set1_epi64x((int64_t)(r->T >> 32));
    uint64_t total = 0;
    for (size_t lo = 0, b = 0; lo < V; lo += LC_BLOCK, b++) {
        const size_t hi = V - lo > LC_BLOCK ? lo + LC_BLOCK : V;
        __m256i acc = _mm256_setzero_si256();
        size_t i = lo;
        for (; i + 8 <= hi; i += 8) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(w + i));
            const __m256i fe = lc_freq4(v, F, M, Tlo, Thi);                         /* lanes 0,2,4,6 */
            const __m256i fo = lc_freq4(_mm256_srli_epi64(v, 32), F, M, Tlo, Thi); /* lanes 1,3,5,7 */
            _mm256_storeu_si256((__m256i *)(w + i), _mm256_or_si256(fe, _mm256_slli_epi64(fo, 32)));
            acc = _mm256_add_epi64(acc, _mm256_add_epi64(fe, fo));
        }
        uint64_t s = lc_hsum_epi64(acc);
        for (; i < hi; i++) {
            const uint32_t f = lc_freq1(w[i], r);
            w[i] = f;
            s += f;
        }
        blocks[b] = (uint32_t)s;
        total += s;
    }
    return total;
}
#else
#define LC_HAVE_AVX2 0
#endif

/* Quantize one row of log2q logits exactly as quantize_log2q: frequencies in w[0..V)
 * (u32; w is also the weight scratch), block sums in blocks[0..ceil(V / 64)). Returns
 * LC_OK, LC_ERR_RANGE (a value beyond +-2**61) or LC_ERR_STATE. 2 <= V < 2**23. */
static int lc_quantize_row(const void *z, int z64, size_t V, uint32_t *w, uint32_t *blocks, int avx2) {
    int64_t top, bottom;
    size_t a;
    uint64_t T, S;
    (void)avx2;
#if LC_HAVE_AVX2
    if (avx2) {
        if (z64)
            lc_maxmin_i64_avx2((const int64_t *)z, V, &top, &bottom, &a);
        else
            lc_maxmin_i32_avx2((const int32_t *)z, V, &top, &bottom, &a);
    } else
#endif
    {
        if (z64)
            lc_maxmin_i64((const int64_t *)z, V, &top, &bottom, &a);
        else
            lc_maxmin_i32((const int32_t *)z, V, &top, &bottom, &a);
    }
    if (top > LC_LOG2Q_LIMIT || bottom < -LC_LOG2Q_LIMIT) return LC_ERR_RANGE;
    if (a >= V) return LC_ERR_STATE;
#if LC_HAVE_AVX2
    if (avx2)
        T = z64 ? lc_weights_i64_avx2((const int64_t *)z, V, top, w) : lc_weights_i32_avx2((const int32_t *)z, V, top, w);
    else
#endif
        T = z64 ? lc_weights_i64((const int64_t *)z, V, top, w) : lc_weights_i32((const int32_t *)z, V, top, w);
    /* T >= 2**31 (the weight at the max) and T <= V * 2**31 < 2**54 unless z changed
     * between the passes; the proof at lc_recip needs exactly these bounds. */
    if (T < LC_WEIGHT_ONE || T >= ((uint64_t)1 << 54)) return LC_ERR_STATE;
    const LcRecip r = lc_recip(V, T);
#if LC_HAVE_AVX2
    if (avx2)
        S = lc_freqs_avx2(w, V, &r, blocks);
    else
#endif
        S = lc_freqs_scalar(w, V, &r, blocks);
    /* The floors leave a deficit 0 <= TOTAL - S < V; it goes to the first largest weight,
     * which is the first maximum of z (weight 2**31 exactly where d == 0). */
    if (S > LC_TOTAL) return LC_ERR_STATE;
    const uint32_t deficit = (uint32_t)(LC_TOTAL - S);
    w[a] += deficit;
    blocks[a / LC_BLOCK] += deficit;
    return LC_OK;
}

/* Cumulative frequency before symbol s, from the block sums and the frequencies. */
static inline uint32_t lc_left_of(const uint32_t *f, const uint32_t *blocks, size_t s) {
    uint64_t left = 0;
    const size_t b = s / LC_BLOCK;
    for (size_t k = 0; k < b; k++) left += blocks[k];
    for (size_t i = b * LC_BLOCK; i < s; i++) left += f[i];
    return (uint32_t)left;
}

/* The symbol owning `quantile` (< 2**24): cdf[s] <= quantile < cdf[s + 1]. Returns V if
 * none does (frequencies that do not sum past the quantile: cannot happen for a valid
 * row, and every read stays in bounds regardless). */
static inline size_t lc_find(const uint32_t *f, const uint32_t *blocks, size_t V, uint32_t quantile,
                             uint32_t *left) {
    const size_t nb = (V + LC_BLOCK - 1) / LC_BLOCK;
    uint64_t cum = 0;
    size_t b = 0;
    while (b < nb && cum + blocks[b] <= quantile) cum += blocks[b++];
    if (b == nb) return V;
    size_t i = b * LC_BLOCK;
    const size_t end = V - i > LC_BLOCK ? i + LC_BLOCK : V;
    while (i < end && cum + f[i] <= quantile) cum += f[i++];
    if (i == end) return V;
    *left = (uint32_t)cum;
    return i;
}

#endif /* LMZIP_LANECORE_H */
