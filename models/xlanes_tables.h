/* Compact, bounded twins of the dict-based tables of "ensemble-x1" (included by _xlanes.c).
 *
 * XCounts mirrors models/counts.py ContextCounts: per order, a hashed slot (h & mask)
 * holds one context (its full 64-bit hash h) with an insertion-ordered list of at most
 * max_candidates (token, count) pairs; a colliding newcomer empties the slot; a new token
 * in a full list evicts the first rarest. Python keeps dicts; here each order has
 *   - entries: a growable array of {h, offset, n, class} (16 bytes), one per used slot,
 *   - an open-addressing index slot -> entry (load <= 1/2, doubled when needed),
 *   - a pool of (token, count) cells in power-of-two blocks with per-class free lists,
 * so memory grows with the contexts actually seen, never with 2**slots_log2 up front,
 * and is bounded by min(2**slots_log2, tokens) entries of at most max_candidates cells.
 *
 * XPosMap mirrors XMatch.positions (slot -> position, overwrite only), the same way.
 */
#ifndef LMZIP_XLANES_TABLES_H
#define LMZIP_XLANES_TABLES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XL_FNV_OFFSET 0xCBF29CE484222325ULL
#define XL_FNV_PRIME 0x100000001B3ULL
#define XL_NCLS 17 /* cell blocks of 1, 2, 4, ..., 65536 cells */
#define XL_NOBLK 0xFFFFFFFFu

/* models/counts.py context_hash: FNV-style hash of the last `order` tokens, mixed with the
 * order (the caller guarantees len >= order >= 1). */
static inline uint64_t xl_ctx_hash(const int32_t *hist, int64_t len, int order) {
    uint64_t h = XL_FNV_OFFSET ^ (uint64_t)order;
    for (int64_t k = len - order; k < len; k++) h = (h ^ (uint64_t)((int64_t)hist[k] + 1)) * XL_FNV_PRIME;
    return h;
}

static inline uint64_t xl_spread(uint64_t key, unsigned bits) {
    return (key * 0x9E3779B97F4A7C15ULL) >> (64 - bits);
}

typedef struct {
    int32_t tok;
    uint32_t cnt; /* a free block keeps its free-list link (offset + 1) here */
} XCell;

typedef struct {
    uint64_t h;
    uint32_t off; /* first cell in the pool (XL_NOBLK: none yet) */
    uint16_t n;   /* candidates in use, insertion order */
    uint8_t cls;  /* block holds 1 << cls cells */
    uint8_t pad;
} XEnt;

typedef struct {
    int order;
    XEnt *ents;
    uint32_t n_ents, cap_ents;
    uint32_t *idx; /* entry index + 1 (0: empty), 1 << idx_bits positions */
    unsigned idx_bits;
} XOrder;

typedef struct {
    int n_orders;
    XOrder *tabs; /* ascending orders */
    uint64_t mask;
    int max_cand;
    XCell *cells;
    uint64_t n_cells, cap_cells;
    uint32_t free_head[XL_NCLS]; /* offset + 1 of the first free block, 0: none */
} XCounts;

static void xcounts_clear(XCounts *c) {
    for (int k = 0; k < c->n_orders; k++) {
        XOrder *t = &c->tabs[k];
        free(t->ents);
        free(t->idx);
        t->ents = NULL;
        t->idx = NULL;
        t->n_ents = t->cap_ents = 0;
        t->idx_bits = 0;
    }
    free(c->cells);
    c->cells = NULL;
    c->n_cells = c->cap_cells = 0;
    memset(c->free_head, 0, sizeof c->free_head);
}

static int xcounts_init(XCounts *c, const int *orders, int n_orders, uint64_t mask, int max_cand) {
    memset(c, 0, sizeof *c);
    c->tabs = calloc((size_t)(n_orders > 0 ? n_orders : 1), sizeof(XOrder));
    if (!c->tabs) return -1;
    c->n_orders = n_orders;
    for (int k = 0; k < n_orders; k++) c->tabs[k].order = orders[k];
    c->mask = mask;
    c->max_cand = max_cand;
    return 0;
}

static void xcounts_free(XCounts *c) {
    if (c->tabs) xcounts_clear(c);
    free(c->tabs);
    c->tabs = NULL;
}

static size_t xcounts_bytes(const XCounts *c) {
    size_t b = c->cap_cells * sizeof(XCell);
    for (int k = 0; k < c->n_orders; k++) {
        const XOrder *t = &c->tabs[k];
        b += (size_t)t->cap_ents * sizeof(XEnt) + (t->idx ? ((size_t)1 << t->idx_bits) * sizeof(uint32_t) : 0);
    }
    return b;
}

