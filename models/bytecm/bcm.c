/* bcm.c: the bytecm context-mixing engine.
 *
 * Per bit, in this order:
 *   context models  each context (order-n hash, word, sparse, record, column, indirect,
 *                   x86 operand, plus a direct order 0) selects a bit-history state (one
 *                   byte, see the state machine below) in a shared hash table; an
 *                   adaptive state map turns the state into a probability, fed to the
 *                   mixer as stretch(p) (and, optionally, a second input that is nonzero
 *                   only for deterministic histories).
 *   match model     the longest earlier occurrence of the recent bytes predicts the next
 *                   bit, with a confidence learned per match length.
 *   mixer           gated: each selector context picks one weight set of a layer-1
 *                   mixer; with more than one selector a final mixer blends their outputs.
 *   APM / SSE       secondary estimation: maps (context, quantized stretch(p)) to a
 *                   learned probability, interpolating between 33 buckets.
 *   micro-diffusion a Tweedie-style denoiser of the final logit: the prediction's noise
 *                   level is estimated from the disagreement of its estimates (layer-1
 *                   mixers, APMs); per (noise level, small context) a learned additive
 *                   correction of stretch(p), interpolated over 25 knots, is applied and
 *                   then moved along the log-loss gradient by the coded bit.
 *   coder           coder/binarith.h, 16-bit probabilities.
 *
 * One function, code_chunk(), runs this loop for both directions; the only difference
 * is inside ba_code() (encode a known bit / decode one). All arithmetic that decides a
 * probability is integer (fixed-point weights, table squash/stretch built by integer
 * code), so every machine makes the same bits. Signed right shifts are arithmetic (GCC
 * and Clang define them so on every target).
 *
 * Payload layout: one flags byte (bit 0: the x86 E8/E9 model was on for this chunk; the
 * other bits must be 0), a 16-bit check of the data (little endian), then the
 * arithmetic-coded bits. An empty chunk is an empty payload. The check lets the decoder
 * itself refuse a payload that decodes to wrong bytes (all but 1 in 65536 of them):
 * a cut or altered arithmetic-coded stream usually still "decodes", to garbage. */
#include "bcm.h"

#include <stdlib.h>
#include <string.h>

#include "../../coder/binarith.h"

#define MAXCTX 32   /* hashed contexts */
#define MAXIN 80    /* mixer inputs */
#define MAXSEL 7    /* layer-1 mixers (selectors) */
#define LR_T 16384   /* bytes after which the mixer's learning-rate boost has halved */
#define MAXVERIFY 64 /* bytes compared backwards to confirm a match candidate */
#define PAD 64      /* zero bytes before the history, so short look-backs need no test */

/* ------------------------------------------------------------------------------------
 * Shared tables: squash / stretch (logistic in fixed point) and the bit-history states.
 * Built once by integer code so they are identical everywhere. */

static uint16_t sq16_t[4095]; /* squash16(d) for d = -2047..2047: 65536/(1+e^(-d/256)) */
static int16_t str_t[4096];   /* stretch(p) for 12-bit p: the inverse of squash12 */
static int bcm_ready;

static inline int clampi(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }

static inline int squash16(int d) { return sq16_t[clampi(d, -2047, 2047) + 2047]; }
static inline int squash12(int d) { return clampi((squash16(d) + 8) >> 4, 1, 4095); }
static inline int stretch(int p12) { return str_t[p12]; }

static void init_squash(void) {
    /* E = 2^32 * e^(-d/256) by repeated fixed-point multiplication with K = e^(-1/256):
     * the rounding is fixed by this code, not by libm. */
    const uint64_t K = 4278255361u; /* round(2^32 * e^(-1/256)) */
    uint64_t E = (uint64_t)1 << 32;
    for (int d = 0; d <= 2047; d++) {
        uint64_t den = ((uint64_t)1 << 32) + E;
        uint32_t p = (uint32_t)((((uint64_t)1 << 48) + den / 2) / den);
        if (p > 65535) p = 65535;
        sq16_t[2047 + d] = (uint16_t)p;
        sq16_t[2047 - d] = (uint16_t)(65536 - p);
        E = (E * K + ((uint64_t)1 << 31)) >> 32;
    }
    int pi = 0;
    for (int x = -2047; x <= 2047; x++) {
        int v = squash12(x);
        for (int j = pi; j <= v; j++) str_t[j] = (int16_t)x;
        pi = v + 1;
    }
    for (int j = pi; j < 4096; j++) str_t[j] = 2047;
}

/* Bit histories: a state is a pair of bounded counts (n0, n1) of zeros and ones seen in
 * a context, plus the last bit while both counts are small. When a bit arrives its count
 * grows and the opposite count is discounted (old evidence fades: the data is not
 * stationary). The larger count is bounded by a limit that shrinks as the smaller one
 * grows, which keeps the number of states under 256 while long deterministic runs (one
 * count 0) are counted up to 50. State 0 is (0, 0): a fresh slot. */
static uint8_t st_next[256][2];
static uint8_t st_n0[256], st_n1[256], st_pri[256];
static uint32_t st_p22[256]; /* initial probability of a 1, 22 bits */
static int n_states;

static const int st_lim[7] = {50, 30, 14, 9, 7, 6, 6};

static int st_allowed(int a, int b) {
    int m = a < b ? a : b, M = a < b ? b : a;
    return m <= 6 && M <= st_lim[m];
}
static int st_haslast(int a, int b) { return a >= 1 && b >= 1 && a <= 4 && b <= 4; }
static int st_discount(int n) {
    if (n <= 2) return n;
    int l = 0;
    while ((n - 1) >> (l + 1)) l++;
    return 2 + l; /* 3,4 -> 3; 5..8 -> 4; 9..16 -> 5; 17..32 -> 6; 33.. -> 7 */
}

