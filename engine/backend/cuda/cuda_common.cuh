// Device-side helpers shared by the CUDA kernel files: storage-type conversion
// (f32 / bf16 / f16 stored, f32 computed), the dtype dispatch used by every
// launcher, warp and block reductions, and a vectorised elementwise "map" that
// moves 16 bytes per thread access (what memory-bound kernels need on Hopper).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "engine/backend/cuda/cuda_check.h"
#include "engine/core/dtype.h"
#include "engine/core/status.h"

namespace lw::cuda {

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }

template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half_rn(x); }

inline Status unsupported_dtype(DType dtype, const char* op) {
  return unsupported(std::string(op) + ": CUDA kernel has no path for dtype " +
                     dtype_name(dtype) + " (f32, bf16, f16 are supported)");
}

// Runs the statement with T bound to the storage type of `dtype`.
#define LW_DISPATCH_FLOAT(dtype, op, ...)                            \
  switch (dtype) {                                                   \
    case ::lw::DType::kF32: { using T = float; __VA_ARGS__; break; } \
    case ::lw::DType::kBF16: { using T = __nv_bfloat16; __VA_ARGS__; break; } \
    case ::lw::DType::kF16: { using T = __half; __VA_ARGS__; break; } \
    default: return ::lw::cuda::unsupported_dtype(dtype, op);        \
  }

// Programmatic dependent launch (Hopper's griddepcontrol): a kernel lets the next kernel in
// its stream be scheduled before it ends, and that kernel waits for it (completion and
// memory) only before reading what it wrote. No-ops below sm_90.
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// cp.async groups (Ampere+): close the copies issued so far into a group; wait until at most
// N groups are still in flight.
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Sum over the block; every thread gets the result. `scratch` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nwarps ? scratch[lane] : 0.f;
  return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nwarps ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

// 16-byte packets of storage values.
template <typename T>
struct alignas(16) Packet {
  static constexpr int kN = 16 / sizeof(T);
  T v[kN];
};

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Grid for a grid-stride loop over `work` items with `threads` per block.
inline unsigned grid_for(int64_t work, int threads) {
  int64_t blocks = (work + threads - 1) / threads;
  const int64_t cap = 132 * 32;  // enough blocks to fill every SM many times over
  if (blocks > cap) blocks = cap;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

// Multiprocessors of the current device (cached per device), for grids of one resident wave.
inline int sm_count() {
  static std::atomic<int> cache[64];
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64) return 132;
  int n = cache[dev].load(std::memory_order_relaxed);
  if (n == 0) {
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n <= 0) n = 132;
    cache[dev].store(n, std::memory_order_relaxed);
  }
  return n;
}

// Raises a kernel's dynamic shared-memory limit to at least `bytes` (needed when they and
// the kernel's static shared memory pass 48 KB: the default limit is 48 KB less the static).
// Remembers what was set, so a warmed-up launcher makes no such call again: the first
// call is a host-side attribute change, later launches stay pure stream work (graphs).
inline Status allow_smem(const void* kernel, size_t bytes) {
  if (bytes <= 24 * 1024) return Status::ok();  // fits beside any static share here (<= 16 KB)
  static std::mutex mu;
  static std::map<const void*, size_t> granted;
  std::lock_guard<std::mutex> lock(mu);
  auto it = granted.find(kernel);
  if (it == granted.end()) {
    cudaFuncAttributes attr{};
    LW_CUDA_TRY(cudaFuncGetAttributes(&attr, kernel));
    const size_t by_default = 48 * 1024 > attr.sharedSizeBytes ? 48 * 1024 - attr.sharedSizeBytes : 0;
    it = granted.emplace(kernel, by_default).first;
  }
  if (it->second >= bytes) return Status::ok();
  LW_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(bytes)));
  it->second = bytes;
  return Status::ok();
}

// y_j[i] = f(x_0[i], ..., index i) over n elements: NIN inputs, NOUT outputs, all of
// storage type T. F is a functor: void operator()(const float (&in)[NIN], float (&out)[NOUT], int64_t i).
template <typename T, int NIN, int NOUT>
struct MapPtrs {
  const T* in[NIN > 0 ? NIN : 1];
  T* out[NOUT];
};

template <typename T, int NIN, int NOUT, int VEC, typename F>
__global__ void map_kernel(MapPtrs<T, NIN, NOUT> p, int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t nvec = n / VEC;
  for (int64_t iv = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; iv < nvec;
       iv += stride) {
    float in[VEC][NIN > 0 ? NIN : 1];
#pragma unroll
    for (int a = 0; a < NIN; ++a) {
      if constexpr (VEC * sizeof(T) == 16) {
        Packet<T> pk = reinterpret_cast<const Packet<T>*>(p.in[a])[iv];
#pragma unroll
        for (int e = 0; e < VEC; ++e) in[e][a] = to_f(pk.v[e]);
      } else {
#pragma unroll
        for (int e = 0; e < VEC; ++e) in[e][a] = to_f(p.in[a][iv * VEC + e]);
      }
    }
    float out[VEC][NOUT];
#pragma unroll
    for (int e = 0; e < VEC; ++e) {
      float ie[NIN > 0 ? NIN : 1];
#pragma unroll
      for (int a = 0; a < NIN; ++a) ie[a] = in[e][a];
      float oe[NOUT];
      f(ie, oe, iv * VEC + e);
#pragma unroll
      for (int b = 0; b < NOUT; ++b) out[e][b] = oe[b];
    }
#pragma unroll
    for (int b = 0; b < NOUT; ++b) {
      if constexpr (VEC * sizeof(T) == 16) {
        Packet<T> pk;
#pragma unroll
        for (int e = 0; e < VEC; ++e) pk.v[e] = from_f<T>(out[e][b]);
        reinterpret_cast<Packet<T>*>(p.out[b])[iv] = pk;
      } else {
#pragma unroll
        for (int e = 0; e < VEC; ++e) p.out[b][iv * VEC + e] = from_f<T>(out[e][b]);
      }
    }
  }
  // tail (n not a multiple of VEC)
  for (int64_t i = nvec * VEC + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       i < n; i += stride) {
    float ie[NIN > 0 ? NIN : 1], oe[NOUT];
#pragma unroll
    for (int a = 0; a < NIN; ++a) ie[a] = to_f(p.in[a][i]);
    f(ie, oe, i);
#pragma unroll
    for (int b = 0; b < NOUT; ++b) p.out[b][i] = from_f<T>(oe[b]);
  }
}

// Launches map_kernel with 16-byte packets when every pointer allows it.
template <typename T, int NIN, int NOUT, typename F>
Status launch_map(MapPtrs<T, NIN, NOUT> p, int64_t n, F f, cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  bool vec = true;
  for (int a = 0; a < NIN; ++a) vec = vec && aligned16(p.in[a]);
  for (int b = 0; b < NOUT; ++b) vec = vec && aligned16(p.out[b]);
  constexpr int V = 16 / sizeof(T);
  const int threads = 256;
  if (vec) {
    map_kernel<T, NIN, NOUT, V><<<grid_for(n / V + 1, threads), threads, 0, stream>>>(p, n, f);
  } else {
    map_kernel<T, NIN, NOUT, 1><<<grid_for(n, threads), threads, 0, stream>>>(p, n, f);
  }
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace lw::cuda
