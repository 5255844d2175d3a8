// GEMM through OpenBLAS (cblas_sgemm, row-major), one call per batch entry, plus
// the bias add / bias gradient that go with a linear layer.
#include <cblas.h>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          int64_t stride_a, const float* B, int ldb, int64_t stride_b, float beta, float* C,
          int ldc, int64_t stride_c, int batch) {
  for (int b = 0; b < batch; ++b) {
    float* c = C + b * stride_c;
    if (K == 0) {  // BLAS may skip the beta scale when K == 0; be explicit
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      continue;
    }
    if (M == 1) {
      // One row (a decode step): GEMV reads B once; OpenBLAS 0.3.21's sgemm would pack all
      // of B first (measured 2.7x slower at 1 x 768 x 50257).
      const float* a = A + b * stride_a;
      const int inc_a = trans_a ? lda : 1;
      if (beta == 0.0f)  // C may be uninitialised memory: never let a NaN there leak through
        for (int j = 0; j < N; ++j) c[j] = 0.0f;
      if (trans_b)  // c = alpha * B[N,K] a + beta c
        cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B + b * stride_b, ldb, a, inc_a,
                    beta, c, 1);
      else  // c = alpha * B[K,N]^T a + beta c
        cblas_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B + b * stride_b, ldb, a, inc_a,
                    beta, c, 1);
      continue;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A + b * stride_a, lda,
                B + b * stride_b, ldb, beta, c, ldc);
  }
}

void add_bias(float* y, const float* bias, int64_t rows, int C) {
  parallel_for(rows, 4096 / (C + 1) + 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int c = 0; c < C; ++c) y[r * C + c] += bias[c];
  });
}

void bias_backward(float* dbias, const float* dy, int64_t rows, int C) {
  // Column sums in double, split over columns so each thread owns its outputs.
  parallel_for(C, 16, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0.0;
      for (int64_t r = 0; r < rows; ++r) s += dy[r * C + c];
      dbias[c] += static_cast<float>(s);
    }
  });
}

}  // namespace lw::cpu
