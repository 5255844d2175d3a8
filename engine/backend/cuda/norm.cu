// Normalisation kernels: LayerNorm, the fused residual-add + LayerNorm of pre-norm
// blocks, and RMSNorm, forward and backward. One warp owns a row (16-byte packets,
// two-pass mean/variance in f32 like the CPU reference). Backward writes dx per row
// and accumulates dw/db per block in shared memory; a second tiny kernel adds the
// block partials in a fixed order, so parameter gradients are deterministic.
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda {

namespace {
constexpr int kMaxPartials = 1024;  // blocks of the backward pass (8 per SM on H100) = scratch rows
}

size_t norm_backward_scratch_bytes(int64_t rows, int C) {
  return static_cast<size_t>(kMaxPartials) * 2 * static_cast<size_t>(C) * sizeof(float);
}

// ============================== kernels ==============================================
namespace {

// Element j of a row of storage type T, read with packet width VEC.
template <typename T, int VEC>
__device__ __forceinline__ void load_vec(float (&out)[VEC], const T* row, int j) {
  if constexpr (VEC > 1) {
    Packet<T> pk = reinterpret_cast<const Packet<T>*>(row)[j];
#pragma unroll
    for (int e = 0; e < VEC; ++e) out[e] = to_f(pk.v[e]);
  } else {
    out[0] = to_f(row[j]);
  }
}
template <typename T, int VEC>
__device__ __forceinline__ void store_vec(T* row, int j, const float (&in)[VEC]) {
  if constexpr (VEC > 1) {
    Packet<T> pk;
#pragma unroll
    for (int e = 0; e < VEC; ++e) pk.v[e] = from_f<T>(in[e]);
    reinterpret_cast<Packet<T>*>(row)[j] = pk;
  } else {
    row[j] = from_f<T>(in[0]);
  }
}

// The row input: x, or round(x + residual) (also stored to `sum`) for the fused form.
template <typename T, int VEC>
__device__ __forceinline__ void row_input(float (&v)[VEC], const T* x, const T* res, int j) {
  load_vec<T, VEC>(v, x, j);
  if (res) {
    float r[VEC];
    load_vec<T, VEC>(r, res, j);
#pragma unroll
    for (int e = 0; e < VEC; ++e) v[e] = to_f(from_f<T>(v[e] + r[e]));
  }
}

// LayerNorm (rms = false) or RMSNorm (rms = true) forward, one warp per row.
template <typename T, int VEC, bool RMS>
__global__ void norm_fwd_kernel(T* y, float* mean_out, float* rstd_out, T* sum_out, const T* x,
                                const T* res, const T* w, const T* b, int64_t rows, int C,
                                float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x >> 5);
  const int nv = C / VEC;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x >> 5) + (threadIdx.x >> 5);
       r < rows; r += warps) {
    const T* xr = x + r * C;
    const T* rr = res ? res + r * C : nullptr;
    float mean = 0.f;
    if (!RMS) {
      float s = 0.f;
      for (int j = lane; j < nv; j += 32) {
        float v[VEC];
        row_input<T, VEC>(v, xr, rr, j);
#pragma unroll
        for (int e = 0; e < VEC; ++e) s += v[e];
      }
      mean = warp_sum(s) / C;
    }
    float ss = 0.f;
    for (int j = lane; j < nv; j += 32) {
      float v[VEC];
      row_input<T, VEC>(v, xr, rr, j);
#pragma unroll
      for (int e = 0; e < VEC; ++e) ss += (v[e] - mean) * (v[e] - mean);
    }
    const float rstd = rsqrtf(warp_sum(ss) / C + eps);
    for (int j = lane; j < nv; j += 32) {
      float v[VEC], wv[VEC], bv[VEC], o[VEC];
      row_input<T, VEC>(v, xr, rr, j);
      if (sum_out) store_vec<T, VEC>(sum_out + r * C, j, v);
      load_vec<T, VEC>(wv, w, j);
      if (!RMS) load_vec<T, VEC>(bv, b, j);
#pragma unroll
      for (int e = 0; e < VEC; ++e) o[e] = (v[e] - mean) * rstd * wv[e] + (RMS ? 0.f : bv[e]);
      store_vec<T, VEC>(y + r * C, j, o);
    }
    if (lane == 0) {
      if (!RMS) mean_out[r] = mean;
      rstd_out[r] = rstd;
    }
  }
}

