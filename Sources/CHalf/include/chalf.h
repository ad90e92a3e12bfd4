#ifndef LIPS_CHALF_H
#define LIPS_CHALF_H
#include <stddef.h>
#include <stdint.h>

/// IEEE binary16 <-> binary32 conversion of whole arrays, round to nearest even: the F16C
/// instructions where the CPU has them (chosen once at run time, no build flags), else the
/// compiler's own conversion. Both give the same bits for every non-NaN value.
void lips_float_to_half(const float *source, uint16_t *target, size_t count);
void lips_half_to_float(const uint16_t *source, float *target, size_t count);
/// 1 when the two functions above use F16C on this CPU (recorded in a run's provenance), else 0.
int lips_half_uses_f16c(void);

#endif
