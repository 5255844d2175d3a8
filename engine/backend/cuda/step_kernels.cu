// Small kernels that keep a training step on the device, so that it needs no host read and
// can be captured into a CUDA graph: the cross-entropy mean (with the row count and the
// non-finite check), position ids and shifted labels built on the GPU, and gradient clipping
// with the norm and the factor left in device memory.
#include <algorithm>

#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"
#include "engine/backend/cuda/device_errors.cuh"

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

constexpr int kReduceThreads = 1024;

// One block: each thread sums a strided set of rows in double, then a fixed-order tree, so
// the mean is the same every run.
__global__ void __launch_bounds__(kReduceThreads)
    ce_reduce_kernel(float* stats, const float* losses, const int32_t* targets, int64_t N, int V,
                     int ignore_index, DeviceErrorRecord* rec, unsigned nan_site) {
  __shared__ double s_sum[kReduceThreads];
  __shared__ long long s_cnt[kReduceThreads];
  double sum = 0.0;
  long long cnt = 0;
  for (int64_t r = threadIdx.x; r < N; r += blockDim.x) {
    const float l = losses[r];
    if (!isfinite(l)) {
      record_device_error(rec, nan_site, r, __float_as_int(l));
      sum += static_cast<double>(l);
      continue;
    }
    const int t = targets[r];
    if (t != ignore_index && t >= 0 && t < V) {
      sum += static_cast<double>(l);
      ++cnt;
    }
  }
  s_sum[threadIdx.x] = sum;
  s_cnt[threadIdx.x] = cnt;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) {
      s_sum[threadIdx.x] += s_sum[threadIdx.x + w];
      s_cnt[threadIdx.x] += s_cnt[threadIdx.x + w];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const long long c = s_cnt[0];
    stats[0] = c > 0 ? static_cast<float>(s_sum[0] / static_cast<double>(c))
                     : (isfinite(s_sum[0]) ? 0.f : static_cast<float>(s_sum[0]));
    stats[1] = static_cast<float>(c);
    stats[2] = c > 0 ? static_cast<float>(1.0 / static_cast<double>(c)) : 0.f;
  }
}

__global__ void iota_kernel(int32_t* y, int64_t n, int32_t start, int32_t step, int64_t period) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = start + step * static_cast<int32_t>(period > 0 ? i % period : i);
}

__global__ void shift_left_kernel(int32_t* y, const int32_t* x, int64_t B, int64_t T, int32_t fill) {
  const int64_t n = B * T;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = (i % T) + 1 < T ? x[i + 1] : fill;
}

template <typename T>
__global__ void scale_dev_kernel(T* x, int64_t n, const float* s) {
  const float f = *s;
  if (f == 1.f) return;  // the common unclipped step: nothing to write
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = from_f<T>(to_f(x[i]) * f);
}

// Many tensors per launch (pointers travel as kernel parameters): every block walks every
// tensor with a grid stride, so a model's ~200 gradients take one launch, not 200.
constexpr int kMultiMax = 128;
struct MultiSpans {
  void* p[kMultiMax];
  int64_t n[kMultiMax];
  int count;
};

template <typename T>
__global__ void sum_squares_multi_kernel(float* out, const __grid_constant__ MultiSpans ms) {
  __shared__ float scratch[32];
  float acc = 0.f;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int k = 0; k < ms.count; ++k) {
    const T* x = static_cast<const T*>(ms.p[k]);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < ms.n[k]; i += stride) {
      const float v = to_f(x[i]);
      acc += v * v;
    }
  }
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) atomicAdd(out, acc);
}

template <typename T>
__global__ void scale_multi_kernel(const __grid_constant__ MultiSpans ms, const float* s) {
  const float f = *s;
  if (f == 1.f) return;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int k = 0; k < ms.count; ++k) {
    T* x = static_cast<T*>(ms.p[k]);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < ms.n[k]; i += stride)
      x[i] = from_f<T>(to_f(x[i]) * f);
  }
}

// Calls launch(spans, total elements) for each group of up to kMultiMax non-empty tensors.
template <typename F>
Status for_span_groups(void* const* ptrs, const int64_t* ns, int count, F&& launch) {
  int next = 0;
  while (next < count) {
    MultiSpans ms{};
    int64_t total = 0;
    for (; next < count && ms.count < kMultiMax; ++next) {
      if (ns[next] <= 0) continue;
      ms.p[ms.count] = ptrs[next];
      ms.n[ms.count++] = ns[next];
      total += ns[next];
    }
    if (ms.count > 0) LW_TRY(launch(ms, total));
  }
  return Status::ok();
}

__global__ void clip_norm_coef_kernel(float* out, const float* sumsq, float max_norm) {
  const double norm = sqrt(static_cast<double>(*sumsq));
  out[0] = static_cast<float>(norm);
  const double coef = static_cast<double>(max_norm) / (norm + 1e-6);
  out[1] = isfinite(norm) && coef < 1.0 ? static_cast<float>(coef) : 1.f;
}

}  // namespace

// ============================== launchers ============================================
Status cross_entropy_reduce(float* stats, const float* losses, const int32_t* targets, int64_t N,
                            int V, int ignore_index, DeviceErrorRecord* rec, unsigned nan_site,
                            cudaStream_t stream) {
  ce_reduce_kernel<<<1, kReduceThreads, 0, stream>>>(stats, losses, targets, N, V, ignore_index,
                                                     rec, nan_site);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status iota_i32(int32_t* y, int64_t n, int32_t start, int32_t step, int64_t period,
                cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  iota_kernel<<<grid_for(n, 256), 256, 0, stream>>>(y, n, start, step, period);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status shift_left_i32(int32_t* y, const int32_t* x, int64_t B, int64_t T, int32_t fill,
                      cudaStream_t stream) {
  if (B * T <= 0) return Status::ok();
  shift_left_kernel<<<grid_for(B * T, 256), 256, 0, stream>>>(y, x, B, T, fill);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status scale_by_device(DType dtype, void* x, int64_t n, const float* s, cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "scale_by_device",
    scale_dev_kernel<T><<<grid_for(n, 256), 256, 0, stream>>>(static_cast<T*>(x), n, s));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status sum_squares_multi(DType dtype, float* out, void* const* ptrs, const int64_t* ns, int count,
                         cudaStream_t stream) {
  return for_span_groups(ptrs, ns, count, [&](const MultiSpans& ms, int64_t total) -> Status {
    const unsigned grid = std::min(grid_for(total, 512), 132u * 4);
    LW_DISPATCH_FLOAT(dtype, "sum_squares_multi",
                      sum_squares_multi_kernel<T><<<grid, 512, 0, stream>>>(out, ms));
    LW_CUDA_LAUNCH_CHECK();
    return Status::ok();
  });
}

Status scale_by_device_multi(DType dtype, void* const* ptrs, const int64_t* ns, int count,
                             const float* s, cudaStream_t stream) {
  return for_span_groups(ptrs, ns, count, [&](const MultiSpans& ms, int64_t total) -> Status {
    const unsigned grid = std::min(grid_for(total, 256), 132u * 8);
    LW_DISPATCH_FLOAT(dtype, "scale_by_device_multi",
                      scale_multi_kernel<T><<<grid, 256, 0, stream>>>(ms, s));
    LW_CUDA_LAUNCH_CHECK();
    return Status::ok();
  });
}

Status clip_norm_coef(float* out, const float* sumsq, float max_norm, cudaStream_t stream) {
  clip_norm_coef_kernel<<<1, 1, 0, stream>>>(out, sumsq, max_norm);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace lw::cuda
