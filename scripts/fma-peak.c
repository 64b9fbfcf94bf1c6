// The machine's f32 FMA peak, measured: GFLOP/s of independent fused multiply-adds on one
// core (12 accumulators of the widest vector the build has), so the trainer's figures can
// be stated as a share of it. Built and run by scripts/speed-side.sh:
//   gcc -O2 -march=native scripts/fma-peak.c -o target/fma-peak && target/fma-peak
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define NAME "AVX-512"
#elif defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define NAME "AVX2+FMA"
#else
#error "needs FMA"
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const long iterations = 50000000;
    double best = 0.0;
    float sink = 0.0f;
    for (int round = 0; round < 5; round++) {
        vec a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f), a4 = SET1(1.4f),
            a5 = SET1(1.5f), a6 = SET1(1.6f), a7 = SET1(1.7f), a8 = SET1(1.8f), a9 = SET1(1.9f),
            a10 = SET1(2.0f), a11 = SET1(2.1f);
        const vec m = SET1(0.999999f), c = SET1(1e-7f);
        double start = now();
        for (long i = 0; i < iterations; i++) {
            a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);
            a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);
            a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);
            __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
            __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
        }
        double seconds = now() - start;
        double gflops = 12.0 * LANES * 2.0 * iterations / seconds / 1e9;
        if (gflops > best) best = gflops;
        vec s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        sink += ((float *)&s)[0];
    }
    printf("f32 FMA peak, one core, %s: %.1f GFLOP/s (best of 5; checksum %g)\n", NAME, best, sink);
    return 0;
}
