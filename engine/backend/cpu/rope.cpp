// Rotary position embedding in Hugging Face's rotate_half layout. Frequencies are
// formed in f32 exactly as transformers does (inv_freq = 1 / theta^(2i/D), angle =
// pos * inv_freq, both f32), so our angles match its to the last bit.
#include <cmath>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {
namespace {

// sign = +1 rotates forward, -1 rotates back (the backward of a rotation).
void rotate(float* x, int B, int H, int T, int D, const int32_t* positions, float theta,
            float sign) {
  int half = D / 2;
  parallel_for(static_cast<int64_t>(B) * H * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int t = static_cast<int>(r % T);
      int b = static_cast<int>(r / (static_cast<int64_t>(T) * H));
      float pos = static_cast<float>(positions ? positions[static_cast<int64_t>(b) * T + t] : t);
      float* xr = x + r * D;
      for (int i = 0; i < half; ++i) {
        float inv_freq = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(D));
        float angle = pos * inv_freq;
        double c = std::cos(static_cast<double>(angle));
        double s = sign * std::sin(static_cast<double>(angle));
        double x1 = xr[i], x2 = xr[i + half];
        xr[i] = static_cast<float>(x1 * c - x2 * s);
        xr[i + half] = static_cast<float>(x2 * c + x1 * s);
      }
    }
  });
}

}  // namespace

void rope_forward(float* x, int B, int H, int T, int D, const int32_t* positions, float theta) {
  rotate(x, B, H, T, D, positions, theta, 1.0f);
}

void rope_backward(float* dx, int B, int H, int T, int D, const int32_t* positions, float theta) {
  rotate(dx, B, H, T, D, positions, theta, -1.0f);
}

}  // namespace lw::cpu
