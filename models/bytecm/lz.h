/* lz.h: bytecm's LZ engine (level 1): LZ77 + adaptive binary arithmetic coding.
 *
 * An LZMA-like design written for lmzip: the window is the whole chunk; a hash-chain
 * match finder feeds a greedy or a price-driven optimal parser; the symbols (literal /
 * match / rep match / short rep, lengths, distances, literals) are coded bit by bit
 * with adaptive 12-bit probabilities through coder/binarith.h. Decoding costs a few
 * binary decisions per match and 8 per literal.
 *
 * Parameters come as a flat array of ints (LZ_NPARAM, in the order of enum LzParam);
 * lz_check_params() enforces the hard maxima. Only LP_LC, LP_LP and LP_PB shape the
 * coded stream's model; the others steer the encoder's search (a decoder ignores them
 * but they are still checked, as they are part of the stored parameter set). */
#ifndef LMZIP_LZ_H
#define LMZIP_LZ_H

#include <stddef.h>
#include <stdint.h>

#define LZ_VERSION 1

enum LzParam {
    LP_VERSION,  /* must be LZ_VERSION */
    LP_HASH_LOG, /* log2 entries of the match finder's hash head table, 10..22 */
    LP_CHAIN,    /* candidates visited per position, 1..1024 */
    LP_NICE,     /* a match this long is taken at once, 8..273 */
    LP_PARSE,    /* 0: greedy, 1: optimal (price-driven, blocks of up to 4096 positions) */
    LP_LC,       /* literal context: top lc bits of the previous byte, 0..8 */
    LP_LP,       /* literal context: low lp bits of the position, 0..4 (lc + lp <= 12) */
    LP_PB,       /* match-flag context: low pb bits of the position, 0..4 */
    LZ_NPARAM
};

#define LZ_MAX_HASH_LOG 22
#define LZ_MAX_CHAIN 1024
/* Decoded size <= (payload length + 16) * LZ_MAX_RATIO (see lz_decompress). */
#define LZ_MAX_RATIO 65536

/* Returns NULL if the parameters are acceptable, else a static message. */
const char *lz_check_params(const int32_t *params, size_t n);

/* Heap bytes the encoder allocates for these (checked) parameters and a chunk of `size`
 * bytes, excluding its output buffer; the decoder allocates less (the model only). */
size_t lz_memory(const int32_t *params, size_t size);

/* Compress `size` bytes (size <= BCM_MAX_SIZE). On success returns 0 and sets *out
 * (malloc'd, caller frees) and *out_len. -1: out of memory, -2: bad parameters. */
int lz_compress(const int32_t *params, const uint8_t *data, size_t size, uint8_t **out, size_t *out_len);

/* Decompress into `out` (exactly `size` bytes). 0 on success, -1 out of memory, -2 bad
 * parameters, -3 corrupt (a length or distance outside the data decoded so far, a
 * payload not consumed exactly, a failed check, or size > (len + 16) * LZ_MAX_RATIO).
 * Never reads outside payload[0..len) or writes outside out[0..size); time is linear in
 * `size` (every decoded symbol yields at least one byte). */
int lz_decompress(const int32_t *params, const uint8_t *payload, size_t len, uint8_t *out, size_t size);

/* Build the encoder's price table (integer code). Idempotent; call it once, before any
 * thread compresses (the Python module and the fuzz harness do; lz_compress calls it
 * too, for single-threaded users). */
void lz_init(void);

#endif /* LMZIP_LZ_H */
