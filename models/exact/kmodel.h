/* The exact SmolLM2 forward pass over lanes with their own KV caches (reference.py's
 * ReferenceModel.step / slide), on one kernel path, with an optional thread pool. */
#ifndef LMZIP_KMODEL_H
#define LMZIP_KMODEL_H

#include <pthread.h>

#include "kcore.h"

typedef struct {
    int kind, n, k;
    const uint8_t *raw; /* GGUF blocks, n rows of k/32 blocks */
} KRawMat;

typedef struct {
    const float *attn_norm, *ffn_norm;
    KRawMat wq, wk, wv, wo, wg, wu, wd;
} KRawLayer;

typedef struct {
    int n_layer, n_embd, n_ff, n_head, n_kv_head, n_vocab;
    float eps;
    const float *cos, *sin;   /* [n_ctx][HD/2] */
    KRawMat embd, head;
    const float *out_norm;
    const KRawLayer *layers;
} KRawModel;

typedef struct {
    float *attn_norm, *ffn_norm;
    QMat wq, wk, wv, wo, wg, wu, wd;
} KLayer;

typedef void (*kjob_fn)(void *ctx, int tid, int nth);

typedef struct KPool KPool;

typedef struct {
    int n_layer, D, F, H, G, V, r;
    float eps;
    int n_ctx, tp, n_lanes, n_threads;
    const KOps *ops;
    float *cos, *sin;
    int emb_kind;
    const uint8_t *emb_raw; /* not owned: the caller keeps it alive */
    size_t emb_rowbytes;
    float *out_norm;
    QMat head;
    KLayer *layers;
    uint8_t *wmem; /* the repacked weights of head and layers, one block */
    int *n_past;
    int16_t *kc;
    int8_t *vc;
    float *skc, *svc;
    /* per-step buffers for up to n_lanes lanes */
    float *x, *h, *qkv, *att, *y, *gate, *up;
    int8_t *xq;
    float *s, *sx;
    size_t qkvs, xqs, ss;
    int *pos, *lane;
    float **acc;
    AttnScratch *ascr;
    KPool *pool;
} KModel;

/* NULL on failure (err filled). */
KModel *kmodel_new(const KRawModel *raw, int path, int n_ctx, int n_lanes, int n_threads, char *err, size_t errlen);
void kmodel_free(KModel *m);
void kmodel_reset(KModel *m, int lane);
/* Lane dl of dst becomes a copy of lane sl of src (same shapes; the cache layout is the
 * same on every path). 0, or -1 when the models differ in shape. */
int kmodel_copy_lane(KModel *dst, int dl, const KModel *src, int sl);
/* 0, or -1 with err filled (bad arguments) */
int kmodel_slide(KModel *m, int lane, int keep, int drop, char *err, size_t errlen);
/* Lanes and tokens must be valid (distinct lanes with room, tokens < V); logits [B][V]. */
void kmodel_step(KModel *m, int B, const int *lanes, const int *tokens, float *logits);
/* How many of the pool's n_threads threads the next steps use (clamped to 1..n_threads;
 * the clamped value is returned). Not during a step. The results never depend on it. */
int kmodel_set_threads(KModel *m, int k);
int kmodel_threads(const KModel *m);

/* A matrix product on a path, for tests: x [B][k] float -> y [B][n]. 0 or -1 (no memory). */
int kmatmul_once(int path, int kind, int n, int k, const uint8_t *raw, int B, const float *x, float *y);

#endif
