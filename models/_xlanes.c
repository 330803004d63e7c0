/* lmzip.models._xlanes: the "ensemble-x1" predictor for many lanes at once, compiled.
 *
 * For each listed lane, predict() computes exactly XEnsemblePredictor.predict's int64
 * log2q output from that lane's int32 LLM logits and state, and update() applies exactly
 * XEnsemblePredictor.update; a whole step (all lanes) runs here with the GIL released.
 * The recipe is the one written out in models/xensemble.py's docstring; xlanes.py
 * defines the shared-state mode and is the way to use this module.
 *
 * Per lane and token, predict makes five passes over the vocabulary (xlanes_passes.h:
 * z1 and its maximum; softmax weights; p1, logp1 and the mixer's W * logp1; softmax
 * weights of z2; sum(p2 * logp1)) and update one (the bias step); everything else works
 * on the few sparse candidates. The passes have a plain C and an AVX2 version, chosen
 * at run time (path "auto"), with identical results.
 *
 * Integer arithmetic only. Python ints are unbounded; the bounds that make every product
 * below fit (int64, or unsigned __int128 where a Q62 value meets a count) come from
 * xensemble._check_ranges and the limits parse_cfg enforces. ">>" on a negative int64 is
 * an arithmetic (floor) shift with GCC and Clang, like Python's; every "//" here has
 * non-negative operands, where C's truncating "/" is the same as Python's floor.
 *
 * Storage per lane: logp1 and p1 as int32 (-2**24 <= logp1 <= 0, p1 <= 2**30), the bias
 * as int32 (|b| <= limit << 8 <= 2**30), the fast bias as int64; the counts and match
 * tables of xlanes_tables.h, which grow with the contexts seen (bounded by the slots). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlanes_passes.h"
#include "xlanes_tables.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

#define Q62U ((uint64_t)1 << 62)
#define L62 ((int64_t)62 << 16)
#define L31 ((int64_t)31 << 16)
#define XL_MAXIN 64      /* mixer inputs */
#define XL_MAXORD 64     /* largest context order */
#define XL_MAXB 64       /* match length buckets */
#define XL_MAXCONF 64    /* confidence edges */

enum { CTX2_NONE = 0, CTX2_ORDER = 1, CTX2_AGREE = 2, CTX2_ESCAPE = 3 };

/* the int64 config vector xlanes.py passes (same order as xlanes._CFG_FIELDS) */
enum {
    CF_MIN_ESCAPE, CF_LOGP_FLOOR,
    CF_HAS_BIAS, CF_BIAS_LR, CF_BIAS_LIMIT, CF_BIAS_BOOST, CF_BIAS_HALF, CF_FAST_LR, CF_FAST_SHIFT,
    CF_SLOTS_LOG2, CF_MAX_CAND,
    CF_HAS_NGRAM, CF_HAS_PPM, CF_MAX_ORDER, CF_METHOD_D,
    CF_HAS_MATCH, CF_MIN_LEN, CF_MAX_LEN, CF_MATCH_SLOTS_LOG2,
    CF_MIX_LR, CF_MIX_SHIFT, CF_W_MIN, CF_W_MAX, CF_MIX_BOOST, CF_MIX_HALF, CF_CTX2,
    CF_N
};

typedef struct {
    int V;
    uint64_t min_escape; /* Q62 */
    int64_t logp_floor;
    int has_bias, fast_shift;
    int64_t bias_lr, bias_limit, bias_boost, bias_half, fast_lr;
    int has_counts, max_cand, n_orders, orders[XL_MAXORD + XL_MAXIN];
    uint64_t cmask;
    int n_ngram, ngram_tab[XL_MAXIN];
    int has_ppm, max_order, method_d, ppm_tab[XL_MAXORD + 1];
    int has_match, n_buckets;
    int64_t min_len, max_len, edges[XL_MAXB];
    uint64_t mmask;
    int64_t mix_lr, mix_boost, mix_half, w_min, w_max;
    int mix_shift, ctx2, n2, n_sets, n_inputs, n_conf;
    int64_t conf_edges[XL_MAXCONF]; /* Q30 */
} XCfg;

typedef struct {
    int32_t *bias;  /* [V] or NULL */
    int64_t *fast;  /* [V] or NULL */
    int64_t *weights, *weights2;
    int64_t n_updates;
    XCounts counts;
} XModel;

typedef struct {
    XModel *model;
    int32_t *hist;
    int64_t hlen, hcap;
    /* match model */
    XPosMap pos;
    int64_t mptr, mlen, mpred, hits[XL_MAXB], trials[XL_MAXB];
    /* predict state, consumed by update */
    int has_state, ctx, ctx2, n_live;
    int32_t *logp1, *p1; /* [V] */
    int64_t e_sh;        /* sum(p2 * logp1) >> 30 */
    int live_i[XL_MAXIN], live_s[XL_MAXIN], live_e[XL_MAXIN];
    int64_t live_exp[XL_MAXIN];
    int32_t *ctok;
    int64_t *ccorr;
    int64_t ccap;
} XLane;

typedef struct {
    uint32_t *w;       /* [V] softmax weights */
    int32_t *z32;      /* [V] z1, then z2, as int32 (the AVX2 path, when they fit) */
    uint32_t *stamp;   /* [V] */
    int32_t *slotof;   /* [V] */
    uint32_t gen;
    int64_t *cmass, *uacc;
    int32_t *utok;
    int64_t cap;
} XScratch;

typedef struct {
    XCfg cfg;
    int n_lanes, shared, n_models, avx2;
    XModel *models;
    XLane *lanes;
    XScratch sc;
} XEns;

/* -- construction ---------------------------------------------------------------------- */

static void model_reset(const XCfg *c, XModel *m) {
    if (m->bias) memset(m->bias, 0, sizeof(int32_t) * (size_t)c->V);
    if (m->fast) memset(m->fast, 0, sizeof(int64_t) * (size_t)c->V);
    for (int s = 0; s < c->n_sets; s++)
        for (int i = 0; i < c->n_inputs; i++) m->weights[s * c->n_inputs + i] = i == 0 ? (int64_t)1 << 16 : 0;
    if (m->weights2) memset(m->weights2, 0, sizeof(int64_t) * (size_t)c->n2 * (size_t)c->n_inputs);
    m->n_updates = 0;
    if (c->has_counts) xcounts_clear(&m->counts);
}

static void lane_reset(const XCfg *c, XLane *ln) {
    ln->hlen = 0;
    xposmap_clear(&ln->pos);
    ln->mptr = -1;
    ln->mlen = 0;
    ln->mpred = -1;
    for (int b = 0; b < c->n_buckets; b++) {
        ln->hits[b] = 1;
        ln->trials[b] = 2;
    }
    ln->has_state = 0;
}

