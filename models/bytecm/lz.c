/* lz.c: bytecm's LZ engine (see lz.h and README.md).
 *
 * Stream: per position, a match flag (context: a 12-state machine of the recent symbol
 * kinds, and the low pb bits of the position). A literal is coded as 8 binary
 * decisions in a tree (context: lc bits of the previous byte, lp bits of the position);
 * right after a match it is a "matched literal": while its bits agree with the byte at
 * the last distance, that byte's bit selects the probabilities too. A match is
 *   new match   length (choice bits + 3/3/8-bit trees), distance slot (6-bit tree by
 *               length class), then the slot's extra bits: reverse trees below slot 14,
 *               else direct bits and a 4-bit reverse "align" tree;
 *   rep match   one of the last four distances (1-3 flag bits) and a length;
 *   short rep   one byte at the last distance (one flag more).
 * Probabilities are 12 bits (P(bit = 1)), adapted by 1/32 of the error, always within
 * [31, 4065], handed to coder/binarith.h as 16-bit values.
 *
 * The encoder's match finder: a hash chain over 4-byte hashes (plus a 3-byte hash head
 * for short close matches), at most `chain` candidates per position, stopping at `nice`
 * bytes. Parsers: greedy, or optimal: a forward shortest-path over up to 4096 positions
 * with prices (-log2 of the current probabilities, integer fixed point) of every
 * literal, rep and match choice; each node carries its own state and rep distances.
 *
 * Payload: a flags byte (the literal context bits lc this chunk uses, at most the
 * parameters' lc: the encoder tries lc and 4 on a prefix), a 16-bit check of the data
 * (little endian), the coded bits. An empty chunk is an empty payload. Everything that decides a coded bit
 * or a probability is integer arithmetic; the encoder reads multi-byte values little
 * endian explicitly, so every machine makes the same payload. */
#include "lz.h"

#include <stdlib.h>
#include <string.h>

#include "../../coder/binarith.h"
#include "bcm.h"

#define PBITS 12
#define PONE (1u << PBITS)
#define PHALF (PONE / 2)
#define PSHIFT 5
#define MIN_LEN 2
#define MAX_LEN 273
#define NSTATES 12
#define LIT_STATES 7
#define NLENSTATES 4
#define NSLOTS 64
#define END_SLOT 14 /* slots below: extra bits by reverse trees; from here: direct + align */
#define FULL_DIST 128
#define ALIGN_BITS 4
#define MAX_PB 4
#define OPT_N 4096 /* positions per optimal-parse block */
#define H3_LOG 16
#define PRICE_REFRESH 32 /* coded ops between refreshes of the length and distance prices */

typedef uint16_t Prob;

#if defined(__GNUC__)
#define HOT_INLINE static inline __attribute__((always_inline)) /* GCC would call code_bit out of line */
#else
#define HOT_INLINE static inline
#endif

typedef struct {
    Prob choice, choice2;
    Prob lo[1 << MAX_PB][8], mid[1 << MAX_PB][8], hi[256];
} LenModel;

typedef struct {
    Prob is_match[NSTATES][1 << MAX_PB];
    Prob is_rep[NSTATES], is_rep0[NSTATES], is_rep1[NSTATES], is_rep2[NSTATES];
    Prob is_rep0_long[NSTATES][1 << MAX_PB];
    Prob slot[NLENSTATES][NSLOTS];
    Prob spec[END_SLOT][32]; /* slots 4..13: reverse trees of up to 5 bits, index 1..31 */
    Prob align[1 << ALIGN_BITS];
    LenModel len, rep_len;
} Model;

typedef struct {
    Model m;
    Prob *lit; /* 0x300 << (lc + lp) */
    int lc, lp, pb;
    unsigned lpmask, pbmask;
} Coder;

/* ------------------------------------------------------------------------------------
 * Parameters and memory. */

static const struct {
    int32_t lo, hi;
} lzrange[LZ_NPARAM] = {
    [LP_VERSION] = {LZ_VERSION, LZ_VERSION},
    [LP_HASH_LOG] = {10, LZ_MAX_HASH_LOG},
    [LP_CHAIN] = {1, LZ_MAX_CHAIN},
    [LP_NICE] = {8, MAX_LEN},
    [LP_PARSE] = {0, 1},
    [LP_LC] = {0, 8},
    [LP_LP] = {0, 4},
    [LP_PB] = {0, MAX_PB},
};

const char *lz_check_params(const int32_t *P, size_t n) {
    if (n != LZ_NPARAM) return "wrong number of parameters";
    for (int i = 0; i < LZ_NPARAM; i++)
        if (P[i] < lzrange[i].lo || P[i] > lzrange[i].hi) return "parameter out of range";
    if (P[LP_LC] + P[LP_LP] > 12) return "lc + lp must be at most 12";
    return NULL;
}

typedef struct {
    uint32_t len, dist;
} Match;

typedef struct {
    uint32_t price, from, len, dist; /* dist: rep index for K_REP, distance - 1 for K_MATCH */
    uint32_t reps[4];
    uint8_t kind, state;
} Node;

enum { K_LIT, K_SHORT, K_REP, K_MATCH };