// Forward with the row held in registers (rows of at most 32 * NP packets, 16-byte
// aligned): x (and the residual) are read from memory exactly once.
template <typename T, int NP, bool RMS>
__global__ void norm_fwd_cached(T* y, float* mean_out, float* rstd_out, T* sum_out, const T* x,
                                const T* res, const T* w, const T* b, int64_t rows, int C,
                                float eps) {
  constexpr int V = 16 / sizeof(T);
  const int lane = threadIdx.x & 31, nv = C / V;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x >> 5) + (threadIdx.x >> 5);
       r < rows; r += warps) {
    float v[NP][V];
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      if (j < nv) {
        float t[V];
        row_input<T, V>(t, x + r * C, res ? res + r * C : nullptr, j);
#pragma unroll
        for (int e = 0; e < V; ++e) v[i][e] = t[e];
        if (sum_out) store_vec<T, V>(sum_out + r * C, j, t);
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) v[i][e] = 0.f;
      }
#pragma unroll
      for (int e = 0; e < V; ++e) s += v[i][e];
    }
    const float mean = RMS ? 0.f : warp_sum(s) / C;
    float ss = 0.f;
#pragma unroll
    for (int i = 0; i < NP; ++i)
      if (lane + 32 * i < nv)
#pragma unroll
        for (int e = 0; e < V; ++e) ss += (v[i][e] - mean) * (v[i][e] - mean);
    const float rstd = rsqrtf(warp_sum(ss) / C + eps);
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      if (j >= nv) continue;
      float wv[V], bv[V], o[V];
      load_vec<T, V>(wv, w, j);
      if (!RMS) load_vec<T, V>(bv, b, j);
#pragma unroll
      for (int e = 0; e < V; ++e) o[e] = (v[i][e] - mean) * rstd * wv[e] + (RMS ? 0.f : bv[e]);
      store_vec<T, V>(y + r * C, j, o);
    }
    if (lane == 0) {
      if (!RMS) mean_out[r] = mean;
      rstd_out[r] = rstd;
    }
  }
}

// Backward with the row and the warp's dw/db partials held in registers (rows of at most
// 32 * NP packets, 16-byte aligned): a lane always owns the same columns, so it sums its
// columns' parameter gradients over all its rows without touching shared memory; the warps
// of a block combine theirs once at the end. scratch [gridDim.x][2C] as norm_bwd_kernel.
template <typename T, int NP, bool RMS, int NW>
__global__ void __launch_bounds__(NW * 32)
norm_bwd_cached(T* dx, float* scratch, const T* dy, const T* x, const T* w, const float* mean,
                const float* rstd, int64_t rows, int C) {
  constexpr int V = 16 / sizeof(T);
  extern __shared__ float part[];  // [NW][2C]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nv = C / V;
  float wv[NP][V], dw[NP][V], db[NP][V];
#pragma unroll
  for (int i = 0; i < NP; ++i) {
    const int j = lane + 32 * i;
#pragma unroll
    for (int e = 0; e < V; ++e) dw[i][e] = db[i][e] = 0.f;
    if (j < nv) load_vec<T, V>(wv[i], w, j);
  }
  for (int64_t r = blockIdx.x * static_cast<int64_t>(NW) + warp; r < rows;
       r += static_cast<int64_t>(gridDim.x) * NW) {
    float xh[NP][V], g[NP][V];
    const float mu = RMS ? 0.f : mean[r], rs = rstd[r];
    float s1 = 0.f, s2 = 0.f;
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      if (j >= nv) continue;
      float xv[V], gv[V];
      load_vec<T, V>(xv, x + r * C, j);
      load_vec<T, V>(gv, dy + r * C, j);
#pragma unroll
      for (int e = 0; e < V; ++e) {
        xh[i][e] = (xv[e] - mu) * rs;
        g[i][e] = gv[e] * wv[i][e];
        s1 += g[i][e];
        s2 += g[i][e] * xh[i][e];
        dw[i][e] += gv[e] * xh[i][e];
        db[i][e] += gv[e];
      }
    }
    s1 = warp_sum(s1) / C;
    s2 = warp_sum(s2) / C;
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      if (j >= nv) continue;
      float o[V];
#pragma unroll
      for (int e = 0; e < V; ++e)
        o[e] = RMS ? rs * (g[i][e] - xh[i][e] * s2) : rs * (g[i][e] - s1 - xh[i][e] * s2);
      store_vec<T, V>(dx + r * C, j, o);
    }
  }
  float* pw = part + static_cast<size_t>(warp) * 2 * C;
