#include "trainer/qat/blas.h"

#include <cblas.h>

#include <algorithm>

namespace sherry::train {
namespace {

// Below this many multiply-adds a GEMM runs on the calling thread alone.
constexpr double kSplitThreshold = 1 << 20;
// Slab boundaries are multiples of this many rows / columns (whole register tiles).
constexpr int64_t kSlabAlign = 32;

void blas_call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void blas_call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace

template <class Real>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, Real alpha, const Real* a,
          int64_t lda, const Real* b, int64_t ldb, Real beta, Real* c, int64_t ldc,
          ThreadPool* pool) {
  const int parts = pool == nullptr ? 1 : pool->size();
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (parts == 1 || work < kSplitThreshold || std::max(m, n) < 2 * kSlabAlign) {
    blas_call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const bool split_rows = m >= n;
  const int64_t extent = split_rows ? m : n;
  const int64_t per_part = (extent + parts - 1) / parts;
  const int64_t grain = (per_part + kSlabAlign - 1) / kSlabAlign * kSlabAlign;
  pool->parallel_for(extent, grain, [&](int64_t begin, int64_t end, int) {
    if (split_rows) {
      // Rows begin..end of op(A) and C.
      const Real* a_part = trans_a ? a + begin : a + begin * lda;
      blas_call(trans_a, trans_b, end - begin, n, k, alpha, a_part, lda, b, ldb, beta,
                c + begin * ldc, ldc);
    } else {
      // Columns begin..end of op(B) and C.
      const Real* b_part = trans_b ? b + begin * ldb : b + begin;
      blas_call(trans_a, trans_b, m, end - begin, k, alpha, a, lda, b_part, ldb, beta, c + begin,
                ldc);
    }
  });
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t, ThreadPool*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t, ThreadPool*);

void use_single_threaded_blas() {
  openblas_set_num_threads(1);
}

}  // namespace sherry::train
