// The decode GEMV (see decode_kernels.h): y[b] = op(W x'[b]) for up to 8 sequences, where
// x' is the input after an optional layer norm / RMS norm / SwiGLU and op adds the bias and
// applies GELU or the residual add (or, for a gate/up row pair, SwiGLU: one warp walks both
// rows). Batch-1 decoding is bound by reading the weights, so:
// one warp per output row, 16-byte streaming loads (L2 evict-first when read once), each
// warp keeping two rounds of packets in flight around the one it multiplies (a software
// pipeline over its (row, round) items, two register buffers in turns); the first two
// rounds and the norm weights are requested before the wait on the previous kernel (they
// do not depend on it), and the input rows are read with all of a thread's loads issued at
// once, so a launch pays few memory round trips besides the weight stream.
// Dimension letters: B sequences, K input width, N output rows.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "engine/backend/cuda/decode_common.cuh"
#include "engine/backend/cuda/decode_kernels.h"

namespace lw::cuda::decode {
namespace {

using namespace detail;

constexpr int kGemvThreads = 256;
// Packets per lane in one round of a warp (R) and the blocks per SM the registers are
// budgeted for (MINB): 4 / 2 by default (two 2 KB rounds in flight per warp, 16 warps an
// SM); LW_DECODE_GEMV=a picks 8 / 1 (two 4 KB rounds, 8 warps), =c 2 / 3 (two 1 KB rounds,
// 24 warps), to measure the other ways.

struct GemvParams {
  const float* x;
  int ldx, nb, K;
  int input;
  const void* norm_w;
  const void* norm_b;
  float eps;
  const void* w[3];
  const void* bias[3];
  int start[4];  // first output row of each segment; start[nseg] = total rows
  int nseg;
  float* y;
  int ldy;
  int output;
  int read_once;  // the weights are read by this launch only (L2 evict-first)
  int fold_norm;  // one sequence's RMS norm scales the sums instead of the input (load_input)
  const float* part;  // kAttention: partials [B][NH][nsplit][2 + D], positions [B]
  const int32_t* positions;
  int heads, head_dim, chunk, nsplit;
  uint64_t* trace;
};

__device__ __forceinline__ float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.f + tanhf(k * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.f + erff(x * 0.7071067811865476f)); }

// Where input column k sits in a shared row. With 8-wide weight packets (bf16, f16) a lane
// needs columns 8i..8i+7: kept as two planes (8i..8i+3 at 4i, 8i+4..8i+7 at K/2 + 4i), each
// of its two float4 reads is then contiguous across the warp (no shared-memory bank conflicts).
template <int VEC>
__device__ __forceinline__ int slot(int k, int K) {
  if constexpr (VEC == 8) return ((k & 4) ? (K >> 1) : 0) + (k >> 3) * 4 + (k & 3);
  return k;
}

template <typename T>
__device__ __forceinline__ const T* weight_row(const GemvParams& p, int row, int* seg, int* r) {
  int s = 0;
  while (s + 1 < p.nseg && row >= p.start[s + 1]) ++s;
  *seg = s;
  *r = row - p.start[s];
  return static_cast<const T*>(p.w[s]) + static_cast<int64_t>(*r) * p.K;
}

// Norm weight and bias as f32 in the shared planes' order (nw, nb: K floats each), read
// before the wait on the previous kernel.
template <typename T, int VEC>
__device__ void load_norm_weights(const GemvParams& p, float* nw, float* nbias) {
  const T* w = static_cast<const T*>(p.norm_w);
  const T* b = static_cast<const T*>(p.norm_b);
  constexpr int J = 8;  // loads issued before any is used
  for (int k0 = threadIdx.x; k0 < p.K; k0 += blockDim.x * J) {
    float wv[J], bv[J];
#pragma unroll
    for (int j = 0; j < J; ++j) {
      const int k = k0 + j * blockDim.x;
      wv[j] = k < p.K ? to_f(w[k]) : 0.f;
      bv[j] = b && k < p.K ? to_f(b[k]) : 0.f;
    }
#pragma unroll
    for (int j = 0; j < J; ++j) {
      const int k = k0 + j * blockDim.x;
      if (k >= p.K) break;
      nw[slot<VEC>(k, p.K)] = wv[j];
      nbias[slot<VEC>(k, p.K)] = bv[j];
    }
  }
}

// kAttention: each sequence's row is its heads' attention output, combined from the chunk
// partials [m, l, o (D)] as the attention kernel's last block would: per head
// o = sum_t o_t exp(m_t - M) / sum_t l_t exp(m_t - M). aw: 2 NH nsplit + NH floats.
template <int NB, int VEC>
__device__ void combine_heads(const GemvParams& p, float* xs, float* aw) {
  const int K = p.K, NH = p.heads, D = p.head_dim, NS = p.nsplit;
  float* wt = aw;            // [NH][ns] m_t, then exp(m_t - M)
  float* lt = aw + NH * NS;  // [NH][ns] l_t
  float* den = lt + NH * NS;  // [NH]
  for (int b = 0; b < NB; ++b) {
    float* dst = xs + b * K;
    if (b >= p.nb) {
      for (int k = threadIdx.x; k < K; k += blockDim.x) dst[k] = 0.f;
      continue;
    }
    const int ns = (p.positions[b] + p.chunk) / p.chunk;  // chunks holding [0, pos]
    const float* pp = p.part + static_cast<int64_t>(b) * NH * NS * (D + 2);
    for (int i = threadIdx.x; i < NH * ns; i += blockDim.x) {
      const int h = i / ns, t = i - h * ns;
      const float* q = pp + (static_cast<int64_t>(h) * NS + t) * (D + 2);
      wt[i] = q[0];
      lt[i] = q[1];
    }
    __syncthreads();
    for (int h = threadIdx.x; h < NH; h += blockDim.x) {
      float M = -INFINITY;
      for (int t = 0; t < ns; ++t) M = fmaxf(M, wt[h * ns + t]);
      float L = 0.f;
      for (int t = 0; t < ns; ++t) {
        const float e = expf(wt[h * ns + t] - M);
        wt[h * ns + t] = e;
        L += lt[h * ns + t] * e;
      }
      den[h] = L;
    }
    __syncthreads();
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
      const int h = k / D, d = k - h * D;
      const float* q = pp + static_cast<int64_t>(h) * NS * (D + 2) + 2 + d;
      float acc = 0.f;
#pragma unroll 4
      for (int t = 0; t < ns; ++t) acc += q[static_cast<int64_t>(t) * (D + 2)] * wt[h * ns + t];
      dst[slot<VEC>(k, K)] = acc / den[h];
    }
    __syncthreads();  // wt / lt are refilled for the next sequence
  }
}