static void ens_free(XEns *x) {
    if (!x) return;
    if (x->models)
        for (int k = 0; k < x->n_models; k++) {
            XModel *m = &x->models[k];
            free(m->bias);
            free(m->fast);
            free(m->weights);
            free(m->weights2);
            xcounts_free(&m->counts);
        }
    if (x->lanes)
        for (int k = 0; k < x->n_lanes; k++) {
            XLane *ln = &x->lanes[k];
            free(ln->hist);
            xposmap_clear(&ln->pos);
            free(ln->logp1);
            free(ln->p1);
            free(ln->ctok);
            free(ln->ccorr);
        }
    free(x->models);
    free(x->lanes);
    free(x->sc.w);
    free(x->sc.z32);
    free(x->sc.stamp);
    free(x->sc.slotof);
    free(x->sc.cmass);
    free(x->sc.uacc);
    free(x->sc.utok);
    free(x);
}

static XEns *ens_new(const XCfg *cfg, int n_lanes, int shared) {
    XEns *x = calloc(1, sizeof(XEns));
    if (!x) return NULL;
    x->cfg = *cfg;
    const XCfg *c = &x->cfg;
    const size_t V = (size_t)c->V;
    x->n_lanes = n_lanes;
    x->shared = shared;
    x->n_models = shared ? 1 : n_lanes;
    x->models = calloc((size_t)x->n_models, sizeof(XModel));
    x->lanes = calloc((size_t)n_lanes, sizeof(XLane));
    x->sc.w = malloc(V * sizeof(uint32_t));
    x->sc.z32 = malloc(V * sizeof(int32_t));
    x->sc.stamp = calloc(V, sizeof(uint32_t));
    x->sc.slotof = malloc(V * sizeof(int32_t));
    if (!x->models || !x->lanes || !x->sc.w || !x->sc.z32 || !x->sc.stamp || !x->sc.slotof) goto fail;
    for (int k = 0; k < x->n_models; k++) {
        XModel *m = &x->models[k];
        if (c->has_bias) {
            m->bias = calloc(V, sizeof(int32_t));
            if (!m->bias) goto fail;
            if (c->fast_lr) {
                m->fast = calloc(V, sizeof(int64_t));
                if (!m->fast) goto fail;
            }
        }
        m->weights = malloc(sizeof(int64_t) * (size_t)c->n_sets * (size_t)c->n_inputs);
        if (!m->weights) goto fail;
        if (c->ctx2) {
            m->weights2 = malloc(sizeof(int64_t) * (size_t)c->n2 * (size_t)c->n_inputs);
            if (!m->weights2) goto fail;
        }
        if (c->has_counts && xcounts_init(&m->counts, c->orders, c->n_orders, c->cmask, c->max_cand) != 0) goto fail;
        model_reset(c, m);
    }
    for (int k = 0; k < n_lanes; k++) {
        XLane *ln = &x->lanes[k];
        ln->model = &x->models[shared ? 0 : k];
        ln->logp1 = malloc(V * sizeof(int32_t));
        ln->p1 = malloc(V * sizeof(int32_t));
        if (!ln->logp1 || !ln->p1) goto fail;
        lane_reset(c, ln);
    }
    return x;
fail:
    ens_free(x);
    return NULL;
}

static void ens_reset(XEns *x) {
    for (int k = 0; k < x->n_models; k++) model_reset(&x->cfg, &x->models[k]);
    for (int k = 0; k < x->n_lanes; k++) lane_reset(&x->cfg, &x->lanes[k]);
}

static size_t ens_bytes(const XEns *x) {
    const XCfg *c = &x->cfg;
    const size_t V = (size_t)c->V;
    size_t b = sizeof(XEns) + V * (2 * sizeof(uint32_t) + 2 * sizeof(int32_t)) +
               (size_t)x->sc.cap * (2 * sizeof(int64_t) + sizeof(int32_t));
    for (int k = 0; k < x->n_models; k++) {
        const XModel *m = &x->models[k];
        b += sizeof(XModel) + (m->bias ? V * sizeof(int32_t) : 0) + (m->fast ? V * sizeof(int64_t) : 0) +
             sizeof(int64_t) * (size_t)(c->n_sets + (c->ctx2 ? c->n2 : 0)) * (size_t)c->n_inputs;
        if (c->has_counts) b += xcounts_bytes(&m->counts);
    }
    for (int k = 0; k < x->n_lanes; k++) {
        const XLane *ln = &x->lanes[k];
        b += sizeof(XLane) + 2 * V * sizeof(int32_t) + (size_t)ln->hcap * sizeof(int32_t) +
             (size_t)ln->ccap * (sizeof(int32_t) + sizeof(int64_t)) + xposmap_bytes(&ln->pos);
    }
    return b;
}

/* room for n candidates in the lane and the scratch; -1: out of memory */
static int ensure_cands(XEns *x, XLane *ln, int64_t n) {
    if (n > ln->ccap) {
        int64_t cap = ln->ccap ? ln->ccap : 64;
        while (cap < n) cap *= 2;
        int32_t *t = realloc(ln->ctok, (size_t)cap * sizeof(int32_t));
        if (!t) return -1;
        ln->ctok = t;
        int64_t *cc = realloc(ln->ccorr, (size_t)cap * sizeof(int64_t));
        if (!cc) return -1;
        ln->ccorr = cc;
        ln->ccap = cap;
    }
    XScratch *sc = &x->sc;
    if (n > sc->cap) {
        int64_t cap = sc->cap ? sc->cap : 64;
        while (cap < n) cap *= 2;
        int64_t *a = realloc(sc->cmass, (size_t)cap * sizeof(int64_t));
        if (!a) return -1;
        sc->cmass = a;
        a = realloc(sc->uacc, (size_t)cap * sizeof(int64_t));
        if (!a) return -1;
        sc->uacc = a;
        int32_t *u = realloc(sc->utok, (size_t)cap * sizeof(int32_t));
        if (!u) return -1;
        sc->utok = u;
        sc->cap = cap;
    }
    return 0;
}

static inline uint32_t next_gen(XScratch *sc, int V) {
    if (++sc->gen == 0) {
        memset(sc->stamp, 0, sizeof(uint32_t) * (size_t)V);
        sc->gen = 1;
    }
    return sc->gen;
}

static inline int length_bucket(const XCfg *c, int64_t length) {
    int b = 0;
    for (int i = 0; i < c->n_buckets; i++)
        if (length >= c->edges[i]) b = i;
    return b;
}

static inline int64_t schedule(int64_t lr, int64_t boost, int64_t half, int64_t n) {
    return half > 0 ? lr + (int64_t)((i128)boost * half / (half + n)) : lr;
}

/* -- predict --------------------------------------------------------------------------- */

typedef struct {
    int idx, s, e;
    uint64_t E;
    int64_t total;
} XLive;

