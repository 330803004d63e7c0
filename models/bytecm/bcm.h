/* bcm.h: the bytecm context-mixing engine (C API, no Python).
 *
 * One call codes one chunk in either direction: bcm_run() walks the bytes, and per bit
 * predicts (context models -> gated mixers -> APM/SSE -> micro-diffusion), codes the
 * bit with coder/binarith.h and updates every model. Everything that decides a
 * probability is integer arithmetic, so every machine produces the same bits.
 *
 * Parameters come as a flat array of ints (BCM_NPARAM, in the order of enum BcmParam);
 * bcm_check_params() enforces the hard maxima, so a hostile header cannot make the
 * engine allocate more than the strongest level does. */
#ifndef LMZIP_BCM_H
#define LMZIP_BCM_H

#include <stddef.h>
#include <stdint.h>

#define BCM_VERSION 1

enum BcmParam {
    BP_VERSION,      /* must be BCM_VERSION */
    BP_HASH_LOG,     /* log2 bytes of the shared context hash table */
    BP_ORDERS,       /* bit k (1..7) set: an order-k hashed context */
    BP_HIGH_ORDER,   /* 0 or 8..32: one long hashed context */
    BP_WORD,         /* 0..4 word contexts */
    BP_SPARSE,       /* 0..6 sparse (skipping) contexts */
    BP_RECORD,       /* 0/1 record model (fixed-size records: distance voting) */
    BP_COLUMN,       /* 0/1 column model (text lines, CSV fields) */
    BP_X86,          /* 0/1 x86 E8/E9 model allowed (the encoder decides per chunk) */
    BP_INDIRECT,     /* 0/1 indirect contexts (what followed this byte pair last time) */
    BP_MATCH_LOG,    /* 0 (no match model) or log2 entries of the match index */
    BP_MATCH_MIN,    /* minimum match length for the short hash, 3..16 */
    BP_MATCH_LONG,   /* 0 or the long hash length (> match_min), up to 48 */
    BP_INPUTS2,      /* 0/1 a second mixer input per context (deterministic states) */
    BP_MIXSEL,       /* bitmask of mixer weight-set selectors (see bcm.c: MS_*) */
    BP_MIX_LR,       /* layer-1 learning rate, 1..64 */
    BP_MIX_LR2,      /* final-layer learning rate, 1..64 */
    BP_APM,          /* bitmask of APM/SSE stages (see bcm.c: AP_*) */
    BP_APM_RATE,     /* APM adaptation shift, 4..8 */
    BP_DIFFUSION,    /* 0..3 micro-diffusion refinement steps */
    BP_DIFF_RATE,    /* micro-diffusion learning rate, 1..64 */
    BP_SM_LIMIT,     /* state-map adaptation limit, 16..1023 */
    BCM_NPARAM
};

/* Hard maxima: the strongest level's values (enforced in bcm_check_params). */
#define BCM_MAX_HASH_LOG 26
#define BCM_MAX_MATCH_LOG 22
#define BCM_MAX_SIZE ((size_t)1 << 31) /* largest chunk in either direction */
#define BCM_MAX_RATIO 4096 /* decoded size <= (payload length + 16) * this (see bcm_decompress) */

/* Returns NULL if the parameters are acceptable, else a static message. */
const char *bcm_check_params(const int32_t *params, size_t n);

/* Bytes of heap the engine allocates for these (checked) parameters and a chunk of
 * `size` bytes, excluding the encoder's output buffer. */
size_t bcm_memory(const int32_t *params, size_t size);

/* Compress `size` bytes. On success returns 0 and sets *out (malloc'd, caller frees)
 * and *out_len. Returns -1 if out of memory, -2 for bad parameters. */
int bcm_compress(const int32_t *params, const uint8_t *data, size_t size, uint8_t **out, size_t *out_len);

/* Decompress a payload into `out` (exactly `size` bytes). Returns 0 on success, -1 if
 * out of memory, -2 for bad parameters, -3 if the payload is corrupt (it does not
 * decode to exactly `size` bytes with nothing left over, fails its check, or claims
 * more than (len + 16) * BCM_MAX_RATIO bytes). Never reads outside payload[0..len) or
 * writes outside out[0..size). */
int bcm_decompress(const int32_t *params, const uint8_t *payload, size_t len, uint8_t *out, size_t size);

/* Build the shared tables (squash, stretch, state machine). Idempotent; must be called
 * once before anything else (the Python module and the fuzz harness do). */
void bcm_init(void);

#endif /* LMZIP_BCM_H */