// The NB input rows (float4 view, K % 4 == 0) into shared memory (rows >= nb zero), SwiGLU
// applied (SW), x * norm_w stored and the sum of squares kept (fold). J float4 loads a thread
// are issued before any is used: 8 without SwiGLU, so that a row up to 8K wide (the down
// projection's input) arrives in one round trip; 4 with it (its gate and up halves).
template <int NB, int VEC, int J, bool SW>
__device__ float load_rows(const GemvParams& p, float* xs, const float* nw, bool fold) {
  const int K = p.K, nq = K / 4;
  float ss = 0.f;
  for (int b = 0; b < NB; ++b) {
    float* dst = xs + b * K;
    const float4* row = reinterpret_cast<const float4*>(p.x + static_cast<int64_t>(b) * p.ldx);
    for (int q0 = threadIdx.x; q0 < nq; q0 += blockDim.x * J) {
      float4 a[J], g[SW ? J : 1];
#pragma unroll
      for (int j = 0; j < J; ++j) {
        const int q = q0 + j * blockDim.x;
        a[j] = make_float4(0.f, 0.f, 0.f, 0.f);
        if constexpr (SW) g[j] = a[j];
        if (q < nq && b < p.nb) {
          a[j] = row[q];
          if constexpr (SW) g[j] = row[nq + q];
        }
      }
#pragma unroll
      for (int j = 0; j < J; ++j) {
        const int q = q0 + j * blockDim.x;
        if (q >= nq) break;
        float4 v = a[j];
        if constexpr (SW) {
          v.x = a[j].x / (1.f + expf(-a[j].x)) * g[j].x;
          v.y = a[j].y / (1.f + expf(-a[j].y)) * g[j].y;
          v.z = a[j].z / (1.f + expf(-a[j].z)) * g[j].z;
          v.w = a[j].w / (1.f + expf(-a[j].w)) * g[j].w;
        }
        if (fold) {
          ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
          const float4 w = *reinterpret_cast<const float4*>(nw + slot<VEC>(4 * q, K));
          v.x *= w.x, v.y *= w.y, v.z *= w.z, v.w *= w.w;
        }
        *reinterpret_cast<float4*>(dst + slot<VEC>(4 * q, K)) = v;
      }
    }
  }
  return ss;
}

