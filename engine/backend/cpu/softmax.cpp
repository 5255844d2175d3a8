// Row softmax over the last dimension and its backward (dx = y * (dy - sum(dy * y))).
#include <cmath>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {

void softmax_forward(float* y, const float* x, int64_t rows, int cols) {
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float mx = -INFINITY;
      for (int c = 0; c < cols; ++c) mx = std::fmax(mx, xr[c]);
      if (mx == -INFINITY) {  // an all -inf row: define as zeros rather than NaN
        for (int c = 0; c < cols; ++c) yr[c] = 0.0f;
        continue;
      }
      double s = 0.0;
      for (int c = 0; c < cols; ++c) s += std::exp(static_cast<double>(xr[c]) - mx);
      for (int c = 0; c < cols; ++c)
        yr[c] = static_cast<float>(std::exp(static_cast<double>(xr[c]) - mx) / s);
    }
  });
}

void softmax_backward(float* dx, const float* dy, const float* y, int64_t rows, int cols) {
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* dyr = dy + r * cols;
      const float* yr = y + r * cols;
      double dot = 0.0;
      for (int c = 0; c < cols; ++c) dot += static_cast<double>(dyr[c]) * yr[c];
      for (int c = 0; c < cols; ++c)
        dx[r * cols + c] = static_cast<float>(yr[c] * (dyr[c] - dot));
    }
  });
}

}  // namespace lw::cpu
