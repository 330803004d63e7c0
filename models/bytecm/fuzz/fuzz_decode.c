/* libFuzzer harness for the bytecm decoders (build and run: scripts/bytecm_fuzz.sh).
 *
 * Input layout:
 *   byte 0     mode: bit 6 picks the engine (0: the CM engine bcm.c, 1: the LZ engine
 *              lz.c); bits 0-1 pick the parameters (CM: 0..2 = levels 1..3 of
 *              levels.h, where level 1 is the legacy CM level 1; LZ: 0..2 = the LZ
 *              variants of levels.h; 3: raw parameters read from the input); bit 7 asks
 *              for a round trip (compress the data, decompress, compare)
 *   bytes 1-2  the decoded size, little endian (CM: modulo MAX_SIZE + 1; LZ: as is)
 *   mode 3     then BCM_NPARAM (CM) or LZ_NPARAM (LZ) little-endian int16 parameters
 *   the rest   the payload handed to the decoder (round trip: the data to compress)
 *
 * Decoding must return 0 or -3 (corrupt) without any sanitizer report; parameters that
 * the engine's check accepts must never fail otherwise. A round trip must give the
 * data back. Tables are shrunk (CM: hash_log <= 16, match_log <= 12; LZ: hash_log <=
 * 12, chain <= 32) and sizes kept small to keep executions fast: the index arithmetic
 * is the same for every size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcm.h"
#include "lz.h"
#include "levels.h" /* generated: LEVELS[3][BCM_NPARAM], LZ_LEVELS[3][LZ_NPARAM] */

#define MAX_SIZE 512
#define LZ_MAX_RT 16384 /* round-trip data limit for the LZ engine */

static void shrink(int32_t *P) {
    if (P[BP_HASH_LOG] > 16) P[BP_HASH_LOG] = 16;
    if (P[BP_MATCH_LOG] > 12) P[BP_MATCH_LOG] = 12;
}

static void lz_shrink(int32_t *P) {
    if (P[LP_HASH_LOG] > 12) P[LP_HASH_LOG] = 12;
    if (P[LP_CHAIN] > 32) P[LP_CHAIN] = 32;
}

typedef int (*CompressFn)(const int32_t *, const uint8_t *, size_t, uint8_t **, size_t *);
typedef int (*DecompressFn)(const int32_t *, const uint8_t *, size_t, uint8_t *, size_t);

static void round_trip(const int32_t *P, const uint8_t *data, size_t len, CompressFn comp, DecompressFn dec) {
    uint8_t *payload = NULL;
    size_t plen = 0;
    if (comp(P, data, len, &payload, &plen) != 0) abort();
    uint8_t *back = (uint8_t *)malloc(len ? len : 1);
    if (!back) abort();
    int rc = dec(P, payload, plen, back, len);
    if (rc != 0 || memcmp(back, data, len) != 0) {
        fprintf(stderr, "round trip failed: rc=%d len=%zu\n", rc, len);
        abort();
    }
    free(back);
    free(payload);
}

static void decode_only(const int32_t *P, const uint8_t *data, size_t len, size_t size, DecompressFn dec) {
    uint8_t *out = (uint8_t *)malloc(size ? size : 1);
    if (!out) abort();
    int rc = dec(P, data, len, out, size);
    if (rc != 0 && rc != -3) {
        fprintf(stderr, "unexpected return %d\n", rc);
        abort();
    }
    free(out);
}

static int fuzz_lz(int mode, size_t size, const uint8_t *data, size_t len) {
    int32_t P[LZ_NPARAM];
    if ((mode & 3) < 3) {
        memcpy(P, LZ_LEVELS[mode & 3], sizeof P);
    } else {
        if (len < 2 * LZ_NPARAM) return 0;
        for (int i = 0; i < LZ_NPARAM; i++) P[i] = (int16_t)(data[2 * i] | data[2 * i + 1] << 8);
        data += 2 * LZ_NPARAM;
        len -= 2 * LZ_NPARAM;
        if (lz_check_params(P, LZ_NPARAM)) return 0;
    }
    lz_shrink(P);
    if (mode & 0x80) {
        round_trip(P, data, len > LZ_MAX_RT ? LZ_MAX_RT : len, lz_compress, lz_decompress);
        return 0;
    }
    decode_only(P, data, len, size, lz_decompress);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    static int ready;
    if (!ready) {
        bcm_init();
        lz_init();
        ready = 1;
    }
    if (len < 3) return 0;
    int mode = data[0];
    size_t size16 = (size_t)(data[1] | data[2] << 8);
    data += 3;
    len -= 3;
    if (mode & 0x40) return fuzz_lz(mode, size16, data, len);
    size_t size = size16 % (MAX_SIZE + 1);
    int32_t P[BCM_NPARAM];
    if ((mode & 3) < 3) {
        memcpy(P, LEVELS[mode & 3], sizeof P);
    } else {
        if (len < 2 * BCM_NPARAM) return 0;
        for (int i = 0; i < BCM_NPARAM; i++) P[i] = (int16_t)(data[2 * i] | data[2 * i + 1] << 8);
        data += 2 * BCM_NPARAM;
        len -= 2 * BCM_NPARAM;
        if (bcm_check_params(P, BCM_NPARAM)) return 0;
    }
    shrink(P);
    if (mode & 0x80) { /* round trip of the data itself */
        round_trip(P, data, len > MAX_SIZE ? MAX_SIZE : len, bcm_compress, bcm_decompress);
        return 0;
    }
    decode_only(P, data, len, size, bcm_decompress);
    return 0;
}