/* XEnsemblePredictor.predict for one lane: z (V int64) from logits L. 0, or -1 (no memory). */
static int lane_predict(XEns *x, XLane *ln, const int32_t *L, int64_t *z) {
    const XCfg *c = &x->cfg;
    XModel *m = ln->model;
    XScratch *sc = &x->sc;
    const int V = c->V;
    const int avx2 = x->avx2;
    ln->has_state = 0;

    /* 1. z1 = L + ((b + f) >> 8); p1, lse1, pmax = softmax_q30(z1). "narrow": z1 is in
     * sc->z32 as int32 (AVX2, no fast bias, no value beyond int32); else in z as int64 */
    int64_t top;
    uint64_t s;
    int narrow = 0;
#if XL_HAVE_AVX2
    int32_t top32;
    if (avx2 && !m->fast && xl_z1_32_avx2(L, m->bias, sc->z32, V, &top32) == 0) {
        narrow = 1;
        top = top32;
        s = xl_exp32_avx2(sc->z32, top32, sc->w, V);
    } else if (avx2) {
        top = xl_z1_avx2(L, m->bias, m->fast, z, V);
        s = xl_exp_avx2(z, top, sc->w, V);
    } else
#endif
    {
        top = xl_z1_scalar(L, m->bias, m->fast, z, V);
        s = xl_exp_scalar(z, top, sc->w, V);
    }
    const uint64_t r = Q62U / s;
    const int64_t lse = top + xl_log2q(s) - L31;
    const uint64_t pmax = r >> 1; /* (2**31 * r) >> 32 */

    /* 2. sparse inputs: n-gram orders, PPM, match */
    const int32_t *h = ln->hist;
    const int64_t hl = ln->hlen;
    XLive live[XL_MAXIN];
    int nl = 0;
    int64_t nc = 0;
    for (int q = 0; q < c->n_ngram; q++) {
        const XEnt *ent = xcounts_lookup(&m->counts, c->ngram_tab[q], h, hl);
        if (!ent) continue;
        const XCell *cs = m->counts.cells + ent->off;
        uint64_t n = 0;
        for (int j = 0; j < ent->n; j++) n += cs[j].cnt;
        const uint64_t d = ent->n;
        uint64_t E = (uint64_t)((u128)d * Q62U / (n + d));
        if (E < c->min_escape) E = c->min_escape;
        if (E >= Q62U) continue;
        if (ensure_cands(x, ln, nc + d) != 0) return -1;
        cs = m->counts.cells + ent->off;
        for (int j = 0; j < ent->n; j++) {
            ln->ctok[nc + j] = cs[j].tok;
            sc->cmass[nc + j] = cs[j].cnt;
        }
        live[nl++] = (XLive){1 + q, (int)nc, (int)(nc + d), E, (int64_t)n};
        nc += d;
    }
    int order_found = 0, ppm_live = -1;
    uint64_t ppm_E = 0;
    if (c->has_ppm) {
        const uint32_t g = next_gen(sc, V);
        const int64_t s0 = nc;
        uint64_t R = Q62U;
        for (int k = c->max_order; k >= 1; k--) {
            const XEnt *ent = xcounts_lookup(&m->counts, c->ppm_tab[k], h, hl);
            if (!ent) continue;
            if (k > order_found) order_found = k;
            const XCell *cs = m->counts.cells + ent->off;
            uint64_t n = 0, d = 0;
            for (int j = 0; j < ent->n; j++)
                if (sc->stamp[cs[j].tok] != g) {
                    n += cs[j].cnt;
                    d++;
                }
            if (!d) continue;
            if (ensure_cands(x, ln, nc + (int64_t)d) != 0) return -1;
            if (c->method_d) { /* (2k - 1) R // 2n, escape d R // 2n */
                const u128 n2 = (u128)2 * n;
                for (int j = 0; j < ent->n; j++) {
                    const int32_t t = cs[j].tok;
                    if (sc->stamp[t] == g) continue;
                    const uint64_t mass = (uint64_t)(((u128)2 * cs[j].cnt - 1) * R / n2);
                    ln->ctok[nc] = t;
                    sc->cmass[nc++] = mass > 1 ? (int64_t)mass : 1;
                    sc->stamp[t] = g;
                }
                R = (uint64_t)((u128)R * d / n2);
            } else { /* method C: k R // (n + d), escape d R // (n + d) */
                const u128 nd = (u128)n + d;
                for (int j = 0; j < ent->n; j++) {
                    const int32_t t = cs[j].tok;
                    if (sc->stamp[t] == g) continue;
                    const uint64_t mass = (uint64_t)((u128)cs[j].cnt * R / nd);
                    ln->ctok[nc] = t;
                    sc->cmass[nc++] = mass > 1 ? (int64_t)mass : 1;
                    sc->stamp[t] = g;
                }
                R = (uint64_t)((u128)R * d / nd);
            }
        }
        if (nc > s0) {
            uint64_t E = R < c->min_escape ? c->min_escape : R;
            if (E >= Q62U) {
                nc = s0;
            } else {
                int64_t total = 0;
                for (int64_t j = s0; j < nc; j++) total += sc->cmass[j];
                ppm_live = nl;
                ppm_E = E;
                live[nl++] = (XLive){1 + c->n_ngram, (int)s0, (int)nc, E, total};
            }
        }
    }
    int mstate = 0;
    if (c->has_match) {
        ln->mpred = -1;
        if (ln->mptr >= 0 && ln->mptr < hl) {
            const int32_t t = h[ln->mptr];
            ln->mpred = t;
            const int b = length_bucket(c, ln->mlen);
            const uint64_t miss =
                (uint64_t)((u128)(uint64_t)(ln->trials[b] - ln->hits[b]) * Q62U / (uint64_t)ln->trials[b]);
            const uint64_t E = miss < c->min_escape ? c->min_escape : miss;
            if (E < Q62U) {
                if (ensure_cands(x, ln, nc + 1) != 0) return -1;
                ln->ctok[nc] = t;
                sc->cmass[nc] = 1;
                live[nl++] = (XLive){c->n_inputs - 1, (int)nc, (int)nc + 1, E, 1};
                nc++;
            }
            const int bk = length_bucket(c, ln->mlen);
            mstate = bk == 0 ? 0 : (bk < 4 ? 1 : 2);
        }
    }

    /* 3. weight set(s) */
    int conf = 0;
    for (int e = 0; e < c->n_conf; e++) conf += (int64_t)pmax >= c->conf_edges[e];
    const int ctx = conf * 3 + mstate;
    const int ni = c->n_inputs;
    int64_t w[XL_MAXIN];
    for (int i = 0; i < ni; i++) w[i] = m->weights[ctx * ni + i];
    int ctx2 = 0;
    if (c->ctx2) {
        ctx2 = order_found;
        if (c->ctx2 == CTX2_ESCAPE) {
            if (ppm_live < 0) {
                ctx2 = 0;
            } else {
                const int bl = 64 - __builtin_clzll(ppm_E);
                ctx2 = 63 - bl < 7 ? 63 - bl : 7;
            }
        } else if (c->ctx2 == CTX2_AGREE) {
            int64_t top_tok = -1;
            if (ppm_live >= 0) {
                int64_t jm = live[ppm_live].s;
                for (int64_t j = jm + 1; j < live[ppm_live].e; j++)
                    if (sc->cmass[j] > sc->cmass[jm]) jm = j;
                top_tok = ln->ctok[jm];
            }
            int am = 0; /* first maximum of p1 = (w * r) >> 32; its maximum is pmax */
            while (am < V && (((uint64_t)sc->w[am] * r) >> 32) != pmax) am++;
            ctx2 = 2 * ctx2 + (top_tok == am);
        }
        for (int i = 0; i < ni; i++) w[i] += m->weights2[ctx2 * ni + i];
    }
    int64_t W = 0;
    for (int i = 0; i < ni; i++) W += w[i];

    /* 4. z2 = (W * logp1 + sum_i w_i * corr_i) >> 16; "narrow" now: z2 is in sc->z32 as well
     * (its low 32 bits) */
    int64_t top2, zmin = INT64_MIN;
#if XL_HAVE_AVX2
    if (narrow) {
        const int64_t thr = c->logp_floor + lse;
        if (lse <= INT32_MAX && thr >= INT32_MIN) {
            top2 = xl_p1z2_32_avx2(sc->w, r, (int32_t)lse, (int32_t)thr, W, sc->z32, z, ln->p1, ln->logp1, V, &zmin);
        } else { /* logits near the int32 limits: go wide */
            for (int i = 0; i < V; i++) z[i] = sc->z32[i];
            narrow = 0;
        }
    }
    if (!narrow && avx2)
        top2 = xl_p1z2_avx2(sc->w, r, lse, c->logp_floor, W, z, ln->p1, ln->logp1, V);
    else if (!narrow)
#endif
        top2 = xl_p1z2_scalar(sc->w, r, lse, c->logp_floor, W, z, ln->p1, ln->logp1, V);
    const int32_t *lp = ln->logp1;
    if (nl) {
        const uint32_t g = next_gen(sc, V);
        int64_t nu = 0;
        for (int k = 0; k < nl; k++) {
            const XLive *lv = &live[k];
            const int64_t log_e = xl_log2q(lv->E) - L62;
            const int64_t log_1me_q = xl_log2q(Q62U - lv->E) - L62 - xl_log2q((uint64_t)lv->total);
            const int64_t wi = w[lv->idx];
            for (int64_t j = lv->s; j < lv->e; j++) {
                const int32_t t = ln->ctok[j];
                const int64_t a = log_e + lp[t];
                const int64_t b = log_1me_q + xl_log2q((uint64_t)sc->cmass[j]);
                const int64_t corr = xl_logaddexp2q(a, b) - a;
                ln->ccorr[j] = corr;
                if (sc->stamp[t] != g) {
                    sc->stamp[t] = g;
                    sc->slotof[t] = (int32_t)nu;
                    sc->utok[nu] = t;
                    sc->uacc[nu++] = 0;
                }
                sc->uacc[sc->slotof[t]] += wi * corr;
            }
        }
        int rescan = 0;
        int64_t newmax = INT64_MIN;
        for (int64_t u = 0; u < nu; u++) {
            const int32_t t = sc->utok[u];
            const int64_t old = z[t];
            const int64_t v = ((int64_t)lp[t] * W + sc->uacc[u]) >> 16;
            z[t] = v;
            if (narrow) sc->z32[t] = (int32_t)v;
            zmin = v < zmin ? v : zmin;
            if (v < old && old == top2) rescan = 1;
            newmax = v > newmax ? v : newmax;
        }
        if (rescan) {
#if XL_HAVE_AVX2
            top2 = avx2 ? xl_max_avx2(z, V) : xl_max_scalar(z, V);
#else
            top2 = xl_max_scalar(z, V);
#endif
        } else if (newmax > top2) {
            top2 = newmax;
        }
    }

    /* 5. p2 = softmax_q30(z2): only sum(p2 * logp1) and p2 on the candidates are kept */
    uint64_t s2;
    int64_t dot;
#if XL_HAVE_AVX2
    if (avx2) {
        /* z32 holds z2 mod 2**32, so (uint32)(top2 - z2) is exact when top2 - min(z2) < 2**32 */
        if (narrow && (uint64_t)(top2 - zmin) <= UINT32_MAX)
            s2 = xl_exp32_avx2(sc->z32, (int32_t)(uint32_t)top2, sc->w, V);
        else
            s2 = xl_exp_avx2(z, top2, sc->w, V);
        dot = xl_dot_avx2(sc->w, Q62U / s2, lp, V);
    } else
#endif
    {
        s2 = xl_exp_scalar(z, top2, sc->w, V);
        dot = xl_dot_scalar(sc->w, Q62U / s2, lp, V);
    }
    const uint64_t r2 = Q62U / s2;
    ln->e_sh = dot >> 30;
    for (int k = 0; k < nl; k++) {
        int64_t ex = 0;
        for (int64_t j = live[k].s; j < live[k].e; j++)
            ex += (int64_t)(((uint64_t)sc->w[ln->ctok[j]] * r2) >> 32) * ln->ccorr[j];
        ln->live_i[k] = live[k].idx;
        ln->live_s[k] = live[k].s;
        ln->live_e[k] = live[k].e;
        ln->live_exp[k] = ex >> 30;
    }
    ln->n_live = nl;
    ln->ctx = ctx;
    ln->ctx2 = ctx2;
    ln->has_state = 1;
    return 0;
}