static void init_states(void) {
    static int16_t idx[51][51][2];
    memset(idx, 0xFF, sizeof idx);
    int n = 0;
    /* enumerate by total count so that related states sit together */
    for (int tot = 0; tot <= 100; tot++)
        for (int a = 0; a <= tot && a <= 50; a++) {
            int b = tot - a;
            if (b > 50 || !st_allowed(a, b)) continue;
            for (int l = 0; l <= st_haslast(a, b); l++) {
                idx[a][b][l] = (int16_t)n;
                st_n0[n] = (uint8_t)a;
                st_n1[n] = (uint8_t)b;
                st_pri[n] = (uint8_t)(a + b);
                st_p22[n] = (uint32_t)((((uint64_t)(2 * b + 1)) << 22) / (uint64_t)(2 * a + 2 * b + 2));
                n++;
            }
        }
    n_states = n; /* 225 */
    for (int s = 0; s < 256; s++)
        for (int y = 0; y < 2; y++) {
            if (s >= n) {
                st_next[s][y] = 0;
                continue;
            }
            int a = st_n0[s], b = st_n1[s];
            if (y) {
                b++;
                a = st_discount(a);
            } else {
                a++;
                b = st_discount(b);
            }
            while (!st_allowed(a, b)) { /* trim the larger count; on a tie the older one */
                if (a > b || (a == b && y))
                    a--;
                else
                    b--;
            }
            int l = st_haslast(a, b) ? y : 0;
            st_next[s][y] = (uint8_t)idx[a][b][l];
        }
    for (int s = n; s < 256; s++) { /* unreachable states (hostile tables cannot occur, but be total) */
        st_n0[s] = st_n1[s] = 0;
        st_pri[s] = 0;
        st_p22[s] = 1u << 21;
    }
}

/* reciprocal table for adaptive rates: 1/(n + 1.5) in 1/65536 units */
static int32_t rec_t[1024];

void bcm_init(void) {
    if (bcm_ready) return;
    init_squash();
    init_states();
    for (int n = 0; n < 1024; n++) rec_t[n] = 131072 / (2 * n + 3);
    bcm_ready = 1;
}

/* ------------------------------------------------------------------------------------
 * Hashing. All contexts are reduced to 32-bit values and mixed with a fixed integer
 * finalizer; the hash table index uses the low bits and an 8-bit check the top bits. */

static inline uint32_t hmix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}
static inline uint32_t hcomb(uint32_t h, uint32_t v) { return (h ^ (h >> 13)) * 0x9E3779B1u + v + 0x632BE5ABu; }

/* ------------------------------------------------------------------------------------
 * Parameters: names of the selector and APM bits. */

enum { MS_C0 = 1, MS_MATCH = 2, MS_C1 = 4, MS_ORDER = 8, MS_C2 = 16, MS_WORD = 32, MS_NONE = 64 };
enum { AP_O0 = 1, AP_O1 = 2, AP_O2 = 4, AP_MATCH = 8 };
#define MS_ALL 127
#define AP_ALL 15

typedef struct {
    int lo, hi;
} Range;
static const Range prange[BCM_NPARAM] = {
    [BP_VERSION] = {BCM_VERSION, BCM_VERSION},
    [BP_HASH_LOG] = {16, BCM_MAX_HASH_LOG},
    [BP_ORDERS] = {0, 0xFE},
    [BP_HIGH_ORDER] = {0, 32},
    [BP_WORD] = {0, 4},
    [BP_SPARSE] = {0, 6},
    [BP_RECORD] = {0, 1},
    [BP_COLUMN] = {0, 1},
    [BP_X86] = {0, 1},
    [BP_INDIRECT] = {0, 1},
    [BP_MATCH_LOG] = {0, BCM_MAX_MATCH_LOG},
    [BP_MATCH_MIN] = {3, 16},
    [BP_MATCH_LONG] = {0, 48},
    [BP_INPUTS2] = {0, 1},
    [BP_MIXSEL] = {1, MS_ALL},
    [BP_MIX_LR] = {1, 64},
    [BP_MIX_LR2] = {1, 64},
    [BP_APM] = {0, AP_ALL},
    [BP_APM_RATE] = {4, 8},
    [BP_DIFFUSION] = {0, 3},
    [BP_DIFF_RATE] = {1, 64},
    [BP_SM_LIMIT] = {16, 1023},
};

const char *bcm_check_params(const int32_t *P, size_t n) {
    if (n != BCM_NPARAM) return "wrong number of parameters";
    for (int i = 0; i < BCM_NPARAM; i++)
        if (P[i] < prange[i].lo || P[i] > prange[i].hi) return "parameter out of range";
    if (P[BP_HIGH_ORDER] != 0 && P[BP_HIGH_ORDER] < 8) return "high order must be 0 or 8..32";
    if (P[BP_MATCH_LOG] != 0 && P[BP_MATCH_LOG] < 10) return "match index must be 0 or 2^10..";
    if (P[BP_MATCH_LONG] != 0 && P[BP_MATCH_LONG] <= P[BP_MATCH_MIN]) return "long match length must exceed the minimum";
    return NULL;
}

/* ------------------------------------------------------------------------------------
 * Model components. */

/* An adaptive probability: 22-bit p (high bits) and a 10-bit count (low bits). The rate
 * is 1/(n + 1.5) until n reaches the limit, then fixed. */
static inline int sm_p12(uint32_t e) { return (int)(e >> 20); }
static inline void sm_update(uint32_t *e, int y, int limit) {
    uint32_t v = *e;
    int n = (int)(v & 1023);
    int32_t p = (int32_t)(v >> 10);
    int32_t target = y ? 4194303 : 0;
    p += (int32_t)(((int64_t)(target - p) * rec_t[n]) >> 16);
    if (n < limit) n++;
    *e = ((uint32_t)p << 10) | (uint32_t)n;
}

/* APM: per context 33 16-bit probabilities over stretch(p) = -2048..2048 in steps of 128;
 * the output interpolates the two nearest, the update moves the nearer one. */
typedef struct {
    uint16_t *t;
    int n, idx;
} Apm;

static int apm_alloc(Apm *a, int n) {
    a->n = n;
    a->idx = 0;
    a->t = (uint16_t *)malloc((size_t)n * 33 * sizeof(uint16_t));
    if (!a->t) return -1;
    for (int j = 0; j < 33; j++) a->t[j] = (uint16_t)clampi(squash16((j - 16) * 128), 16, 65520);
    /* every context starts as the identity map: copy the first row by doubling */
    size_t done = 33, total = (size_t)n * 33;
    while (done < total) {
        size_t k = done < total - done ? done : total - done;
        memcpy(a->t + done, a->t, k * sizeof(uint16_t));
        done += k;
    }
    return 0;
}
static inline int apm_p(Apm *a, int p12, int cx) {
    int s = stretch(p12) + 2048; /* 1..4095 */
    int lo = s >> 7, w = s & 127;
    int base = cx * 33 + lo;
    a->idx = base + (w >> 6);
    return (a->t[base] * (128 - w) + a->t[base + 1] * w) >> 7;
}
static inline void apm_update(Apm *a, int y, int rate) {
    int g = (y << 16) + (y << rate) - y - y;
    int v = a->t[a->idx];
    v += (g - v) >> rate;
    a->t[a->idx] = (uint16_t)clampi(v, 16, 65520);
}

/* Micro-diffusion knot: the learned additive correction of stretch(p), in 1/1024 of a
 * stretch unit. */