#pragma unroll
  for (int i = 0; i < NP; ++i) {
    const int j = lane + 32 * i;
    if (j >= nv) continue;
#pragma unroll
    for (int e = 0; e < V; ++e) {
      pw[j * V + e] = dw[i][e];
      pw[C + j * V + e] = db[i][e];
    }
  }
  __syncthreads();
  for (int c = threadIdx.x; c < 2 * C; c += blockDim.x) {
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < NW; ++k) s += part[static_cast<size_t>(k) * 2 * C + c];
    scratch[static_cast<size_t>(blockIdx.x) * 2 * C + c] = s;
  }
}

// Backward, one warp per row; NW warps per block share the block's dw/db partials.
// scratch [gridDim.x][2C]: row g holds block g's dw then db partial sums.
template <typename T, int VEC, bool RMS, int NW>
__global__ void norm_bwd_kernel(T* dx, float* scratch, const T* dy, const T* x, const T* w,
                                const float* mean, const float* rstd, int64_t rows, int C) {
  extern __shared__ float part[];  // [NW][2C]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  float* pw = part + static_cast<size_t>(warp) * 2 * C;
  float* pb = pw + C;
  for (int c = lane; c < 2 * C; c += 32) pw[c] = 0.f;
  const int nv = C / VEC;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(NW) + warp; r < rows;
       r += static_cast<int64_t>(gridDim.x) * NW) {
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
    const float mu = RMS ? 0.f : mean[r], rs = rstd[r];
    float s1 = 0.f, s2 = 0.f;
    for (int j = lane; j < nv; j += 32) {
      float xv[VEC], gv[VEC], wv[VEC];
      load_vec<T, VEC>(xv, xr, j);
      load_vec<T, VEC>(gv, dyr, j);
      load_vec<T, VEC>(wv, w, j);
#pragma unroll
      for (int e = 0; e < VEC; ++e) {
        const float g = gv[e] * wv[e], xh = (xv[e] - mu) * rs;
        s1 += g;
        s2 += g * xh;
      }
    }
    s1 = warp_sum(s1) / C;
    s2 = warp_sum(s2) / C;
    for (int j = lane; j < nv; j += 32) {
      float xv[VEC], gv[VEC], wv[VEC], o[VEC];
      load_vec<T, VEC>(xv, xr, j);
      load_vec<T, VEC>(gv, dyr, j);
      load_vec<T, VEC>(wv, w, j);
#pragma unroll
      for (int e = 0; e < VEC; ++e) {
        const float xh = (xv[e] - mu) * rs, g = gv[e] * wv[e];
        o[e] = RMS ? rs * (g - xh * s2) : rs * (g - s1 - xh * s2);
        // Stored element-major (e * nv + j): consecutive lanes hit consecutive banks.
        pw[e * nv + j] += gv[e] * xh;
        if (!RMS) pb[e * nv + j] += gv[e];
      }
      store_vec<T, VEC>(dx + r * C, j, o);
    }
  }
  __syncthreads();
  for (int c = threadIdx.x; c < 2 * C; c += blockDim.x) {
    const int half = c < C ? 0 : C, col = c - half;
    const int at = half + (col % VEC) * nv + col / VEC;
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < NW; ++k) s += part[static_cast<size_t>(k) * 2 * C + at];
    scratch[static_cast<size_t>(blockIdx.x) * 2 * C + c] = s;
  }
}

