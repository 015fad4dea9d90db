// Which OpenBLAS kernels run reel's GEMMs, for reports (reel-bench, tests).
//
// A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernel table from cpuid when it
// loads, unless OPENBLAS_CORETYPE names one. reel leaves that choice alone,
// but says which table runs: on an AVX-512 CPU an environment that forces an
// AVX2 table ("Haswell") makes every GEMM about 1.6x slower (measured in
// docs/benchmarks.md), which is worth telling whoever reads a benchmark.
#include "reel_kernels.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char *openblas_get_corename(void);

const char *reel_blas_core(void) { return openblas_get_corename(); }

const char *reel_blas_core_from_environment(void) {
    const char *name = getenv("OPENBLAS_CORETYPE");
    return name && *name ? name : NULL;
}

int reel_blas_core_is_avx512(void) {
    static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
    const char *name = reel_blas_core();
    for (size_t i = 0; i < sizeof(avx512) / sizeof(avx512[0]); i++)
        if (name && strcasecmp(name, avx512[i]) == 0) return 1;
    return 0;
}