typedef struct {
    int32_t corr;
} DBin;
#define DIFF_NB 24 /* stretch intervals per context (DIFF_NB + 1 knots) */

/* A mixer layer: nsets weight sets of n weights (16.16 fixed point). */
typedef struct {
    int32_t *w;
    int n, nsets, sel;
    int pr; /* last output, 12 bits */
    int dot;
} Mixer;

static int mixer_alloc(Mixer *m, int n, int nsets, int32_t w0) {
    m->n = n;
    m->nsets = nsets;
    m->sel = 0;
    m->pr = 2048;
    m->dot = 0;
    m->w = (int32_t *)malloc((size_t)n * nsets * sizeof(int32_t));
    if (!m->w) return -1;
    for (size_t i = 0; i < (size_t)n * nsets; i++) m->w[i] = w0;
    return 0;
}

/* dot product in the stretch domain; |x| < 2^11 and |w| < 2^19 so each product fits
 * 32 bits and the sum is taken in 64. */
static inline int mixer_dot(const int32_t *w, const int32_t *x, int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++) s += (int32_t)(x[i] * w[i]);
    return (int)(s >> 16);
}
/* err is (y - p) in 12-bit units times the learning rate; the callers keep
 * |x * err| < 2^31 (see update()) */
static inline void mixer_train(int32_t *w, const int32_t *x, int n, int err) {
    for (int i = 0; i < n; i++) {
        int32_t v = w[i] + ((x[i] * err + (1 << 13)) >> 14);
        w[i] = clampi(v, -(1 << 19) + 1, (1 << 19) - 1);
    }
}

/* ------------------------------------------------------------------------------------
 * The engine state for one chunk. */

typedef struct {
    int32_t P[BCM_NPARAM];
    /* history */
    uint8_t *hbuf, *H; /* H = hbuf + PAD; H[-PAD..-1] are zero */
    size_t pos, n;
    /* bit state */
    int c0, bitpos, nib; /* partial byte with a leading 1, bits done, nibble node */
    /* hashed contexts */
    uint8_t *ht_raw, *ht;
    uint32_t ht_mask;
    int nctx, n_order_ctx;
    uint32_t ch[MAXCTX];   /* per context: byte-boundary hash */
    uint8_t *slot[MAXCTX]; /* per context: current nibble slot */
    uint8_t *cur[MAXCTX];  /* per context: state byte being predicted */
    uint32_t *sm;          /* (nctx + 1) * 256 state maps; the last is order 0 */
    int order_hits;
    uint8_t t0[256]; /* order-0 states by c0 */
    uint8_t s0cur;
    /* match model */
    uint32_t *mt_short, *mt_long;
    uint32_t mt_mask;
    size_t mptr;
    int mlen, mexp, mbit; /* length, expected byte, expected bit (or -1) */
    uint32_t mhs, mhl;    /* index slots of the short and long hashes */
    uint32_t msm[64];
    /* word model */
    uint32_t w0, w1, w2;
    int wlen;
    /* record model */
    uint32_t rpos[256][3];
    int rlen, rcand, rcount;
    /* column model */
    size_t line_start, pline_start, pline_len, fstart;
    int fi, sep, sepcnt[4];
    uint32_t pfs[64], cfs[64]; /* field start offsets from the line start: previous, current line */
    int pnf, cnf;
    uint32_t fh; /* hash of the current field so far */
    /* indirect model */
    uint16_t ind1[256];
    uint16_t *ind2;
    /* x86 */
    int x86_on, x86_left, x86_carry;
    uint32_t x86_base;
    /* mixing */
    int32_t x[MAXIN];
    int nin;
    Mixer mx[MAXSEL];
    int nsel, selbits[MAXSEL];
    Mixer fin;
    int32_t fx[MAXSEL + 1];
    int pmix; /* mixer output, 12 bits */
    /* APM */
    Apm apm[4];
    int apm_on[4];
    /* diffusion */
    DBin *db[3];
    int nsteps, dbin[3], dfrac[3], dp_out[3];
} Engine;

static void engine_free(Engine *e) {
    if (!e) return;
    free(e->hbuf);
    free(e->ht_raw);
    free(e->sm);
    free(e->mt_short);
    free(e->mt_long);
    free(e->ind2);
    for (int i = 0; i < MAXSEL; i++) free(e->mx[i].w);
    free(e->fin.w);
    for (int i = 0; i < 4; i++) free(e->apm[i].t);
    for (int i = 0; i < 3; i++) free(e->db[i]);
    free(e);
}

static int count_ctx(const int32_t *P, int x86_on) {
    int n = 0;
    for (int k = 1; k <= 7; k++) n += (P[BP_ORDERS] >> k) & 1;
    n += P[BP_HIGH_ORDER] != 0;
    n += P[BP_WORD] + P[BP_SPARSE] + 3 * P[BP_RECORD] + 4 * P[BP_COLUMN] + 2 * P[BP_INDIRECT];
    n += x86_on;
    return n;
}

static const int ms_sets[7] = {256, 32, 256, 128, 256, 64, 1}; /* weight sets per selector */

size_t bcm_memory(const int32_t *P, size_t size) {
    size_t m = sizeof(Engine) + size + PAD + ((size_t)1 << P[BP_HASH_LOG]) + 64;
    int nctx = count_ctx(P, P[BP_X86]);
    m += (size_t)(nctx + 1) * 256 * 4;
    if (P[BP_MATCH_LOG]) m += ((size_t)4 << P[BP_MATCH_LOG]) * (P[BP_MATCH_LONG] ? 2 : 1);
    if (P[BP_INDIRECT]) m += 65536 * 2;
    for (int i = 0; i < 7; i++)
        if (P[BP_MIXSEL] >> i & 1) m += (size_t)ms_sets[i] * MAXIN * 4;
    static const int an[4] = {256, 65536, 65536, 4096};
    for (int i = 0; i < 4; i++)
        if (P[BP_APM] >> i & 1) m += (size_t)an[i] * 33 * 2;
    m += (size_t)(MAXSEL + 1) * 8 * 4; /* final mixer */
    m += 3 * 256 * (DIFF_NB + 1) * sizeof(DBin);
    return m;
}

