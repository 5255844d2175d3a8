// Inverted dropout from the counter-based Philox generator (engine/core/rng.h):
// element i is kept iff philox_uniform(seed, offset + i) >= p, exactly as the CPU
// kernel decides, so both backends draw the same mask; backward regenerates it
// instead of storing it.
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"
#include "engine/core/rng.h"

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

struct DropoutOp {  // in: x (or dy)
  float p, keep_scale;
  uint64_t seed, offset;
  __device__ void operator()(const float (&i)[1], float (&o)[1], int64_t k) const {
    const bool keep = philox_uniform(seed, offset + static_cast<uint64_t>(k)) >= p;
    o[0] = keep ? i[0] * keep_scale : 0.f;
  }
};

Status dropout(DType dtype, void* y, const void* x, int64_t n, float p, uint64_t seed,
               uint64_t offset, cudaStream_t stream) {
  LW_CHECK(p >= 0.f && p <= 1.f, "dropout: probability p = " + std::to_string(p) +
                                     " is outside [0, 1]");
  const DropoutOp op{p, p < 1.f ? 1.f / (1.f - p) : 0.f, seed, offset};
  LW_DISPATCH_FLOAT(dtype, "dropout", {
    MapPtrs<T, 1, 1> ptrs{{static_cast<const T*>(x)}, {static_cast<T*>(y)}};
    return launch_map(ptrs, n, op, stream);
  });
  return Status::ok();
}

}  // namespace

// ============================== launchers ============================================
Status dropout_forward(DType dtype, void* y, const void* x, int64_t n, float p, uint64_t seed,
                       uint64_t offset, cudaStream_t stream) {
  return dropout(dtype, y, x, n, p, seed, offset, stream);
}

Status dropout_backward(DType dtype, void* dx, const void* dy, int64_t n, float p, uint64_t seed,
                        uint64_t offset, cudaStream_t stream) {
  return dropout(dtype, dx, dy, n, p, seed, offset, stream);
}

}  // namespace lw::cuda