// The NB input rows into shared memory (rows >= nb zero), SwiGLU applied; then the norm
// (statistics in f32, variance in a second pass, as the CPU reference).
// Returns the factor the products are scaled by (1 but for the folded batch-1 RMS norm).
template <typename T, int NB, int VEC>
__device__ float load_input(const GemvParams& p, float* xs, float* nw, float* nbias) {
  const int K = p.K;
  if (p.input == static_cast<int>(InputOp::kAttention)) {
    combine_heads<NB, VEC>(p, xs, nbias + K);
    return 1.f;
  }
  const bool swiglu = p.input == static_cast<int>(InputOp::kSwiglu);
  const bool ln = p.input == static_cast<int>(InputOp::kLayerNorm);
  const bool rms = p.input == static_cast<int>(InputOp::kRmsNorm);
  if constexpr (VEC > 1) {  // K % 4 == 0 and 16-byte aligned rows (checked by the launcher)
    // One sequence with an RMS norm (fold): x * norm_w goes to shared memory as it is loaded
    // (the norm weight is there already: a barrier before the wait) and the row's
    // rsqrt(mean(x^2) + eps) scales the sums in the epilogue, so one block reduction and no
    // normalising pass come before the products.
    const bool fold = NB == 1 && p.fold_norm && rms;
    float ss = swiglu ? load_rows<NB, VEC, 4, true>(p, xs, nw, fold)
                      : load_rows<NB, VEC, 8, false>(p, xs, nw, fold);
    if (fold) {  // one barrier (block_sum's leading one guards a reuse that is not here)
      __shared__ float fold_partial[32];
      ss = warp_sum(ss);
      if ((threadIdx.x & 31) == 0) fold_partial[threadIdx.x >> 5] = ss;
      __syncthreads();
      float total = 0.f;
      for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) total += fold_partial[w];
      return rsqrtf(total / K + p.eps);
    }
  } else {
    for (int b = 0; b < NB; ++b) {
      float* dst = xs + b * K;
      const float* row = p.x + static_cast<int64_t>(b) * p.ldx;
      for (int k = threadIdx.x; k < K; k += blockDim.x) {
        float v = 0.f;
        if (b < p.nb) {
          v = row[k];
          if (swiglu) v = v / (1.f + expf(-v)) * row[K + k];
        }
        dst[k] = v;
      }
    }
  }
  if (!ln && !rms) return 1.f;
  __shared__ float scratch[32];
  __syncthreads();  // rows are read across threads below
  for (int b = 0; b < p.nb; ++b) {
    float* dst = xs + b * K;
    float mean = 0.f;
    if (ln) {
      float s = 0.f;
      for (int k = threadIdx.x; k < K; k += blockDim.x) s += dst[k];
      mean = block_sum(s, scratch) / K;
    }
    float s2 = 0.f;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
      const float d = dst[k] - mean;
      s2 += d * d;
    }
    const float rstd = rsqrtf(block_sum(s2, scratch) / K + p.eps);
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
      float v = (dst[k] - mean) * rstd * nw[k];
      if (ln) v += nbias[k];
      dst[k] = v;
    }
  }
  return 1.f;
}

