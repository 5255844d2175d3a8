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

// Keep flags of VEC consecutive stream positions c0.. (c0 % 4 == S): one Philox block
// serves four positions, so 8 elements cost 2 or 3 blocks instead of 8 (the generator is
// the kernel's whole cost; the memory traffic is a copy).
template <int S, int VEC>
__device__ __forceinline__ void keep_flags(bool (&keep)[VEC], uint64_t c0, const DropoutOp& op) {
  constexpr int NB = (S + VEC + 3) / 4;
  const uint64_t blk = c0 >> 2;
  Philox4 r[NB];
#pragma unroll
  for (int b = 0; b < NB; ++b) {
    const uint64_t k = blk + b;
    r[b] = philox4x32_10(Philox4{{static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32), 0u, 0u}},
                         static_cast<uint32_t>(op.seed), static_cast<uint32_t>(op.seed >> 32));
  }
#pragma unroll
  for (int e = 0; e < VEC; ++e) keep[e] = bits_to_uniform(r[(S + e) >> 2].v[(S + e) & 3]) >= op.p;
}

// y = dropout(x) on 16-byte packets (n a multiple of the packet, both pointers aligned).
template <typename T>
__global__ void dropout_packets(T* y, const T* x, int64_t npk, DropoutOp op) {
  constexpr int V = Packet<T>::kN;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < npk; i += stride) {
    const Packet<T> in = reinterpret_cast<const Packet<T>*>(x)[i];
    const uint64_t c0 = op.offset + static_cast<uint64_t>(i) * V;
    bool keep[V];
    switch (c0 & 3) {
      case 0: keep_flags<0, V>(keep, c0, op); break;
      case 1: keep_flags<1, V>(keep, c0, op); break;
      case 2: keep_flags<2, V>(keep, c0, op); break;
      default: keep_flags<3, V>(keep, c0, op); break;
    }
    Packet<T> out;
#pragma unroll
    for (int e = 0; e < V; ++e) out.v[e] = from_f<T>(keep[e] ? to_f(in.v[e]) * op.keep_scale : 0.f);
    reinterpret_cast<Packet<T>*>(y)[i] = out;
  }
}

Status dropout(DType dtype, void* y, const void* x, int64_t n, float p, uint64_t seed,
               uint64_t offset, cudaStream_t stream) {
  LW_CHECK(p >= 0.f && p <= 1.f, "dropout: probability p = " + std::to_string(p) +
                                     " is outside [0, 1]");
  const DropoutOp op{p, p < 1.f ? 1.f / (1.f - p) : 0.f, seed, offset};
  LW_DISPATCH_FLOAT(dtype, "dropout", {
    constexpr int V = Packet<T>::kN;
    if (n > 0 && n % V == 0 && aligned16(x) && aligned16(y)) {
      dropout_packets<T><<<grid_for(n / V, 256), 256, 0, stream>>>(
          static_cast<T*>(y), static_cast<const T*>(x), n / V, op);
      LW_CUDA_LAUNCH_CHECK();
      return Status::ok();
    }
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
