// Cross-entropy over logits with ignore_index and label smoothing (PyTorch's
// definition), and its gradient softmax - target distribution.
#include <cmath>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {

void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                           int64_t N, int V, int ignore_index, float label_smoothing) {
  parallel_for(N, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * V;
      float mx = -INFINITY;
      double sum_x = 0.0;
      for (int v = 0; v < V; ++v) {
        mx = std::fmax(mx, x[v]);
        sum_x += x[v];
      }
      // f32 exponentials (the vocabulary is the hot loop), summed in double.
      double s = 0.0;
      for (int v = 0; v < V; ++v) s += std::exp(x[v] - mx);
      double l = mx + std::log(s);
      lse[r] = static_cast<float>(l);
      int t = targets[r];
      if (t == ignore_index) {
        losses[r] = 0.0f;
        continue;
      }
      double nll = l - x[t];
      double smooth = l - sum_x / V;  // mean over v of -log p_v
      losses[r] = static_cast<float>((1.0 - label_smoothing) * nll + label_smoothing * smooth);
    }
  });
}

void cross_entropy_backward(float* dlogits, const float* logits, const float* lse,
                            const int32_t* targets, int64_t N, int V, int ignore_index,
                            float label_smoothing, float grad_scale) {
  parallel_for(N, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* d = dlogits + r * V;
      int t = targets[r];
      if (t == ignore_index) {
        for (int v = 0; v < V; ++v) d[v] = 0.0f;
        continue;
      }
      const float* x = logits + r * V;
      float l = lse[r];
      float uniform = label_smoothing / static_cast<float>(V);
      for (int v = 0; v < V; ++v) d[v] = grad_scale * (std::exp(x[v] - l) - uniform);
      d[t] -= grad_scale * (1.0f - label_smoothing);
    }
  });
}

}  // namespace lw::cpu
