/* The x86-64 vector paths, from one source (kx86.inc): AVX2, AVX-VNNI (256-bit vpdpbusd,
 * VEX-encoded: Alder Lake, Zen 5) and AVX-512 VNNI (256-bit vpdpbusd, EVEX-encoded, with
 * AVX-512's 32 registers: Ice Lake, Zen 4). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kcore.h"

#if defined(__FAST_MATH__)
#error "never build the exact kernel with -ffast-math"
#endif

#define TGT __attribute__((target("avx2,f16c")))
#define SFX(x) x##_avx2
#define K512 0
#define VNNI 0
#define PATH_ID PATH_AVX2
#include "kx86.inc"
#undef TGT
#undef SFX
#undef K512
#undef VNNI
#undef PATH_ID

#define TGT __attribute__((target("avx2,f16c,avxvnni")))
#define SFX(x) x##_avxvnni
#define K512 0
#define VNNI 1
#define DPBUSD _mm256_dpbusd_avx_epi32
#define DPWSSD _mm256_dpwssd_avx_epi32
#define PATH_ID PATH_AVXVNNI
#include "kx86.inc"
#undef TGT
#undef SFX
#undef K512
#undef VNNI
#undef DPBUSD
#undef DPWSSD
#undef PATH_ID

#define TGT __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define SFX(x) x##_avx512
#define K512 1
#define VNNI 1
#define DPBUSD _mm256_dpbusd_epi32
#define DPWSSD _mm256_dpwssd_epi32
#define PATH_ID PATH_AVX512
#include "kx86.inc"
#endif