// A 16-byte weight packet as floats. The buffers hold raw 32-bit words (two bf16 / f16 in
// each), converted only here: held as 16-bit values they would take a register each.
template <typename T>
__device__ __forceinline__ void unpack(const uint4& v, float (&f)[16 / sizeof(T)]) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
  if constexpr (sizeof(T) == 4) {
#pragma unroll
    for (int e = 0; e < 4; ++e) f[e] = __uint_as_float(w[e]);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      f[2 * e] = __uint_as_float(w[e] << 16);
      f[2 * e + 1] = __uint_as_float(w[e] & 0xffff0000u);
    }
  } else {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float2 h = __half22float2(*reinterpret_cast<const __half2*>(&w[e]));
      f[2 * e] = h.x, f[2 * e + 1] = h.y;
    }
  }
}

// One round of a warp's row: packets [rd * 32 * R, ...) of the row, lane-strided (`half`:
// rounds per row of a kSwigluPair launch, 0 otherwise).
template <typename T, int R>
__device__ __forceinline__ void load_round(const GemvParams& p, int row, int rd, int lane, int nv,
                                           int half, uint64_t pol, uint4 (&pk)[R]) {
  int s, r;
  const Packet<T>* wp = reinterpret_cast<const Packet<T>*>(weight_row<T>(p, row, &s, &r));
  if (half > 0) {  // kSwigluPair: row pair r is 2 x half rounds, the gate row's then the up's
    const bool up = rd >= half;
    wp = reinterpret_cast<const Packet<T>*>(static_cast<const T*>(p.w[up ? 1 : 0]) +
                                            static_cast<int64_t>(r) * p.K);
    if (up) rd -= half;
  }
#pragma unroll
  for (int u = 0; u < R; ++u) {
    const int i = rd * 32 * R + lane + 32 * u;
    if (i < nv) {
      pk[u] = ld_stream(wp + i, pol);
    }
  }
}

// What is added to lane b's output of `row` before the activation: the bias and, for the
// residual add, sequence b's current value. Read ahead of the row's last product so the
// epilogue waits on no load.
// (x: bias, y: residual, kept apart so the sums round as the reference's (acc + bias) + x.)
template <typename T>
__device__ __forceinline__ float2 addend(const GemvParams& p, int row, int lane, bool residual) {
  float2 v = make_float2(0.f, 0.f);
  if (row >= p.start[p.nseg] || lane >= p.nb) return v;
  int s, r;
  weight_row<T>(p, row, &s, &r);
  const T* bias = static_cast<const T*>(p.bias[s]);
  if (bias) v.x = to_f(bias[r]);
  if (residual) v.y = p.y[static_cast<int64_t>(lane) * p.ldy + row];
  return v;
}

// Activation, then the store: lane b writes sequence b.
// (scale: load_input's factor; gate: kSwigluPair's scaled gate row sum of lane's sequence.)
template <int NB>
__device__ __forceinline__ void epilogue(const GemvParams& p, int row, const float (&acc)[NB],
                                         int lane, float2 add, float scale, float gate) {
  if (lane >= p.nb) return;
  float v = 0.f;
#pragma unroll
  for (int b = 0; b < NB; ++b)
    if (b == lane) v = acc[b];
  v = v * scale + add.x;
  switch (p.output) {
    case static_cast<int>(OutputOp::kAccumulate): v += add.y; break;
    case static_cast<int>(OutputOp::kGeluTanh): v = gelu_tanh(v); break;
    case static_cast<int>(OutputOp::kGeluErf): v = gelu_erf(v); break;
    case static_cast<int>(OutputOp::kSwigluPair): v *= gate / (1.f + expf(-gate)); break;
    default: break;
  }
  p.y[static_cast<int64_t>(lane) * p.ldy + row] = v;
}

// A warp's walk over its (row, round) items, two register buffers deep: `row, rd` is the
// next item to multiply, `lrow, lrd` the next to load.
struct Walk {
  int row, rd, lrow, lrd, rounds, stride;
  __device__ __forceinline__ static void next(int& r, int& d, int rounds, int stride) {
    if (++d == rounds) d = 0, r += stride;
  }
};

