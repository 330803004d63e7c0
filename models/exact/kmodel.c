/* Repacking, the thread pool, the model (step / slide / reset) and the path self-test. */
#include "kmodel.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__FAST_MATH__)
#error "never build the exact kernel with -ffast-math"
#endif

/* -- paths ---------------------------------------------------------------------------- */

int kpath_cpu_ok(int path) {
    switch (path) {
    case PATH_SCALAR:
        return 1;
#if defined(__x86_64__)
    case PATH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    case PATH_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    case PATH_AVXVNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
               __builtin_cpu_supports("avxvnni");
#endif
#if defined(__aarch64__)
    case PATH_NEON:
        return 1;
#endif
    default:
        return 0;
    }
}

const KOps *kops_get(int path) {
    if (!kpath_cpu_ok(path)) return NULL;
    switch (path) {
    case PATH_SCALAR:
        return &kops_scalar;
#if defined(__x86_64__)
    case PATH_AVX2:
        return &kops_avx2;
    case PATH_AVX512:
        return &kops_avx512;
    case PATH_AVXVNNI:
        return &kops_avxvnni;
#endif
#if defined(__aarch64__)
    case PATH_NEON:
        return &kops_neon;
#endif
    default:
        return NULL;
    }
}

/* -- memory --------------------------------------------------------------------------- */

/* Zeroed, 64-byte aligned memory; large blocks are mapped directly (zero pages, committed
 * lazily) and asked for huge pages, which the weight and cache streams benefit from.
 * Free with kfree. */
#define KHDR 64
#define KBIG (1u << 22)
#define KHUGE ((size_t)2 << 20)

static void *kalloc(size_t bytes) {
    size_t n = (bytes + 63) / 64 * 64;
#if defined(__linux__) && defined(MAP_ANONYMOUS)
    if (n >= KBIG) {
        const size_t len = n + KHUGE + KHDR;
        uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) return NULL;
        uint8_t *p = (uint8_t *)(((uintptr_t)base + KHDR + KHUGE - 1) & ~(uintptr_t)(KHUGE - 1));
#if defined(MADV_HUGEPAGE)
        madvise(p, n, MADV_HUGEPAGE);
#endif
        ((void **)p)[-2] = base;
        ((size_t *)p)[-1] = len;
        return p;
    }
#endif
    uint8_t *base = aligned_alloc(64, n + KHDR);
    if (!base) return NULL;
    memset(base, 0, n + KHDR);
    uint8_t *p = base + KHDR;
    ((void **)p)[-2] = base;
    ((size_t *)p)[-1] = 0;
    return p;
}

static void kfree(void *ptr) {
    if (!ptr) return;
    void *base = ((void **)ptr)[-2];
    const size_t len = ((size_t *)ptr)[-1];
#if defined(__linux__) && defined(MAP_ANONYMOUS)
    if (len) {
        munmap(base, len);
        return;
    }
#endif
    free(base);
}

/* -- repacking ------------------------------------------------------------------------ */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* Zeroed memory carved out of one block (kalloc: large, so on huge pages): a model's
 * repacked weights, read once per step in one long stream, in as few pages as possible. */
typedef struct {
    uint8_t *base;
    size_t used, size;
} KArena;

static void *arena_take(KArena *a, size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    if (a->used + bytes > a->size) return NULL;
    void *p = a->base + a->used;
    a->used += bytes;
    return p;
}

/* Bytes qmat_pack needs for an [n, k] matrix (in an arena). */
static size_t qmat_bytes(int kind, int n, int k) {
    const size_t nblk = (size_t)((n + RG - 1) / RG) * (size_t)(k / QB);
    return (nblk * (kind == KIND_Q4_1 ? 128 : 256) + 63) / 64 * 64 +
           (nblk * (kind == KIND_Q4_1 ? 16 : 8) * sizeof(uint16_t) + 63) / 64 * 64;
}

static int qmat_pack_in(QMat *m, int kind, int n, int k, const uint8_t *raw, KArena *arena) {
    memset(m, 0, sizeof(*m));
    if (k % QB || n <= 0 || k <= 0 || (kind != KIND_Q4_1 && kind != KIND_Q8_0)) return -1;
    m->kind = kind;
    m->n = n;
    m->k = k;
    m->nb = k / QB;
    m->ng = (n + RG - 1) / RG;
    m->ds = kind == KIND_Q4_1 ? 16 : 8;
    m->qbytes = kind == KIND_Q4_1 ? 128 : 256;
    const size_t nblk = (size_t)m->ng * m->nb;
    if (arena) {
        m->shared = 1;
        m->qs = arena_take(arena, nblk * m->qbytes);
        m->dm = arena_take(arena, nblk * m->ds * sizeof(uint16_t));
    } else {
        m->qs = kalloc(nblk * m->qbytes);
        m->dm = kalloc(nblk * m->ds * sizeof(uint16_t));
    }
    if (!m->qs || !m->dm) {
        qmat_free(m);
        return -1;
    }
    const size_t bb = kind == KIND_Q4_1 ? 20 : 34, rowbytes = (size_t)m->nb * bb;
    for (int row = 0; row < n; row++) {
        const int g = row / RG, r = row % RG;
        for (int blk = 0; blk < m->nb; blk++) {
            const uint8_t *src = raw + row * rowbytes + blk * bb;
            const size_t gb = (size_t)g * m->nb + blk;
            uint8_t *dst = m->qs + gb * m->qbytes;
            uint16_t *dm = m->dm + gb * m->ds;
            dm[r] = rd16(src);
            if (kind == KIND_Q4_1) {
                dm[8 + r] = rd16(src + 2);
                uint8_t q[QB];
                for (int i = 0; i < 16; i++) {
                    q[i] = src[4 + i] & 15;
                    q[i + 16] = src[4 + i] >> 4;
                }
                for (int j = 0; j < 4; j++)
                    for (int i = 0; i < 4; i++)
                        dst[j * 32 + r * 4 + i] = (uint8_t)(q[4 * j + i] | (q[4 * (j + 4) + i] << 4));
            } else {
                for (int c = 0; c < 8; c++)
                    for (int i = 0; i < 4; i++) dst[c * 32 + r * 4 + i] = src[2 + 4 * c + i];
            }
        }
    }
    return 0;
}

