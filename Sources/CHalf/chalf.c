// Why C: on baseline x86-64, Swift's Float16(x) is a soft-float library call (compiler-rt's
// __truncsfhf2) per value, and every client's stored gradient is converted every round, so those
// calls would be a visible share of a round.
// F16C converts eight values per instruction; the target attribute enables it for these functions
// only, so the package needs no -march flag and still runs on CPUs without F16C.
#include "chalf.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx,f16c")))
static void float_to_half_f16c(const float *source, uint16_t *target, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i half = _mm256_cvtps_ph(_mm256_loadu_ps(source + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(target + i), half);
    }
    for (; i < count; i++) {
        __m128i half = _mm_cvtps_ph(_mm_set_ss(source[i]), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        target[i] = (uint16_t)_mm_extract_epi16(half, 0);
    }
}

__attribute__((target("avx,f16c")))
static void half_to_float_f16c(const uint16_t *source, float *target, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(target + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(source + i))));
    }
    for (; i < count; i++) {
        target[i] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(source[i])));
    }
}

static int has_f16c(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
    }
    return known;
}
#endif

int lips_half_uses_f16c(void) {
#if defined(__x86_64__) || defined(__i386__)
    return has_f16c();
#else
    return 0;
#endif
}

void lips_float_to_half(const float *source, uint16_t *target, size_t count) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_f16c()) { float_to_half_f16c(source, target, count); return; }
#endif
    for (size_t i = 0; i < count; i++) {
        _Float16 h = (_Float16)source[i];
        __builtin_memcpy(target + i, &h, sizeof h);
    }
}

void lips_half_to_float(const uint16_t *source, float *target, size_t count) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_f16c()) { half_to_float_f16c(source, target, count); return; }
#endif
    for (size_t i = 0; i < count; i++) {
        _Float16 h;
        __builtin_memcpy(&h, source + i, sizeof h);
        target[i] = (float)h;
    }
}
