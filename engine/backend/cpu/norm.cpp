// LayerNorm, the fused residual + LayerNorm, and RMSNorm: forward and backward.
// Row statistics accumulate in double (this is the oracle); parameter gradients
// are reduced per chunk and added in chunk order (deterministic).
#include <cmath>
#include <map>
#include <mutex>
#include <vector>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {
namespace {

void layernorm_rows(float* y, float* mean, float* rstd, const float* x, const float* w,
                    const float* b, int64_t r0, int64_t r1, int C, float eps) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    double s = 0.0;
    for (int c = 0; c < C; ++c) s += xr[c];
    double m = s / C;
    double v = 0.0;
    for (int c = 0; c < C; ++c) v += (xr[c] - m) * (xr[c] - m);
    double rs = 1.0 / std::sqrt(v / C + eps);
    float* yr = y + r * C;
    for (int c = 0; c < C; ++c) yr[c] = static_cast<float>((xr[c] - m) * rs * w[c] + b[c]);
    mean[r] = static_cast<float>(m);
    rstd[r] = static_cast<float>(rs);
  }
}

// Splits rows over threads; each chunk accumulates its own parameter-gradient partials
// (nacc arrays of C doubles). The partials are then added in chunk order, so the result
// is deterministic for a given thread count.
template <typename RowFn>
void rows_with_param_grads(int64_t rows, int C, int nacc, float* const* outs, RowFn row_fn) {
  std::mutex mu;
  std::map<int64_t, std::vector<double>> partials;
  parallel_for(rows, 64, [&](int64_t r0, int64_t r1) {
    std::vector<double> acc(static_cast<size_t>(nacc) * C, 0.0);
    for (int64_t r = r0; r < r1; ++r) row_fn(r, acc.data());
    std::lock_guard<std::mutex> lock(mu);
    partials.emplace(r0, std::move(acc));
  });
  std::vector<double> total(static_cast<size_t>(nacc) * C, 0.0);
  for (auto& [r0, acc] : partials)
    for (size_t i = 0; i < total.size(); ++i) total[i] += acc[i];
  for (int a = 0; a < nacc; ++a)
    for (int c = 0; c < C; ++c) outs[a][c] += static_cast<float>(total[a * C + c]);
}

}  // namespace

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t rows, int C, float eps) {
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    layernorm_rows(y, mean, rstd, x, w, b, r0, r1, C, eps);
  });
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t rows,
                        int C) {
  float* outs[2] = {dw, db};
  rows_with_param_grads(rows, C, 2, outs, [&](int64_t r, double* acc) {
    const float* xr = x + r * C;
    const float* dyr = dy + r * C;
    double m = mean[r], rs = rstd[r];
    // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w.
    double sg = 0.0, sgx = 0.0;
    for (int c = 0; c < C; ++c) {
      double xhat = (xr[c] - m) * rs;
      double g = static_cast<double>(dyr[c]) * w[c];
      sg += g;
      sgx += g * xhat;
      acc[c] += dyr[c] * xhat;
      acc[C + c] += dyr[c];
    }
    sg /= C;
    sgx /= C;
    for (int c = 0; c < C; ++c) {
      double xhat = (xr[c] - m) * rs;
      double g = static_cast<double>(dyr[c]) * w[c];
      dx[r * C + c] = static_cast<float>(rs * (g - sg - xhat * sgx));
    }
  });
}

void residual_layernorm_forward(float* sum, float* y, float* mean, float* rstd, const float* x,
                                const float* residual, const float* w, const float* b,
                                int64_t rows, int C, float eps) {
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * C; i < r1 * C; ++i) sum[i] = x[i] + residual[i];
    layernorm_rows(y, mean, rstd, sum, w, b, r0, r1, C, eps);
  });
}

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int C,
                     float eps) {
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * C;
      double ss = 0.0;
      for (int c = 0; c < C; ++c) ss += static_cast<double>(xr[c]) * xr[c];
      double rs = 1.0 / std::sqrt(ss / C + eps);
      for (int c = 0; c < C; ++c) y[r * C + c] = static_cast<float>(xr[c] * rs * w[c]);
      rstd[r] = static_cast<float>(rs);
    }
  });
}

void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t rows, int C) {
  float* outs[1] = {dw};
  rows_with_param_grads(rows, C, 1, outs, [&](int64_t r, double* acc) {
    const float* xr = x + r * C;
    const float* dyr = dy + r * C;
    double rs = rstd[r];
    // dx = rstd * (g - xhat * mean(g * xhat)), g = dy * w, xhat = x * rstd.
    double sgx = 0.0;
    for (int c = 0; c < C; ++c) {
      double xhat = xr[c] * rs;
      sgx += static_cast<double>(dyr[c]) * w[c] * xhat;
      acc[c] += dyr[c] * xhat;
    }
    sgx /= C;
    for (int c = 0; c < C; ++c) {
      double xhat = xr[c] * rs;
      dx[r * C + c] = static_cast<float>(rs * (static_cast<double>(dyr[c]) * w[c] - xhat * sgx));
    }
  });
}

}  // namespace lw::cpu
