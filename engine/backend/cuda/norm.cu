// Normalisation kernels: LayerNorm, the fused residual-add + LayerNorm of pre-norm
// blocks, and RMSNorm, forward and backward. One warp owns a row (16-byte packets,
// two-pass mean/variance in f32 like the CPU reference); rows up to 1024 bf16 values stay
// in registers, so each is read once. Backward writes dx per row and sums dw/db per block
// (in shared memory, over many rows); a second tiny kernel adds the block
// partials in a fixed order, so parameter gradients are deterministic.
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"

#include <algorithm>
#include <atomic>
#include <cstring>

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

// A 16-byte packet of row j of a streamed tensor (read once: no L1 allocation).
template <typename T>
__device__ __forceinline__ Packet<T> ld_stream(const T* row, int j) {
  uint4 u;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(u.x), "=r"(u.y), "=r"(u.z), "=r"(u.w)
      : "l"(reinterpret_cast<const uint4*>(row) + j));
  Packet<T> p;
  memcpy(&p, &u, 16);
  return p;
}
template <typename T>
__device__ __forceinline__ Packet<T> zero_packet() {
  Packet<T> p;
#pragma unroll
  for (int e = 0; e < Packet<T>::kN; ++e) p.v[e] = from_f<T>(0.f);
  return p;
}
// R independent warp sums, their shuffles interleaved.
template <int R>
__device__ __forceinline__ void warp_sum_n(float (&v)[R]) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
#pragma unroll
    for (int k = 0; k < R; ++k) v[k] += __shfl_xor_sync(0xffffffffu, v[k], o);
}

// Forward with rows held in registers (rows of at most 32 * NP packets, 16-byte aligned):
// a warp takes R rows at a time and issues every load of them before the first use, so
// each warp keeps R * NP packets per lane in flight; x (and the residual) are read once.
template <typename T, int NP, int R, bool RMS, bool RES, int MINB>
__global__ void __launch_bounds__(256, MINB)
norm_fwd_regs(T* y, float* mean_out, float* rstd_out, T* sum_out, const T* x, const T* res,
              const T* w, const T* b, int64_t rows, int C, float eps) {
  constexpr int V = Packet<T>::kN;
  const int lane = threadIdx.x & 31, nv = C / V;
  const int64_t step = static_cast<int64_t>(gridDim.x) * (blockDim.x >> 5) * R;
  for (int64_t r0 = (blockIdx.x * static_cast<int64_t>(blockDim.x >> 5) + (threadIdx.x >> 5)) * R;
       r0 < rows; r0 += step) {
    Packet<T> p[R][NP];
#pragma unroll
    for (int k = 0; k < R; ++k)
#pragma unroll
      for (int i = 0; i < NP; ++i)
        p[k][i] = (r0 + k < rows && lane + 32 * i < nv) ? ld_stream(x + (r0 + k) * C, lane + 32 * i)
                                                        : zero_packet<T>();
    if constexpr (RES) {  // sum = round(x + residual): the row the norm sees, stored too
      Packet<T> q[R][NP];
#pragma unroll
      for (int k = 0; k < R; ++k)
#pragma unroll
        for (int i = 0; i < NP; ++i)
          q[k][i] = (r0 + k < rows && lane + 32 * i < nv) ? ld_stream(res + (r0 + k) * C, lane + 32 * i)
                                                          : zero_packet<T>();
#pragma unroll
      for (int k = 0; k < R; ++k)
#pragma unroll
        for (int i = 0; i < NP; ++i) {
#pragma unroll
          for (int e = 0; e < V; ++e) p[k][i].v[e] = from_f<T>(to_f(p[k][i].v[e]) + to_f(q[k][i].v[e]));
          if (r0 + k < rows && lane + 32 * i < nv)
            reinterpret_cast<Packet<T>*>(sum_out + (r0 + k) * C)[lane + 32 * i] = p[k][i];
        }
    }
    float mean[R], rstd[R];
#pragma unroll
    for (int k = 0; k < R; ++k) {
      mean[k] = 0.f;
      if (!RMS)
#pragma unroll
        for (int i = 0; i < NP; ++i)
#pragma unroll
          for (int e = 0; e < V; ++e) mean[k] += to_f(p[k][i].v[e]);  // padding packets are 0
    }
    if (!RMS) {
      warp_sum_n<R>(mean);
#pragma unroll
      for (int k = 0; k < R; ++k) mean[k] /= C;
    }
#pragma unroll
    for (int k = 0; k < R; ++k) {
      rstd[k] = 0.f;
#pragma unroll
      for (int i = 0; i < NP; ++i)
        if (lane + 32 * i < nv)
#pragma unroll
          for (int e = 0; e < V; ++e) {
            const float d = to_f(p[k][i].v[e]) - mean[k];
            rstd[k] += d * d;
          }
    }
    warp_sum_n<R>(rstd);
#pragma unroll
    for (int k = 0; k < R; ++k) rstd[k] = rsqrtf(rstd[k] / C + eps);
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      if (j >= nv) continue;
      float wv[V], bv[V];
      load_vec<T, V>(wv, w, j);
      if (!RMS) load_vec<T, V>(bv, b, j);
#pragma unroll
      for (int k = 0; k < R; ++k) {
        if (r0 + k >= rows) continue;
        float o[V];
#pragma unroll
        for (int e = 0; e < V; ++e)
          o[e] = (to_f(p[k][i].v[e]) - mean[k]) * rstd[k] * wv[e] + (RMS ? 0.f : bv[e]);
        store_vec<T, V>(y + (r0 + k) * C, j, o);
      }
    }
    if (lane < R && r0 + lane < rows) {
#pragma unroll
      for (int k = 0; k < R; ++k)
        if (k == lane) {
          if (!RMS) mean_out[r0 + k] = mean[k];
          rstd_out[r0 + k] = rstd[k];
        }
    }
  }
}