static Engine *engine_new(const int32_t *P, size_t n, int x86_on) {
    Engine *e = (Engine *)calloc(1, sizeof(Engine));
    if (!e) return NULL;
    memcpy(e->P, P, sizeof e->P);
    e->n = n;
    e->x86_on = x86_on;
    e->hbuf = (uint8_t *)calloc(n + PAD, 1);
    if (!e->hbuf) goto fail;
    e->H = e->hbuf + PAD;
    size_t hsz = (size_t)1 << P[BP_HASH_LOG];
    e->ht_raw = (uint8_t *)calloc(hsz + 64, 1);
    if (!e->ht_raw) goto fail;
    e->ht = e->ht_raw + ((64 - ((uintptr_t)e->ht_raw & 63)) & 63);
    e->ht_mask = (uint32_t)(hsz >> 6) - 1;
    e->nctx = count_ctx(P, x86_on);
    e->sm = (uint32_t *)malloc((size_t)(e->nctx + 1) * 256 * sizeof(uint32_t));
    if (!e->sm) goto fail;
    for (int c = 0; c <= e->nctx; c++)
        for (int s = 0; s < 256; s++) e->sm[c * 256 + s] = st_p22[s] << 10;
    if (P[BP_MATCH_LOG]) {
        size_t ms = (size_t)1 << P[BP_MATCH_LOG];
        e->mt_mask = (uint32_t)ms - 1;
        e->mt_short = (uint32_t *)calloc(ms, 4);
        if (!e->mt_short) goto fail;
        if (P[BP_MATCH_LONG]) {
            e->mt_long = (uint32_t *)calloc(ms, 4);
            if (!e->mt_long) goto fail;
        }
    }
    for (int i = 0; i < 64; i++) e->msm[i] = 1u << 31;
    if (P[BP_INDIRECT]) {
        e->ind2 = (uint16_t *)calloc(65536, 2);
        if (!e->ind2) goto fail;
    }
    /* inputs: order 0, contexts, match, bias */
    int per = 1 + P[BP_INPUTS2];
    int nin = per * (e->nctx + 1) + (P[BP_MATCH_LOG] ? 2 : 0) + 1;
    e->nin = nin;
    e->nsel = 0;
    for (int i = 0; i < 7; i++)
        if (P[BP_MIXSEL] >> i & 1) {
            /* initial weights: small, so that early predictions stay moderate however many inputs */
            if (mixer_alloc(&e->mx[e->nsel], nin, ms_sets[i], (1 << 18) / nin < 8192 ? (1 << 18) / nin : 8192) < 0) goto fail;
            e->selbits[e->nsel++] = 1 << i;
        }
    if (e->nsel > 1 && mixer_alloc(&e->fin, e->nsel + 1, 8, (1 << 16) / e->nsel) < 0) goto fail;
    static const int an[4] = {256, 65536, 65536, 4096};
    for (int i = 0; i < 4; i++)
        if (P[BP_APM] >> i & 1) {
            if (apm_alloc(&e->apm[i], an[i]) < 0) goto fail;
            e->apm_on[i] = 1;
        }
    e->nsteps = P[BP_DIFFUSION];
    for (int i = 0; i < e->nsteps; i++) {
        e->db[i] = (DBin *)malloc((size_t)256 * (DIFF_NB + 1) * sizeof(DBin));
        if (!e->db[i]) goto fail;
        for (int j = 0; j < 256 * (DIFF_NB + 1); j++) e->db[i][j].corr = 0;
    }
    e->c0 = 1;
    e->nib = 1;
    e->mbit = -1;
    e->sep = ',';
    e->cnf = 1;
    return e;
fail:
    engine_free(e);
    return NULL;
}

/* Find or claim the slot of hash h in its 64-byte bucket (4 slots of 16 bytes: an
 * 8-bit check, then the 15 states of a nibble's binary tree). A miss evicts the slot
 * whose first node has seen the fewest bits. */
static inline uint8_t *ht_find(Engine *e, uint32_t h, int *found) {
    uint8_t chk = (uint8_t)(h >> 24);
    uint8_t *b = e->ht + ((size_t)(h & e->ht_mask) << 6);
    for (int i = 0; i < 4; i++)
        if (b[i * 16] == chk) {
            *found = 1;
            return b + i * 16;
        }
    int best = 0, bp = 1 << 30;
    for (int i = 0; i < 4; i++) {
        int pr = st_pri[b[i * 16 + 1]];
        if (pr < bp) {
            bp = pr;
            best = i;
        }
    }
    uint8_t *s = b + best * 16;
    memset(s, 0, 16);
    s[0] = chk;
    *found = 0;
    return s;
}

static inline void ht_prefetch(Engine *e, uint32_t h) {
    __builtin_prefetch(e->ht + ((size_t)(h & e->ht_mask) << 6));
}

/* ------------------------------------------------------------------------------------
 * Byte-boundary updates: histories, the match search and every context hash. */

static inline int is_word_char(int c) { return ((c | 32) >= 'a' && (c | 32) <= 'z') || c >= 128; }

/* The match model in two halves, so that the index lookup's cache miss overlaps the
 * other byte-level work: match_hash() extends or drops the current match, hashes the
 * last bytes and prefetches their index slots; match_find() looks for a new match. */
static void match_hash(Engine *e) {
    const uint8_t *H = e->H;
    size_t i = e->pos; /* bytes known: H[0..i) */
    const int32_t *P = e->P;
    if (e->mlen > 0 && e->mptr < i && H[e->mptr] == H[i - 1]) {
        e->mlen += e->mlen < 65535;
        e->mptr++;
    } else {
        e->mlen = 0;
    }
    int mmin = P[BP_MATCH_MIN], mlong = P[BP_MATCH_LONG];
    e->mhs = e->mhl = 0;
    if (i >= (size_t)mmin) {
        uint32_t hs = 0;
        for (int k = 1; k <= mmin; k++) hs = hcomb(hs, H[i - k]);
        e->mhs = hmix(hs) & e->mt_mask;
        __builtin_prefetch(e->mt_short + e->mhs);
    }
    if (mlong && i >= (size_t)mlong) {
        uint32_t hl = 0;
        for (int k = 1; k <= mlong; k++) hl = hcomb(hl, H[i - k]);
        e->mhl = hmix(hl + 1) & e->mt_mask;
        __builtin_prefetch(e->mt_long + e->mhl);
    }
}

static void match_find(Engine *e) {
    const uint8_t *H = e->H;
    size_t i = e->pos;
    const int32_t *P = e->P;
    int mmin = P[BP_MATCH_MIN], mlong = P[BP_MATCH_LONG];
    if (e->mlen == 0 && i >= (size_t)mmin) {
        /* candidates: the long hash first (a long match is worth more), then the short */
        for (int t = 0; t < 2 && e->mlen == 0; t++) {
            uint32_t cand;
            if (t == 0) {
                if (!mlong || i < (size_t)mlong) continue;
                cand = e->mt_long[e->mhl];
            } else {
                cand = e->mt_short[e->mhs];
            }
            if (cand == 0 || cand >= i) continue;
            int l = 0;
            while (l < MAXVERIFY && (size_t)l < cand && H[cand - 1 - l] == H[i - 1 - l]) l++;
            if (l >= mmin) {
                e->mlen = l;
                e->mptr = cand;
            }
        }
    }
    if (i >= (size_t)mmin) e->mt_short[e->mhs] = (uint32_t)i;
    if (mlong && i >= (size_t)mlong) e->mt_long[e->mhl] = (uint32_t)i;
    e->mexp = e->mlen > 0 ? H[e->mptr] : 0;
}