int qmat_pack(QMat *m, int kind, int n, int k, const uint8_t *raw) { return qmat_pack_in(m, kind, n, k, raw, NULL); }

void qmat_free(QMat *m) {
    if (!m->shared) {
        kfree(m->qs);
        kfree(m->dm);
    }
    m->qs = NULL;
    m->dm = NULL;
}

/* -- thread pool ---------------------------------------------------------------------- */

/* A run is ~150 parallel regions per step (each layer's products and attention), a few
 * microseconds apart: waking a thread through a condition variable for each costs more
 * than the region (measured: two threads 3x slower than one at B=1). So a thread spins
 * on the run ticket for a bounded while (POOL_SPIN pauses, ~0.1-0.5 ms) before it
 * sleeps, and the caller likewise on the pending count: between the regions of a step
 * nobody sleeps, between steps (Python's ensemble and coder run) everybody does. An
 * inactive pool (active 1) never wakes its threads at all. */
#define POOL_SPIN 20000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct KPool {
    int n;
    pthread_t *th;
    struct KWorker {
        KPool *pool;
        int tid;
    } *args;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint ticket;   /* a run: (sequence << 9) | its thread count, written after fn, ctx */
    atomic_int pending;   /* helper threads still in the current run */
    atomic_int sleepers;  /* helpers asleep on `go` (or about to be) */
    atomic_int waiting;   /* the caller asleep on `done` (or about to be) */
    atomic_int stop;
    int active; /* threads a run uses (1..n): kmodel_set_threads; never changes a result */
    kjob_fn fn;
    void *ctx;
};

static void *pool_worker(void *arg) {
    struct KWorker *w = arg;
    KPool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        for (int i = 0; i < POOL_SPIN && atomic_load(&p->ticket) == seen && !atomic_load(&p->stop); i++) cpu_relax();
        if (atomic_load(&p->ticket) == seen && !atomic_load(&p->stop)) {
            /* sleepers goes up before the ticket is read again: a caller that issues one
             * after this read sees a sleeper and broadcasts (under the mutex: not before
             * the wait) */
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->ticket) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->go, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        /* The run and its thread count in one load. A helper in it is awaited, so fn and
         * ctx stay as they are until it is done; one not in it reads nothing else (and may
         * skip runs it is not in, never one it is in: that run could not have ended). */
        seen = atomic_load(&p->ticket);
        const int nth = (int)(seen & 511u);
        if (w->tid >= nth) continue;
        p->fn(p->ctx, w->tid, nth);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->waiting)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static void pool_free(KPool *p) {
    if (!p) return;
    if (p->th) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++)
            if (p->th[i]) pthread_join(p->th[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->go);
        pthread_cond_destroy(&p->done);
    }
    free(p->th);
    free(p->args);
    free(p);
}

static KPool *pool_new(int n) {
    KPool *p = calloc(1, sizeof(KPool));
    if (!p) return NULL;
    p->n = n;
    p->active = n;
    atomic_init(&p->ticket, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->waiting, 0);
    atomic_init(&p->stop, 0);
    if (n == 1) return p; /* no threads at all */
    p->th = calloc((size_t)n, sizeof(pthread_t));
    p->args = calloc((size_t)n, sizeof(*p->args));
    if (!p->th || !p->args) {
        free(p->th);
        free(p->args);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < n; i++) {
        p->args[i].pool = p;
        p->args[i].tid = i;
        if (pthread_create(&p->th[i], NULL, pool_worker, &p->args[i]) != 0) {
            p->n = i; /* the ones started */
            pool_free(p);
            return NULL;
        }
    }
    return p;
}

/* Runs fn(ctx, tid, nth) for tid 0..nth-1 (nth = the active count; tid 0 on the caller). */
static void pool_run(KPool *p, kjob_fn fn, void *ctx) {
    const int nth = p->active;
    if (nth <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, nth - 1); /* the run's helpers count down */
    const unsigned next = ((atomic_load(&p->ticket) >> 9) + 1u) << 9;
    atomic_store(&p->ticket, next | (unsigned)nth); /* publishes fn and ctx */
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
    }
    fn(ctx, 0, nth);
    for (int i = 0; i < POOL_SPIN && atomic_load(&p->pending) > 0; i++) cpu_relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->waiting, 1);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->waiting, 0);
        pthread_mutex_unlock(&p->mu);
    }
}

int kmodel_set_threads(KModel *m, int k) {
    if (k < 1) k = 1;
    if (k > m->pool->n) k = m->pool->n;
    m->pool->active = k;
    return k;
}

int kmodel_threads(const KModel *m) { return m->pool->active; }

/* -- the model ------------------------------------------------------------------------ */

static size_t cache_slot(const KModel *m, int lane, int layer, int g) {
    return ((size_t)lane * m->n_layer + layer) * m->G + g;
}

static int pack_layer_mat(QMat *dst, const KRawMat *src, int n, int k, const char *what, KArena *arena, char *err,
                          size_t errlen) {
    if (src->n != n || src->k != k) {
        snprintf(err, errlen, "%s is [%d, %d], expected [%d, %d]", what, src->n, src->k, n, k);
        return -1;
    }
    if (qmat_pack_in(dst, src->kind, src->n, src->k, src->raw, arena) != 0) {
        snprintf(err, errlen, "cannot repack %s (kind %d)", what, src->kind);
        return -1;
    }
    return 0;
}

