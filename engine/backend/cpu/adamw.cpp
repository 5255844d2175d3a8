// One AdamW step with torch.optim.AdamW's exact order of operations (single-tensor
// path): decay, lerp of the first moment, second moment, bias-corrected update with
// eps added after the square root. Scalars are formed in double as Python does.
#include <cmath>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                float beta1, float beta2, float eps, float weight_decay, int t, float grad_scale) {
  double bc1 = 1.0 - std::pow(static_cast<double>(beta1), t);
  double bc2 = 1.0 - std::pow(static_cast<double>(beta2), t);
  float decay = static_cast<float>(1.0 - static_cast<double>(lr) * weight_decay);
  float step_size = static_cast<float>(lr / bc1);
  float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  float w1 = 1.0f - beta1, w2 = 1.0f - beta2;
  parallel_for(n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float g = grad[i] * grad_scale;
      float p = param[i] * decay;
      m[i] = m[i] + w1 * (g - m[i]);  // torch lerp_ with weight < 0.5
      v[i] = v[i] * beta2 + w2 * g * g;
      float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
      param[i] = p - step_size * (m[i] / denom);
    }
  });
}

}  // namespace lw::cpu
