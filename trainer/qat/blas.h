// Row-major GEMM through OpenBLAS (float: sgemm, double: dgemm for the gradient checks).
#pragma once

#include <cstdint>

namespace sherry::train {

// C (m × n) = alpha · op(A) · op(B) + beta · C, row-major; op(X) = Xᵀ when trans_x.
template <class Real>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, Real alpha, const Real* a,
          int64_t lda, const Real* b, int64_t ldb, Real beta, Real* c, int64_t ldc);

// OpenBLAS's own thread count (its threads are separate from core/thread_pool.h's workers; the two
// never run at the same time: GEMMs are only issued from the training thread).
void set_blas_threads(int threads);

}  // namespace sherry::train