// Multiplies `buf` (the walk's next item) into acc, stores the row after its last round,
// then refills `buf` with the item NBUF ahead (its bias / residual into badd when it starts
// a row), so NBUF rounds stay in flight while the warp computes.
template <typename T, int NB, int VEC, int R>
__device__ __forceinline__ void gemv_step(const GemvParams& p, const float* xs, int lane, int nv,
                                          int half, bool residual, uint64_t pol, Walk& w,
                                          float2& add, float scale, float (&acc)[NB], float& gate,
                                          uint4 (&buf)[R], float2& badd) {
  const int K = p.K;
  if (w.rd == 0) add = badd;
  const int rd = half > 0 && w.rd >= half ? w.rd - half : w.rd;
#pragma unroll
  for (int u = 0; u < R; ++u) {
    const int i = rd * 32 * R + lane + 32 * u;
    if (i >= nv) break;
    float wf[VEC];
    unpack<T>(buf[u], wf);
#pragma unroll
    for (int b = 0; b < NB; ++b) {
#pragma unroll
      for (int e4 = 0; e4 < VEC / 4; ++e4) {  // plane e4 (see slot())
        const float4 xv = reinterpret_cast<const float4*>(xs + b * K + e4 * (K >> 1))[i];
        acc[b] += wf[4 * e4] * xv.x + wf[4 * e4 + 1] * xv.y + wf[4 * e4 + 2] * xv.z +
                  wf[4 * e4 + 3] * xv.w;
      }
    }
  }
  if (half > 0 && w.rd == half - 1) {  // the gate row done: lane b keeps sequence b's sum
#pragma unroll
    for (int b = 0; b < NB; ++b) {
      const float g = warp_sum(acc[b]);
      if (b == lane) gate = g * scale;
      acc[b] = 0.f;
    }
  }
  if (w.rd == w.rounds - 1) {
#pragma unroll
    for (int b = 0; b < NB; ++b) acc[b] = warp_sum(acc[b]);
    epilogue<NB>(p, w.row, acc, lane, add, scale, gate);
#pragma unroll
    for (int b = 0; b < NB; ++b) acc[b] = 0.f;
  }
  Walk::next(w.row, w.rd, w.rounds, w.stride);
  if (w.lrow < p.start[p.nseg]) {
    load_round<T, R>(p, w.lrow, w.lrd, lane, nv, half, pol, buf);
    if (w.lrd == 0) badd = addend<T>(p, w.lrow, lane, residual);
  }
  Walk::next(w.lrow, w.lrd, w.rounds, w.stride);
}