/* -- update ---------------------------------------------------------------------------- */

static int lane_update(XEns *x, XLane *ln, int32_t token) {
    const XCfg *c = &x->cfg;
    XModel *m = ln->model;
    const int V = c->V;
    if (ln->has_state) {
        ln->has_state = 0;
        const int ni = c->n_inputs;
        const int64_t g0 = ln->e_sh - ln->logp1[token];
        int64_t grads[XL_MAXIN];
        for (int i = 0; i < ni; i++) grads[i] = g0;
        for (int k = 0; k < ln->n_live; k++) {
            int64_t actual = 0;
            for (int j = ln->live_s[k]; j < ln->live_e[k]; j++)
                if (ln->ctok[j] == token) {
                    actual = ln->ccorr[j];
                    break;
                }
            grads[ln->live_i[k]] = g0 + ln->live_exp[k] - actual;
        }
        const int64_t n = m->n_updates++;
        const int64_t lr = schedule(c->mix_lr, c->mix_boost, c->mix_half, n);
        const i128 half = (i128)1 << (c->mix_shift - 1);
        for (int i = 0; i < ni; i++) {
            const i128 dlt = ((i128)grads[i] * lr + half) >> c->mix_shift;
            int64_t *ws[2] = {&m->weights[ln->ctx * ni + i], c->ctx2 ? &m->weights2[ln->ctx2 * ni + i] : NULL};
            for (int k = 0; k < 2; k++) {
                if (!ws[k]) continue;
                const i128 v = (i128)*ws[k] - dlt;
                *ws[k] = v < c->w_min ? c->w_min : (v > c->w_max ? c->w_max : (int64_t)v);
            }
        }
        if (m->bias) {
            const int64_t blr = schedule(c->bias_lr, c->bias_boost, c->bias_half, n);
            const int64_t lim = c->bias_limit;
            /* b -= step; b[token] += blr; clip: the token's entry is done apart */
            const int64_t step = ((int64_t)ln->p1[token] * blr + ((int64_t)1 << 29)) >> 30;
            const int64_t bt = (int64_t)m->bias[token] - step + blr;
#if XL_HAVE_AVX2
            if (x->avx2)
                xl_bias_avx2(m->bias, ln->p1, blr, lim, V);
            else
#endif
                xl_bias_scalar(m->bias, ln->p1, blr, lim, V);
            m->bias[token] = (int32_t)(bt < -lim ? -lim : (bt > lim ? lim : bt));
            if (m->fast) {
                xl_fast_scalar(m->fast, ln->p1, c->fast_lr, c->fast_shift, V);
                m->fast[token] += c->fast_lr;
            }
        }
    }
    if (c->has_counts && xcounts_update(&m->counts, ln->hist, ln->hlen, token) != 0) return -1;
    if (ln->hlen == ln->hcap) {
        const int64_t cap = ln->hcap ? ln->hcap * 2 : 1024;
        int32_t *hh = realloc(ln->hist, (size_t)cap * sizeof(int32_t));
        if (!hh) return -1;
        ln->hist = hh;
        ln->hcap = cap;
    }
    ln->hist[ln->hlen++] = token;
    if (c->has_match) { /* XMatch.update, history already ends with token */
        if (ln->mpred >= 0) {
            const int b = length_bucket(c, ln->mlen);
            ln->trials[b]++;
            if (ln->mpred == token) ln->hits[b]++;
        }
        const int64_t n = ln->hlen;
        if (ln->mpred >= 0 && ln->mpred == token) {
            ln->mptr++;
            ln->mlen = ln->mlen + 1 < c->max_len ? ln->mlen + 1 : c->max_len;
        } else {
            ln->mptr = -1;
            ln->mlen = 0;
        }
        if (n >= c->min_len) {
            const int32_t *hh = ln->hist;
            const uint64_t key = xl_ctx_hash(hh, n, (int)c->min_len) & c->mmask;
            if (ln->mptr < 0) {
                const int64_t cand = xposmap_get(&ln->pos, key);
                if (cand) {
                    int64_t length = 0;
                    while (length < c->max_len && cand - 1 - length >= 0 && hh[cand - 1 - length] == hh[n - 1 - length])
                        length++;
                    if (length >= c->min_len) {
                        ln->mptr = cand;
                        ln->mlen = length;
                    }
                }
            }
            if (xposmap_set(&ln->pos, key, n) != 0) return -1;
        }
    }
    return 0;
}

