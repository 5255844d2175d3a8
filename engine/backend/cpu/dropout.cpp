// Inverted dropout with Philox masks: element i's fate depends only on
// (seed, offset + i), so the CUDA kernel, the backward pass and a rerun agree.
#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"
#include "engine/core/rng.h"

namespace lw::cpu {
namespace {

void apply_mask(float* y, const float* x, int64_t n, float p, uint64_t seed, uint64_t offset) {
  float scale = 1.0f / (1.0f - p);
  parallel_for(n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      bool keep = philox_uniform(seed, offset + static_cast<uint64_t>(i)) >= p;
      y[i] = keep ? x[i] * scale : 0.0f;
    }
  });
}

}  // namespace

void dropout_forward(float* y, const float* x, int64_t n, float p, uint64_t seed, uint64_t offset) {
  apply_mask(y, x, n, p, seed, offset);
}

void dropout_backward(float* dx, const float* dy, int64_t n, float p, uint64_t seed,
                      uint64_t offset) {
  apply_mask(dx, dy, n, p, seed, offset);
}

}  // namespace lw::cpu