// NBUF: (row, round) items a warp keeps in flight (register buffers in turns); all of them
// are requested before the wait on the previous kernel.
template <typename T, int NB, int VEC, int R, int MINB, int NBUF>
__global__ void __launch_bounds__(kGemvThreads, MINB) gemv_kernel(GemvParams p) {
  extern __shared__ float xs[];  // [NB][K] input rows, then norm weight [K] and bias [K]
  const int K = p.K;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  const int total = p.start[p.nseg], stride = gridDim.x * nwarps;
  const bool norm = p.input == static_cast<int>(InputOp::kLayerNorm) ||
                    p.input == static_cast<int>(InputOp::kRmsNorm);
  const bool residual = p.output == static_cast<int>(OutputOp::kAccumulate);
  float* nw = xs + NB * K;
  float* nbias = nw + K;
  int row = blockIdx.x * nwarps + warp;
  trace_stamp(p.trace, 0);
  pdl_launch_dependents();
  if constexpr (VEC > 1) {
    const int nv = K / VEC, row_rounds = (nv + 32 * R - 1) / (32 * R);
    const int half = p.output == static_cast<int>(OutputOp::kSwigluPair) ? row_rounds : 0;
    const int rounds = half > 0 ? 2 * row_rounds : row_rounds;
    const uint64_t pol = weight_policy(p.read_once);
    uint4 buf[NBUF][R];
    Walk w{row, 0, row, 0, rounds, stride};
    // The first NBUF items do not depend on the previous kernel: in flight before the wait.
#pragma unroll
    for (int k = 0; k < NBUF; ++k) {
      if (w.lrow < total) load_round<T, R>(p, w.lrow, w.lrd, lane, nv, half, pol, buf[k]);
      Walk::next(w.lrow, w.lrd, rounds, stride);
    }
    if (norm) load_norm_weights<T, VEC>(p, nw, nbias);
    if (NB == 1 && p.fold_norm && p.input == static_cast<int>(InputOp::kRmsNorm))
      __syncthreads();  // load_input's fold reads the norm weight other threads stored
    pdl_wait();
    trace_stamp(p.trace, 1);
    float2 badd[NBUF];  // each buffer's row's bias / residual, when it starts a row
    {
      int r = row, d = 0;  // the first items again (not kept in registers across the wait)
#pragma unroll
      for (int k = 0; k < NBUF; ++k) {
        badd[k] = d == 0 ? addend<T>(p, r, lane, residual) : make_float2(0.f, 0.f);
        Walk::next(r, d, rounds, stride);
      }
    }
    float2 add = badd[0];
    const float scale = load_input<T, NB, VEC>(p, xs, nw, nbias);
    __syncthreads();
    trace_stamp(p.trace, 2);
    float acc[NB], gate = 0.f;
#pragma unroll
    for (int b = 0; b < NB; ++b) acc[b] = 0.f;
    // The register buffers in turns (no copy: a copy would wait for the loads it moves).
    bool more = w.row < total;
    while (more) {
#pragma unroll
      for (int k = 0; k < NBUF; ++k) {
        if (!more) break;
        gemv_step<T, NB, VEC, R>(p, xs, lane, nv, half, residual, pol, w, add, scale, acc, gate,
                                 buf[k], badd[k]);
        more = w.row < total;
      }
    }
  } else {
    if (norm) load_norm_weights<T, VEC>(p, nw, nbias);
    pdl_wait();
    trace_stamp(p.trace, 1);
    load_input<T, NB, VEC>(p, xs, nw, nbias);  // (no fold off the vector path: its factor is 1)
    __syncthreads();
    trace_stamp(p.trace, 2);
    for (; row < total; row += stride) {
      int s, r;
      const T* w = weight_row<T>(p, row, &s, &r);
      float acc[NB];
#pragma unroll
      for (int b = 0; b < NB; ++b) acc[b] = 0.f;
      for (int k = lane; k < K; k += 32) {
        const float wv = to_f(w[k]);
#pragma unroll
        for (int b = 0; b < NB; ++b) acc[b] += wv * xs[b * K + k];
      }
#pragma unroll
      for (int b = 0; b < NB; ++b) acc[b] = warp_sum(acc[b]);
      epilogue<NB>(p, row, acc, lane, addend<T>(p, row, lane, residual), 1.f, 0.f);
    }
  }
  if (p.trace) {  // the block's end: its last warp's
    __syncthreads();
    trace_stamp(p.trace, 3);
  }
}

// Floats of shared memory past the input rows and norm planes (kAttention's weights).
size_t extra_floats(const GemvParams& p) {
  return p.input == static_cast<int>(InputOp::kAttention)
             ? static_cast<size_t>(2 * p.heads * p.nsplit + p.heads)
             : 0;
}