typedef struct {
    uint32_t len[2][1 << MAX_PB][MAX_LEN - MIN_LEN + 1]; /* [match, rep][pos state][len - 2] */
    uint32_t slot[NLENSTATES][NSLOTS];
    uint32_t dist[NLENSTATES][FULL_DIST];
    uint32_t align[1 << ALIGN_BITS];
} Prices;

static size_t lit_bytes(const int32_t *P) { return ((size_t)0x300 << (P[LP_LC] + P[LP_LP])) * sizeof(Prob); }

/* The encoder's allocations, each counted here exactly as it is made below. */
size_t lz_memory(const int32_t *P, size_t size) {
    if (lz_check_params(P, LZ_NPARAM)) return 0;
    size_t m = sizeof(Coder) + lit_bytes(P);
    m += ((size_t)1 << P[LP_HASH_LOG]) * 4 + ((size_t)1 << H3_LOG) * 4 + size * 8; /* heads, tree */
    m += ((size_t)P[LP_CHAIN] + 2) * sizeof(Match);
    if (P[LP_PARSE]) m += (OPT_N + MAX_LEN + 2) * sizeof(Node) + (OPT_N + 2) * sizeof(Node) + sizeof(Prices);
    return m;
}

/* ------------------------------------------------------------------------------------
 * Coding primitives (both directions: the decoder passes 0 for the value). */

#ifndef ADAPT
#define ADAPT 1
#endif
#if ADAPT
#ifndef SHTAB
#define SHTAB 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5
#endif
static const uint8_t SH[16] = {SHTAB};
#define P12(v) ((uint32_t)(v) >> 4)
#define PINIT (PHALF << 4)
#define PMIN 31
#define PMAX (PONE - 31)
HOT_INLINE int code_bit(BinArith *ac, Prob *p, int bit) {
    uint32_t v = *p, q = v >> 4, n = v & 15;
    bit = ba_code(ac, bit, q << (16 - PBITS));
    unsigned sh = SH[n];
    if (bit) {
        q += (PONE - q) >> sh;
        if (q > PMAX) q = PMAX;
    } else {
        q -= q >> sh;
        if (q < PMIN) q = PMIN;
    }
    *p = (Prob)(q << 4 | (n + (n < 15)));
    return bit;
}
#else
#define P12(v) ((uint32_t)(v))
#define PINIT PHALF
HOT_INLINE int code_bit(BinArith *ac, Prob *p, int bit) {
    bit = ba_code(ac, bit, (uint32_t)*p << (16 - PBITS));
    if (bit)
        *p += (Prob)((PONE - *p) >> PSHIFT);
    else
        *p -= (Prob)(*p >> PSHIFT);
    return bit;
}
#endif

HOT_INLINE unsigned code_tree(BinArith *ac, Prob *probs, int nbits, unsigned v) {
    unsigned m = 1;
    for (int i = nbits - 1; i >= 0; i--) m = (m << 1) | (unsigned)code_bit(ac, &probs[m], (v >> i) & 1);
    return m - (1u << nbits);
}

HOT_INLINE unsigned code_rtree(BinArith *ac, Prob *probs, int nbits, unsigned v) {
    unsigned m = 1, r = 0;
    for (int i = 0; i < nbits; i++) {
        unsigned b = (unsigned)code_bit(ac, &probs[m], (v >> i) & 1);
        m = (m << 1) | b;
        r |= b << i;
    }
    return r;
}

HOT_INLINE unsigned code_lit(BinArith *ac, Prob *probs, unsigned sym) {
    unsigned m = 1;
    for (int i = 7; i >= 0; i--) m = (m << 1) | (unsigned)code_bit(ac, &probs[m], (sym >> i) & 1);
    return m & 255;
}

/* A literal after a match: while the bits agree with `mb` (the byte at the last
 * distance), mb's bit selects one of two more probability sets. */
HOT_INLINE unsigned code_mlit(BinArith *ac, Prob *probs, unsigned sym, unsigned mb) {
    unsigned m = 1;
    int i = 7;
    for (; i >= 0; i--) {
        unsigned mbit = (mb >> i) & 1;
        unsigned b = (unsigned)code_bit(ac, &probs[0x100 + (mbit << 8) + m], (sym >> i) & 1);
        m = (m << 1) | b;
        if (b != mbit) {
            i--;
            break;
        }
    }
    for (; i >= 0; i--) m = (m << 1) | (unsigned)code_bit(ac, &probs[m], (sym >> i) & 1);
    return m & 255;
}

/* len - MIN_LEN, 0..271 */
static inline unsigned code_len(BinArith *ac, LenModel *L, unsigned ps, unsigned v) {
    if (!code_bit(ac, &L->choice, v >= 8)) return code_tree(ac, L->lo[ps], 3, v);
    if (!code_bit(ac, &L->choice2, v >= 16)) return 8 + code_tree(ac, L->mid[ps], 3, v - 8);
    return 16 + code_tree(ac, L->hi, 8, v - 16);
}

static inline unsigned dist_slot(uint32_t d) {
    if (d < 4) return d;
    unsigned n = 31u - (unsigned)__builtin_clz(d);
    return 2 * n + ((d >> (n - 1)) & 1);
}