/* -- Python binding -------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    XEns *x;
    int busy, broken;
} EnsObject;

static void Ens_dealloc(EnsObject *self) {
    ens_free(self->x);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int get_buf(PyObject *obj, Py_buffer *view, Py_ssize_t bytes, int writable, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) != 0) return -1;
    if (bytes >= 0 && view->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s has %zd bytes, expected %zd", what, view->len, bytes);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int bad(const char *msg) {
    PyErr_Format(PyExc_ValueError, "%s not supported by the compiled ensemble", msg);
    return -1;
}

/* cfg: int64[CF_N]; ngram_orders, conf_edges, length_buckets: int64 arrays */
static int parse_cfg(XCfg *c, int V, const int64_t *f, const int64_t *ng, Py_ssize_t n_ng, const int64_t *ce,
                     Py_ssize_t n_ce, const int64_t *lb, Py_ssize_t n_lb) {
    memset(c, 0, sizeof *c);
    c->V = V;
    if (f[CF_MIN_ESCAPE] < 1 || f[CF_MIN_ESCAPE] > (int64_t)Q62U) return bad("min_escape");
    c->min_escape = (uint64_t)f[CF_MIN_ESCAPE];
    if (f[CF_LOGP_FLOOR] < -((int64_t)1 << 24) || f[CF_LOGP_FLOOR] > 0) return bad("logp_floor");
    c->logp_floor = f[CF_LOGP_FLOOR];
    c->has_bias = f[CF_HAS_BIAS] != 0;
    if (c->has_bias) {
        c->bias_lr = f[CF_BIAS_LR];
        c->bias_limit = f[CF_BIAS_LIMIT];
        c->bias_boost = f[CF_BIAS_BOOST];
        c->bias_half = f[CF_BIAS_HALF];
        c->fast_lr = f[CF_FAST_LR];
        if (c->bias_lr < 0 || c->bias_lr > (1 << 24) || c->bias_boost < 0 || c->bias_boost > (1 << 24) ||
            c->bias_half < 0 || c->bias_half > (1 << 30) || c->bias_limit < 0 || c->bias_limit > ((int64_t)1 << 30) ||
            c->fast_lr < 0 || c->fast_lr > (1 << 24) || f[CF_FAST_SHIFT] < 0 || f[CF_FAST_SHIFT] > 30 ||
            (c->fast_lr && !f[CF_FAST_SHIFT]))
            return bad("bias parameters");
        c->fast_shift = (int)f[CF_FAST_SHIFT];
    }
    if (f[CF_HAS_NGRAM]) {
        if (n_ng > XL_MAXIN - 3) return bad("so many n-gram orders");
        c->n_ngram = (int)n_ng;
    }
    c->has_ppm = f[CF_HAS_PPM] != 0;
    if (c->has_ppm) {
        if (f[CF_MAX_ORDER] < 1 || f[CF_MAX_ORDER] > XL_MAXORD) return bad("PPM max_order");
        c->max_order = (int)f[CF_MAX_ORDER];
        c->method_d = f[CF_METHOD_D] != 0;
    }
    /* counts orders: the sorted union of the n-gram orders and 1..max_order */
    int used[XL_MAXORD + 1] = {0};
    for (int q = 0; q < c->n_ngram; q++) {
        if (ng[q] < 1 || ng[q] > XL_MAXORD) return bad("n-gram order");
        used[ng[q]] = 1;
    }
    for (int k = 1; k <= c->max_order; k++) used[k] = 1;
    for (int k = 1; k <= XL_MAXORD; k++)
        if (used[k]) c->orders[c->n_orders++] = k;
    c->has_counts = c->n_orders > 0;
    if (c->has_counts) {
        if (f[CF_SLOTS_LOG2] < 0 || f[CF_SLOTS_LOG2] > 64) return bad("counts slots_log2");
        if (f[CF_MAX_CAND] < 1 || f[CF_MAX_CAND] > 4096) return bad("counts max_candidates");
        c->cmask = f[CF_SLOTS_LOG2] >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << f[CF_SLOTS_LOG2]) - 1;
        c->max_cand = (int)f[CF_MAX_CAND];
        for (int t = 0; t < c->n_orders; t++) {
            for (int q = 0; q < c->n_ngram; q++)
                if (ng[q] == c->orders[t]) c->ngram_tab[q] = t;
            if (c->orders[t] <= c->max_order) c->ppm_tab[c->orders[t]] = t;
        }
    }
    c->has_match = f[CF_HAS_MATCH] != 0;
    c->n_buckets = 1;
    if (c->has_match) {
        if (f[CF_MIN_LEN] < 1 || f[CF_MIN_LEN] > XL_MAXORD) return bad("match min_len");
        if (f[CF_MAX_LEN] < 0 || f[CF_MAX_LEN] > ((int64_t)1 << 30)) return bad("match max_len");
        if (f[CF_MATCH_SLOTS_LOG2] < 0 || f[CF_MATCH_SLOTS_LOG2] > 64) return bad("match slots_log2");
        if (n_lb < 1 || n_lb > XL_MAXB) return bad("match length_buckets");
        c->min_len = f[CF_MIN_LEN];
        c->max_len = f[CF_MAX_LEN];
        c->mmask = f[CF_MATCH_SLOTS_LOG2] >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << f[CF_MATCH_SLOTS_LOG2]) - 1;
        c->n_buckets = (int)n_lb;
        for (int b = 0; b < n_lb; b++) c->edges[b] = lb[b];
    }
    c->n_inputs = 1 + c->n_ngram + c->has_ppm + c->has_match;
    c->mix_lr = f[CF_MIX_LR];
    c->mix_boost = f[CF_MIX_BOOST];
    c->mix_half = f[CF_MIX_HALF];
    c->w_min = f[CF_W_MIN];
    c->w_max = f[CF_W_MAX];
    if (c->mix_lr < 0 || c->mix_lr > (1 << 24) || c->mix_boost < 0 || c->mix_boost > (1 << 24) || c->mix_half < 0 ||
        c->mix_half > (1 << 30) || f[CF_MIX_SHIFT] < 1 || f[CF_MIX_SHIFT] > 40 || c->w_min < -(1 << 20) ||
        c->w_min > 0 || c->w_max < 0 || c->w_max > (1 << 20))
        return bad("mixer parameters");
    c->mix_shift = (int)f[CF_MIX_SHIFT];
    if (n_ce > XL_MAXCONF) return bad("so many confidence edges");
    c->n_conf = (int)n_ce;
    for (int e = 0; e < n_ce; e++) {
        if (ce[e] < 0 || ce[e] > (1 << 16)) return bad("confidence edge");
        c->conf_edges[e] = ce[e] << 14;
    }
    c->n_sets = (c->n_conf + 1) * 3;
    c->ctx2 = (int)f[CF_CTX2];
    if (c->ctx2 < CTX2_NONE || c->ctx2 > CTX2_ESCAPE || (c->ctx2 && !c->has_ppm)) return bad("mixer ctx2");
    c->n2 = c->ctx2 == CTX2_ESCAPE ? 8 : (c->max_order + 1) * (c->ctx2 == CTX2_AGREE ? 2 : 1);
    return 0;
}