template <typename T, int NB>
Status launch_gemv_nb(const GemvParams& p, bool vec, cudaStream_t stream) {
  const size_t smem = (static_cast<size_t>(NB + 2) * p.K + extra_floats(p)) * sizeof(float);
  const int rows_per_block = kGemvThreads / 32;
  constexpr int V = 16 / sizeof(T);
  static const char variant = [] {
    const char* v = std::getenv("LW_DECODE_GEMV");
    return v && (std::string(v) == "a" || std::string(v) == "c") ? v[0] : 'b';
  }();
  auto* kernel = !vec             ? gemv_kernel<T, NB, 1, 8, 1, 2>
                 : variant == 'a' ? gemv_kernel<T, NB, V, 8, 1, 2>
                 : variant == 'c' ? gemv_kernel<T, NB, V, 2, 3, 2>
                                  : gemv_kernel<T, NB, V, 4, 2, 2>;
  // As many blocks as are resident at once (a grid-stride loop does the rest): no second
  // wave waiting behind the first.
  // Remembered per (kernel, shared memory): the eager first step asks, so a capture makes
  // no host-side query.
  static std::mutex mu;
  static std::map<std::pair<const void*, size_t>, int> resident;
  auto blocks_per_sm = [&](auto* k, int* per_sm) -> Status {
    LW_TRY(allow_smem(reinterpret_cast<const void*>(k), smem));
    std::lock_guard<std::mutex> lock(mu);
    int& r = resident[{reinterpret_cast<const void*>(k), smem}];
    if (r == 0) LW_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&r, k, kGemvThreads, smem));
    *per_sm = r;
    return Status::ok();
  };
  int per_sm = 0;
  LW_TRY(blocks_per_sm(kernel, &per_sm));
  // Rows go to warps round-robin, so the slowest warp has ceil(rows / warps) of them: with
  // that many per warp, the fewest warps that cover the rows (the same time, and no warp
  // idling through the last round: 11264 rows on 2112 warps would leave 6 or 5 per warp;
  // measured on the H100: TinyLlama's step 1,177 -> 1,165 us).
  const int rows = p.start[p.nseg];
  auto grid_for = [&](int per_sm_blocks, int* per_warp) {
    const int max_warps = num_sms() * std::max(1, per_sm_blocks) * rows_per_block;
    *per_warp = (rows + max_warps - 1) / max_warps;
    const int warps = (rows + *per_warp - 1) / *per_warp;
    return std::max(1, (warps + rows_per_block - 1) / rows_per_block);
  };
  int per_warp = 0;
  int grid = grid_for(per_sm, &per_warp);
  // LW_DECODE_GEMV_DEEP=1: a batch-1 launch whose warps have at most 4 (row, round) items
  // (TinyLlama's q/k/v: 2 rows of 2 rounds) requests all of them before its wait, with 4
  // register buffers instead of 2, so nothing is left to fetch after the wait; =2: every
  // batch-1 launch keeps 4 rounds in flight a warp. Off by default: measured on the H100
  // (TinyLlama batch 1), 972-975 tok/s with =1 and 980-983 with =2 against 1,024-1,027 off
  // (the extra requests before the wait slow the kernel they overlap more than they save).
  static const int deep_mode = [] {
    const char* v = std::getenv("LW_DECODE_GEMV_DEEP");
    return v && std::string(v) == "1" ? 1 : v && std::string(v) == "2" ? 2 : 0;
  }();
  if constexpr (NB == 1) {
    const int row_rounds = (p.K / V + 32 * 4 - 1) / (32 * 4);
    const int rounds = p.output == static_cast<int>(OutputOp::kSwigluPair) ? 2 * row_rounds
                                                                            : row_rounds;
    if (vec && variant == 'b' && deep_mode > 0 &&
        (deep_mode == 2 || (per_warp * rounds > 2 && per_warp * rounds <= 4))) {
      kernel = gemv_kernel<T, NB, V, 4, 2, 4>;
      LW_TRY(blocks_per_sm(kernel, &per_sm));
      grid = grid_for(per_sm, &per_warp);
    }
  }
  LW_TRY(launch_dependent(kernel, grid, kGemvThreads, smem, stream, p));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

template <typename T>
Status launch_gemv(const GemvParams& p, int nb_pad, bool vec, cudaStream_t stream) {
  switch (nb_pad) {
    case 1: return launch_gemv_nb<T, 1>(p, vec, stream);
    case 2: return launch_gemv_nb<T, 2>(p, vec, stream);
    case 4: return launch_gemv_nb<T, 4>(p, vec, stream);
    default: return launch_gemv_nb<T, 8>(p, vec, stream);
  }
}

// LW_DECODE_NORM_FOLD=0: batch-1 RMS norms normalise the input row like the others.
bool fold_norm() {
  static const bool on = [] {
    const char* v = std::getenv("LW_DECODE_NORM_FOLD");
    return !(v && std::string(v) == "0");
  }();
  return on;
}