/* entry index of `slot` in t, or -1 */
static inline int64_t xorder_find(const XOrder *t, uint64_t mask, uint64_t slot) {
    if (!t->idx) return -1;
    const uint64_t m = ((uint64_t)1 << t->idx_bits) - 1;
    uint64_t p = xl_spread(slot, t->idx_bits);
    for (;;) {
        const uint32_t e = t->idx[p];
        if (!e) return -1;
        if ((t->ents[e - 1].h & mask) == slot) return (int64_t)e - 1;
        p = (p + 1) & m;
    }
}

static int xorder_rehash(XOrder *t, uint64_t mask, unsigned bits) {
    uint32_t *idx = calloc((size_t)1 << bits, sizeof(uint32_t));
    if (!idx) return -1;
    const uint64_t m = ((uint64_t)1 << bits) - 1;
    for (uint32_t e = 0; e < t->n_ents; e++) {
        uint64_t p = xl_spread(t->ents[e].h & mask, bits);
        while (idx[p]) p = (p + 1) & m;
        idx[p] = e + 1;
    }
    free(t->idx);
    t->idx = idx;
    t->idx_bits = bits;
    return 0;
}

/* a new entry for a slot that has none; returns its index or -1 (out of memory) */
static int64_t xorder_add(XOrder *t, uint64_t mask, uint64_t h) {
    if (t->n_ents >= 0xFFFFFFF0u) return -1;
    if (t->n_ents == t->cap_ents) {
        uint32_t cap = t->cap_ents ? t->cap_ents * 2 : 16;
        XEnt *e = realloc(t->ents, (size_t)cap * sizeof(XEnt));
        if (!e) return -1;
        t->ents = e;
        t->cap_ents = cap;
    }
    if (!t->idx || (uint64_t)(t->n_ents + 1) * 2 > ((uint64_t)1 << t->idx_bits)) {
        if (xorder_rehash(t, mask, t->idx ? t->idx_bits + 1 : 5) != 0) return -1;
    }
    const uint32_t e = t->n_ents++;
    t->ents[e].h = h;
    t->ents[e].off = XL_NOBLK;
    t->ents[e].n = 0;
    t->ents[e].cls = 0;
    t->ents[e].pad = 0;
    const uint64_t m = ((uint64_t)1 << t->idx_bits) - 1;
    uint64_t p = xl_spread(h & mask, t->idx_bits);
    while (t->idx[p]) p = (p + 1) & m;
    t->idx[p] = e + 1;
    return e;
}

/* a block of 1 << cls cells: its offset, or XL_NOBLK (out of memory) */
static uint32_t xcells_alloc(XCounts *c, int cls) {
    if (c->free_head[cls]) {
        const uint32_t off = c->free_head[cls] - 1;
        c->free_head[cls] = c->cells[off].cnt;
        return off;
    }
    const uint64_t size = (uint64_t)1 << cls;
    if (c->n_cells + size >= (uint64_t)XL_NOBLK) return XL_NOBLK;
    if (c->n_cells + size > c->cap_cells) {
        uint64_t cap = c->cap_cells ? c->cap_cells * 2 : 1024;
        while (cap < c->n_cells + size) cap *= 2;
        XCell *cells = realloc(c->cells, cap * sizeof(XCell));
        if (!cells) return XL_NOBLK;
        c->cells = cells;
        c->cap_cells = cap;
    }
    const uint32_t off = (uint32_t)c->n_cells;
    c->n_cells += size;
    return off;
}

static inline void xcells_release(XCounts *c, uint32_t off, int cls) {
    c->cells[off].cnt = c->free_head[cls];
    c->free_head[cls] = off + 1;
}

/* ContextCounts.lookup: the entry of `order`'s context of hist[0..len), or NULL */
static inline const XEnt *xcounts_lookup(const XCounts *c, int tab, const int32_t *hist, int64_t len) {
    const XOrder *t = &c->tabs[tab];
    if (len < t->order) return NULL;
    const uint64_t h = xl_ctx_hash(hist, len, t->order);
    const int64_t e = xorder_find(t, c->mask, h & c->mask);
    if (e < 0 || t->ents[e].h != h) return NULL;
    return &t->ents[e];
}

/* ContextCounts.update: count `token` after each order's context of hist[0..len).
 * 0, or -1 when out of memory. */