static int Ens_init(EnsObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"n_vocab", "n_lanes", "shared", "cfg", "ngram_orders", "conf_edges", "length_buckets",
                             "path", NULL};
    int V, n_lanes, shared;
    PyObject *cfg_o, *ng_o, *ce_o, *lb_o;
    const char *path = "auto";
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iipOOOO|s", kwlist, &V, &n_lanes, &shared, &cfg_o, &ng_o, &ce_o,
                                     &lb_o, &path))
        return -1;
    if (self->x) {
        PyErr_SetString(PyExc_RuntimeError, "already initialized");
        return -1;
    }
    if (!xl_tables_ready) {
        PyErr_SetString(PyExc_RuntimeError, "call init_tables first");
        return -1;
    }
    if (V < 2 || V > (1 << 26) || n_lanes < 1 || n_lanes > (1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "bad n_vocab or n_lanes");
        return -1;
    }
    int avx2;
    if (strcmp(path, "auto") == 0)
        avx2 = XL_HAVE_AVX2 && xl_cpu_avx2();
    else if (strcmp(path, "scalar") == 0)
        avx2 = 0;
    else if (strcmp(path, "avx2") == 0) {
        if (!(XL_HAVE_AVX2 && xl_cpu_avx2())) {
            PyErr_SetString(PyExc_ValueError, "path avx2 cannot run on this CPU");
            return -1;
        }
        avx2 = 1;
    } else {
        PyErr_Format(PyExc_ValueError, "unknown path '%s'", path);
        return -1;
    }
    Py_buffer cb, nb, eb, lbb;
    if (get_buf(cfg_o, &cb, CF_N * 8, 0, "cfg") != 0) return -1;
    if (get_buf(ng_o, &nb, -1, 0, "ngram_orders") != 0) {
        PyBuffer_Release(&cb);
        return -1;
    }
    if (get_buf(ce_o, &eb, -1, 0, "conf_edges") != 0) {
        PyBuffer_Release(&cb);
        PyBuffer_Release(&nb);
        return -1;
    }
    if (get_buf(lb_o, &lbb, -1, 0, "length_buckets") != 0) {
        PyBuffer_Release(&cb);
        PyBuffer_Release(&nb);
        PyBuffer_Release(&eb);
        return -1;
    }
    XCfg c;
    int rc = parse_cfg(&c, V, cb.buf, nb.buf, nb.len / 8, eb.buf, eb.len / 8, lbb.buf, lbb.len / 8);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&nb);
    PyBuffer_Release(&eb);
    PyBuffer_Release(&lbb);
    if (rc != 0) return -1;
    self->x = ens_new(&c, n_lanes, shared);
    if (!self->x) {
        PyErr_NoMemory();
        return -1;
    }
    self->x->avx2 = avx2;
    return 0;
}

static int ready(EnsObject *self) {
    if (!self->x) {
        PyErr_SetString(PyExc_RuntimeError, "not initialized");
        return 0;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "in use by another thread");
        return 0;
    }
    if (self->broken) {
        PyErr_SetString(PyExc_RuntimeError, "state lost after an out-of-memory error: call reset()");
        return 0;
    }
    return 1;
}

static PyObject *Ens_reset(EnsObject *self, PyObject *noargs) {
    (void)noargs;
    if (!self->x || self->busy) {
        PyErr_SetString(PyExc_RuntimeError, self->x ? "in use by another thread" : "not initialized");
        return NULL;
    }
    ens_reset(self->x);
    self->broken = 0;
    Py_RETURN_NONE;
}

static PyObject *Ens_reset_lane(EnsObject *self, PyObject *args) {
    int lane;
    if (!PyArg_ParseTuple(args, "i", &lane) || !ready(self)) return NULL;
    if (lane < 0 || lane >= self->x->n_lanes) {
        PyErr_SetString(PyExc_IndexError, "lane out of range");
        return NULL;
    }
    XEns *x = self->x;
    if (!x->shared) model_reset(&x->cfg, x->lanes[lane].model);
    lane_reset(&x->cfg, &x->lanes[lane]);
    Py_RETURN_NONE;
}

static int check_lanes(XEns *x, const int32_t *lanes, Py_ssize_t B) {
    for (Py_ssize_t j = 0; j < B; j++)
        if (lanes[j] < 0 || lanes[j] >= x->n_lanes) {
            PyErr_Format(PyExc_IndexError, "lane %d out of range", (int)lanes[j]);
            return -1;
        }
    return 0;
}

/* predict(lanes int32[B], logits int32[B, V], out int64[B, V]) */
static PyObject *Ens_predict(EnsObject *self, PyObject *args) {
    PyObject *lo, *go, *oo;
    if (!PyArg_ParseTuple(args, "OOO", &lo, &go, &oo) || !ready(self)) return NULL;
    XEns *x = self->x;
    Py_buffer lv, gv, ov;
    if (get_buf(lo, &lv, -1, 0, "lanes") != 0) return NULL;
    const Py_ssize_t B = lv.len / 4;
    const Py_ssize_t row = (Py_ssize_t)x->cfg.V;
    if (get_buf(go, &gv, B * row * 4, 0, "logits") != 0) {
        PyBuffer_Release(&lv);
        return NULL;
    }
    if (get_buf(oo, &ov, B * row * 8, 1, "out") != 0) {
        PyBuffer_Release(&lv);
        PyBuffer_Release(&gv);
        return NULL;
    }
    const int32_t *lanes = lv.buf;
    int rc = check_lanes(x, lanes, B);
    if (rc == 0) {
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; j < B && rc == 0; j++)
            rc = lane_predict(x, &x->lanes[lanes[j]], (const int32_t *)gv.buf + j * row, (int64_t *)ov.buf + j * row);
        Py_END_ALLOW_THREADS
        self->busy = 0;
        if (rc != 0) {
            self->broken = 1;
            PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&lv);
    PyBuffer_Release(&gv);
    PyBuffer_Release(&ov);
    if (rc != 0) return NULL;
    Py_RETURN_NONE;
}

