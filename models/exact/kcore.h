/* The exact SmolLM2 kernel ("exact-v1"): shared types and the per-path operations.
 *
 * Every float operation here mirrors reference.py / arith.py one for one, in the same
 * order, element-wise; sums over a reduction axis are integer sums (exact, so their
 * order is free). Vector paths only vectorize across independent outputs (rows, lanes,
 * positions, head dims). Build with -O2 -ffp-contract=off -fno-fast-math and never
 * enable FMA: a fused multiply-add rounds once where the definition rounds twice.
 */
#ifndef LMZIP_KCORE_H
#define LMZIP_KCORE_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__i386__) || (defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0)
#error "the exact kernel needs IEEE binary32 arithmetic without excess precision (x86-64 SSE, aarch64)"
#endif

#define HD 64          /* head width (weights.py insists on it) */
#define QB 32          /* activation / weight block */
#define RG 8           /* rows per group in the repacked weights (one float vector of 8) */
#define KT 8           /* cache positions per key tile */
#define AV_CHUNK 256   /* positions per int32 partial sum in attention x V (see attend) */
#define MAX_RATIO 8    /* query heads per key/value head the kernel handles */

enum { KIND_Q4_1 = 0, KIND_Q8_0 = 1 };
/* Ids are stable (kcheck and tests name them); PATH_AVX512 is the AVX-512 VNNI path. */
enum { PATH_SCALAR = 0, PATH_AVX2 = 1, PATH_AVX512 = 2, PATH_NEON = 3, PATH_AVXVNNI = 4, N_PATHS = 5 };

extern const char *const kpath_names[N_PATHS];

/* A weight matrix [n, k] (y = W x), repacked from GGUF blocks:
 * rows in groups of RG = 8; for group g and block b (32 inputs):
 *   q4_1: qs[(g*nb + b)*128 + j*32 + r*4 + i] = q[r][4j+i] | q[r][4(j+4)+i] << 4   (j < 4)
 *   q8_0: qs[(g*nb + b)*256 + c*32 + r*4 + i] = q[r][4c+i]                          (c < 8)
 *   dm[(g*nb + b)*ds + r] = d of row r (float16 bits), q4_1: dm[... + 8 + r] = m.
 * Rows past n (the last group) are zero. */
typedef struct {
    int kind, n, k, nb, ng, ds;  /* ds: 8 (q8_0) or 16 (q4_1) halves per group-block */
    size_t qbytes;               /* bytes of qs per group-block: 128 or 256 */
    uint8_t *qs;
    uint16_t *dm;
    int shared;                  /* qs and dm are in a model's arena (not freed one by one) */
} QMat;

/* Quantized activations of B lanes: lane b's int8 values at xq + b*qstride, block scales
 * s and s * sum(block) at s/sx + b*sstride (arith.quantize_blocks). */
typedef struct {
    const int8_t *xq;
    const float *s, *sx;
    size_t qstride, sstride;
    int B;
} Act;

/* One (lane, layer, key/value head) of attention for r query heads. */
typedef struct {
    int r, n;                 /* query heads, positions 0..n-1 */
    const float *q;           /* [r][HD] post-RoPE queries */
    const int16_t *k;         /* key tiles: (t, d) at (t/8)*512 + (d/2)*16 + (t%8)*2 + d%2 */
    const float *sk;          /* [>= ceil8(n)] key scales */
    const int8_t *v;          /* value pairs: (t, d) at (t/2)*128 + d*2 + t%2 */
    const float *sv;          /* [>= ceil8(n)] value scales */
    /* the cache of the call that follows, n = next_n (for prefetching; NULL: none) */
    const int16_t *next_k;
    const float *next_sk;
    int next_n;
} AttnIn;

typedef struct {
    float *score;             /* [MAX_RATIO][tcap] */
    float *w;                 /* [MAX_RATIO][tcap] */
    uint16_t *c;              /* [MAX_RATIO][tcap] (c mod 2^16) */
    int *full;                /* [MAX_RATIO][tcap] positions whose c is 2^15 */
    int *nfull;               /* [MAX_RATIO] */
    int32_t *acc32;           /* [MAX_RATIO][HD] */
    int64_t *acc64;           /* [MAX_RATIO][HD] */
    int tcap;                 /* multiple of 8, >= n */
} AttnScratch;

/* Scratch of a matrix product over B lanes of k inputs: B*8 floats, then B*k bytes (the
 * activations biased to u8 by the VNNI paths' q8_0 product). */
#define KACC_BYTES(B, k) ((size_t)(B) * (RG * sizeof(float) + (size_t)(k)))

typedef struct {
    int path;
    /* x [k] -> int8 q [k], s [k/32], s*sum [k/32] */
    void (*quant_act)(const float *x, int k, int8_t *xq, float *s, float *sx);
    /* y[b][8g..8g+7] for groups g0 <= g < g1; acc: KACC_BYTES(B, k) bytes of scratch, 32-byte aligned */
    void (*matmul)(const QMat *w, const Act *a, float *y, size_t ystride, int g0, int g1, float *acc);
    void (*attend)(const AttnIn *in, float *out, AttnScratch *scr);
    /* g[i] = silu(g[i]) * u[i] */
    void (*silu_mul)(float *g, const float *u, int n);
    /* arith.rms_scale of n values (k_rms_scale) */
    float (*rms_scale)(const float *x, int n, float eps);
    /* arith.quantize_vector of n values, n a multiple of 8 (k_quant_vec) */
    void (*quant_vec)(const float *x, int n, float qmax, int32_t *q, float *s);
    /* RoPE in place on nv head vectors (adjacent pairs) with one position's table rows (k_rope) */
    void (*rope)(float *v, int nv, const float *cs, const float *sn);
} KOps;

/* The operations of a path, or NULL when not compiled in / not supported by this CPU. */
const KOps *kops_get(int path);
int kpath_cpu_ok(int path);

extern const KOps kops_scalar;
#if defined(__x86_64__)
extern const KOps kops_avx2;
extern const KOps kops_avx512;
extern const KOps kops_avxvnni;
#endif
#if defined(__aarch64__)
extern const KOps kops_neon;
#endif

/* -- shared scalar definitions (kscalar.c) ------------------------------------------- */
#define LOG2E_F 0x1.715476p+0f
#define EXP2_MIN_F (-125.0f)
#define EXP2_C0 0x1.cacdf6p-13f
#define EXP2_C1 0x1.44bd44p-10f
#define EXP2_C2 0x1.3d5826p-7f
#define EXP2_C3 0x1.c67ee4p-5f
#define EXP2_C4 0x1.ebfdf8p-3f
#define EXP2_C5 0x1.62e428p-1f
#define EXP2_C6 0x1.000000p+0f

static inline float k_rne(float x) { /* round to nearest even, exact for |x| < 2^22 */
    return (x + 0x1.8p23f) - 0x1.8p23f;
}

float k_f16(uint16_t h);
float k_exp2(float u);
void k_quant_vec(const float *x, int n, float qmax, int32_t *q, float *s);
float k_rms_scale(const float *x, int n, float eps);
void k_rope(float *v, int nv, const float *cs, const float *sn);
void k_attend_prep_q(const float *q, int32_t *qpair, float *sqs);

/* -- repacking and the model (kmodel.c) ---------------------------------------------- */
int qmat_pack(QMat *m, int kind, int n, int k, const uint8_t *raw);
void qmat_free(QMat *m);

/* Known-answer comparison of a path against the scalar path on synthetic data: 0 = same bits. */
int kselftest(int path, char *msg, size_t msglen);

#endif