/* distance - 1; returns a value < 2^32 (the caller checks it against the position) */
static inline uint32_t code_dist(BinArith *ac, Model *m, unsigned lenstate, uint32_t d) {
    unsigned slot = code_tree(ac, m->slot[lenstate], 6, ac->decoding ? 0 : dist_slot(d));
    if (slot < 4) return slot;
    unsigned nb = (slot >> 1) - 1;
    uint32_t base = (uint32_t)(2 | (slot & 1)) << nb;
    uint32_t extra = d - base;
    if (slot < END_SLOT) return base + code_rtree(ac, m->spec[slot], (int)nb, extra);
    uint32_t v = 0;
    for (int i = (int)nb - 1; i >= ALIGN_BITS; i--) v |= (uint32_t)ba_code(ac, (extra >> i) & 1, 32768) << i;
    return base + v + code_rtree(ac, m->align, ALIGN_BITS, extra);
}

static inline int st_lit(int s) { return s < 4 ? 0 : s < 10 ? s - 3 : s - 6; }
static inline int st_match(int s) { return s < LIT_STATES ? 7 : 10; }
static inline int st_rep(int s) { return s < LIT_STATES ? 8 : 11; }
static inline int st_short(int s) { return s < LIT_STATES ? 9 : 11; }

static inline Prob *lit_probs(const Coder *c, size_t pos, unsigned prev) {
    return c->lit + 0x300u * (((((unsigned)pos & c->lpmask) << c->lc) + (prev >> (8 - c->lc))));
}

static void probs_init(Prob *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = PINIT;
}

/* lc: this chunk's literal context bits (the payload's flags byte), <= P[LP_LC] */
static Coder *coder_new(const int32_t *P, int lc) {
    Coder *c = (Coder *)malloc(sizeof(Coder));
    if (!c) return NULL;
    c->lc = lc;
    c->lp = P[LP_LP];
    c->pb = P[LP_PB];
    c->lpmask = (1u << c->lp) - 1;
    c->pbmask = (1u << c->pb) - 1;
    size_t nlit = (size_t)0x300 << (lc + c->lp);
    c->lit = (Prob *)malloc(nlit * sizeof(Prob));
    if (!c->lit) {
        free(c);
        return NULL;
    }
    probs_init((Prob *)&c->m, sizeof(Model) / sizeof(Prob));
    probs_init(c->lit, nlit);
    return c;
}

static void coder_free(Coder *c) {
    if (c) free(c->lit);
    free(c);
}

/* The payload's 16-bit check of the data (8 bytes per step, little endian). */
static uint32_t data_check(const uint8_t *d, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--) v = (v << 8) | d[i + k];
        h = (h ^ v) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ d[i]) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return (uint32_t)(h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) & 0xFFFFu;
}

/* ------------------------------------------------------------------------------------
 * Decoder. Every distance is checked against the bytes decoded so far and every length
 * against the bytes left; each loop iteration writes at least one byte. */