/* update(lanes int32[B], tokens int32[B]), applied in the order listed */
static PyObject *Ens_update(EnsObject *self, PyObject *args) {
    PyObject *lo, *to;
    if (!PyArg_ParseTuple(args, "OO", &lo, &to) || !ready(self)) return NULL;
    XEns *x = self->x;
    Py_buffer lv, tv;
    if (get_buf(lo, &lv, -1, 0, "lanes") != 0) return NULL;
    const Py_ssize_t B = lv.len / 4;
    if (get_buf(to, &tv, B * 4, 0, "tokens") != 0) {
        PyBuffer_Release(&lv);
        return NULL;
    }
    const int32_t *lanes = lv.buf, *tokens = tv.buf;
    int rc = check_lanes(x, lanes, B);
    for (Py_ssize_t j = 0; j < B && rc == 0; j++)
        if (tokens[j] < 0 || tokens[j] >= x->cfg.V) {
            PyErr_Format(PyExc_ValueError, "token %d out of range", (int)tokens[j]);
            rc = -1;
        } else if (x->lanes[lanes[j]].hlen >= INT32_MAX - B) {
            PyErr_SetString(PyExc_OverflowError, "lane history too long");
            rc = -1;
        }
    if (rc == 0) {
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; j < B && rc == 0; j++) rc = lane_update(x, &x->lanes[lanes[j]], tokens[j]);
        Py_END_ALLOW_THREADS
        self->busy = 0;
        if (rc != 0) {
            self->broken = 1;
            PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&lv);
    PyBuffer_Release(&tv);
    if (rc != 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *i64_tuple(const int64_t *v, int n) {
    PyObject *t = PyTuple_New(n);
    if (!t) return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *o = PyLong_FromLongLong(v[i]);
        if (!o) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, o);
    }
    return t;
}

/* state(lane) -> dict of the lane's (and its model's) state, for tests and diagnostics */
static PyObject *Ens_state(EnsObject *self, PyObject *args) {
    int lane;
    if (!PyArg_ParseTuple(args, "i", &lane) || !ready(self)) return NULL;
    XEns *x = self->x;
    if (lane < 0 || lane >= x->n_lanes) {
        PyErr_SetString(PyExc_IndexError, "lane out of range");
        return NULL;
    }
    const XCfg *c = &x->cfg;
    const XLane *ln = &x->lanes[lane];
    const XModel *m = ln->model;
    uint64_t n_ctx = 0, n_cells = 0;
    if (c->has_counts)
        for (int k = 0; k < m->counts.n_orders; k++) {
            n_ctx += m->counts.tabs[k].n_ents;
            for (uint32_t e = 0; e < m->counts.tabs[k].n_ents; e++) n_cells += m->counts.tabs[k].ents[e].n;
        }
    const Py_ssize_t V = c->V;
    PyObject *bias = m->bias ? PyBytes_FromStringAndSize((const char *)m->bias, V * 4) : Py_NewRef(Py_None);
    PyObject *fast = m->fast ? PyBytes_FromStringAndSize((const char *)m->fast, V * 8) : Py_NewRef(Py_None);
    PyObject *w = i64_tuple(m->weights, c->n_sets * c->n_inputs);
    PyObject *w2 = m->weights2 ? i64_tuple(m->weights2, c->n2 * c->n_inputs) : Py_NewRef(Py_None);
    PyObject *hist = PyBytes_FromStringAndSize((const char *)ln->hist, (Py_ssize_t)ln->hlen * 4);
    PyObject *hits = i64_tuple(ln->hits, c->n_buckets), *trials = i64_tuple(ln->trials, c->n_buckets);
    PyObject *d = NULL;
    if (bias && fast && w && w2 && hist && hits && trials)
        d = Py_BuildValue("{s:L,s:O,s:O,s:O,s:O,s:O,s:K,s:K,s:K,s:L,s:L,s:L,s:O,s:O}", "n_updates",
                          (long long)m->n_updates,
                          "bias", bias, "fast", fast, "weights", w, "weights2", w2, "history", hist, "contexts",
                          (unsigned long long)n_ctx, "candidates", (unsigned long long)n_cells, "positions",
                          (unsigned long long)ln->pos.n, "match_ptr", (long long)ln->mptr, "match_len",
                          (long long)ln->mlen, "match_predicted", (long long)ln->mpred, "hits", hits, "trials", trials);
    Py_XDECREF(bias);
    Py_XDECREF(fast);
    Py_XDECREF(w);
    Py_XDECREF(w2);
    Py_XDECREF(hist);
    Py_XDECREF(hits);
    Py_XDECREF(trials);
    return d;
}

/* the largest number of contexts per order and candidates per context (bounds check) */
static PyObject *Ens_table_sizes(EnsObject *self, PyObject *args) {
    int lane;
    if (!PyArg_ParseTuple(args, "i", &lane) || !ready(self)) return NULL;
    XEns *x = self->x;
    if (lane < 0 || lane >= x->n_lanes) {
        PyErr_SetString(PyExc_IndexError, "lane out of range");
        return NULL;
    }
    const XModel *m = x->lanes[lane].model;
    uint64_t max_ctx = 0, max_cand = 0;
    if (x->cfg.has_counts)
        for (int k = 0; k < m->counts.n_orders; k++) {
            const XOrder *t = &m->counts.tabs[k];
            if (t->n_ents > max_ctx) max_ctx = t->n_ents;
            for (uint32_t e = 0; e < t->n_ents; e++)
                if (t->ents[e].n > max_cand) max_cand = t->ents[e].n;
        }
    return Py_BuildValue("(KK)", (unsigned long long)max_ctx, (unsigned long long)max_cand);
}

static PyObject *Ens_memory(EnsObject *self, PyObject *noargs) {
    (void)noargs;
    if (!self->x) return PyLong_FromLong(0);
    return PyLong_FromSize_t(ens_bytes(self->x));
}

static PyObject *Ens_get_path(EnsObject *self, void *closure) {
    (void)closure;
    return PyUnicode_FromString(self->x && self->x->avx2 ? "avx2" : "scalar");
}