void kmodel_free(KModel *m) {
    if (!m) return;
    pool_free(m->pool);
    if (m->layers) {
        for (int i = 0; i < m->n_layer; i++) {
            KLayer *l = &m->layers[i];
            kfree(l->attn_norm);
            kfree(l->ffn_norm);
            qmat_free(&l->wq);
            qmat_free(&l->wk);
            qmat_free(&l->wv);
            qmat_free(&l->wo);
            qmat_free(&l->wg);
            qmat_free(&l->wu);
            qmat_free(&l->wd);
        }
        free(m->layers);
    }
    qmat_free(&m->head);
    kfree(m->wmem);
    if (m->acc)
        for (int t = 0; t < m->n_threads; t++) kfree(m->acc[t]);
    free(m->acc);
    if (m->ascr) {
        for (int t = 0; t < m->n_threads; t++) {
            AttnScratch *a = &m->ascr[t];
            kfree(a->score);
            kfree(a->w);
            kfree(a->c);
            kfree(a->full);
            kfree(a->nfull);
            kfree(a->acc32);
            kfree(a->acc64);
        }
        free(m->ascr);
    }
    kfree(m->cos);
    kfree(m->sin);
    kfree(m->out_norm);
    free(m->n_past);
    kfree(m->kc);
    kfree(m->vc);
    kfree(m->skc);
    kfree(m->svc);
    kfree(m->x);
    kfree(m->h);
    kfree(m->qkv);
    kfree(m->att);
    kfree(m->y);
    kfree(m->gate);
    kfree(m->up);
    kfree(m->xq);
    kfree(m->s);
    kfree(m->sx);
    free(m->pos);
    free(m->lane);
    free(m);
}

static float *copy_floats(const float *src, size_t n) {
    float *p = kalloc(n * sizeof(float));
    if (p) memcpy(p, src, n * sizeof(float));
    return p;
}

KModel *kmodel_new(const KRawModel *raw, int path, int n_ctx, int n_lanes, int n_threads, char *err, size_t errlen) {
    const KOps *ops = kops_get(path);
    if (!ops) {
        snprintf(err, errlen, "kernel path %s cannot run on this CPU", path >= 0 && path < N_PATHS ? kpath_names[path] : "?");
        return NULL;
    }
    if (n_ctx < 1 || n_lanes < 1 || n_threads < 1 || n_threads > 256) {
        snprintf(err, errlen, "bad sizes: n_ctx=%d n_lanes=%d n_threads=%d", n_ctx, n_lanes, n_threads);
        return NULL;
    }
    const int D = raw->n_embd, H = raw->n_head, G = raw->n_kv_head, F = raw->n_ff, V = raw->n_vocab;
    if (H * HD != D || G < 1 || H % G || H / G > MAX_RATIO || D % QB || F % QB) {
        snprintf(err, errlen, "unsupported shape: n_embd=%d n_head=%d n_kv_head=%d n_ff=%d", D, H, G, F);
        return NULL;
    }
    KModel *m = calloc(1, sizeof(KModel));
    if (!m) goto oom;
    m->n_layer = raw->n_layer;
    m->D = D;
    m->F = F;
    m->H = H;
    m->G = G;
    m->V = V;
    m->r = H / G;
    m->eps = raw->eps;
    m->n_ctx = n_ctx;
    m->tp = (n_ctx + KT - 1) / KT * KT;
    m->n_lanes = n_lanes;
    m->n_threads = n_threads;
    m->ops = ops;
    m->cos = copy_floats(raw->cos, (size_t)n_ctx * HD / 2);
    m->sin = copy_floats(raw->sin, (size_t)n_ctx * HD / 2);
    m->out_norm = copy_floats(raw->out_norm, (size_t)D);
    if (!m->cos || !m->sin || !m->out_norm) goto oom;
    if (raw->embd.n != V || raw->embd.k != D || (raw->embd.kind != KIND_Q4_1 && raw->embd.kind != KIND_Q8_0)) {
        snprintf(err, errlen, "token embedding is [%d, %d], expected [%d, %d] Q4_1/Q8_0", raw->embd.n, raw->embd.k, V, D);
        goto fail;
    }
    m->emb_kind = raw->embd.kind;
    m->emb_raw = raw->embd.raw;
    m->emb_rowbytes = (size_t)(D / QB) * (raw->embd.kind == KIND_Q4_1 ? 20 : 34);
    size_t wbytes = qmat_bytes(raw->head.kind, V, D);
    for (int i = 0; i < m->n_layer; i++) {
        const KRawLayer *rl = &raw->layers[i];
        wbytes += qmat_bytes(rl->wq.kind, D, D) + qmat_bytes(rl->wk.kind, G * HD, D) + qmat_bytes(rl->wv.kind, G * HD, D) +
                  qmat_bytes(rl->wo.kind, D, D) + qmat_bytes(rl->wg.kind, F, D) + qmat_bytes(rl->wu.kind, F, D) +
                  qmat_bytes(rl->wd.kind, D, F);
    }
    m->wmem = kalloc(wbytes);
    if (!m->wmem) goto oom;
    KArena arena = {m->wmem, 0, wbytes};
    if (pack_layer_mat(&m->head, &raw->head, V, D, "output", &arena, err, errlen)) goto fail;
    m->layers = calloc((size_t)m->n_layer, sizeof(KLayer));
    if (!m->layers) goto oom;
    for (int i = 0; i < m->n_layer; i++) {
        const KRawLayer *rl = &raw->layers[i];
        KLayer *l = &m->layers[i];
        l->attn_norm = copy_floats(rl->attn_norm, (size_t)D);
        l->ffn_norm = copy_floats(rl->ffn_norm, (size_t)D);
        if (!l->attn_norm || !l->ffn_norm) goto oom;
        if (pack_layer_mat(&l->wq, &rl->wq, D, D, "attn_q", &arena, err, errlen) ||
            pack_layer_mat(&l->wk, &rl->wk, G * HD, D, "attn_k", &arena, err, errlen) ||
            pack_layer_mat(&l->wv, &rl->wv, G * HD, D, "attn_v", &arena, err, errlen) ||
            pack_layer_mat(&l->wo, &rl->wo, D, D, "attn_output", &arena, err, errlen) ||
            pack_layer_mat(&l->wg, &rl->wg, F, D, "ffn_gate", &arena, err, errlen) ||
            pack_layer_mat(&l->wu, &rl->wu, F, D, "ffn_up", &arena, err, errlen) ||
            pack_layer_mat(&l->wd, &rl->wd, D, F, "ffn_down", &arena, err, errlen))
            goto fail;
    }
    const size_t slots = (size_t)n_lanes * m->n_layer * G;
    m->n_past = calloc((size_t)n_lanes, sizeof(int));
    m->kc = kalloc(slots * m->tp * HD * sizeof(int16_t));
    m->vc = kalloc(slots * m->tp * HD);
    m->skc = kalloc(slots * m->tp * sizeof(float));
    m->svc = kalloc(slots * m->tp * sizeof(float));
    if (!m->n_past || !m->kc || !m->vc || !m->skc || !m->svc) goto oom;
    const int kmax = F > D ? F : D;
    m->qkvs = (size_t)(D + 2 * G * HD + 8);
    m->xqs = (size_t)kmax;
    m->ss = (size_t)(kmax / QB);
    m->x = kalloc((size_t)n_lanes * D * sizeof(float));
    m->h = kalloc((size_t)n_lanes * D * sizeof(float));
    m->qkv = kalloc((size_t)n_lanes * m->qkvs * sizeof(float));
    m->att = kalloc((size_t)n_lanes * D * sizeof(float));
    m->y = kalloc((size_t)n_lanes * D * sizeof(float));
    m->gate = kalloc((size_t)n_lanes * F * sizeof(float));
    m->up = kalloc((size_t)n_lanes * F * sizeof(float));
    m->xq = kalloc((size_t)n_lanes * m->xqs);
    m->s = kalloc((size_t)n_lanes * m->ss * sizeof(float));
    m->sx = kalloc((size_t)n_lanes * m->ss * sizeof(float));
    m->pos = calloc((size_t)n_lanes, sizeof(int));
    m->lane = calloc((size_t)n_lanes, sizeof(int));
    if (!m->x || !m->h || !m->qkv || !m->att || !m->y || !m->gate || !m->up || !m->xq || !m->s || !m->sx ||
        !m->pos || !m->lane)
        goto oom;
    m->acc = calloc((size_t)n_threads, sizeof(float *));
    m->ascr = calloc((size_t)n_threads, sizeof(AttnScratch));
    if (!m->acc || !m->ascr) goto oom;
    for (int t = 0; t < n_threads; t++) {
        m->acc[t] = kalloc(KACC_BYTES(n_lanes, D > F ? D : F));
        AttnScratch *a = &m->ascr[t];
        a->tcap = m->tp;
        a->score = kalloc((size_t)m->r * m->tp * sizeof(float));
        a->w = kalloc((size_t)m->r * m->tp * sizeof(float));
        a->c = kalloc((size_t)m->r * m->tp * sizeof(uint16_t));
        a->full = kalloc((size_t)m->r * m->tp * sizeof(int));
        a->nfull = kalloc((size_t)m->r * sizeof(int));
        a->acc32 = kalloc((size_t)m->r * HD * sizeof(int32_t));
        a->acc64 = kalloc((size_t)m->r * HD * sizeof(int64_t));
        if (!m->acc[t] || !a->score || !a->w || !a->c || !a->full || !a->nfull || !a->acc32 || !a->acc64) goto oom;
    }
    m->pool = pool_new(n_threads);
    if (!m->pool) {
        snprintf(err, errlen, "cannot start %d threads", n_threads);
        goto fail;
    }
    return m;
oom:
    snprintf(err, errlen, "out of memory for the model (n_ctx=%d, n_lanes=%d)", n_ctx, n_lanes);
fail:
    kmodel_free(m);
    return NULL;
}