static inline int len_bucket(int len) {
    if (len < 12) return len;                   /* 0..11 */
    if (len < 16) return 12;
    if (len < 24) return 13;
    if (len < 32) return 14;
    return 15;
}

static void update_record(Engine *e, int c) {
    uint32_t i = (uint32_t)e->pos; /* position of the byte just added, + 1 */
    uint32_t *r = e->rpos[c];
    uint32_t d1 = i - r[0], d2 = r[0] - r[1], d3 = r[1] - r[2];
    if (r[2] && d1 == d2 && d2 == d3 && d1 >= 2 && d1 <= 4096) {
        /* a byte value recurring at a fixed distance three times: vote for it as the
         * record length (majority vote, so one noisy value cannot flip it) */
        if ((int)d1 == e->rcand)
            e->rcount += e->rcount < 64;
        else if (e->rcount > 0)
            e->rcount--;
        else
            e->rcand = (int)d1, e->rcount = 1;
        if (e->rcount >= 8 && e->rlen != e->rcand) e->rlen = e->rcand;
    }
    r[2] = r[1];
    r[1] = r[0];
    r[0] = i;
}

static void update_column(Engine *e, int c) {
    size_t i = e->pos; /* the byte just added is H[i - 1] */
    static const uint8_t seps[4] = {',', '\t', ';', '|'};
    for (int k = 0; k < 4; k++)
        if (c == seps[k]) e->sepcnt[k]++;
    if (c == '\n') {
        /* the line just ended becomes "the previous line": its start, length and fields */
        e->pline_start = e->line_start;
        e->pline_len = i - e->line_start; /* includes the newline */
        e->line_start = i;
        memcpy(e->pfs, e->cfs, sizeof e->pfs);
        e->pnf = e->cnf;
        e->cnf = 1;
        e->cfs[0] = 0;
        /* the separator for the next line: the most frequent candidate in this one */
        int best = -1, bc = 0;
        for (int k = 0; k < 4; k++)
            if (e->sepcnt[k] > bc) bc = e->sepcnt[k], best = k;
        if (best >= 0) e->sep = seps[best];
        memset(e->sepcnt, 0, sizeof e->sepcnt);
        e->fi = 0;
        e->fstart = i;
        e->fh = 0;
    } else if (c == e->sep) {
        if (e->cnf < 64) e->cfs[e->cnf++] = (uint32_t)(i - e->line_start);
        if (e->fi < 63) e->fi++;
        e->fstart = i;
        e->fh = 0;
    } else {
        e->fh = hcomb(e->fh, (uint32_t)c);
    }
}

static void compute_contexts(Engine *e) {
    const int32_t *P = e->P;
    const uint8_t *H = e->H;
    size_t i = e->pos;
    uint32_t c1 = H[(ptrdiff_t)i - 1], c2 = H[(ptrdiff_t)i - 2], c3 = H[(ptrdiff_t)i - 3];
    uint32_t c4 = H[(ptrdiff_t)i - 4];
    uint32_t *cv = e->ch;
    int n = 0;
    /* orders 1..7 and one high order: a running hash of c1, c2, ... */
    uint32_t h = 0;
    int hi = P[BP_HIGH_ORDER];
    int maxk = hi > 7 ? hi : 7;
    for (int k = 1; k <= maxk; k++) {
        h = hcomb(h, H[(ptrdiff_t)i - k]);
        if (k <= 7 && (P[BP_ORDERS] >> k & 1)) cv[n++] = h + (uint32_t)k * 0x1000193u;
        if (k == hi) cv[n++] = h + 0x51ED27u;
    }
    e->n_order_ctx = n;
    /* word model: the current word, and it with the previous words */
    if (P[BP_WORD] >= 1) cv[n++] = hcomb(hcomb(0x100u, e->w0), e->w0 ? 0 : c1);
    if (P[BP_WORD] >= 2) cv[n++] = hcomb(hcomb(0x200u, e->w0), e->w1);
    if (P[BP_WORD] >= 3) cv[n++] = hcomb(hcomb(hcomb(0x300u, e->w0), e->w1), e->w2);
    if (P[BP_WORD] >= 4) cv[n++] = hcomb(hcomb(0x400u, e->w0), e->w2);
    /* sparse: skipping contexts for binary structures */
    static const uint32_t sp_tag = 0x5000u;
    uint32_t c8 = H[(ptrdiff_t)i - 8];
    uint32_t sp[6] = {c2, c3 | 0x100u, c2 | c3 << 8 | 0x20000u, c4 | 0x300u, c4 | c8 << 8 | 0x40000u,
                      (c1 & 0xF0u) | (c2 & 0xF0u) << 8 | (c3 & 0xF0u) << 16 | (c4 & 0xF0) << 24};
    for (int k = 0; k < P[BP_SPARSE]; k++) cv[n++] = hcomb(sp_tag + (uint32_t)k, sp[k]);
    /* record model: the bytes one and two records above */
    if (P[BP_RECORD]) {
        uint32_t r = (uint32_t)e->rlen;
        uint32_t a1 = r && i >= r ? H[i - r] : 0, a2 = r && i >= 2 * r ? H[i - 2 * r] : 0;
        cv[n++] = hcomb(hcomb(0x6000u, r), a1 | a2 << 8);
        cv[n++] = hcomb(hcomb(0x6100u, r), a1 | c1 << 8);
        cv[n++] = hcomb(hcomb(0x6200u, r), r ? (uint32_t)(i % r) : 0);
    }
    /* column model: the byte above in the previous line; CSV field number and the same
     * field in the previous line */
    if (P[BP_COLUMN]) {
        size_t col = i - e->line_start;
        uint32_t above = col < e->pline_len ? H[e->pline_start + col] : 0;
        uint32_t fabove = 0;
        size_t foff = i - e->fstart;
        if (e->fi < e->pnf) {
            size_t s = e->pline_start + e->pfs[e->fi] + foff;
            size_t end = e->fi + 1 < e->pnf ? e->pline_start + e->pfs[e->fi + 1] : e->pline_start + e->pline_len;
            fabove = s < end && s < i ? H[s] | 0x100u : 0;
        }
        uint32_t colq = col < 255 ? (uint32_t)col : 255;
        cv[n++] = hcomb(0x7000u, above | colq << 8);
        cv[n++] = hcomb(0x7100u, above | c1 << 8);
        cv[n++] = hcomb(0x7200u, fabove | (uint32_t)e->fi << 9 | c1 << 16);
        cv[n++] = hcomb(hcomb(0x7300u, (uint32_t)e->fi), e->fh);
    }
    /* indirect: the bytes that followed the last occurrences of c1 and of c2c1 */
    if (P[BP_INDIRECT]) {
        uint32_t t1 = e->ind1[c1], t2 = e->ind2[c1 | c2 << 8];
        cv[n++] = hcomb(0x8000u, c1 | t1 << 8);
        cv[n++] = hcomb(0x8100u, c1 | c2 << 8 | (t2 & 0xFFu) << 16);
    }
    /* x86: inside a call/jump operand, the opcode and the target bytes so far */
    if (e->x86_on) {
        if (e->x86_left > 0) {
            int k = 4 - e->x86_left;
            uint32_t v = 0;
            for (int j = 1; j <= k + 1; j++) v = v << 8 | H[(ptrdiff_t)i - j];
            cv[n++] = hcomb(hcomb(0x9000u + (uint32_t)k, v), H[(ptrdiff_t)i - k - 1]);
        } else {
            cv[n++] = 0x9100u;
        }
    }
    for (int k = 0; k < n; k++) {
        cv[k] = hmix(cv[k] ^ (uint32_t)(k + 1) * 0x2545F491u);
        ht_prefetch(e, cv[k]);
    }
    if (P[BP_MATCH_LOG]) match_find(e);
    int hits = 0;
    for (int k = 0; k < n; k++) {
        int found;
        e->slot[k] = ht_find(e, cv[k], &found);
        if (k < e->n_order_ctx) hits += found;
    }
    e->order_hits = hits;
}