static PyMethodDef Ens_methods[] = {
    {"reset", (PyCFunction)Ens_reset, METH_NOARGS, "fresh state for every lane"},
    {"reset_lane", (PyCFunction)Ens_reset_lane, METH_VARARGS, "fresh state for one lane"},
    {"predict", (PyCFunction)Ens_predict, METH_VARARGS, "predict(lanes, logits, out)"},
    {"update", (PyCFunction)Ens_update, METH_VARARGS, "update(lanes, tokens)"},
    {"state", (PyCFunction)Ens_state, METH_VARARGS, "state(lane) -> dict"},
    {"table_sizes", (PyCFunction)Ens_table_sizes, METH_VARARGS, "table_sizes(lane) -> (contexts, candidates)"},
    {"memory", (PyCFunction)Ens_memory, METH_NOARGS, "bytes held"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Ens_getset[] = {
    {"path", (getter)Ens_get_path, NULL, "scalar or avx2", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EnsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmzip.models._xlanes.Ensemble",
    .tp_basicsize = sizeof(EnsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Ens_init,
    .tp_dealloc = (destructor)Ens_dealloc,
    .tp_methods = Ens_methods,
    .tp_getset = Ens_getset,
};

/* init_tables(exp2_frac int64[65536], log2_table int64[1025]) */
static PyObject *init_tables(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *o[2];
    if (!PyArg_ParseTuple(args, "OO", &o[0], &o[1])) return NULL;
    const Py_ssize_t sizes[2] = {65536, 1025};
    Py_buffer v[2];
    for (int k = 0; k < 2; k++)
        if (get_buf(o[k], &v[k], sizes[k] * 8, 0, "table") != 0) {
            if (k) PyBuffer_Release(&v[0]);
            return NULL;
        }
    const int64_t *fr = v[0].buf, *lt = v[1].buf;
    int ok = 1;
    for (int i = 0; i < 65536; i++) ok &= fr[i] >= 0 && fr[i] <= ((int64_t)1 << 31);
    for (int i = 0; i < 1025; i++) ok &= lt[i] >= 0 && lt[i] <= ((int64_t)1 << 24);
    if (ok && !xl_tables_ready) {
        for (int i = 0; i < 65536; i++) XL_FRAC[i] = (uint32_t)fr[i];
        for (int i = 0; i < 1025; i++) XL_LOG2T[i] = lt[i];
        xl_tables_ready = 1;
    } else if (ok) { /* a second call must pass the same tables */
        for (int i = 0; i < 65536; i++) ok &= XL_FRAC[i] == (uint32_t)fr[i];
        for (int i = 0; i < 1025; i++) ok &= XL_LOG2T[i] == lt[i];
    }
    PyBuffer_Release(&v[0]);
    PyBuffer_Release(&v[1]);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "inconsistent tables");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* primitives(kind, x int64[n], y int64[n], out int64[n]): kind 0 exp2w(x) (x >= 0), 1 log2q(x)
 * (x >= 1), 2 logaddexp2q(x, y); 3 and 4: exp2w(min(x, ZD)) through the AVX2 softmax-weight
 * passes on int64 values (3) and on values mod 2**32 (4, x < 2**32). For tests. */
static PyObject *primitives(PyObject *mod, PyObject *args) {
    (void)mod;
    int kind;
    PyObject *xo, *yo, *oo;
    if (!PyArg_ParseTuple(args, "iOOO", &kind, &xo, &yo, &oo)) return NULL;
    if (!xl_tables_ready) {
        PyErr_SetString(PyExc_RuntimeError, "call init_tables first");
        return NULL;
    }
    Py_buffer xv, yv, ov;
    if (get_buf(xo, &xv, -1, 0, "x") != 0) return NULL;
    const Py_ssize_t n = xv.len / 8;
    if (get_buf(yo, &yv, n * 8, 0, "y") != 0) {
        PyBuffer_Release(&xv);
        return NULL;
    }
    if (get_buf(oo, &ov, n * 8, 1, "out") != 0) {
        PyBuffer_Release(&xv);
        PyBuffer_Release(&yv);
        return NULL;
    }
    const int64_t *x = xv.buf, *y = yv.buf;
    int64_t *out = ov.buf;
    int err = 0;
    for (Py_ssize_t i = 0; i < n && !err; i++) {
        if (kind == 0 || kind == 3) err = x[i] < 0;
        if (kind == 4) err = x[i] < 0 || x[i] > (int64_t)UINT32_MAX;
        if (kind == 1) err = x[i] < 1;
        if (kind == 2) err = x[i] < -((int64_t)1 << 60) || x[i] > ((int64_t)1 << 60) || y[i] < -((int64_t)1 << 60) ||
                             y[i] > ((int64_t)1 << 60);
    }
    if (kind >= 3 && !(XL_HAVE_AVX2 && xl_cpu_avx2())) err = 2;
    if (kind < 0 || kind > 4) err = 3;
    if (!err) {
        if (kind == 0)
            for (Py_ssize_t i = 0; i < n; i++) out[i] = (int64_t)xl_exp2w(x[i] < XL_ZD ? x[i] : XL_ZD);
        else if (kind == 1)
            for (Py_ssize_t i = 0; i < n; i++) out[i] = xl_log2q((uint64_t)x[i]);
        else if (kind == 2)
            for (Py_ssize_t i = 0; i < n; i++) out[i] = xl_logaddexp2q(x[i], y[i]);
#if XL_HAVE_AVX2
        else {
            /* z = -x with top 0 through the vector softmax-weight pass */
            int64_t *z = malloc((size_t)(n ? n : 1) * 8);
            uint32_t *w = malloc((size_t)(n ? n : 1) * 4);
            if (!z || !w) {
                free(z);
                free(w);
                err = 4;
            } else {
                for (Py_ssize_t i = 0; i < n; i++) z[i] = -x[i];
                if (kind == 3) {
                    xl_exp_avx2(z, 0, w, (int)n);
                } else {
                    int32_t *z32 = calloc((size_t)(n ? n : 1), 4); /* (uint32)(0 - z32) == x */
                    if (z32) {
                        for (Py_ssize_t i = 0; i < n; i++) z32[i] = (int32_t)(uint32_t)(uint64_t)z[i];
                        xl_exp32_avx2(z32, 0, w, (int)n);
                        free(z32);
                    } else {
                        err = 4;
                    }
                }
                for (Py_ssize_t i = 0; i < n; i++) out[i] = w[i];
                free(z);
                free(w);
            }
        }
#endif
    }
    PyBuffer_Release(&xv);
    PyBuffer_Release(&yv);
    PyBuffer_Release(&ov);
    if (err == 4) return PyErr_NoMemory();
    if (err) {
        PyErr_SetString(PyExc_ValueError, "bad primitive arguments");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *have_avx2(PyObject *mod, PyObject *noargs) {
    (void)mod;
    (void)noargs;
    return PyBool_FromLong(XL_HAVE_AVX2 && xl_cpu_avx2());
}

static PyMethodDef module_methods[] = {
    {"init_tables", init_tables, METH_VARARGS, "init_tables(exp2_frac, log2_table)"},
    {"primitives", primitives, METH_VARARGS, "primitives(kind, x, y, out)"},
    {"have_avx2", have_avx2, METH_NOARGS, "whether the AVX2 path can run"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_xlanes", "compiled ensemble-x1 over lanes", -1,
                                       module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__xlanes(void) {
    if (PyType_Ready(&EnsType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    Py_INCREF(&EnsType);
    if (PyModule_AddObject(m, "Ensemble", (PyObject *)&EnsType) < 0) {
        Py_DECREF(&EnsType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "CF_N", CF_N);
    return m;
}