void kmodel_reset(KModel *m, int lane) { m->n_past[lane] = 0; }

int kmodel_copy_lane(KModel *dst, int dl, const KModel *src, int sl) {
    if (dst->n_layer != src->n_layer || dst->G != src->G || dst->tp != src->tp || dst->n_ctx != src->n_ctx) return -1;
    for (int li = 0; li < dst->n_layer; li++)
        for (int g = 0; g < dst->G; g++) {
            const size_t a = cache_slot(dst, dl, li, g), b = cache_slot(src, sl, li, g), t = (size_t)dst->tp;
            if (dst == src && a == b) continue;
            memcpy(dst->kc + a * t * HD, src->kc + b * t * HD, t * HD * sizeof(int16_t));
            memcpy(dst->vc + a * t * HD, src->vc + b * t * HD, t * HD);
            memcpy(dst->skc + a * t, src->skc + b * t, t * sizeof(float));
            memcpy(dst->svc + a * t, src->svc + b * t, t * sizeof(float));
        }
    dst->n_past[dl] = src->n_past[sl];
    return 0;
}

/* One key vector: write quantized k (K_MAX) at slot t. */
static void put_key(const KOps *ops, int16_t *kc, float *sk, int t, const float *k) {
    int32_t q[HD];
    float s;
    ops->quant_vec(k, HD, 32767.0f, q, &s);
    int16_t *tile = kc + (size_t)(t / KT) * KT * HD + (t % KT) * 2;
    for (int d = 0; d < HD; d++) tile[(d / 2) * KT * 2 + (d & 1)] = (int16_t)q[d];
    sk[t] = s;
}

