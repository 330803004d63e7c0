/* libFuzzer harness for the bytecm decoder (build and run: scripts/bytecm_fuzz.sh).
 *
 * Input layout:
 *   byte 0     mode: bits 0-1 pick the parameters (0..2: levels 1..3 from levels.h,
 *              3: raw parameters read from the input), bit 7 asks for a round trip
 *   bytes 1-2  the decoded size, little endian, taken modulo MAX_SIZE + 1
 *   mode 3     then BCM_NPARAM little-endian int16 parameters
 *   the rest   the payload handed to bcm_decompress (round trip: the data to compress)
 *
 * Decoding must return 0 or -3 (corrupt) without any sanitizer report; parameters that
 * bcm_check_params accepts must never fail otherwise. A round trip must give the data
 * back. Tables are shrunk (hash_log <= 16, match_log <= 12) and sizes kept small to
 * keep executions fast: the index arithmetic is the same for every size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcm.h"
#include "levels.h" /* generated: static const int32_t LEVELS[3][BCM_NPARAM] */

#define MAX_SIZE 512

static void shrink(int32_t *P) {
    if (P[BP_HASH_LOG] > 16) P[BP_HASH_LOG] = 16;
    if (P[BP_MATCH_LOG] > 12) P[BP_MATCH_LOG] = 12;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    static int ready;
    if (!ready) {
        bcm_init();
        ready = 1;
    }
    if (len < 3) return 0;
    int mode = data[0];
    size_t size = (size_t)(data[1] | data[2] << 8) % (MAX_SIZE + 1);
    data += 3;
    len -= 3;
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
        if (len > MAX_SIZE) len = MAX_SIZE;
        uint8_t *payload = NULL;
        size_t plen = 0;
        if (bcm_compress(P, data, len, &payload, &plen) != 0) abort();
        uint8_t *back = (uint8_t *)malloc(len ? len : 1);
        if (!back) abort();
        int rc = bcm_decompress(P, payload, plen, back, len);
        if (rc != 0 || memcmp(back, data, len) != 0) {
            fprintf(stderr, "round trip failed: rc=%d len=%zu\n", rc, len);
            abort();
        }
        free(back);
        free(payload);
        return 0;
    }
    uint8_t *out = (uint8_t *)malloc(size ? size : 1);
    if (!out) abort();
    int rc = bcm_decompress(P, data, len, out, size);
    if (rc != 0 && rc != -3) {
        fprintf(stderr, "unexpected return %d\n", rc);
        abort();
    }
    free(out);
    return 0;
}