/* ------------------------------------------------------------------------------------
 * Per-bit prediction and update. */

static inline void add_state(Engine *e, int *ni, int s, const uint32_t *sm, int inputs2) {
    int st = s ? stretch(sm_p12(sm[s])) : 0;
    e->x[(*ni)++] = st;
    if (inputs2) e->x[(*ni)++] = (st_n0[s] == 0) != (st_n1[s] == 0) ? st : 0;
}

static int predict(Engine *e) {
    const int32_t *P = e->P;
    int ni = 0, in2 = P[BP_INPUTS2];
    /* order 0 */
    e->s0cur = e->t0[e->c0];
    add_state(e, &ni, e->s0cur, e->sm + e->nctx * 256, in2);
    e->x[0] = stretch(sm_p12(e->sm[e->nctx * 256 + e->s0cur])); /* order 0 always speaks */
    for (int k = 0; k < e->nctx; k++) {
        uint8_t *c = e->slot[k] + e->nib;
        e->cur[k] = c;
        add_state(e, &ni, *c, e->sm + k * 256, in2);
    }
    /* match */
    int mctx = 0;
    if (P[BP_MATCH_LOG]) {
        e->mbit = -1;
        if (e->mlen > 0 && ((e->mexp | 256) >> (8 - e->bitpos)) == e->c0) {
            e->mbit = (e->mexp >> (7 - e->bitpos)) & 1;
            mctx = len_bucket(e->mlen) * 2 + e->mbit;
            int st = stretch(sm_p12(e->msm[mctx]));
            int l = e->mlen < 32 ? e->mlen : 32;
            e->x[ni++] = st;
            e->x[ni++] = e->mbit ? l * 32 : -l * 32;
        } else {
            e->x[ni++] = 0;
            e->x[ni++] = 0;
        }
    }
    e->x[ni++] = 256; /* bias */
    /* layer 1: one mixer per selector, each with the weight set its context picks */
    int c1 = e->H[(ptrdiff_t)e->pos - 1], c2 = e->H[(ptrdiff_t)e->pos - 2];
    for (int m = 0; m < e->nsel; m++) {
        int sel;
        switch (e->selbits[m]) {
        case MS_C0: sel = e->c0; break;
        case MS_MATCH: sel = e->mbit < 0 ? 0 : len_bucket(e->mlen) * 2 + e->mbit; break;
        case MS_C1: sel = c1; break;
        case MS_ORDER: sel = (e->order_hits < 15 ? e->order_hits : 15) * 8 + e->bitpos; break;
        case MS_C2: sel = c2; break;
        case MS_WORD: sel = (e->wlen < 7 ? e->wlen : 7) * 8 + e->bitpos; break;
        default: /* MS_NONE: one weight set, no gating */ sel = 0; break;
        }
        Mixer *mx = &e->mx[m];
        mx->sel = sel;
        int dot = clampi(mixer_dot(mx->w + (size_t)sel * mx->n, e->x, ni), -2047, 2047);
        mx->dot = dot;
        mx->pr = squash12(dot);
    }
    int dot;
    if (e->nsel > 1) {
        for (int m = 0; m < e->nsel; m++) e->fx[m] = e->mx[m].dot;
        e->fx[e->nsel] = 256;
        Mixer *f = &e->fin;
        f->sel = e->bitpos;
        dot = clampi(mixer_dot(f->w + (size_t)f->sel * f->n, e->fx, e->nsel + 1), -2047, 2047);
        f->pr = squash12(dot);
    } else {
        dot = e->mx[0].dot;
    }
    e->pmix = squash12(dot);
    /* APM / SSE: parallel stages on the mixer output, averaged with it */
    int p16 = squash16(dot), sum = p16, cnt = 1;
    if (e->apm_on[0]) sum += apm_p(&e->apm[0], e->pmix, e->c0), cnt++;
    if (e->apm_on[1]) {
        sum += apm_p(&e->apm[1], e->pmix, e->c0 | c1 << 8), cnt++;
        if (e->bitpos < 7) __builtin_prefetch(e->apm[1].t + (size_t)(e->c0 * 2 | c1 << 8) * 33);
    }
    if (e->apm_on[2]) {
        uint32_t hx = (hmix((uint32_t)(c1 | c2 << 8) + 0x1234567u) + (uint32_t)e->c0 * 0x9E3779B1u) >> 16;
        sum += apm_p(&e->apm[2], e->pmix, (int)hx), cnt++;
    }
    if (e->apm_on[3]) {
        int lb = len_bucket(e->mlen);
        int mc = e->mbit < 0 ? 0 : (lb < 7 ? lb : 7) * 2 + e->mbit; /* 2..15 */
        sum += apm_p(&e->apm[3], e->pmix, mc * 256 + e->c0), cnt++;
    }
    int p = sum / cnt;
    /* micro-diffusion: denoise stretch(p) step by step. The noise level of this
     * prediction is estimated from how much its estimates disagree (the layer-1 mixers
     * among themselves, and the APM stages with the mixer); each step bins by (noise
     * level, a small context, stretch(p)) and adds the bin's learned correction,
     * interpolated between the two nearest stretch knots. */
    if (e->nsteps) {
        int lo = dot, hi = dot;
        for (int m = 0; m < e->nsel; m++) {
            lo = e->mx[m].dot < lo ? e->mx[m].dot : lo;
            hi = e->mx[m].dot > hi ? e->mx[m].dot : hi;
        }
        int sa = stretch(clampi(p >> 4, 1, 4095));
        int spread = (hi - lo) + (sa > dot ? sa - dot : dot - sa);
        int sig = 0;
        while (sig < 7 && spread >= (16 << sig)) sig++;
        for (int s = 0; s < e->nsteps; s++) {
            int st = stretch(clampi(p >> 4, 1, 4095));
            int cx;
            if (s == 0)
                cx = sig * 8 + e->bitpos;
            else if (s == 1)
                cx = sig * 24 + (e->mbit < 0 ? 0 : 1 + e->mbit) * 8 + (e->order_hits < 7 ? e->order_hits : 7);
            else
                cx = e->c0;
            int pos = (st + 2048) * DIFF_NB; /* 0 .. DIFF_NB * 4096 */
            int b = pos >> 12, frac = pos & 4095;
            DBin *d = e->db[s] + cx * (DIFF_NB + 1) + b;
            e->dbin[s] = cx * (DIFF_NB + 1) + b;
            e->dfrac[s] = frac;
            st += (int)(((int64_t)d[0].corr * (4096 - frac) + (int64_t)d[1].corr * frac) >> 22);
            p = squash16(st);
            e->dp_out[s] = clampi(p, 16, 65520);
        }
    }
    p = clampi(p, 16, 65520);
    return p;
}