static int decode(Coder *c, BinArith *ac, uint8_t *out, size_t n) {
    Model *m = &c->m;
    size_t pos = 0;
    int state = 0;
    uint32_t r0 = 0, r1 = 0, r2 = 0, r3 = 0;
    while (pos < n) {
        unsigned ps = (unsigned)pos & c->pbmask;
        if (!code_bit(ac, &m->is_match[state][ps], 0)) {
            Prob *lp = lit_probs(c, pos, pos ? out[pos - 1] : 0);
            /* state >= 7: the last symbol was a checked match, so r0 < pos */
            out[pos] = (uint8_t)(state < LIT_STATES ? code_lit(ac, lp, 0) : code_mlit(ac, lp, 0, out[pos - r0 - 1]));
            pos++;
            state = st_lit(state);
            if (ba_dec_overrun(ac)) return -3;
            continue;
        }
        uint32_t len;
        if (code_bit(ac, &m->is_rep[state], 0)) {
            if (!code_bit(ac, &m->is_rep0[state], 0)) {
                if (!code_bit(ac, &m->is_rep0_long[state][ps], 0)) {
                    if (r0 >= pos) return -3;
                    out[pos] = out[pos - r0 - 1];
                    pos++;
                    state = st_short(state);
                    if (ba_dec_overrun(ac)) return -3;
                    continue;
                }
            } else {
                uint32_t d;
                if (!code_bit(ac, &m->is_rep1[state], 0)) {
                    d = r1;
                } else {
                    if (!code_bit(ac, &m->is_rep2[state], 0)) {
                        d = r2;
                    } else {
                        d = r3;
                        r3 = r2;
                    }
                    r2 = r1;
                }
                r1 = r0;
                r0 = d;
            }
            len = code_len(ac, &m->rep_len, ps, 0) + MIN_LEN;
            state = st_rep(state);
        } else {
            r3 = r2;
            r2 = r1;
            r1 = r0;
            len = code_len(ac, &m->len, ps, 0) + MIN_LEN;
            r0 = code_dist(ac, m, len - MIN_LEN < NLENSTATES ? len - MIN_LEN : NLENSTATES - 1, 0);
            state = st_match(state);
        }
        if (r0 >= pos || len > n - pos) return -3;
        size_t d = (size_t)r0 + 1;
        uint8_t *dst = out + pos;
        const uint8_t *src = dst - d;
        if (d >= 8 && len + 8 <= n - pos) { /* 8 bytes at a time; the overshoot stays inside out */
            for (uint32_t k = 0; k < len; k += 8) memcpy(dst + k, src + k, 8);
        } else {
            for (uint32_t k = 0; k < len; k++) dst[k] = src[k];
        }
        pos += len;
        if (ba_dec_overrun(ac)) return -3;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Encoder: match finder. */

static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Length of the common prefix of a and b, at most limit (a is ahead of b). */
static inline uint32_t common(const uint8_t *a, const uint8_t *b, uint32_t limit) {
    uint32_t l = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (l + 8 <= limit) {
        uint64_t x, y;
        memcpy(&x, a + l, 8);
        memcpy(&y, b + l, 8);
        if (x != y) return l + ((uint32_t)__builtin_ctzll(x ^ y) >> 3);
        l += 8;
    }
#endif
    while (l < limit && a[l] == b[l]) l++;
    return l;
}

typedef struct {
    const uint8_t *d;
    size_t n;
    uint32_t *head, *head3; /* positions + 1; 0: none */
    uint32_t *son;          /* binary tree: son[2p] smaller, son[2p + 1] larger; positions + 1 */
    int hlog;
    uint32_t chain, nice;
    size_t ins; /* the next position to insert */
} Finder;

/* Insert `pos` into the binary tree of its 4-byte hash (strings sorted, each node's
 * subtrees hold the earlier positions that sort below / above it) and, if out != NULL,
 * list its matches: lengths >= 3, increasing, each with the smallest distance found
 * for it. At most `chain` nodes are visited. Every listed length is verified from the
 * first byte, so the list is right even if the tree's order were not. */
static size_t bt_insert(Finder *f, size_t pos, Match *out) {
    const uint8_t *d = f->d;
    uint32_t v = rd32(d + pos);
    uint32_t h = (v * 2654435761u) >> (32 - f->hlog);
    uint32_t h3 = ((v & 0xFFFFFFu) * 0x9E3779B1u) >> (32 - H3_LOG);
    uint32_t cur = f->head[h], c3 = f->head3[h3];
    f->head[h] = (uint32_t)pos + 1;
    f->head3[h3] = (uint32_t)pos + 1;
    uint32_t limit = f->n - pos < MAX_LEN ? (uint32_t)(f->n - pos) : MAX_LEN;
    if (limit > f->nice) limit = f->nice;
    uint32_t full = f->n - pos < MAX_LEN ? (uint32_t)(f->n - pos) : MAX_LEN;
    uint32_t best = 2;
    size_t cnt = 0;
    if (out && c3) {
        uint32_t l = common(d + pos, d + c3 - 1, full);
        if (l >= 3) {
            out[cnt].len = l;
            out[cnt++].dist = (uint32_t)(pos - c3);
            best = l;
        }
    }
    uint32_t *lo = &f->son[2 * pos], *hi = &f->son[2 * pos + 1]; /* where the next smaller / larger node goes */
    uint32_t llo = 0, lhi = 0; /* common prefix with the smaller / larger bound */
    for (uint32_t depth = f->chain;; depth--) {
        if (!cur || !depth) {
            *lo = *hi = 0;
            break;
        }
        size_t c = cur - 1;
        uint32_t k = llo < lhi ? llo : lhi;
        k += common(d + pos + k, d + c + k, limit - k);
        if (out && k > best) {
            uint32_t l = common(d + pos, d + c, full); /* verified, and extended past nice */
            if (l > best) {
                out[cnt].len = l;
                out[cnt++].dist = (uint32_t)(pos - c - 1);
                best = l;
            }
        }
        if (k >= limit) { /* equal as far as we look: pos takes c's place in the tree */
            *lo = f->son[2 * c];
            *hi = f->son[2 * c + 1];
            break;
        }
        if (d[c + k] < d[pos + k]) {
            *lo = cur;
            lo = &f->son[2 * c + 1];
            cur = *lo;
            llo = k;
        } else {
            *hi = cur;
            hi = &f->son[2 * c];
            cur = *hi;
            lhi = k;
        }
    }
    return cnt;
}

static inline void fd_skip(Finder *f, size_t pos) {
    if (pos + 4 <= f->n) bt_insert(f, pos, NULL);
    f->ins = pos + 1;
}

/* Insert `pos` and list its matches (see bt_insert). Returns the count (<= chain + 1). */
static size_t fd_find(Finder *f, size_t pos, Match *out) {
    f->ins = pos + 1;
    if (pos + 4 > f->n) return 0;
    return bt_insert(f, pos, out);
}

/* ------------------------------------------------------------------------------------
 * Encoder: coding one symbol, state kept in Enc. */

typedef struct {
    Coder *c;
    BinArith *ac;
    const uint8_t *d;
    size_t n;
    int state;
    uint32_t reps[4];
    Finder f;
    Match *matches;
    Node *nodes, *path;
    Prices *pr;
    int ops_since_prices;
} Enc;

static void put_lit(Enc *e, size_t pos) {
    Coder *c = e->c;
    code_bit(e->ac, &c->m.is_match[e->state][pos & c->pbmask], 0);
    Prob *lp = lit_probs(c, pos, pos ? e->d[pos - 1] : 0);
    if (e->state < LIT_STATES)
        code_lit(e->ac, lp, e->d[pos]);
    else
        code_mlit(e->ac, lp, e->d[pos], e->d[pos - e->reps[0] - 1]);
    e->state = st_lit(e->state);
}

static void put_short(Enc *e, size_t pos) {
    Model *m = &e->c->m;
    unsigned ps = (unsigned)pos & e->c->pbmask;
    code_bit(e->ac, &m->is_match[e->state][ps], 1);
    code_bit(e->ac, &m->is_rep[e->state], 1);
    code_bit(e->ac, &m->is_rep0[e->state], 0);
    code_bit(e->ac, &m->is_rep0_long[e->state][ps], 0);
    e->state = st_short(e->state);
}

static void put_rep(Enc *e, size_t pos, unsigned r, uint32_t len) {
    Model *m = &e->c->m;
    unsigned ps = (unsigned)pos & e->c->pbmask;
    code_bit(e->ac, &m->is_match[e->state][ps], 1);
    code_bit(e->ac, &m->is_rep[e->state], 1);
    if (r == 0) {
        code_bit(e->ac, &m->is_rep0[e->state], 0);
        code_bit(e->ac, &m->is_rep0_long[e->state][ps], 1);
    } else {
        uint32_t d = e->reps[r];
        code_bit(e->ac, &m->is_rep0[e->state], 1);
        code_bit(e->ac, &m->is_rep1[e->state], r != 1);
        if (r != 1) {
            code_bit(e->ac, &m->is_rep2[e->state], r == 3);
            if (r == 3) e->reps[3] = e->reps[2];
            e->reps[2] = e->reps[1];
        }
        e->reps[1] = e->reps[0];
        e->reps[0] = d;
    }
    code_len(e->ac, &m->rep_len, ps, len - MIN_LEN);
    e->state = st_rep(e->state);
}

static void put_match(Enc *e, size_t pos, uint32_t dist, uint32_t len) {
    Model *m = &e->c->m;
    unsigned ps = (unsigned)pos & e->c->pbmask;
    code_bit(e->ac, &m->is_match[e->state][ps], 1);
    code_bit(e->ac, &m->is_rep[e->state], 0);
    code_len(e->ac, &m->len, ps, len - MIN_LEN);
    code_dist(e->ac, m, len - MIN_LEN < NLENSTATES ? len - MIN_LEN : NLENSTATES - 1, dist);
    e->reps[3] = e->reps[2];
    e->reps[2] = e->reps[1];
    e->reps[1] = e->reps[0];
    e->reps[0] = dist;
    e->state = st_match(e->state);
}

static inline uint32_t rep_len_at(const Enc *e, size_t pos, uint32_t rep, uint32_t limit) {
    if (rep >= pos) return 0;
    return common(e->d + pos, e->d + pos - rep - 1, limit);
}

/* Greedy: the longest of the rep and new matches (a rep wins a tie or is one shorter). */
static void parse_greedy(Enc *e) {
    size_t pos = 0, n = e->n;
    while (pos < n) {
        uint32_t limit = n - pos < MAX_LEN ? (uint32_t)(n - pos) : MAX_LEN;
        size_t cnt = fd_find(&e->f, pos, e->matches);
        uint32_t mlen = cnt ? e->matches[cnt - 1].len : 0, mdist = cnt ? e->matches[cnt - 1].dist : 0;
        uint32_t rlen = 0, ridx = 0;
        for (unsigned r = 0; r < 4; r++) {
            uint32_t l = rep_len_at(e, pos, e->reps[r], limit);
            if (l > rlen) {
                rlen = l;
                ridx = r;
            }
        }
        uint32_t len = 1;
        if (rlen >= MIN_LEN && rlen + 1 >= mlen) {
            put_rep(e, pos, ridx, rlen);
            len = rlen;
        } else if (mlen >= 3 && !(mlen == 3 && mdist >= (1u << 14))) {
            put_match(e, pos, mdist, mlen);
            len = mlen;
        } else {
            put_lit(e, pos);
        }
        for (uint32_t k = 1; k < len; k++) fd_skip(&e->f, pos + k);
        pos += len;
    }
}

/* ------------------------------------------------------------------------------------
 * Encoder: prices (in 1/256 bit) and the optimal parser. */

static uint16_t PRICE[PONE + 1]; /* PRICE[x] = -log2(x / 4096) * 256, x = 1..4096 */
static int prices_ready;

/* log2(x) * 256 for x >= 1, by repeated squaring: integer only, so identical everywhere. */
static uint32_t log2_8(uint32_t x) {
    unsigned e = 31u - (unsigned)__builtin_clz(x);
    uint64_t y = (uint64_t)x << (31 - e); /* [2^31, 2^32): 1.31 fixed point */
    uint32_t r = e << 8;
    for (int i = 7; i >= 0; i--) {
        y = (y * y) >> 31;
        if (y >= ((uint64_t)1 << 32)) {
            y >>= 1;
            r |= 1u << i;
        }
    }
    return r;
}

static void prices_init(void) {
    if (prices_ready) return; /* lz_init() ran at start-up: nothing is written later */
    for (uint32_t x = 1; x <= PONE; x++) PRICE[x] = (uint16_t)((PBITS << 8) - log2_8(x));
    PRICE[0] = PRICE[1];
    prices_ready = 1;
}

#define PR0(p) ((uint32_t)PRICE[PONE - P12(p)])
#define PR1(p) ((uint32_t)PRICE[P12(p)])
#define PRB(p, b) ((uint32_t)PRICE[(b) ? P12(p) : PONE - P12(p)])

static uint32_t tree_price(const Prob *probs, int nbits, unsigned v) {
    uint32_t s = 0;
    unsigned m = 1;
    for (int i = nbits - 1; i >= 0; i--) {
        unsigned b = (v >> i) & 1;
        s += PRB(probs[m], b);
        m = (m << 1) | b;
    }
    return s;
}

static uint32_t rtree_price(const Prob *probs, int nbits, unsigned v) {
    uint32_t s = 0;
    unsigned m = 1;
    for (int i = 0; i < nbits; i++) {
        unsigned b = (v >> i) & 1;
        s += PRB(probs[m], b);
        m = (m << 1) | b;
    }
    return s;
}

static uint32_t lit_price(const Prob *probs, unsigned sym, int matched, unsigned mb) {
    uint32_t s = 0;
    unsigned m = 1;
    int i = 7;
    if (matched) {
        for (; i >= 0; i--) {
            unsigned mbit = (mb >> i) & 1, b = (sym >> i) & 1;
            s += PRB(probs[0x100 + (mbit << 8) + m], b);
            m = (m << 1) | b;
            if (b != mbit) {
                i--;
                break;
            }
        }
    }
    for (; i >= 0; i--) {
        unsigned b = (sym >> i) & 1;
        s += PRB(probs[m], b);
        m = (m << 1) | b;
    }
    return s;
}

static void len_prices(uint32_t *out, const LenModel *L, unsigned ps) {
    uint32_t a0 = PR0(L->choice), a1 = PR1(L->choice);
    uint32_t b0 = a1 + PR0(L->choice2), b1 = a1 + PR1(L->choice2);
    for (unsigned v = 0; v < 8; v++) out[v] = a0 + tree_price(L->lo[ps], 3, v);
    for (unsigned v = 0; v < 8; v++) out[8 + v] = b0 + tree_price(L->mid[ps], 3, v);
    for (unsigned v = 0; v < 256; v++) out[16 + v] = b1 + tree_price(L->hi, 8, v);
}

static void refresh_prices(Enc *e) {
    const Model *m = &e->c->m;
    Prices *pr = e->pr;
    for (unsigned ps = 0; ps <= e->c->pbmask; ps++) {
        len_prices(pr->len[0][ps], &m->len, ps);
        len_prices(pr->len[1][ps], &m->rep_len, ps);
    }
    for (unsigned ls = 0; ls < NLENSTATES; ls++) {
        for (unsigned s = 0; s < NSLOTS; s++) {
            uint32_t p = tree_price(m->slot[ls], 6, s);
            if (s >= END_SLOT) p += (((s >> 1) - 1 - ALIGN_BITS) << 8);
            pr->slot[ls][s] = p;
        }
        for (uint32_t d = 0; d < FULL_DIST; d++) {
            unsigned s = dist_slot(d);
            uint32_t p = pr->slot[ls][s];
            if (s >= 4) {
                unsigned nb = (s >> 1) - 1;
                p += rtree_price(m->spec[s], (int)nb, d - ((uint32_t)(2 | (s & 1)) << nb));
            }
            pr->dist[ls][d] = p;
        }
    }
    for (unsigned a = 0; a < (1u << ALIGN_BITS); a++) pr->align[a] = rtree_price(m->align, ALIGN_BITS, a);
    e->ops_since_prices = 0;
}

static inline uint32_t dist_price(const Prices *pr, unsigned ls, uint32_t d) {
    if (d < FULL_DIST) return pr->dist[ls][d];
    return pr->slot[ls][dist_slot(d)] + pr->align[d & ((1u << ALIGN_BITS) - 1)];
}

static void put_node(Enc *e, size_t pos, const Node *nd) {
    switch (nd->kind) {
    case K_LIT: put_lit(e, pos); break;
    case K_SHORT: put_short(e, pos); break;
    case K_REP: put_rep(e, pos, nd->dist, nd->len); break;
    default: put_match(e, pos, nd->dist, nd->len); break;
    }
    e->ops_since_prices++;
}

#define INF 0xFFFFFFFFu

static inline void relax(Node *nd, uint32_t t, uint32_t price, uint32_t from, uint8_t kind, uint32_t len, uint32_t dist) {
    if (price < nd[t].price) {
        nd[t].price = price;
        nd[t].from = from;
        nd[t].kind = kind;
        nd[t].len = len;
        nd[t].dist = dist;
    }
}

/* Node j's state and reps from its best predecessor. */
static inline void node_settle(Node *nd, uint32_t j) {
    Node *x = &nd[j];
    const Node *f = &nd[x->from];
    memcpy(x->reps, f->reps, sizeof x->reps);
    switch (x->kind) {
    case K_LIT: x->state = (uint8_t)st_lit(f->state); break;
    case K_SHORT: x->state = (uint8_t)st_short(f->state); break;
    case K_REP: {
        uint32_t r = x->dist, d = f->reps[r];
        for (uint32_t k = r; k > 0; k--) x->reps[k] = f->reps[k - 1];
        x->reps[0] = d;
        x->state = (uint8_t)st_rep(f->state);
        break;
    }
    default:
        x->reps[3] = f->reps[2];
        x->reps[2] = f->reps[1];
        x->reps[1] = f->reps[0];
        x->reps[0] = x->dist;
        x->state = (uint8_t)st_match(f->state);
        break;
    }
}

/* Code the path ending at node `end` (positions s .. s + end). */
static void emit_path(Enc *e, size_t s, uint32_t end) {
    Node *nd = e->nodes, *path = e->path;
    uint32_t k = 0;
    for (uint32_t t = end; t > 0; t = nd[t].from) path[k++] = nd[t];
    size_t pos = s;
    while (k > 0) {
        const Node *x = &path[--k];
        put_node(e, pos, x);
        pos += x->kind == K_LIT || x->kind == K_SHORT ? 1 : x->len;
    }
}

static void parse_optimal(Enc *e) {
    size_t s = 0, n = e->n;
    Node *nd = e->nodes;
    const Model *m = &e->c->m;
    const uint8_t *d = e->d;
    const uint32_t nice = e->f.nice;
    refresh_prices(e);
    while (s < n) {
        if (e->ops_since_prices >= PRICE_REFRESH) refresh_prices(e);
        const Prices *pr = e->pr;
        nd[0].price = 0;
        nd[0].state = (uint8_t)e->state;
        memcpy(nd[0].reps, e->reps, sizeof e->reps);
        uint32_t inited = 0, reach = 0, j = 0;
        for (;;) {
            size_t pos = s + j;
            if (j > 0) node_settle(nd, j);
            size_t cnt = fd_find(&e->f, pos, e->matches);
            const Node *x = &nd[j];
            unsigned st = x->state, ps = (unsigned)pos & e->c->pbmask;
            uint32_t limit = n - pos < MAX_LEN ? (uint32_t)(n - pos) : MAX_LEN;
            uint32_t rl[4], rbest = 0, rbi = 0;
            for (unsigned r = 0; r < 4; r++) {
                rl[r] = limit >= MIN_LEN ? rep_len_at(e, pos, x->reps[r], limit) : 0;
                if (rl[r] > rbest) {
                    rbest = rl[r];
                    rbi = r;
                }
            }
            uint32_t mlen = cnt ? e->matches[cnt - 1].len : 0;
            if (rbest >= nice || mlen >= nice) { /* long enough: take it and close the block */
                Node op;
                op.from = j;
                if (rbest + 1 >= mlen) {
                    op.kind = K_REP;
                    op.len = rbest;
                    op.dist = rbi;
                } else {
                    op.kind = K_MATCH;
                    op.len = mlen;
                    op.dist = e->matches[cnt - 1].dist;
                }
                if (j > 0) emit_path(e, s, j);
                put_node(e, pos, &op);
                for (uint32_t k = 1; k < op.len; k++) fd_skip(&e->f, pos + k);
                s = pos + op.len;
                break;
            }
            while (inited < j + limit) nd[++inited].price = INF;
            uint32_t base = x->price;
            /* literal */
            const Prob *lp = lit_probs(e->c, pos, pos ? d[pos - 1] : 0);
            int matched = st >= LIT_STATES;
            unsigned mb = x->reps[0] < pos ? d[pos - x->reps[0] - 1] : 0;
            uint32_t p = base + PR0(m->is_match[st][ps]) + lit_price(lp, d[pos], matched, mb);
            relax(nd, j + 1, p, j, K_LIT, 1, 0);
            uint32_t mprice = base + PR1(m->is_match[st][ps]);
            uint32_t rprice = mprice + PR1(m->is_rep[st]);
            /* short rep */
            if (x->reps[0] < pos && d[pos] == mb)
                relax(nd, j + 1, rprice + PR0(m->is_rep0[st]) + PR0(m->is_rep0_long[st][ps]), j, K_SHORT, 1, 0);
            /* rep matches */
            for (unsigned r = 0; r < 4; r++) {
                if (rl[r] < MIN_LEN) continue;
                uint32_t ip = rprice;
                if (r == 0)
                    ip += PR0(m->is_rep0[st]) + PR1(m->is_rep0_long[st][ps]);
                else {
                    ip += PR1(m->is_rep0[st]);
                    if (r == 1)
                        ip += PR0(m->is_rep1[st]);
                    else
                        ip += PR1(m->is_rep1[st]) + PRB(m->is_rep2[st], r == 3);
                }
                const uint32_t *lpr = pr->len[1][ps];
                for (uint32_t l = MIN_LEN; l <= rl[r]; l++) relax(nd, j + l, ip + lpr[l - MIN_LEN], j, K_REP, l, r);
            }
            /* new matches */
            if (cnt) {
                uint32_t np = mprice + PR0(m->is_rep[st]);
                const uint32_t *lpr = pr->len[0][ps];
                uint32_t l = MIN_LEN;
                for (size_t k = 0; k < cnt; k++) {
                    uint32_t dist = e->matches[k].dist;
                    uint32_t dp[NLENSTATES];
                    for (unsigned ls = 0; ls < NLENSTATES; ls++) dp[ls] = dist_price(pr, ls, dist);
                    for (; l <= e->matches[k].len; l++) {
                        unsigned ls = l - MIN_LEN < NLENSTATES ? l - MIN_LEN : NLENSTATES - 1;
                        relax(nd, j + l, np + lpr[l - MIN_LEN] + dp[ls], j, K_MATCH, l, dist);
                    }
                }
            }
            uint32_t top = j + (mlen > rbest ? mlen : rbest);
            if (top < j + 1) top = j + 1;
            if (top > reach) reach = top;
            j++;
            if (j >= reach || j >= OPT_N) {
                emit_path(e, s, j);
                s += j;
                break;
            }
        }
    }
}

static int encode(const int32_t *P, int lc, const uint8_t *data, size_t size, uint8_t **out, size_t *out_len) {
    Enc e;
    memset(&e, 0, sizeof e);
    e.d = data;
    e.n = size;
    e.c = coder_new(P, lc);
    e.f.d = data;
    e.f.n = size;
    e.f.hlog = P[LP_HASH_LOG];
    e.f.chain = (uint32_t)P[LP_CHAIN];
    e.f.nice = (uint32_t)P[LP_NICE];
    e.f.head = (uint32_t *)calloc((size_t)1 << e.f.hlog, 4);
    e.f.head3 = (uint32_t *)calloc((size_t)1 << H3_LOG, 4);
    e.f.son = (uint32_t *)malloc(size * 8);
    e.matches = (Match *)malloc(((size_t)P[LP_CHAIN] + 2) * sizeof(Match));
    if (P[LP_PARSE]) {
        e.nodes = (Node *)malloc((OPT_N + MAX_LEN + 2) * sizeof(Node));
        e.path = (Node *)malloc((OPT_N + 2) * sizeof(Node));
        e.pr = (Prices *)malloc(sizeof(Prices));
    }
    BinArith ac;
    int rc = -1;
    if (!e.c || !e.f.head || !e.f.head3 || !e.f.son || !e.matches ||
        (P[LP_PARSE] && (!e.nodes || !e.path || !e.pr)))
        goto done;
    if (ba_enc_init(&ac, size / 3 + 64) < 0) goto done;
    e.ac = &ac;
    uint32_t chk = data_check(data, size);
    ba_put(&ac, (uint8_t)lc);
    ba_put(&ac, (uint8_t)(chk & 255));
    ba_put(&ac, (uint8_t)(chk >> 8));
    if (P[LP_PARSE])
        parse_optimal(&e);
    else
        parse_greedy(&e);
    if (ba_enc_flush(&ac) < 0) {
        free(ac.out);
        goto done;
    }
    *out = ac.out;
    *out_len = ac.out_len;
    rc = 0;
done:
    coder_free(e.c);
    free(e.f.head);
    free(e.f.head3);
    free(e.f.son);
    free(e.matches);
    free(e.nodes);
    free(e.path);
    free(e.pr);
    return rc;
}

/* Literal context bits tried on a prefix of the chunk when the parameters allow more
 * than LC_ALT: many contexts pay on large text, few learn faster on small or binary
 * data. The payload's flags byte says which one the chunk uses. */
#define LC_ALT 4
#ifndef LC_TRIAL
#define LC_TRIAL (96u << 10)
#endif

void lz_init(void) { prices_init(); }

int lz_compress(const int32_t *P, const uint8_t *data, size_t size, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (lz_check_params(P, LZ_NPARAM) || size > BCM_MAX_SIZE) return -2;
    if (size == 0) {
        *out = (uint8_t *)malloc(1);
        return *out ? 0 : -1;
    }
    prices_init();
    int lc = P[LP_LC];
    if (lc > LC_ALT) {
        size_t t = size < LC_TRIAL ? size : LC_TRIAL;
        uint8_t *o1 = NULL, *o2 = NULL;
        size_t l1 = 0, l2 = 0;
        int rc = encode(P, lc, data, t, &o1, &l1);
        if (rc == 0) rc = encode(P, LC_ALT, data, t, &o2, &l2);
        if (rc == 0 && l2 < l1) lc = LC_ALT;
        if (rc == 0 && t == size) { /* the trial was the whole chunk */
            *out = lc == LC_ALT ? o2 : o1;
            *out_len = lc == LC_ALT ? l2 : l1;
            free(lc == LC_ALT ? o1 : o2);
            return 0;
        }
        free(o1);
        free(o2);
        if (rc != 0) return rc;
    }
    return encode(P, lc, data, size, out, out_len);
}

int lz_decompress(const int32_t *P, const uint8_t *payload, size_t len, uint8_t *out, size_t size) {
    if (lz_check_params(P, LZ_NPARAM) || size > BCM_MAX_SIZE) return -2;
    if (size == 0) return len == 0 ? 0 : -3;
    if (len < 4) return -3;
    /* Every decision is coded with a probability of at most 4065/4096 (0.011 bits) and
     * a symbol yields at most 273 bytes from at least 14 decisions: a payload byte
     * cannot hold more than ~15,000 bytes. Larger sizes are refused before anything is
     * allocated, so a tiny hostile payload cannot claim a huge output. */
    if ((uint64_t)size > ((uint64_t)len + 16) * LZ_MAX_RATIO) return -3;
    int lc = payload[0]; /* this chunk's literal context bits */
    if (lc > P[LP_LC]) return -3;
    uint32_t chk = (uint32_t)payload[1] | (uint32_t)payload[2] << 8;
    Coder *c = coder_new(P, lc);
    if (!c) return -1;
    BinArith ac;
    ba_dec_init(&ac, payload + 3, len - 3);
    int rc = decode(c, &ac, out, size);
    coder_free(c);
    if (rc < 0) return rc;
    if (ba_dec_check(&ac) != 0 || data_check(out, size) != chk) return -3;
    return 0;
}
