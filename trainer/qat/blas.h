// Row-major GEMM through OpenBLAS (float: sgemm, double: dgemm for the gradient checks). OpenBLAS
// runs single-threaded; with a pool, the output is split into one slab of rows (or columns) per
// pool thread, each multiplied by its own sgemm call, so OpenBLAS's threads never spin against
// the pool's and the result does not depend on anything but the thread count.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace sherry::train {

// C (m × n) = alpha · op(A) · op(B) + beta · C, row-major; op(X) = Xᵀ when trans_x.
template <class Real>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, Real alpha, const Real* a,
          int64_t lda, const Real* b, int64_t ldb, Real beta, Real* c, int64_t ldc,
          ThreadPool* pool = nullptr);

// Keeps OpenBLAS on the calling thread (its own threads idle): the trainer calls it once.
void use_single_threaded_blas();

}  // namespace sherry::train