static void update(Engine *e, int y) {
    const int32_t *P = e->P;
    int limit = P[BP_SM_LIMIT];
    /* states and state maps */
    uint32_t *sm0 = e->sm + e->nctx * 256;
    sm_update(&sm0[e->s0cur], y, limit);
    e->t0[e->c0] = st_next[e->s0cur][y];
    for (int k = 0; k < e->nctx; k++) {
        uint8_t s = *e->cur[k];
        sm_update(&e->sm[k * 256 + s], y, limit);
        *e->cur[k] = st_next[s][y];
    }
    if (e->mbit >= 0) sm_update(&e->msm[len_bucket(e->mlen) * 2 + e->mbit], y, 1023);
    /* mixers: each trained on its own error */
    int ni = e->nin;
    /* learning rate: 3.5x the parameter at the start, decaying towards it (fast first
     * convergence on small chunks, stability later); in 1/16 units, at most 3584, so
     * |x * err| <= 2047 * 4095 * 3584 / 16 < 2^31 */
    int lr16 = P[BP_MIX_LR] * 16 + (int)((P[BP_MIX_LR] * 40 * (int64_t)LR_T) / (LR_T + (int64_t)e->pos));
    for (int m = 0; m < e->nsel; m++) {
        Mixer *mx = &e->mx[m];
        int err = (((y << 12) - mx->pr) * lr16) >> 4;
        mixer_train(mx->w + (size_t)mx->sel * mx->n, e->x, ni, err);
    }
    if (e->nsel > 1) {
        Mixer *f = &e->fin;
        int err = ((y << 12) - f->pr) * P[BP_MIX_LR2];
        mixer_train(f->w + (size_t)f->sel * f->n, e->fx, e->nsel + 1, err);
    }
    for (int i = 0; i < 4; i++)
        if (e->apm_on[i]) apm_update(&e->apm[i], y, P[BP_APM_RATE]);
    /* micro-diffusion: each step's correction follows the log-loss gradient with
     * respect to it, (y - p_out), shared between the two knots it was read from */
    for (int s = 0; s < e->nsteps; s++) {
        DBin *d = &e->db[s][e->dbin[s]];
        int g = ((y << 16) - e->dp_out[s]) * P[BP_DIFF_RATE]; /* |g| < 2^22 */
        int f = e->dfrac[s];
        d[0].corr = clampi(d[0].corr + (int)(((int64_t)g * (4096 - f)) >> 18), -(512 << 10), 512 << 10);
        d[1].corr = clampi(d[1].corr + (int)(((int64_t)g * f) >> 18), -(512 << 10), 512 << 10);
    }
    /* bit state */
    e->c0 = e->c0 << 1 | y;
    e->nib = e->nib << 1 | y;
    e->bitpos++;
    if (e->bitpos == 3) {
        /* the second nibble's slots: one of two, one bit ahead; fetch both */
        for (int k = 0; k < e->nctx; k++) {
            ht_prefetch(e, hmix(e->ch[k] + (uint32_t)(e->c0 * 2) * 0x9E3779B1u));
            ht_prefetch(e, hmix(e->ch[k] + (uint32_t)(e->c0 * 2 + 1) * 0x9E3779B1u));
        }
    } else if (e->bitpos == 4) {
        e->nib = 1;
        for (int k = 0; k < e->nctx; k++) {
            int found;
            e->slot[k] = ht_find(e, hmix(e->ch[k] + (uint32_t)e->c0 * 0x9E3779B1u), &found);
        }
    }
}

/* After a whole byte (the coded symbol c, which is in the history): every byte-level
 * model moves on, and the next byte's contexts are looked up. */
static void byte_update(Engine *e, int c) {
    const int32_t *P = e->P;
    uint32_t c1o = e->H[(ptrdiff_t)e->pos - 1], c2o = e->H[(ptrdiff_t)e->pos - 2];
    e->H[e->pos++] = (uint8_t)c;
    e->c0 = 1;
    e->nib = 1;
    e->bitpos = 0;
    if (P[BP_MATCH_LOG]) match_hash(e);
    if (P[BP_WORD]) {
        if (is_word_char(c)) {
            int lc = (c >= 'A' && c <= 'Z') ? c + 32 : c;
            e->w0 = hcomb(e->w0, (uint32_t)lc);
            e->wlen += e->wlen < 255; /* only its first 7 values are used */
        } else if (e->w0) {
            e->w2 = e->w1;
            e->w1 = e->w0;
            e->w0 = 0;
            e->wlen = 0;
        }
    }
    if (P[BP_RECORD]) update_record(e, c);
    if (P[BP_COLUMN]) update_column(e, c);
    if (P[BP_INDIRECT]) {
        e->ind1[c1o] = (uint16_t)(e->ind1[c1o] << 8 | (uint32_t)c);
        e->ind2[c1o | c2o << 8] = (uint16_t)(e->ind2[c1o | c2o << 8] << 8 | (uint32_t)c);
    }
    compute_contexts(e);
}

