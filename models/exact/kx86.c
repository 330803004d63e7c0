/* The x86-64 vector paths: AVX2 and AVX-512, from one source (kx86.inc). */
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
#define PATH_ID PATH_AVX2
#include "kx86.inc"
#undef TGT
#undef SFX
#undef K512
#undef PATH_ID

#define TGT __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512vl")))
#define SFX(x) x##_avx512
#define K512 1
#define PATH_ID PATH_AVX512
#include "kx86.inc"
#endif
