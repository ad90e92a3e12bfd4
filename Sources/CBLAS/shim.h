#ifndef CBLAS_SHIM_H
#define CBLAS_SHIM_H
// Resolved through pkg-config's include path, so the exact OpenBLAS variant's header is used.
#include <cblas.h>
#include <lapacke.h>
#endif