int kmodel_slide(KModel *m, int lane, int keep, int drop, char *err, size_t errlen) {
    const int n = m->n_past[lane];
    if (keep < 0 || drop < 0 || keep + drop > n) {
        snprintf(err, errlen, "cannot slide keep=%d drop=%d with %d positions filled", keep, drop, n);
        return -1;
    }
    if (keep + drop == n) { /* nothing moves */
        m->n_past[lane] = n - drop;
        return 0;
    }
    const float *cs = m->cos + (size_t)drop * HD / 2, *sn = m->sin + (size_t)drop * HD / 2; /* drop < n <= n_ctx */
    for (int li = 0; li < m->n_layer; li++) {
        for (int g = 0; g < m->G; g++) {
            const size_t slot = cache_slot(m, lane, li, g);
            int16_t *kc = m->kc + slot * m->tp * HD;
            int8_t *vc = m->vc + slot * m->tp * HD;
            float *sk = m->skc + slot * m->tp, *sv = m->svc + slot * m->tp;
            for (int t = keep + drop; t < n; t++) {
                const int16_t *tile = kc + (size_t)(t / KT) * KT * HD + (t % KT) * 2;
                float kf[HD], kr[HD];
                for (int d = 0; d < HD; d++) kf[d] = (float)tile[(d / 2) * KT * 2 + (d & 1)] * sk[t];
                for (int i = 0; i < HD / 2; i++) {
                    const float a = kf[2 * i], b = kf[2 * i + 1];
                    kr[2 * i] = (a * cs[i]) + (b * sn[i]);
                    kr[2 * i + 1] = (b * cs[i]) - (a * sn[i]);
                }
                const int u = t - drop;
                put_key(m->ops, kc, sk, u, kr);
                for (int d = 0; d < HD; d++)
                    vc[(size_t)(u / 2) * 2 * HD + d * 2 + (u & 1)] = vc[(size_t)(t / 2) * 2 * HD + d * 2 + (t & 1)];
                sv[u] = sv[t];
            }
        }
    }
    m->n_past[lane] = n - drop;
    return 0;
}

/* -- parallel regions ----------------------------------------------------------------- */

typedef struct {
    const QMat *w;
    float *y;
    size_t ystride;
} MMJob;

typedef struct {
    const KModel *m;
    const MMJob *jobs;
    int njobs;
    Act act;
} MMCtx;

static void mm_region(void *vctx, int tid, int nth) {
    const MMCtx *c = vctx;
    int total = 0;
    for (int j = 0; j < c->njobs; j++) total += c->jobs[j].w->ng;
    const int lo = (int)((long)total * tid / nth), hi = (int)((long)total * (tid + 1) / nth);
    int base = 0;
    for (int j = 0; j < c->njobs; j++) {
        const int ng = c->jobs[j].w->ng;
        const int a = lo > base ? lo - base : 0, b = hi - base < ng ? hi - base : ng;
        if (a < b) c->m->ops->matmul(c->jobs[j].w, &c->act, c->jobs[j].y, c->jobs[j].ystride, a, b, c->m->acc[tid]);
        base += ng;
    }
}

static void run_matmul(KModel *m, int B, const MMJob *jobs, int njobs) {
    MMCtx c = {m, jobs, njobs, {m->xq, m->s, m->sx, m->xqs, m->ss, B}};
    pool_run(m->pool, mm_region, &c);
}

typedef struct {
    KModel *m;
    int B, layer;
} AttCtx;

static void att_region(void *vctx, int tid, int nth) {
    const AttCtx *c = vctx;
    KModel *m = c->m;
    const int items = c->B * m->G;
    const int lo = (int)((long)items * tid / nth), hi = (int)((long)items * (tid + 1) / nth);
    for (int it = lo; it < hi; it++) {
        const int b = it / m->G, g = it % m->G;
        const size_t slot = cache_slot(m, m->lane[b], c->layer, g);
        AttnIn in;
        in.r = m->r;
        in.n = m->pos[b] + 1;
        in.q = m->qkv + b * m->qkvs + (size_t)g * m->r * HD;
        in.k = m->kc + slot * m->tp * HD;
        in.sk = m->skc + slot * m->tp;
        in.v = m->vc + slot * m->tp * HD;
        in.sv = m->svc + slot * m->tp;
        in.next_k = NULL;
        in.next_sk = NULL;
        in.next_n = 0;
        if (it + 1 < hi) {
            const size_t ns = cache_slot(m, m->lane[(it + 1) / m->G], c->layer, (it + 1) % m->G);
            in.next_k = m->kc + ns * m->tp * HD;
            in.next_sk = m->skc + ns * m->tp;
            in.next_n = m->pos[(it + 1) / m->G] + 1;
        }
        m->ops->attend(&in, m->att + (size_t)b * m->D + (size_t)g * m->r * HD, &m->ascr[tid]);
    }
}

/* The cache lines this layer's new keys and values go to (a key tile spreads a position
 * over all 16 of its lines): fetched while the q/k/v products run, not on the stores. */
static void prefetch_slots(const KModel *m, int B, int li) {
    for (int b = 0; b < B; b++) {
        const int p = m->pos[b];
        for (int g = 0; g < m->G; g++) {
            const size_t slot = cache_slot(m, m->lane[b], li, g);
            const char *kt = (const char *)(m->kc + slot * m->tp * HD + (size_t)(p / KT) * KT * HD);
            for (int o = 0; o < KT * HD * (int)sizeof(int16_t); o += 64) __builtin_prefetch(kt + o, 1, 3);
            const char *vt = (const char *)(m->vc + slot * m->tp * HD + (size_t)(p / 2) * 2 * HD);
            __builtin_prefetch(vt, 1, 3);
            __builtin_prefetch(vt + 64, 1, 3);
            __builtin_prefetch(m->skc + slot * m->tp + p, 1, 3);
            __builtin_prefetch(m->svc + slot * m->tp + p, 1, 3);
        }
    }
}

/* Element-wise float32 loops, 4 at a time (GCC vector extensions: the same IEEE
 * operations, one rounding each; n is a multiple of 32 here). */
typedef float kv4 __attribute__((vector_size(16)));

