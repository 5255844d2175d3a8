// What the decode kernel files (decode_kernels.cu, decode_gemv.cu) share: programmatic
// dependent launch (Hopper's griddepcontrol: a kernel lets its successor start at once and
// waits for its predecessor only before touching activations), the launcher that sets it,
// device attributes read once, and the streaming 16-byte weight load.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/decode_kernels.h"

namespace lw::cuda::decode::detail {

inline int device_attr(cudaDeviceAttr attr) {
  int dev = 0, v = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&v, attr, dev);
  return v;
}
inline int num_sms() {
  static const int n = device_attr(cudaDevAttrMultiProcessorCount);
  return n > 0 ? n : 1;
}
inline size_t smem_optin() {
  static const size_t n = static_cast<size_t>(device_attr(cudaDevAttrMaxSharedMemoryPerBlockOptin));
  return n > 0 ? n : 48 * 1024;
}

// An L2 policy for weight loads: evict-first when each weight is read once per step (so the
// KV cache and activations stay in L2 across steps), normal when chunks of a batch re-read it.
__device__ __forceinline__ uint64_t weight_policy(bool read_once) {
  uint64_t pol;
  if (read_once)
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
  else
    asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;" : "=l"(pol));
  return pol;
}

// Weights: kept out of L1, L2 asked for whole 256-byte sectors (the next lanes' packets), as
// a streaming copy does.
__device__ __forceinline__ uint4 ld_stream(const void* p, uint64_t policy) {
  uint4 r;
  asm volatile(
      "ld.global.nc.L1::no_allocate.L2::cache_hint.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4], %5;"
      : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
      : "l"(p), "l"(policy));
  return r;
}

// Stamp `i` of this block in its launch's trace slot (decode_kernels.h; null: tracing off).
__device__ __forceinline__ void trace_stamp(uint64_t* trace, int i) {
  if (!trace || threadIdx.x != 0) return;
  const unsigned blk = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  if (blk >= static_cast<unsigned>(kTraceBlocks)) return;
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  trace[blk * kTraceStamps + i] = t;
}

// LW_DECODE_PDL=0 launches every kernel in plain stream order (to measure what overlap gains).
inline bool pdl_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("LW_DECODE_PDL");
    return !(v && std::string(v) == "0");
  }();
  return on;
}

// Launches `kernel` allowed to overlap the tail of the previous kernel in the stream, in
// clusters of `cluster_x` blocks along x when above 1 (Hopper).
template <typename... KArgs, typename... Args>
Status launch_dependent_clustered(int cluster_x, void (*kernel)(KArgs...), dim3 grid, dim3 block,
                                  size_t smem, cudaStream_t stream, Args... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[2];
  unsigned n = 0;
  if (pdl_enabled()) {
    attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[n].val.programmaticStreamSerializationAllowed = 1;
    ++n;
  }
  if (cluster_x > 1) {
    attr[n].id = cudaLaunchAttributeClusterDimension;
    attr[n].val.clusterDim.x = static_cast<unsigned>(cluster_x);
    attr[n].val.clusterDim.y = 1;
    attr[n].val.clusterDim.z = 1;
    ++n;
  }
  cfg.attrs = attr;
  cfg.numAttrs = n;
  LW_CUDA_TRY(cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...));
  return Status::ok();
}
template <typename... KArgs, typename... Args>
Status launch_dependent(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                        cudaStream_t stream, Args... args) {
  return launch_dependent_clustered(1, kernel, grid, block, smem, stream, args...);
}

}  // namespace lw::cuda::decode::detail