// dw[c] += sum_g scratch[g][c]; db[c] += sum_g scratch[g][C + c], in a fixed order: thread
// row ty of a 32 x 32 block sums partials g = ty, ty + 32, ..., then row 0 adds the 32 sums.
// (Hundreds of partial rows: one thread per column would wait on each load in turn.)
template <typename T>
__global__ void __launch_bounds__(1024) norm_bwd_finish(T* dw, T* db, const float* scratch, int G, int C) {
  __shared__ float acc[32][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int c = blockIdx.x * 32 + tx;  // over 2C: dw columns, then db columns
  float s = 0.f;
  if (c < 2 * C) {
#pragma unroll 4
    for (int g = ty; g < G; g += 32) s += scratch[static_cast<size_t>(g) * 2 * C + c];
  }
  acc[ty][tx] = s;
  __syncthreads();
  if (ty != 0 || c >= 2 * C) return;
  float t = 0.f;
#pragma unroll
  for (int k = 0; k < 32; ++k) t += acc[k][tx];
  if (c < C) dw[c] = from_f<T>(to_f(dw[c]) + t);
  else if (db) db[c - C] = from_f<T>(to_f(db[c - C]) + t);
}

bool packets_ok(int C, int vec, std::initializer_list<const void*> ptrs) {
  if (C % vec) return false;
  for (const void* p : ptrs)
    if (p && !aligned16(p)) return false;
  return true;
}

template <typename T, bool RMS>
Status norm_forward(T* y, float* mean, float* rstd, T* sum, const T* x, const T* res, const T* w,
                    const T* b, int64_t rows, int C, float eps, cudaStream_t stream) {
  if (rows <= 0) return Status::ok();
  constexpr int V = 16 / sizeof(T);
  const int threads = 256;
  const unsigned grid = grid_for(rows * 32, threads);
  const int nv = C / V;
  const bool vec = packets_ok(C, V, {y, sum, x, res, w, b});
  if (vec && nv <= 32)
    norm_fwd_cached<T, 1, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  else if (vec && nv <= 64)
    norm_fwd_cached<T, 2, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  else if (vec && nv <= 96)
    norm_fwd_cached<T, 3, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  else if (vec && nv <= 128)
    norm_fwd_cached<T, 4, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  else if (vec)
    norm_fwd_kernel<T, V, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  else
    norm_fwd_kernel<T, 1, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

template <typename T, int VEC, bool RMS, int NW>
Status launch_bwd(int G, T* dx, float* scratch, const T* dy, const T* x, const T* w,
                  const float* mean, const float* rstd, int64_t rows, int C, cudaStream_t stream) {
  const size_t smem = static_cast<size_t>(NW) * 2 * C * sizeof(float);
  auto kernel = norm_bwd_kernel<T, VEC, RMS, NW>;
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
  kernel<<<G, NW * 32, smem, stream>>>(dx, scratch, dy, x, w, mean, rstd, rows, C);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

template <typename T, bool RMS>
Status norm_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const float* mean,
                     const float* rstd, int64_t rows, int C, float* scratch, size_t scratch_bytes,
                     cudaStream_t stream) {
  if (rows <= 0) return Status::ok();
  const size_t need = norm_backward_scratch_bytes(rows, C);
  LW_CHECK(scratch && scratch_bytes >= need,
           "norm backward: scratch of " + std::to_string(need) + " bytes needed, got " +
               std::to_string(scratch ? scratch_bytes : 0));
  LW_CHECK(static_cast<size_t>(C) * 8 <= 200 * 1024,
           "norm backward: C = " + std::to_string(C) + " exceeds the CUDA kernel's limit 25600");
  constexpr int V = 16 / sizeof(T);
  const bool vec = packets_ok(C, V, {dx, dy, x, w});
  const int nv = C / V;
  int G = 0;
  if (vec && nv <= 128) {  // rows held in registers: 8 warps per block, 4 blocks per SM
    constexpr int NW = 8;
    const int64_t g64 = (rows + NW - 1) / NW;
    G = static_cast<int>(g64 < 132 * 4 ? g64 : 132 * 4);
    const size_t smem = static_cast<size_t>(NW) * 2 * C * sizeof(float);
    auto launch = [&](auto kernel) -> Status {
      LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
      kernel<<<G, NW * 32, smem, stream>>>(dx, scratch, dy, x, w, mean, rstd, rows, C);
      LW_CUDA_LAUNCH_CHECK();
      return Status::ok();
    };
    if (nv <= 32) LW_TRY(launch(norm_bwd_cached<T, 1, RMS, NW>));
    else if (nv <= 64) LW_TRY(launch(norm_bwd_cached<T, 2, RMS, NW>));
    else if (nv <= 96) LW_TRY(launch(norm_bwd_cached<T, 3, RMS, NW>));
    else LW_TRY(launch(norm_bwd_cached<T, 4, RMS, NW>));
  } else {
    const bool four = static_cast<size_t>(C) * 32 <= 192 * 1024;
    const int nw = four ? 4 : 1;
    const int64_t g64 = (rows + nw - 1) / nw;
    G = static_cast<int>(g64 < kMaxPartials ? g64 : kMaxPartials);
    if (four) {
      if (vec) LW_TRY((launch_bwd<T, V, RMS, 4>(G, dx, scratch, dy, x, w, mean, rstd, rows, C, stream)));
      else LW_TRY((launch_bwd<T, 1, RMS, 4>(G, dx, scratch, dy, x, w, mean, rstd, rows, C, stream)));
    } else {
      if (vec) LW_TRY((launch_bwd<T, V, RMS, 1>(G, dx, scratch, dy, x, w, mean, rstd, rows, C, stream)));
      else LW_TRY((launch_bwd<T, 1, RMS, 1>(G, dx, scratch, dy, x, w, mean, rstd, rows, C, stream)));
    }
  }
  norm_bwd_finish<T><<<(2 * C + 31) / 32, dim3(32, 32), 0, stream>>>(dw, db, scratch, G, C);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace

// ============================== launchers ============================================
Status layernorm_forward(DType dtype, void* y, float* mean, float* rstd, const void* x,
                         const void* w, const void* b, int64_t rows, int C, float eps,
                         cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "layernorm_forward",
    return (norm_forward<T, false>(static_cast<T*>(y), mean, rstd, nullptr, static_cast<const T*>(x),
                                   nullptr, static_cast<const T*>(w), static_cast<const T*>(b),
                                   rows, C, eps, stream)));
  return Status::ok();
}

Status residual_layernorm_forward(DType dtype, void* sum, void* y, float* mean, float* rstd,
                                  const void* x, const void* residual, const void* w,
                                  const void* b, int64_t rows, int C, float eps,
                                  cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "residual_layernorm_forward",
    return (norm_forward<T, false>(static_cast<T*>(y), mean, rstd, static_cast<T*>(sum),
                                   static_cast<const T*>(x), static_cast<const T*>(residual),
                                   static_cast<const T*>(w), static_cast<const T*>(b), rows, C,
                                   eps, stream)));
  return Status::ok();
}

Status rmsnorm_forward(DType dtype, void* y, float* rstd, const void* x, const void* w,
                       int64_t rows, int C, float eps, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "rmsnorm_forward",
    return (norm_forward<T, true>(static_cast<T*>(y), nullptr, rstd, nullptr, static_cast<const T*>(x),
                                  nullptr, static_cast<const T*>(w), nullptr, rows, C, eps, stream)));
  return Status::ok();
}

Status layernorm_backward(DType dtype, void* dx, void* dw, void* db, const void* dy,
                          const void* x, const void* w, const float* mean, const float* rstd,
                          int64_t rows, int C, float* scratch, size_t scratch_bytes,
                          cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "layernorm_backward",
    return (norm_backward<T, false>(static_cast<T*>(dx), static_cast<T*>(dw), static_cast<T*>(db),
                                    static_cast<const T*>(dy), static_cast<const T*>(x),
                                    static_cast<const T*>(w), mean, rstd, rows, C, scratch,
                                    scratch_bytes, stream)));
  return Status::ok();
}

Status rmsnorm_backward(DType dtype, void* dx, void* dw, const void* dy, const void* x,
                        const void* w, const float* rstd, int64_t rows, int C, float* scratch,
                        size_t scratch_bytes, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "rmsnorm_backward",
    return (norm_backward<T, true>(static_cast<T*>(dx), static_cast<T*>(dw), nullptr,
                                   static_cast<const T*>(dy), static_cast<const T*>(x),
                                   static_cast<const T*>(w), nullptr, rstd, rows, C, scratch,
                                   scratch_bytes, stream)));
  return Status::ok();
}

}  // namespace lw::cuda