static inline kv4 ld4(const float *p) {
    kv4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* x = x + y */
static void add_rows(float *x, const float *y, int n) {
    for (int i = 0; i < n; i += 4) {
        const kv4 v = ld4(x + i) + ld4(y + i);
        memcpy(x + i, &v, sizeof v);
    }
}

/* h = rmsnorm(x) and its quantized blocks for lane b */
static void norm_quant(KModel *m, int b, const float *w) {
    const int D = m->D;
    const float *x = m->x + (size_t)b * D;
    float *h = m->h + (size_t)b * D;
    const float r = m->ops->rms_scale(x, D, m->eps);
    const kv4 rv = {r, r, r, r};
    for (int i = 0; i < D; i += 4) {
        const kv4 v = (ld4(x + i) * rv) * ld4(w + i);
        memcpy(h + i, &v, sizeof v);
    }
    m->ops->quant_act(h, D, m->xq + b * m->xqs, m->s + b * m->ss, m->sx + b * m->ss);
}

static void embed(const KModel *m, int tok, float *x) {
    const uint8_t *row = m->emb_raw + (size_t)tok * m->emb_rowbytes;
    for (int blk = 0; blk < m->D / QB; blk++) {
        if (m->emb_kind == KIND_Q8_0) {
            const uint8_t *src = row + blk * 34;
            const float d = k_f16(rd16(src));
            for (int i = 0; i < QB; i++) x[blk * QB + i] = (float)(int8_t)src[2 + i] * d;
        } else {
            const uint8_t *src = row + blk * 20;
            const float d = k_f16(rd16(src)), mm = k_f16(rd16(src + 2));
            for (int i = 0; i < 16; i++) {
                x[blk * QB + i] = ((float)(src[4 + i] & 15) * d) + mm;
                x[blk * QB + 16 + i] = ((float)(src[4 + i] >> 4) * d) + mm;
            }
        }
    }
}

void kmodel_step(KModel *m, int B, const int *lanes, const int *tokens, float *logits) {
    const int D = m->D, F = m->F, G = m->G, H = m->H;
    for (int b = 0; b < B; b++) {
        m->lane[b] = lanes[b];
        m->pos[b] = m->n_past[lanes[b]];
        embed(m, tokens[b], m->x + (size_t)b * D);
    }
    for (int li = 0; li < m->n_layer; li++) {
        const KLayer *L = &m->layers[li];
        for (int b = 0; b < B; b++) norm_quant(m, b, L->attn_norm);
        const MMJob qkv[3] = {{&L->wq, m->qkv, m->qkvs},
                              {&L->wk, m->qkv + D, m->qkvs},
                              {&L->wv, m->qkv + D + G * HD, m->qkvs}};
        prefetch_slots(m, B, li);
        run_matmul(m, B, qkv, 3);
        for (int b = 0; b < B; b++) {
            const int p = m->pos[b];
            const float *cs = m->cos + (size_t)p * HD / 2, *sn = m->sin + (size_t)p * HD / 2;
            float *q = m->qkv + b * m->qkvs;
            m->ops->rope(q, H + G, cs, sn); /* the query heads, then the key heads */
            for (int g = 0; g < G; g++) {
                const size_t slot = cache_slot(m, m->lane[b], li, g);
                put_key(m->ops, m->kc + slot * m->tp * HD, m->skc + slot * m->tp, p, q + D + (size_t)g * HD);
                int32_t vq[HD];
                float vs;
                m->ops->quant_vec(q + D + (size_t)(G + g) * HD, HD, 127.0f, vq, &vs);
                int8_t *vc = m->vc + slot * m->tp * HD + (size_t)(p / 2) * 2 * HD + (p & 1);
                for (int d = 0; d < HD; d++) vc[2 * d] = (int8_t)vq[d];
                m->svc[slot * m->tp + p] = vs;
            }
        }
        AttCtx ac = {m, B, li};
        pool_run(m->pool, att_region, &ac);
        for (int b = 0; b < B; b++)
            m->ops->quant_act(m->att + (size_t)b * D, D, m->xq + b * m->xqs, m->s + b * m->ss, m->sx + b * m->ss);
        const MMJob wo[1] = {{&L->wo, m->y, (size_t)D}};
        run_matmul(m, B, wo, 1);
        for (int b = 0; b < B; b++) {
            add_rows(m->x + (size_t)b * D, m->y + (size_t)b * D, D);
            norm_quant(m, b, L->ffn_norm);
        }
        const MMJob gu[2] = {{&L->wg, m->gate, (size_t)F}, {&L->wu, m->up, (size_t)F}};
        run_matmul(m, B, gu, 2);
        for (int b = 0; b < B; b++) {
            float *g = m->gate + (size_t)b * F;
            m->ops->silu_mul(g, m->up + (size_t)b * F, F);
            m->ops->quant_act(g, F, m->xq + b * m->xqs, m->s + b * m->ss, m->sx + b * m->ss);
        }
        const MMJob dn[1] = {{&L->wd, m->y, (size_t)D}};
        run_matmul(m, B, dn, 1);
        for (int b = 0; b < B; b++) add_rows(m->x + (size_t)b * D, m->y + (size_t)b * D, D);
    }
    for (int b = 0; b < B; b++) {
        m->n_past[lanes[b]] += 1;
        norm_quant(m, b, m->out_norm);
    }
    const MMJob hd[1] = {{&m->head, logits, (size_t)m->V}};
    run_matmul(m, B, hd, 1);
}

/* -- a matrix product on its own (tests) -------------------------------------------- */

int kmatmul_once(int path, int kind, int n, int k, const uint8_t *raw, int B, const float *x, float *y) {
    const KOps *ops = kops_get(path);
    if (!ops) return -1;
    QMat w;
    if (qmat_pack(&w, kind, n, k, raw) != 0) return -1;
    int8_t *xq = kalloc((size_t)B * k);
    float *s = kalloc((size_t)B * (k / QB) * sizeof(float)), *sx = kalloc((size_t)B * (k / QB) * sizeof(float));
    float *acc = kalloc(KACC_BYTES(B, k));
    int rc = -1;
    if (xq && s && sx && acc) {
        for (int b = 0; b < B; b++)
            ops->quant_act(x + (size_t)b * k, k, xq + (size_t)b * k, s + (size_t)b * (k / QB), sx + (size_t)b * (k / QB));
        Act a = {xq, s, sx, (size_t)k, (size_t)(k / QB), B};
        ops->matmul(&w, &a, y, (size_t)n, 0, w.ng, acc);
        rc = 0;
    }
    kfree(xq);
    kfree(s);
    kfree(sx);
    kfree(acc);
    qmat_free(&w);
    return rc;
}

/* -- self-test: a path against the scalar path on synthetic data ---------------------- */

typedef struct {
    uint64_t s;
} Rng;

static uint32_t rng_u32(Rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 11);
}

