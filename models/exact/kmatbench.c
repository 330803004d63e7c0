/* Standalone timing of the matrix products of one SmolLM2-135M token per kernel path (no
 * Python): the Q4_1 layer shapes and the Q8_0 head on random weights, B lanes, CPU time,
 * the best of 5 runs. Not part of the extension; prints GMAC/s per shape and per token.
 *
 *   gcc -std=gnu11 -O2 -ffp-contract=off -fno-fast-math -pthread -Imodels/exact \
 *       models/exact/kmatbench.c models/exact/k{scalar,x86,model,neon}.c -lm -o kmatbench
 *   ./kmatbench 1 16 && ./kmatbench 2 16     # path ids: 1 avx2, 2 avx512 (VNNI); B = 16
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kmodel.h"

static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 11);
}
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: kmatbench PATH_ID LANES\n");
        return 2;
    }
    const int path = atoi(argv[1]), B = atoi(argv[2]);
    const KOps *ops = kops_get(path);
    if (!ops || B < 1 || B > 256) {
        fprintf(stderr, "path %d not available here, or bad lane count\n", path);
        return 2;
    }
    /* per token: q and o (576x576), k and v (192x576), gate and up (1536x576) in 30
     * layers each twice, down (576x1536) once, and the head (49152x576, q8_0) */
    const struct { int kind, n, k, per_token; } sh[] = {
        {KIND_Q4_1, 576, 576, 60}, {KIND_Q4_1, 192, 576, 60}, {KIND_Q4_1, 1536, 576, 60},
        {KIND_Q4_1, 576, 1536, 30}, {KIND_Q8_0, 49152, 576, 1}};
    double step = 0, macs = 0;
    for (int i = 0; i < 5; i++) {
        const int kind = sh[i].kind, n = sh[i].n, k = sh[i].k, bb = kind == KIND_Q8_0 ? 34 : 20;
        const size_t nraw = (size_t)n * (k / QB) * bb;
        uint8_t *raw = malloc(nraw);
        for (size_t j = 0; j < nraw; j++) raw[j] = (uint8_t)rnd();
        for (int r = 0; r < n; r++)
            for (int b = 0; b < k / QB; b++) { /* finite float16 scales */
                uint8_t *p = raw + ((size_t)r * (k / QB) + b) * bb;
                p[1] = 0x2c;
                if (kind == KIND_Q4_1) p[3] = 0x2c;
            }
        QMat w;
        if (qmat_pack(&w, kind, n, k, raw) != 0) return 1;
        int8_t *xq = malloc((size_t)B * k);
        float *s = malloc((size_t)B * (k / QB) * sizeof(float)), *sx = malloc((size_t)B * (k / QB) * sizeof(float));
        float *x = malloc((size_t)B * k * sizeof(float)), *y = malloc((size_t)B * n * sizeof(float));
        float *acc = aligned_alloc(64, (KACC_BYTES(B, k) + 63) / 64 * 64);
        for (int j = 0; j < B * k; j++) x[j] = ((int)(rnd() % 2001) - 1000) * 1e-3f;
        for (int b = 0; b < B; b++)
            ops->quant_act(x + (size_t)b * k, k, xq + (size_t)b * k, s + (size_t)b * (k / QB), sx + (size_t)b * (k / QB));
        const Act a = {xq, s, sx, (size_t)k, (size_t)(k / QB), B};
        const int reps = kind == KIND_Q8_0 ? 20 : 200;
        double best = 1e30;
        for (int t = 0; t < 5; t++) {
            const double t0 = cpu_now();
            for (int r = 0; r < reps; r++) ops->matmul(&w, &a, y, (size_t)n, 0, w.ng, acc);
            const double dt = (cpu_now() - t0) / reps;
            if (dt < best) best = dt;
        }
        printf("  %s %5dx%4d B=%3d: %9.1f us  %6.1f GMAC/s\n", kind == KIND_Q8_0 ? "q8_0" : "q4_1", n, k, B,
               best * 1e6, (double)n * k * B / best / 1e9);
        step += best * sh[i].per_token;
        macs += (double)n * k * B * sh[i].per_token;
        free(raw), free(xq), free(s), free(sx), free(x), free(y), free(acc);
        qmat_free(&w);
    }
    printf("%s B=%d: products of one step %.2f ms (%.0f tokens/s for the products alone), %.1f GMAC/s\n",
           kpath_names[path], B, step * 1e3, B / step, macs / step / 1e9);
    return 0;
}