int pad_batch(int nb) { return nb <= 1 ? 1 : nb <= 2 ? 2 : nb <= 4 ? 4 : 8; }

}  // namespace

// ============================== launchers ============================================
size_t gemv_smem_bytes(DType, int B, int K) {  // (without kAttention's weights)
  return static_cast<size_t>(pad_batch(std::min(B, kGemvMaxBatch)) + 2) * K * sizeof(float);
}

Status gemv(const GemvArgs& a, cudaStream_t stream) {
  LW_CHECK(a.nseg >= 1 && a.nseg <= 3 && a.K > 0 && a.B >= 1, "decode gemv: bad arguments");
  const bool attn = a.input == InputOp::kAttention;
  LW_CHECK(!attn || (a.attn_part && a.positions && a.heads > 0 && a.head_dim > 0 &&
                     a.heads * a.head_dim == a.K && a.chunk > 0 && a.nsplit > 0),
           "decode gemv: the attention input needs its partials, positions and head layout");
  const size_t extra = attn ? static_cast<size_t>(2 * a.heads * a.nsplit + a.heads) : 0;
  // The largest chunk of sequences whose input rows (and norm planes) fit in shared memory.
  int chunk = kGemvMaxBatch;
  auto bytes = [&](int nb) { return (static_cast<size_t>(nb + 2) * a.K + extra) * sizeof(float); };
  while (chunk > 1 && bytes(chunk) > smem_optin()) chunk /= 2;
  LW_CHECK(bytes(1) <= smem_optin(),
           "decode gemv: input width " + std::to_string(a.K) + " exceeds shared memory");
  GemvParams p{};
  p.ldx = a.ldx;
  p.K = a.K;
  p.input = static_cast<int>(a.input);
  p.norm_w = a.norm_w;
  p.norm_b = a.norm_b;
  p.eps = a.eps;
  p.nseg = a.nseg;
  p.ldy = a.ldy;
  p.output = static_cast<int>(a.output);
  p.read_once = a.B <= chunk;
  p.fold_norm = fold_norm();
  p.heads = a.heads, p.head_dim = a.head_dim, p.chunk = a.chunk, p.nsplit = a.nsplit;
  // The vector path reads 16-byte weight packets and float4 input rows.
  bool vec = a.K % (16 / static_cast<int>(dtype_size(a.dtype))) == 0 && a.K % 4 == 0 &&
             a.ldx % 4 == 0 && aligned16(a.x);
  p.start[0] = 0;
  for (int s = 0; s < a.nseg; ++s) {
    p.w[s] = a.seg[s].w;
    p.bias[s] = a.seg[s].bias;
    p.start[s + 1] = p.start[s] + a.seg[s].rows;
    vec = vec && aligned16(a.seg[s].w);
  }
  if (a.output == OutputOp::kSwigluPair) {  // one row space of pairs; the up rows beside
    LW_CHECK(a.nseg == 2 && a.seg[0].rows == a.seg[1].rows && !a.seg[0].bias && !a.seg[1].bias,
             "decode gemv: the SwiGLU pair output needs two segments of equal rows, no biases");
    LW_CHECK(vec, "decode gemv: the SwiGLU pair output needs 16-byte weight rows");
    p.nseg = 1;
  }
  for (int b0 = 0; b0 < a.B; b0 += chunk) {
    p.nb = std::min(chunk, a.B - b0);
    p.x = a.x + static_cast<int64_t>(b0) * a.ldx;
    p.y = a.y + static_cast<int64_t>(b0) * a.ldy;
    p.trace = b0 == 0 ? a.trace : nullptr;
    if (attn) {
      p.part = a.attn_part + static_cast<int64_t>(b0) * a.heads * a.nsplit * (a.head_dim + 2);
      p.positions = a.positions + b0;
    }
    LW_DISPATCH_FLOAT(a.dtype, "decode gemv",
                      LW_TRY(launch_gemv<T>(p, pad_batch(p.nb), vec, stream)));
  }
  return Status::ok();
}

}  // namespace lw::cuda::decode
