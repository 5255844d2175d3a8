// Row softmax (forward/backward) and the fused softmax + cross-entropy over logits:
// the forward computes each row's log-sum-exp, its loss (with ignore-index and
// PyTorch's label smoothing) without ever writing probabilities; the backward
// writes dlogits = scale * (softmax - target distribution) in one pass.
// Rows up to 1024 wide (aligned) stay in registers (one read); up to 2048 get a warp
// each; wider rows (vocabularies) get a block.
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"
#include "engine/backend/cuda/device_errors.cuh"

#include <algorithm>

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

// Reduction over the threads that share a row: a warp (NT = 32) or the block.
template <int NT>
__device__ __forceinline__ float row_sum(float v, float* scratch) {
  if constexpr (NT == 32) return warp_sum(v);
  else return block_sum(v, scratch);
}
template <int NT>
__device__ __forceinline__ float row_max(float v, float* scratch) {
  if constexpr (NT == 32) return warp_max(v);
  else return block_max(v, scratch);
}

// NT threads per row; a block of 256 threads handles 256 / NT rows at a time.
template <typename T, int NT>
__global__ void softmax_fwd_kernel(T* y, const T* x, int64_t rows, int cols) {
  __shared__ float scratch[32];
  constexpr int kRowsPerBlock = 256 / NT;
  const int t = threadIdx.x % NT;
  for (int64_t r0 = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; r0 < rows;
       r0 += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t r = r0 + threadIdx.x / NT;
    const bool live = r < rows;  // every thread stays for the block reductions
    const T* xr = x + (live ? r : 0) * cols;
    float m = -INFINITY;
    if (live)
      for (int c = t; c < cols; c += NT) m = fmaxf(m, to_f(xr[c]));
    m = row_max<NT>(m, scratch);
    float s = 0.f;
    if (live && m != -INFINITY)
      for (int c = t; c < cols; c += NT) s += __expf(to_f(xr[c]) - m);
    s = row_sum<NT>(s, scratch);
    if (live) {
      const float inv = s > 0.f ? 1.f / s : 0.f;
      for (int c = t; c < cols; c += NT)
        y[r * cols + c] = from_f<T>(m == -INFINITY ? 0.f : __expf(to_f(xr[c]) - m) * inv);
    }
  }
}

template <typename T, int NT>
__global__ void softmax_bwd_kernel(T* dx, const T* dy, const T* y, int64_t rows, int cols) {
  __shared__ float scratch[32];
  constexpr int kRowsPerBlock = 256 / NT;
  const int t = threadIdx.x % NT;
  for (int64_t r0 = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; r0 < rows;
       r0 += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t r = r0 + threadIdx.x / NT;
    const bool live = r < rows;
    const int64_t off = (live ? r : 0) * cols;
    float d = 0.f;
    if (live)
      for (int c = t; c < cols; c += NT) d += to_f(dy[off + c]) * to_f(y[off + c]);
    d = row_sum<NT>(d, scratch);
    if (live)
      for (int c = t; c < cols; c += NT) {
        const float yv = to_f(y[off + c]);
        dx[off + c] = from_f<T>(yv * (to_f(dy[off + c]) - d));
      }
  }
}

// Rows of at most 32 * 4 packets (1024 bf16/f16 values, 512 f32) with 16-byte aligned
// rows: a warp holds its row in registers, so x is read once (or y and dy once).
template <typename T, int NP, bool BWD>
__global__ void softmax_cached_kernel(T* out, const T* a, const T* b, int64_t rows, int cols) {
  constexpr int V = 16 / sizeof(T);
  const int lane = threadIdx.x & 31, nv = cols / V;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x >> 5) + (threadIdx.x >> 5); r < rows;
       r += warps) {
    const Packet<T>* ar = reinterpret_cast<const Packet<T>*>(a + r * cols);
    const Packet<T>* br = reinterpret_cast<const Packet<T>*>(b + r * cols);
    float va[NP][V], vb[NP][V];
    float red = BWD ? 0.f : -INFINITY;
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      Packet<T> pa{}, pb{};
      if (j < nv) {
        pa = ar[j];
        if (BWD) pb = br[j];
      }
#pragma unroll
      for (int e = 0; e < V; ++e) {
        va[i][e] = j < nv ? to_f(pa.v[e]) : (BWD ? 0.f : -INFINITY);
        vb[i][e] = BWD && j < nv ? to_f(pb.v[e]) : 0.f;
        red = BWD ? red + va[i][e] * vb[i][e] : fmaxf(red, va[i][e]);  // BWD: a = dy, b = y
      }
    }
    float m = 0.f, inv = 0.f;
    if (!BWD) {
      m = warp_max(red);
      float sum = 0.f;
#pragma unroll
      for (int i = 0; i < NP; ++i)
#pragma unroll
        for (int e = 0; e < V; ++e) {
          va[i][e] = m == -INFINITY ? 0.f : __expf(va[i][e] - m);
          sum += va[i][e];
        }
      sum = warp_sum(sum);
      inv = sum > 0.f ? 1.f / sum : 0.f;
    } else {
      m = warp_sum(red);
    }
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      if (j >= nv) continue;
      Packet<T> po;