// Backward with the row held in registers (rows of at most 32 * NP packets, 16-byte
// aligned). A lane always owns the same columns, so it sums its columns' parameter
// gradients over all its rows; those partials live in shared memory ([NW][2][NP * V][32]:
// lane-major, so a warp's accesses are conflict-free), which leaves the registers to the
// row and lets 16 warps an SM run (partials in registers, or the next row prefetched,
// measured slower on the H100: they cost warps). A block's warps combine their partials
// once at the end into scratch [gridDim.x][2C] (as norm_bwd_kernel); the grid is one
// resident wave.
template <typename T, int NP, bool RMS, int NW, int MINB>
__global__ void __launch_bounds__(NW * 32, MINB)
norm_bwd_regs(T* dx, float* scratch, const T* dy, const T* x, const T* w, const float* mean,
              const float* rstd, int64_t rows, int C) {
  constexpr int V = Packet<T>::kN;
  extern __shared__ float part[];  // [NW][2][NP * V][32]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nv = C / V;
  Packet<T> wp[NP];
  float* acc = part + static_cast<size_t>(warp) * 2 * NP * V * 32 + lane;  // [2][NP*V] stride 32
#pragma unroll
  for (int i = 0; i < NP; ++i) {
    const int j = lane + 32 * i;
    wp[i] = j < nv ? reinterpret_cast<const Packet<T>*>(w)[j] : zero_packet<T>();
#pragma unroll
    for (int e = 0; e < V; ++e) {
      acc[(i * V + e) * 32] = 0.f;
      acc[(NP * V + i * V + e) * 32] = 0.f;
    }
  }
  const int64_t step = static_cast<int64_t>(gridDim.x) * NW;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(NW) + warp; r < rows; r += step) {
    // Padding packets are zero: their g = dy * w = 0 adds nothing to any sum.
    Packet<T> xp[NP], gp[NP];
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const bool in = lane + 32 * i < nv;
      xp[i] = in ? ld_stream(x + r * C, lane + 32 * i) : zero_packet<T>();
      gp[i] = in ? ld_stream(dy + r * C, lane + 32 * i) : zero_packet<T>();
    }
    const float mu = RMS ? 0.f : mean[r], rs = rstd[r];
    float s[2] = {0.f, 0.f};
#pragma unroll
    for (int i = 0; i < NP; ++i)
#pragma unroll
      for (int e = 0; e < V; ++e) {
        const float gv = to_f(gp[i].v[e]), xh = (to_f(xp[i].v[e]) - mu) * rs;
        const float g = gv * to_f(wp[i].v[e]);
        s[0] += g;
        s[1] += g * xh;
        acc[(i * V + e) * 32] += gv * xh;
        if (!RMS) acc[(NP * V + i * V + e) * 32] += gv;
      }
    warp_sum_n<2>(s);
    const float s1 = s[0] / C, s2 = s[1] / C;
