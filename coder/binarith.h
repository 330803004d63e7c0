/* coder/binarith.h: a 32-bit binary arithmetic coder over 16-bit probabilities.
 *
 * One struct and one function, ba_code(), serve both directions: the encoder passes the
 * bit it knows, the decoder passes anything and gets the bit back. The model around it
 * therefore runs one loop for compression and decompression (see models/bytecm/bcm.c).
 *
 * The coder is carry-less (as in lpaq/paq8): the interval [x1, x2] of 32-bit integers
 * shrinks with each bit; whenever x1 and x2 agree on their top byte that byte is final
 * and is shifted out. p16 is P(bit == 1) scaled to 2^16 and must lie in [1, 65535];
 * the split point uses a 64-bit product, so no precision is lost for any range.
 *
 * Termination: the encoder writes the top byte of x1 and then one more byte, which is
 * enough for a decoder that pads the stream with 0xFF bytes to land inside [x1, x2].
 * A decoder that reaches the end has read exactly ba_pad_reads() == 3 bytes beyond
 * the payload; any other count means the payload is truncated or has trailing bytes
 * (ba_dec_check). Reads are bounds-checked: past the end the decoder only ever sees 0xFF.
 *
 * Header-only and dependency-free (libc only) so that the engine and the fuzz harness
 * include it directly. */
#ifndef LMZIP_BINARITH_H
#define LMZIP_BINARITH_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint32_t x1, x2;       /* the current interval, inclusive */
    uint32_t x;            /* decoder: the code value read so far */
    int decoding;          /* 0: encode, 1: decode */
    /* decoder input */
    const uint8_t *in;
    size_t in_len, in_pos; /* in_pos may run past in_len: those reads return 0xFF */
    /* encoder output: a growable heap buffer (NULL after an allocation failure) */
    uint8_t *out;
    size_t out_len, out_cap;
    int oom;
} BinArith;

static inline void ba_put(BinArith *c, uint8_t byte) {
    if (c->out_len == c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap + (c->out_cap >> 1) : 4096;
        uint8_t *p = c->oom ? NULL : (uint8_t *)realloc(c->out, cap);
        if (!p) { /* keep coding (the model must stay in step) but drop the bytes */
            c->oom = 1;
            c->out_len = 0;
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    c->out[c->out_len++] = byte;
}

static inline uint32_t ba_get(BinArith *c) {
    size_t i = c->in_pos++;
    return i < c->in_len ? c->in[i] : 0xFFu;
}

/* Encoder: out_cap_hint is the initial buffer size (it grows as needed). */
static inline int ba_enc_init(BinArith *c, size_t out_cap_hint) {
    c->x1 = 0;
    c->x2 = 0xFFFFFFFFu;
    c->x = 0;
    c->decoding = 0;
    c->in = NULL;
    c->in_len = c->in_pos = 0;
    c->out_len = 0;
    c->oom = 0;
    c->out_cap = out_cap_hint < 64 ? 64 : out_cap_hint;
    c->out = (uint8_t *)malloc(c->out_cap);
    if (!c->out) {
        c->out_cap = 0;
        c->oom = 1;
        return -1;
    }
    return 0;
}

static inline void ba_dec_init(BinArith *c, const uint8_t *in, size_t len) {
    c->x1 = 0;
    c->x2 = 0xFFFFFFFFu;
    c->decoding = 1;
    c->in = in;
    c->in_len = len;
    c->in_pos = 0;
    c->out = NULL;
    c->out_len = c->out_cap = 0;
    c->oom = 0;
    c->x = 0;
    for (int i = 0; i < 4; i++) c->x = (c->x << 8) | ba_get(c);
}

/* Code one bit with P(1) = p16 / 65536. Encoder: returns `bit`. Decoder: ignores `bit`
 * and returns the decoded one. The one place where the two directions differ. */
static inline int ba_code(BinArith *c, int bit, uint32_t p16) {
    uint32_t xmid = c->x1 + (uint32_t)(((uint64_t)(c->x2 - c->x1) * p16) >> 16);
    if (c->decoding) bit = c->x <= xmid;
    if (bit)
        c->x2 = xmid;
    else
        c->x1 = xmid + 1;
    while (((c->x1 ^ c->x2) & 0xFF000000u) == 0) {
        if (c->decoding)
            c->x = (c->x << 8) | ba_get(c);
        else
            ba_put(c, (uint8_t)(c->x2 >> 24));
        c->x1 <<= 8;
        c->x2 = (c->x2 << 8) | 255u;
    }
    return bit;
}

/* Encoder: write the final bytes. Returns 0, or -1 if an allocation failed. */
static inline int ba_enc_flush(BinArith *c) {
    /* Any value in [x1, x2] decodes right. x1's top byte followed by 0xFF padding is
     * >= x1 and, since the top bytes of x1 and x2 differ, < x2, i.e. inside. */
    ba_put(c, (uint8_t)(c->x1 >> 24));
    return c->oom ? -1 : 0;
}

/* Decoder: after the last bit, did we consume exactly the payload? The decoder reads
 * 4 bytes ahead at init and one per shifted byte; the encoder writes one per shift plus
 * one at flush: so a matching stream leaves in_pos == in_len + 3. */
static inline int ba_dec_check(const BinArith *c) { return c->in_pos == c->in_len + 3 ? 0 : -1; }

/* Decoder: has it read so far past the end that no valid payload could explain it? */
static inline int ba_dec_overrun(const BinArith *c) { return c->in_pos > c->in_len + 3; }

#endif /* LMZIP_BINARITH_H */