#pragma unroll
      for (int e = 0; e < V; ++e)
        po.v[e] = from_f<T>(BWD ? vb[i][e] * (va[i][e] - m) : va[i][e] * inv);
      reinterpret_cast<Packet<T>*>(out + r * cols)[j] = po;
    }
  }
}

// Launches the register-cached kernel when the row shape allows; false otherwise.
template <typename T, bool BWD>
bool launch_cached(T* out, const T* a, const T* b, int64_t rows, int cols, cudaStream_t stream) {
  constexpr int V = 16 / sizeof(T);
  if (cols % V || !aligned16(out) || !aligned16(a) || (b && !aligned16(b))) return false;
  const int nv = cols / V;
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>((rows + 7) / 8, 132 * 16));
  if (nv <= 32) softmax_cached_kernel<T, 1, BWD><<<grid, 256, 0, stream>>>(out, a, b, rows, cols);
  else if (nv <= 64) softmax_cached_kernel<T, 2, BWD><<<grid, 256, 0, stream>>>(out, a, b, rows, cols);
  else if (nv <= 128) softmax_cached_kernel<T, 4, BWD><<<grid, 256, 0, stream>>>(out, a, b, rows, cols);
  else return false;
  return true;
}

// Online (max, sum of exp) pairs: merging two gives the pair of their union.
__device__ __forceinline__ void lse_merge(float& m, float& s, float m2, float s2) {
  const float M = fmaxf(m, m2);
  if (M == -INFINITY) return;
  s = (m == -INFINITY ? 0.f : s * __expf(m - M)) + (m2 == -INFINITY ? 0.f : s2 * __expf(m2 - M));
  m = M;
}

// One block per row, one pass over the logits (online log-sum-exp). Invalid targets
// (outside [0, V) and not ignore_index) never index the logits: with a record they are
// reported there and the row's loss is 0, without one the loss is NaN.
template <typename T>
__global__ void ce_fwd_kernel(float* losses, float* lse_out, const T* logits,
                              const int32_t* targets, int64_t N, int V, int ignore_index,
                              float smoothing, DeviceErrorRecord* rec, unsigned site) {
  __shared__ float sm_m[32], sm_s[32], scratch[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    const T* xr = logits + r * V;
    float m = -INFINITY, s = 0.f, sx = 0.f;
    bool nan_seen = false;  // the online max skips NaN, so it is tracked apart
    for (int c = threadIdx.x; c < V; c += blockDim.x) {
      const float v = to_f(xr[c]);
      nan_seen |= isnan(v);
      if (v > m) {
        s = (m == -INFINITY ? 0.f : s * __expf(m - v)) + 1.f;
        m = v;
      } else if (m != -INFINITY) {  // (-inf) - (-inf) would be NaN
        s += __expf(v - m);
      }
      sx += v;
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
      lse_merge(m, s, m2, s2);
    }
    __syncthreads();  // sm_m / sm_s of the previous row are consumed
    if (lane == 0) {
      sm_m[warp] = m;
      sm_s[warp] = s;
    }
    const bool row_nan = __syncthreads_or(nan_seen);  // also the barrier for sm_m / sm_s
    if (smoothing > 0.f) sx = block_sum(sx, scratch);
    if (threadIdx.x == 0) {
      float M = sm_m[0], S = sm_s[0];
      for (int w = 1; w < nwarps; ++w) lse_merge(M, S, sm_m[w], sm_s[w]);
      const float lse = row_nan ? NAN : M + logf(S);  // a NaN logit makes the row's loss NaN, as on the CPU
      const int tgt = targets[r];
      lse_out[r] = lse;
      float loss;
      if (tgt == ignore_index) loss = 0.f;
      else if (tgt < 0 || tgt >= V) {
        record_device_error(rec, site, r, tgt);
        loss = rec ? 0.f : NAN;
      }
      else {
        const float nll = lse - to_f(xr[tgt]);
        loss = smoothing > 0.f ? (1.f - smoothing) * nll + smoothing * (lse - sx / V) : nll;
      }
      losses[r] = loss;
    }
  }
}