static float rng_f(Rng *r, float scale) { /* uniform in (-scale, scale) */
    return ((float)(int32_t)(rng_u32(r) % 2000001u) - 1000000.0f) * (scale / 1000000.0f);
}

static uint16_t f16_bits_of(Rng *r) { /* a finite half: random sign, exponent 1..29 or 0 */
    uint16_t e = (uint16_t)(rng_u32(r) % 30), m = (uint16_t)(rng_u32(r) & 0x3ff);
    return (uint16_t)(((rng_u32(r) & 1) << 15) | (e << 10) | m);
}

static int same_bits(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

static void fill_activations(Rng *rng, float *x, int B, int k) {
    for (int b = 0; b < B; b++)
        for (int i = 0; i < k; i++) {
            const int blk = i / QB, kind = (b * 7 + blk) % 6;
            float v;
            switch (kind) {
            case 0: v = 0.0f; break;                                /* an all-zero block */
            case 1: v = rng_f(rng, 3e38f); break;                   /* huge */
            case 2: v = rng_f(rng, 1e-38f); break;                  /* denormal-ish */
            case 3: v = (float)(int)(rng_u32(rng) % 5) - 2.0f; break; /* ties for rint */
            default: v = rng_f(rng, 4.0f); break;
            }
            x[(size_t)b * k + i] = v;
        }
}

int kselftest(int path, char *msg, size_t msglen) {
    const KOps *ops = kops_get(path), *ref = &kops_scalar;
    if (!ops) {
        snprintf(msg, msglen, "path not available");
        return -1;
    }
    Rng rng = {0x9e3779b97f4a7c15ull ^ (uint64_t)path};
    int bad = 0;
    /* activation quantization and matrix products, both kinds, with a partial row group */
    enum { N = 21, K = 32 * 53, B = 5 }; /* 53 blocks: past one integer pass of the x86 kernels */
    static uint8_t raw[N * (K / QB) * 34];
    static float x[B * K], y0[B * N], y1[B * N];
    static int8_t xq0[B * K], xq1[B * K];
    static float s0[B * K / QB], s1[B * K / QB], sx0[B * K / QB], sx1[B * K / QB];
    fill_activations(&rng, x, B, K);
    for (int b = 0; b < B; b++) {
        ref->quant_act(x + b * K, K, xq0 + b * K, s0 + b * K / QB, sx0 + b * K / QB);
        ops->quant_act(x + b * K, K, xq1 + b * K, s1 + b * K / QB, sx1 + b * K / QB);
    }
    if (!same_bits(xq0, xq1, sizeof xq0) || !same_bits(s0, s1, sizeof s0) || !same_bits(sx0, sx1, sizeof sx0)) {
        snprintf(msg, msglen, "activation quantization differs");
        bad = 1;
    }
    for (int kind = 0; kind < 2 && !bad; kind++) {
        const int bb = kind == KIND_Q4_1 ? 20 : 34;
        for (int row = 0; row < N; row++)
            for (int blk = 0; blk < K / QB; blk++) {
                uint8_t *p = raw + (size_t)(row * (K / QB) + blk) * bb;
                uint16_t d = (row + blk) % 7 == 3 ? 0 : f16_bits_of(&rng), mm = f16_bits_of(&rng);
                p[0] = (uint8_t)d;
                p[1] = (uint8_t)(d >> 8);
                int nq = bb - 2;
                if (kind == KIND_Q4_1) {
                    p[2] = (uint8_t)mm;
                    p[3] = (uint8_t)(mm >> 8);
                    nq = 16;
                }
                for (int i = 0; i < nq; i++) {
                    uint8_t v = (uint8_t)rng_u32(&rng);
                    if ((row + i) % 9 == 0) v = kind == KIND_Q4_1 ? 0xff : 0x80; /* extremes: 15, -128 */
                    if ((row + i) % 9 == 1) v = kind == KIND_Q4_1 ? 0x00 : 0x7f;
                    p[bb - nq + i] = v;
                }
            }
        if (kmatmul_once(PATH_SCALAR, kind, N, K, raw, B, x, y0) || kmatmul_once(path, kind, N, K, raw, B, x, y1)) {
            snprintf(msg, msglen, "out of memory");
            return -1;
        }
        if (!same_bits(y0, y1, sizeof(float) * B * N)) {
            snprintf(msg, msglen, "matrix product (%s) differs", kind == KIND_Q4_1 ? "q4_1" : "q8_0");
            bad = 1;
        }
        /* the single-lane special case */
        if (!bad && (kmatmul_once(PATH_SCALAR, kind, N, K, raw, 1, x + K, y0) ||
                     kmatmul_once(path, kind, N, K, raw, 1, x + K, y1))) {
            snprintf(msg, msglen, "out of memory");
            return -1;
        }
        if (!bad && !same_bits(y0, y1, sizeof(float) * N)) {
            snprintf(msg, msglen, "single-lane matrix product (%s) differs", kind == KIND_Q4_1 ? "q4_1" : "q8_0");
            bad = 1;
        }
    }
    /* silu */
    if (!bad) {
        enum { NS = 203 };
        float g0[NS], g1[NS], u[NS];
        for (int i = 0; i < NS; i++) {
            g0[i] = g1[i] = i % 5 == 0 ? rng_f(&rng, 200.0f) : rng_f(&rng, 8.0f);
            u[i] = rng_f(&rng, 3.0f);
        }
        g0[0] = g1[0] = 0.0f;
        g0[1] = g1[1] = -0.0f;
        ref->silu_mul(g0, u, NS);
        ops->silu_mul(g1, u, NS);
        if (!same_bits(g0, g1, sizeof g0)) {
            snprintf(msg, msglen, "silu differs");
            bad = 1;
        }
    }
    /* RMSNorm scale, vector quantization (key and value ranges) and RoPE, with extremes */
    if (!bad) {
        enum { NR = 576, NV = 12 };
        static float xr[NR], v0[NV * HD], v1[NV * HD], cs[HD / 2], sn[HD / 2];
        static int32_t q0[NR], q1[NR];
        const float scales[8] = {1.0f, 3e-3f, 2e5f, 1e-30f, 1e30f, 1e-41f, 0.0f, 7.0f};
        for (int t = 0; t < 8 && !bad; t++) {
            for (int i = 0; i < NR; i++) xr[i] = rng_f(&rng, 4.0f) * scales[t];
            if (t == 7)
                for (int i = 0; i < NR; i++) xr[i] = (float)(int)(rng_u32(&rng) % 5) - 2.0f; /* ties */
            if (t == 2) xr[5] = 3.0e38f;
            const float eps = 1e-5f;
            float r0 = ref->rms_scale(xr, NR, eps), r1 = ops->rms_scale(xr, NR, eps);
            float s0, s1;
            if (!same_bits(&r0, &r1, sizeof r0)) {
                snprintf(msg, msglen, "rms scale differs");
                bad = 1;
            }
            for (int qm = 0; qm < 2 && !bad; qm++) {
                const float qmax = qm ? 32767.0f : 127.0f;
                ref->quant_vec(xr, NR, qmax, q0, &s0);
                ops->quant_vec(xr, NR, qmax, q1, &s1);
                if (!same_bits(q0, q1, sizeof q0) || !same_bits(&s0, &s1, sizeof s0)) {
                    snprintf(msg, msglen, "vector quantization differs");
                    bad = 1;
                }
            }
        }
        for (int i = 0; i < HD / 2; i++) {
            cs[i] = rng_f(&rng, 1.0f);
            sn[i] = rng_f(&rng, 1.0f);
        }
        for (int i = 0; i < NV * HD; i++) v0[i] = v1[i] = i % 7 == 0 ? rng_f(&rng, 3e30f) : rng_f(&rng, 5.0f);
        ref->rope(v0, NV, cs, sn);
        ops->rope(v1, NV, cs, sn);
        if (!bad && !same_bits(v0, v1, sizeof v0)) {
            snprintf(msg, msglen, "rope differs");
            bad = 1;
        }
    }
    /* attention: 3 heads, one short and one long window (past an int32 chunk), with ties */
    const int ns[3] = {1, 13, 2 * AV_CHUNK + 77};
    for (int ti = 0; ti < 3 && !bad; ti++) {
        const int n = ns[ti], tcap = (n + KT - 1) / KT * KT, r = 3;
        int16_t *k = kalloc((size_t)tcap * HD * sizeof(int16_t));
        int8_t *v = kalloc((size_t)tcap * HD);
        float *sk = kalloc((size_t)tcap * sizeof(float)), *sv = kalloc((size_t)tcap * sizeof(float));
        float q[3 * HD], o0[3 * HD], o1[3 * HD];
        AttnScratch sc[2];
        int ok = k && v && sk && sv;
        for (int j = 0; j < 2 && ok; j++) {
            sc[j].tcap = tcap;
            sc[j].score = kalloc((size_t)r * tcap * sizeof(float));
            sc[j].w = kalloc((size_t)r * tcap * sizeof(float));
            sc[j].c = kalloc((size_t)r * tcap * sizeof(uint16_t));
            sc[j].full = kalloc((size_t)r * tcap * sizeof(int));
            sc[j].nfull = kalloc((size_t)r * sizeof(int));
            sc[j].acc32 = kalloc((size_t)r * HD * sizeof(int32_t));
            sc[j].acc64 = kalloc((size_t)r * HD * sizeof(int64_t));
        }
        if (ok) {
            for (int t = 0; t < n; t++) {
                const int tie = t % 3 == 0; /* equal keys and value scales: many c == 2^15 */
                for (int d = 0; d < HD; d++) {
                    k[(size_t)(t / KT) * KT * HD + (d / 2) * KT * 2 + (t % KT) * 2 + (d & 1)] =
                        (int16_t)(tie ? (d * 517 % 65535) - 32767 : (int)(rng_u32(&rng) % 65535) - 32767);
                    v[(size_t)(t / 2) * 2 * HD + d * 2 + (t & 1)] = (int8_t)(tie ? 127 - (d & 1) * 254 : (int)(rng_u32(&rng) % 255) - 127);
                }
                sk[t] = tie ? 1e-4f : rng_f(&rng, 2e-4f) + 2e-4f;
                sv[t] = tie ? 0.03f : rng_f(&rng, 0.01f) + 0.011f;
            }
            for (int i = 0; i < 3 * HD; i++) q[i] = rng_f(&rng, 6.0f);
            for (int d = 0; d < HD; d++) q[2 * HD + d] = 0.0f; /* a zero query */
            AttnIn in = {r, n, q, k, sk, v, sv, NULL, NULL, 0};
            ref->attend(&in, o0, &sc[0]);
            ops->attend(&in, o1, &sc[1]);
            if (!same_bits(o0, o1, sizeof o0)) {
                snprintf(msg, msglen, "attention (n=%d) differs", n);
                bad = 1;
            }
        } else {
            snprintf(msg, msglen, "out of memory");
        }
        for (int j = 0; j < 2 && ok; j++) {
            kfree(sc[j].score);
            kfree(sc[j].w);
            kfree(sc[j].c);
            kfree(sc[j].full);
            kfree(sc[j].nfull);
            kfree(sc[j].acc32);
            kfree(sc[j].acc64);
        }
        kfree(k);
        kfree(v);
        kfree(sk);
        kfree(sv);
        if (!ok) return -1;
    }
    if (!bad) snprintf(msg, msglen, "ok");
    return bad;
}