/* ------------------------------------------------------------------------------------
 * The x86 call/jump model's transform: inside the 4 operand bytes that follow an E8
 * (CALL rel32) or E9 (JMP rel32) byte, the engine codes the bytes of the absolute
 * target (relative + position after the operand) instead of the relative one, so that
 * calls to one function look alike wherever they are. Bytes arrive least significant
 * first and the carry into each byte depends only on earlier ones, so the mapping is a
 * bijection per byte that both sides compute from what they already know. */

static inline int x86_fwd(Engine *e, int raw) {
    if (e->x86_left == 0) return raw;
    int k = 4 - e->x86_left;
    int bk = (int)((e->x86_base >> (8 * k)) & 255);
    int t = raw + bk + e->x86_carry;
    return t & 255;
}
static inline int x86_inv(Engine *e, int sym) {
    if (e->x86_left == 0) return sym;
    int k = 4 - e->x86_left;
    int bk = (int)((e->x86_base >> (8 * k)) & 255);
    return (sym - bk - e->x86_carry) & 255;
}
static inline void x86_step(Engine *e, int raw, size_t i) {
    if (e->x86_left > 0) {
        int k = 4 - e->x86_left;
        int bk = (int)((e->x86_base >> (8 * k)) & 255);
        e->x86_carry = (raw + bk + e->x86_carry) >> 8;
        e->x86_left--;
    } else if (raw == 0xE8 || raw == 0xE9) {
        e->x86_left = 4;
        e->x86_carry = 0;
        e->x86_base = (uint32_t)(i + 5);
    }
}

/* Should the x86 model be on for this chunk? Near calls have a small relative offset,
 * so the operand's top byte is 00 or FF; in code most E8/E9 bytes are such calls, in
 * text (even UTF-8, where E8 leads CJK characters) and random data almost none are. */
static int detect_x86(const uint8_t *d, size_t n) {
    size_t good = 0, all = 0;
    for (size_t i = 0; i + 4 < n; i++)
        if (d[i] == 0xE8 || d[i] == 0xE9) {
            all++;
            if (d[i + 4] == 0x00 || d[i + 4] == 0xFF) good++;
        }
    return good >= 16 && good * 4 >= all && good * 2000 >= n;
}

/* The payload's 16-bit check of the data: a multiplicative hash folded in half. */
static uint32_t data_check(const uint8_t *d, size_t n) {
    uint32_t h = 0x2F0F3C27u;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 0x01000193u;
    h = hmix(h ^ (uint32_t)n);
    return (h ^ (h >> 16)) & 0xFFFFu;
}

/* ------------------------------------------------------------------------------------
 * The one loop, for both directions. */

static int code_chunk(Engine *e, BinArith *ac, const uint8_t *in, uint8_t *out, size_t n) {
    compute_contexts(e);
    for (size_t i = 0; i < n; i++) {
        int sym = ac->decoding ? 0 : (e->x86_on ? x86_fwd(e, in[i]) : in[i]);
        for (int b = 7; b >= 0; b--) {
            int p = predict(e);
            int bit = ba_code(ac, (sym >> b) & 1, (uint32_t)p);
            update(e, bit);
        }
        sym = e->c0 & 255;
        int raw = sym;
        if (e->x86_on) {
            raw = ac->decoding ? x86_inv(e, sym) : in[i];
            x86_step(e, raw, i);
        }
        if (ac->decoding) {
            out[i] = (uint8_t)raw;
            if (ba_dec_overrun(ac)) return -3; /* read past the payload: corrupt */
        }
        byte_update(e, sym);
    }
    return 0;
}

int bcm_compress(const int32_t *P, const uint8_t *data, size_t size, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (!bcm_ready) bcm_init();
    if (bcm_check_params(P, BCM_NPARAM) || size > BCM_MAX_SIZE) return -2;
    if (size == 0) {
        *out = (uint8_t *)malloc(1);
        return *out ? 0 : -1;
    }
    int x86_on = P[BP_X86] && detect_x86(data, size);
    Engine *e = engine_new(P, size, x86_on);
    if (!e) return -1;
    BinArith ac;
    if (ba_enc_init(&ac, size / 2 + 64) < 0) {
        engine_free(e);
        return -1;
    }
    uint32_t chk = data_check(data, size);
    ba_put(&ac, (uint8_t)x86_on);
    ba_put(&ac, (uint8_t)(chk & 255));
    ba_put(&ac, (uint8_t)(chk >> 8));
    code_chunk(e, &ac, data, NULL, size);
    int rc = ba_enc_flush(&ac);
    engine_free(e);
    if (rc < 0) {
        free(ac.out);
        return -1;
    }
    *out = ac.out;
    *out_len = ac.out_len;
    return 0;
}

int bcm_decompress(const int32_t *P, const uint8_t *payload, size_t len, uint8_t *out, size_t size) {
    if (!bcm_ready) bcm_init();
    if (bcm_check_params(P, BCM_NPARAM) || size > BCM_MAX_SIZE) return -2;
    if (size == 0) return len == 0 ? 0 : -3;
    if (len < 4) return -3;
    /* No bit is coded with a probability above 65520/65536, so every byte costs at
     * least 8 * log2(65536/65520) = 0.0028 bits: a payload cannot hold more than
     * ~2840 bytes per byte. Refusing larger sizes up front means a tiny hostile payload
     * cannot make us allocate and grind through a huge output. */
    if ((uint64_t)size > ((uint64_t)len + 16) * BCM_MAX_RATIO) return -3;
    int flags = payload[0];
    uint32_t chk = (uint32_t)payload[1] | (uint32_t)payload[2] << 8;
    if (flags & ~1) return -3;
    if ((flags & 1) && !P[BP_X86]) return -3;
    Engine *e = engine_new(P, size, flags & 1);
    if (!e) return -1;
    BinArith ac;
    ba_dec_init(&ac, payload + 3, len - 3);
    int rc = code_chunk(e, &ac, NULL, out, size);
    engine_free(e);
    if (rc < 0) return rc;
    if (ba_dec_check(&ac) != 0 || data_check(out, size) != chk) return -3;
    return 0;
}
