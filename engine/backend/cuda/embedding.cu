// Token embedding lookup (a row gather) and its backward (a scatter-add into the
// table), plus rotary position embedding in Hugging Face's rotate_half layout.
// Embedding backward uses atomics: f32 directly, bf16/f16 with packed half2-style
// atomics (order of additions, hence the last bits, may vary from run to run).
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"
#include "engine/backend/cuda/device_errors.cuh"

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

// One block row per token; ids outside [0, V) leave the row zero and are reported to `rec`
// (the op layer turns the record into its Status).
template <typename T>
__global__ void embedding_fwd_kernel(T* y, const T* table, const int32_t* ids, int64_t n, int C,
                                     int V, DeviceErrorRecord* rec, unsigned site) {
  for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
    const int id = ids[r];
    const bool ok = id >= 0 && (V <= 0 || id < V);
    if (!ok && threadIdx.x == 0) record_device_error(rec, site, r, id);
    for (int c = threadIdx.x; c < C; c += blockDim.x)
      y[r * C + c] = ok ? table[static_cast<int64_t>(id) * C + c] : from_f<T>(0.f);
  }
}

__device__ __forceinline__ void atomic_add_val(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add_val(__nv_bfloat16* p, float v) {
  atomicAdd(p, __float2bfloat16_rn(v));
}
__device__ __forceinline__ void atomic_add_val(__half* p, float v) { atomicAdd(p, __float2half_rn(v)); }

template <typename T>
__global__ void embedding_bwd_kernel(T* dtable, const T* dy, const int32_t* ids, int64_t n, int C,
                                     int V, DeviceErrorRecord* rec, unsigned site) {
  for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
    const int id = ids[r];
    if (id < 0 || id >= V) {
      if (threadIdx.x == 0) record_device_error(rec, site, r, id);
      continue;
    }
    for (int c = threadIdx.x; c < C; c += blockDim.x)
      atomic_add_val(dtable + static_cast<int64_t>(id) * C + c, to_f(dy[r * C + c]));
  }
}

// x [B,H,T,D] in place; one thread per rotated pair (i, i + D/2). sign = -1 for backward.
template <typename T>
__global__ void rope_kernel(T* x, int B, int H, int T_, int D, const int32_t* positions,
                            float theta, float sign) {
  const int half = D / 2;
  const int64_t total = static_cast<int64_t>(B) * H * T_ * half;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(k % half);
    const int64_t row = k / half;  // (b, h, t)
    const int t = static_cast<int>(row % T_);
    const int b = static_cast<int>(row / (static_cast<int64_t>(T_) * H));
    const float pos = positions ? static_cast<float>(positions[static_cast<int64_t>(b) * T_ + t])
                                : static_cast<float>(t);
    const float inv_freq = 1.f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(D));
    float sn, cs;
    sincosf(pos * inv_freq, &sn, &cs);
    sn *= sign;
    T* p = x + row * D;
    const float x1 = to_f(p[i]), x2 = to_f(p[i + half]);
    p[i] = from_f<T>(x1 * cs - x2 * sn);
    p[i + half] = from_f<T>(x2 * cs + x1 * sn);
  }
}

}  // namespace

// ============================== launchers ============================================
Status embedding_forward(DType dtype, void* y, const void* table, const int32_t* ids, int64_t n,
                         int C, cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "embedding_forward",
    embedding_fwd_kernel<T><<<grid_for(n * 256, 256), 256, 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(table), ids, n, C, 0, nullptr, 0u));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status embedding_forward_checked(DType dtype, void* y, const void* table, const int32_t* ids,
                                 int64_t n, int C, int V, DeviceErrorRecord* rec,
                                 unsigned site, cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "embedding_forward",
    embedding_fwd_kernel<T><<<grid_for(n * 256, 256), 256, 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(table), ids, n, C, V, rec, site));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status embedding_backward(DType dtype, void* dtable, const void* dy, const int32_t* ids,
                          int64_t n, int C, int V, cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "embedding_backward",
    embedding_bwd_kernel<T><<<grid_for(n * 256, 256), 256, 0, stream>>>(
        static_cast<T*>(dtable), static_cast<const T*>(dy), ids, n, C, V, nullptr, 0u));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status embedding_backward_checked(DType dtype, void* dtable, const void* dy, const int32_t* ids,
                                  int64_t n, int C, int V, DeviceErrorRecord* rec, unsigned site,
                                  cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "embedding_backward",
    embedding_bwd_kernel<T><<<grid_for(n * 256, 256), 256, 0, stream>>>(
        static_cast<T*>(dtable), static_cast<const T*>(dy), ids, n, C, V, rec, site));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

static Status rope(DType dtype, void* x, int B, int H, int seq, int D, const int32_t* positions,
                   float theta, float sign, cudaStream_t stream) {
  LW_CHECK(D % 2 == 0, "rope: head size D = " + std::to_string(D) + " must be even");
  const int64_t total = static_cast<int64_t>(B) * H * seq * (D / 2);
  if (total <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "rope",
    rope_kernel<T><<<grid_for(total, 256), 256, 0, stream>>>(static_cast<T*>(x), B, H, seq, D,
                                                             positions, theta, sign));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status rope_forward(DType dtype, void* x, int B, int H, int T, int D, const int32_t* positions,
                    float theta, cudaStream_t stream) {
  return rope(dtype, x, B, H, T, D, positions, theta, 1.f, stream);
}

Status rope_backward(DType dtype, void* dx, int B, int H, int T, int D,
                     const int32_t* positions, float theta, cudaStream_t stream) {
  return rope(dtype, dx, B, H, T, D, positions, theta, -1.f, stream);
}

}  // namespace lw::cuda