static int xcounts_update(XCounts *c, const int32_t *hist, int64_t len, int32_t token) {
    for (int k = 0; k < c->n_orders; k++) {
        XOrder *t = &c->tabs[k];
        if (len < t->order) continue;
        const uint64_t h = xl_ctx_hash(hist, len, t->order);
        int64_t e = xorder_find(t, c->mask, h & c->mask);
        if (e < 0) {
            e = xorder_add(t, c->mask, h);
            if (e < 0) return -1;
        } else if (t->ents[e].h != h) {
            t->ents[e].h = h; /* a colliding newcomer: a fresh, empty context */
            t->ents[e].n = 0;
        }
        XEnt *ent = &t->ents[e];
        XCell *cs = ent->off == XL_NOBLK ? NULL : c->cells + ent->off;
        int n = ent->n, found = 0;
        for (int j = 0; j < n; j++)
            if (cs[j].tok == token) {
                cs[j].cnt++;
                found = 1;
                break;
            }
        if (found) continue;
        if (n >= c->max_cand) { /* evict the first rarest, keep the insertion order */
            int jm = 0;
            for (int j = 1; j < n; j++)
                if (cs[j].cnt < cs[jm].cnt) jm = j;
            memmove(cs + jm, cs + jm + 1, (size_t)(n - jm - 1) * sizeof(XCell));
            n--;
        }
        if (ent->off == XL_NOBLK || n == (1 << ent->cls)) {
            const int cls = ent->off == XL_NOBLK ? 0 : ent->cls + 1;
            const uint32_t off = xcells_alloc(c, cls); /* may move c->cells */
            if (off == XL_NOBLK) return -1;
            ent = &t->ents[e];
            if (ent->off != XL_NOBLK) {
                memcpy(c->cells + off, c->cells + ent->off, (size_t)n * sizeof(XCell));
                xcells_release(c, ent->off, ent->cls);
            }
            ent->off = off;
            ent->cls = (uint8_t)cls;
            cs = c->cells + off;
        }
        cs[n].tok = token;
        cs[n].cnt = 1;
        ent->n = (uint16_t)(n + 1);
    }
    return 0;
}

/* -- slot -> position (XMatch.positions) ----------------------------------------------- */

typedef struct {
    uint64_t *keys;
    int64_t *vals; /* > 0 (a position is a history length >= min_len >= 1); 0: empty */
    uint64_t n;
    unsigned bits;
} XPosMap;

static void xposmap_clear(XPosMap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t xposmap_bytes(const XPosMap *m) {
    return m->keys ? ((size_t)1 << m->bits) * (sizeof(uint64_t) + sizeof(int64_t)) : 0;
}

static inline int64_t xposmap_get(const XPosMap *m, uint64_t key) {
    if (!m->keys) return 0;
    const uint64_t msk = ((uint64_t)1 << m->bits) - 1;
    uint64_t p = xl_spread(key, m->bits);
    for (;;) {
        if (!m->vals[p]) return 0;
        if (m->keys[p] == key) return m->vals[p];
        p = (p + 1) & msk;
    }
}

static int xposmap_grow(XPosMap *m, unsigned bits) {
    uint64_t *keys = calloc((size_t)1 << bits, sizeof(uint64_t));
    int64_t *vals = calloc((size_t)1 << bits, sizeof(int64_t));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    const uint64_t msk = ((uint64_t)1 << bits) - 1;
    if (m->keys)
        for (uint64_t i = 0; i < ((uint64_t)1 << m->bits); i++)
            if (m->vals[i]) {
                uint64_t p = xl_spread(m->keys[i], bits);
                while (vals[p]) p = (p + 1) & msk;
                keys[p] = m->keys[i];
                vals[p] = m->vals[i];
            }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->bits = bits;
    return 0;
}

static int xposmap_set(XPosMap *m, uint64_t key, int64_t val) {
    if (!m->keys || (m->n + 1) * 2 > ((uint64_t)1 << m->bits))
        if (xposmap_grow(m, m->keys ? m->bits + 1 : 6) != 0) return -1;
    const uint64_t msk = ((uint64_t)1 << m->bits) - 1;
    uint64_t p = xl_spread(key, m->bits);
    while (m->vals[p] && m->keys[p] != key) p = (p + 1) & msk;
    if (!m->vals[p]) m->n++;
    m->keys[p] = key;
    m->vals[p] = val;
    return 0;
}

#endif