template <typename T>
__global__ void ce_bwd_kernel(T* dlogits, const T* logits, const float* lse,
                              const int32_t* targets, int64_t N, int V, int ignore_index,
                              float smoothing, float grad_scale, const float* grad_scale_dev) {
  const float gs = grad_scale_dev ? grad_scale * *grad_scale_dev : grad_scale;
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    const int tgt = targets[r];
    const bool skip = tgt == ignore_index || tgt < 0 || tgt >= V;
    const float l = lse[r], off = smoothing / V;
    for (int c = threadIdx.x; c < V; c += blockDim.x) {
      float g = 0.f;
      if (!skip) {
        const float p = __expf(to_f(logits[r * V + c]) - l);
        g = gs * (p - off - (c == tgt ? 1.f - smoothing : 0.f));
      }
      dlogits[r * V + c] = from_f<T>(g);
    }
  }
}

unsigned rows_grid(int64_t rows) {
  const int64_t cap = 132 * 16;
  return static_cast<unsigned>(rows < cap ? (rows < 1 ? 1 : rows) : cap);
}

}  // namespace

// ============================== launchers ============================================
Status softmax_forward(DType dtype, void* y, const void* x, int64_t rows, int cols,
                       cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "softmax_forward", {
    if (launch_cached<T, false>(static_cast<T*>(y), static_cast<const T*>(x), nullptr, rows, cols, stream)) {
    } else if (cols <= 2048)
      softmax_fwd_kernel<T, 32><<<rows_grid((rows + 7) / 8), 256, 0, stream>>>(
          static_cast<T*>(y), static_cast<const T*>(x), rows, cols);
    else
      softmax_fwd_kernel<T, 256><<<rows_grid(rows), 256, 0, stream>>>(
          static_cast<T*>(y), static_cast<const T*>(x), rows, cols);
  });
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status softmax_backward(DType dtype, void* dx, const void* dy, const void* y, int64_t rows,
                        int cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "softmax_backward", {
    if (launch_cached<T, true>(static_cast<T*>(dx), static_cast<const T*>(dy), static_cast<const T*>(y), rows,
                               cols, stream)) {
    } else if (cols <= 2048)
      softmax_bwd_kernel<T, 32><<<rows_grid((rows + 7) / 8), 256, 0, stream>>>(
          static_cast<T*>(dx), static_cast<const T*>(dy), static_cast<const T*>(y), rows, cols);
    else
      softmax_bwd_kernel<T, 256><<<rows_grid(rows), 256, 0, stream>>>(
          static_cast<T*>(dx), static_cast<const T*>(dy), static_cast<const T*>(y), rows, cols);
  });
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status cross_entropy_forward(DType dtype, float* losses, float* lse, const void* logits,
                             const int32_t* targets, int64_t N, int V, int ignore_index,
                             float label_smoothing, cudaStream_t stream) {
  if (N <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "cross_entropy_forward",
    ce_fwd_kernel<T><<<rows_grid(N), 512, 0, stream>>>(losses, lse, static_cast<const T*>(logits),
                                                      targets, N, V, ignore_index, label_smoothing,
                                                      nullptr, 0u));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status cross_entropy_forward_checked(DType dtype, float* losses, float* lse, const void* logits,
                                     const int32_t* targets, int64_t N, int V, int ignore_index,
                                     float label_smoothing, DeviceErrorRecord* rec,
                                     unsigned site, cudaStream_t stream) {
  if (N <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "cross_entropy_forward",
    ce_fwd_kernel<T><<<rows_grid(N), 512, 0, stream>>>(losses, lse, static_cast<const T*>(logits),
                                                      targets, N, V, ignore_index, label_smoothing,
                                                      rec, site));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status cross_entropy_backward(DType dtype, void* dlogits, const void* logits, const float* lse,
                              const int32_t* targets, int64_t N, int V, int ignore_index,
                              float label_smoothing, float grad_scale, cudaStream_t stream) {
  if (N <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "cross_entropy_backward",
    ce_bwd_kernel<T><<<rows_grid(N), 512, 0, stream>>>(
        static_cast<T*>(dlogits), static_cast<const T*>(logits), lse, targets, N, V,
        ignore_index, label_smoothing, grad_scale, nullptr));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status cross_entropy_backward_dev_scale(DType dtype, void* dlogits, const void* logits,
                                        const float* lse, const int32_t* targets, int64_t N,
                                        int V, int ignore_index, float label_smoothing,
                                        const float* grad_scale, cudaStream_t stream) {
  if (N <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "cross_entropy_backward",
    ce_bwd_kernel<T><<<rows_grid(N), 512, 0, stream>>>(
        static_cast<T*>(dlogits), static_cast<const T*>(logits), lse, targets, N, V,
        ignore_index, label_smoothing, 1.f, grad_scale));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace lw::cuda