#pragma unroll
    for (int i = 0; i < NP; ++i) {
      const int j = lane + 32 * i;
      if (j >= nv) continue;
      float o[V];
#pragma unroll
      for (int e = 0; e < V; ++e) {
        const float xh = (to_f(xp[i].v[e]) - mu) * rs, g = to_f(gp[i].v[e]) * to_f(wp[i].v[e]);
        o[e] = RMS ? rs * (g - xh * s2) : rs * (g - s1 - xh * s2);
      }
      store_vec<T, V>(dx + r * C, j, o);
    }
  }
  pdl_launch_dependents();  // only the block partials are left: the finish kernel may be scheduled
  __syncthreads();
  for (int c = threadIdx.x; c < 2 * C; c += blockDim.x) {
    const int half = c < C ? 0 : 1, col = c - half * C, j = col / V;
    const int at = ((half * NP + j / 32) * V + col % V) * 32 + j % 32;
    float t = 0.f;
#pragma unroll
    for (int k = 0; k < NW; ++k) t += part[static_cast<size_t>(k) * 2 * NP * V * 32 + at];
    scratch[static_cast<size_t>(blockIdx.x) * 2 * C + c] = t;
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
// row ty of a 32 x 32 block sums partials g = ty, ty + 32, ... (all its loads issued at
// once), then row 0 adds the 32 sums. Launched as a programmatic dependent of the backward
// kernel: it is scheduled while that kernel's last blocks drain and waits for it only
// before reading the partials. dw/db are not written by that kernel (and everything before
// it has finished when it started), so their old values are read before the wait.
template <typename T>
__global__ void __launch_bounds__(1024) norm_bwd_finish(T* dw, T* db, const float* scratch, int G, int C) {
  constexpr int K = 16;
  __shared__ float acc[32][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int c = blockIdx.x * 32 + tx;  // over 2C: dw columns, then db columns
  float old = 0.f;
  if (ty == 0 && c < 2 * C) old = c < C ? to_f(dw[c]) : (db ? to_f(db[c - C]) : 0.f);
  pdl_wait();
  float s = 0.f;
  if (c < 2 * C) {
    for (int g0 = ty; g0 < G; g0 += 32 * K) {
      float v[K];
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const int g = g0 + 32 * k;
        v[k] = g < G ? scratch[static_cast<size_t>(g) * 2 * C + c] : 0.f;
      }
#pragma unroll
      for (int k = 0; k < K; ++k) s += v[k];
    }
  }
  acc[ty][tx] = s;
  __syncthreads();
  if (ty != 0 || c >= 2 * C) return;
  float t = 0.f;
#pragma unroll
  for (int k = 0; k < 32; ++k) t += acc[k][tx];
  if (c < C) dw[c] = from_f<T>(old + t);
  else if (db) db[c - C] = from_f<T>(old + t);
}

bool packets_ok(int C, int vec, std::initializer_list<const void*> ptrs) {
  if (C % vec) return false;
  for (const void* p : ptrs)
    if (p && !aligned16(p)) return false;
  return true;
}


// Rows a warp of the register-held forward takes at a time; warps per block, blocks per SM,
// prefetch and partial storage of the register-held backward. Chosen on an H100 at
// 16384 x 768 bf16 against the alternatives the templates allow: one row a warp
// (32 warps an SM) ties a plain 16-byte copy of the same bytes; more rows a warp cost
// occupancy. Backward: 16 warps an SM with the dw/db partials in shared memory and no
// prefetch was fastest (prefetching needs registers that cost a block per SM or spill).
constexpr int kFwdRows = 1;
constexpr int kBwdWarps = 8, kBwdBlocksPerSm = 2;

template <typename T, int NP, int R, bool RMS, int MINB = 1>
void launch_fwd_regs(T* y, float* mean, float* rstd, T* sum, const T* x, const T* res, const T* w,
                     const T* b, int64_t rows, int C, float eps, cudaStream_t stream) {
  const unsigned grid = grid_for((rows + R - 1) / R * 32, 256);
  if (res)
    norm_fwd_regs<T, NP, R, RMS, true, MINB><<<grid, 256, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  else
    norm_fwd_regs<T, NP, R, RMS, false, MINB><<<grid, 256, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
}

template <typename T, bool RMS>
Status norm_forward(T* y, float* mean, float* rstd, T* sum, const T* x, const T* res, const T* w,
                    const T* b, int64_t rows, int C, float eps, cudaStream_t stream) {
  if (rows <= 0) return Status::ok();
  constexpr int V = 16 / sizeof(T), R = kFwdRows;
  const int threads = 256;
  const unsigned grid = grid_for(rows * 32, threads);
  const int nv = C / V;
  const bool vec = packets_ok(C, V, {y, sum, x, res, w, b});
  if (vec && nv <= 32)
    launch_fwd_regs<T, 1, R, RMS>(y, mean, rstd, sum, x, res, w, b, rows, C, eps, stream);
  else if (vec && nv <= 64)
    launch_fwd_regs<T, 2, R, RMS>(y, mean, rstd, sum, x, res, w, b, rows, C, eps, stream);
  else if (vec && nv <= 96)
    launch_fwd_regs<T, 3, R, RMS>(y, mean, rstd, sum, x, res, w, b, rows, C, eps, stream);
  else if (vec && nv <= 128)
    launch_fwd_regs<T, 4, R, RMS>(y, mean, rstd, sum, x, res, w, b, rows, C, eps, stream);
  else if (vec)
    norm_fwd_kernel<T, V, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  else
    norm_fwd_kernel<T, 1, RMS><<<grid, threads, 0, stream>>>(y, mean, rstd, sum, x, res, w, b, rows, C, eps);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

// The register-held backward with NW warps a block and MINB blocks an SM: one resident
// wave (or fewer blocks when there are few rows). Returns the grid (= partial rows).
template <typename T, int NP, bool RMS, int NW, int MINB>
Result<int> launch_bwd_regs(T* dx, float* scratch, const T* dy, const T* x, const T* w,
                            const float* mean, const float* rstd, int64_t rows, int C,
                            cudaStream_t stream) {
  const int64_t g64 = (rows + NW - 1) / NW, cap = std::min<int64_t>(int64_t{sm_count()} * MINB, kMaxPartials);
  const int G = static_cast<int>(std::min(g64, cap));
  const size_t smem = static_cast<size_t>(NW) * 2 * NP * Packet<T>::kN * 32 * sizeof(float);
  auto kernel = norm_bwd_regs<T, NP, RMS, NW, MINB>;
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
  kernel<<<G, NW * 32, smem, stream>>>(dx, scratch, dy, x, w, mean, rstd, rows, C);
  LW_CUDA_LAUNCH_CHECK();
  return G;
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

// The finish kernel as a programmatic dependent of the backward kernel before it.
template <typename T>
Status launch_finish(T* dw, T* db, const float* scratch, int G, int C, cudaStream_t stream) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3((2 * C + 31) / 32);
  cfg.blockDim = dim3(32, 32);
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  LW_CUDA_TRY(cudaLaunchKernelEx(&cfg, norm_bwd_finish<T>, dw, db, scratch, G, C));
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
  if (vec && nv <= 128) {  // rows held in registers
    constexpr int NW = kBwdWarps, MB = kBwdBlocksPerSm;
    if (nv <= 32) { LW_ASSIGN_OR_RETURN(G, (launch_bwd_regs<T, 1, RMS, NW, MB>(dx, scratch, dy, x, w, mean, rstd, rows, C, stream))); }
    else if (nv <= 64) { LW_ASSIGN_OR_RETURN(G, (launch_bwd_regs<T, 2, RMS, NW, MB>(dx, scratch, dy, x, w, mean, rstd, rows, C, stream))); }
    else if (nv <= 96) { LW_ASSIGN_OR_RETURN(G, (launch_bwd_regs<T, 3, RMS, NW, MB>(dx, scratch, dy, x, w, mean, rstd, rows, C, stream))); }
    else { LW_ASSIGN_OR_RETURN(G, (launch_bwd_regs<T, 4, RMS, NW, MB>(dx, scratch, dy, x, w, mean, rstd, rows, C, stream))); }
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
  return launch_finish(dw, db, scratch, G, C, stream);
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
