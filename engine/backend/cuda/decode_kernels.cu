// Single-token decode kernels (see decode_kernels.h). Batch-1 decoding is bound by reading
// the weights, so the GEMV streams each weight row once with 16-byte loads, one warp per
// output row, and serves up to 8 sequences from the activations it keeps in shared memory;
// the norms, SwiGLU, bias, GELU and the residual add ride along so a layer is 5 launches.
// Attention (rotary and the cache append included) splits the cached keys into 64-position
// chunks over many blocks and the last block of each head combines the partial softmaxes
// (flash-decoding), reading each sequence's length on device.
// Kernels after the first launch as programmatic dependents (Hopper's griddepcontrol): each
// lets its successor start at once, and waits for its predecessor only before touching
// activations, so a GEMV's blocks get scheduled and pull their first weight rows into L2
// while the kernel before it drains.
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cstdlib>
#include <string>

#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/decode_kernels.h"

namespace lw::cuda::decode {
namespace {

constexpr int kGemvThreads = 256;
constexpr int kChunk = 64;  // keys per attention block
constexpr int kAttnThreads = 128;

int device_attr(cudaDeviceAttr attr) {
  int dev = 0, v = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&v, attr, dev);
  return v;
}
int num_sms() {
  static const int n = device_attr(cudaDevAttrMultiProcessorCount);
  return n > 0 ? n : 1;
}
size_t smem_optin() {
  static const size_t n = static_cast<size_t>(device_attr(cudaDevAttrMaxSharedMemoryPerBlockOptin));
  return n > 0 ? n : 48 * 1024;
}

__device__ __forceinline__ void pdl_start() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// LW_DECODE_PDL=0 launches every kernel in plain stream order (to measure what overlap gains).
bool pdl_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("LW_DECODE_PDL");
    return !(v && std::string(v) == "0");
  }();
  return on;
}

// Launches `kernel` allowed to overlap the tail of the previous kernel in the stream.
template <typename... KArgs, typename... Args>
Status launch_dependent(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                        cudaStream_t stream, Args... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_enabled() ? 1 : 0;
  LW_CUDA_TRY(cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...));
  return Status::ok();
}

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

// Rows >= nb of the shared input are zero; the norm statistics are taken in f32 with a
// second pass for the variance (as the CPU reference).
template <typename T, int NB, int VEC>
__device__ void load_input(const GemvParams& p, float* xs) {
  const int K = p.K;
  for (int b = 0; b < NB; ++b) {
    float* dst = xs + b * K;
    const float* row = p.x + static_cast<int64_t>(b) * p.ldx;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
      float v = 0.f;
      if (b < p.nb) {
        if (p.input == static_cast<int>(InputOp::kSwiglu)) {
          const float g = row[k], u = row[K + k];
          v = g / (1.f + expf(-g)) * u;
        } else {
          v = row[k];
        }
      }
      dst[slot<VEC>(k, K)] = v;
    }
  }
  const bool ln = p.input == static_cast<int>(InputOp::kLayerNorm);
  const bool rms = p.input == static_cast<int>(InputOp::kRmsNorm);
  if (!ln && !rms) return;
  __shared__ float scratch[32];
  const T* w = static_cast<const T*>(p.norm_w);
  const T* bias = static_cast<const T*>(p.norm_b);
  for (int b = 0; b < p.nb; ++b) {  // each thread revisits the columns it wrote
    float* dst = xs + b * K;
    float mean = 0.f;
    if (ln) {
      float s = 0.f;
      for (int k = threadIdx.x; k < K; k += blockDim.x) s += dst[slot<VEC>(k, K)];
      mean = block_sum(s, scratch) / K;
    }
    float s2 = 0.f;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
      const float d = dst[slot<VEC>(k, K)] - mean;
      s2 += d * d;
    }
    const float rstd = rsqrtf(block_sum(s2, scratch) / K + p.eps);
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
      float& x = dst[slot<VEC>(k, K)];
      float v = (x - mean) * rstd * to_f(w[k]);
      if (ln && bias) v += to_f(bias[k]);
      x = v;
    }
  }
}

template <typename T>
__device__ __forceinline__ const T* weight_row(const GemvParams& p, int row, int* seg, int* r) {
  int s = 0;
  while (s + 1 < p.nseg && row >= p.start[s + 1]) ++s;
  *seg = s;
  *r = row - p.start[s];
  return static_cast<const T*>(p.w[s]) + static_cast<int64_t>(*r) * p.K;
}

template <typename T, int NB, int VEC>
__global__ void __launch_bounds__(kGemvThreads) gemv_kernel(GemvParams p) {
  extern __shared__ float xs[];  // [NB][K]
  const int K = p.K;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  const int total = p.start[p.nseg];
  pdl_start();
  if (blockIdx.x * nwarps + warp < total) {  // weights do not depend on the previous kernel
    int s, r;
    const char* w = reinterpret_cast<const char*>(weight_row<T>(p, blockIdx.x * nwarps + warp, &s, &r));
    for (int off = lane * 128; off < K * static_cast<int>(sizeof(T)); off += 32 * 128)
      asm volatile("prefetch.global.L2 [%0];" ::"l"(w + off));
  }
  pdl_wait();
  load_input<T, NB, VEC>(p, xs);
  __syncthreads();
  for (int row = blockIdx.x * nwarps + warp; row < total; row += gridDim.x * nwarps) {
    int s, r;
    const T* w = weight_row<T>(p, row, &s, &r);
    float acc[NB];
#pragma unroll
    for (int b = 0; b < NB; ++b) acc[b] = 0.f;
    if constexpr (VEC > 1) {
      const Packet<T>* wp = reinterpret_cast<const Packet<T>*>(w);
      const int nv = K / VEC;
      constexpr int U = 8;  // packets per lane in flight before any arithmetic
      for (int i0 = lane; i0 < nv; i0 += 32 * U) {
        Packet<T> pks[U];
#pragma unroll
        for (int u = 0; u < U; ++u)
          if (i0 + 32 * u < nv) pks[u] = wp[i0 + 32 * u];
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const int i = i0 + 32 * u;
          if (i >= nv) break;
          const Packet<T>& pk = pks[u];
          float wf[VEC];
#pragma unroll
          for (int e = 0; e < VEC; ++e) wf[e] = to_f(pk.v[e]);
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
      }
    } else {
      for (int k = lane; k < K; k += 32) {
        const float wv = to_f(w[k]);
#pragma unroll
        for (int b = 0; b < NB; ++b) acc[b] += wv * xs[b * K + k];
      }
    }
#pragma unroll
    for (int b = 0; b < NB; ++b) acc[b] = warp_sum(acc[b]);
    if (lane == 0) {
      const T* bias = static_cast<const T*>(p.bias[s]);
      const float bv = bias ? to_f(bias[r]) : 0.f;
#pragma unroll
      for (int b = 0; b < NB; ++b) {
        if (b >= p.nb) break;
        float v = acc[b] + bv;
        float* out = p.y + static_cast<int64_t>(b) * p.ldy + row;
        switch (p.output) {
          case static_cast<int>(OutputOp::kAccumulate): v += *out; break;
          case static_cast<int>(OutputOp::kGeluTanh): v = gelu_tanh(v); break;
          case static_cast<int>(OutputOp::kGeluErf): v = gelu_erf(v); break;
          default: break;
        }
        *out = v;
      }
    }
  }
}

template <typename T>
__global__ void embed_kernel(float* x, const T* wte, const T* wpe, const int32_t* tokens,
                             const int32_t* positions, int C) {
  pdl_start();
  pdl_wait();
  const int b = blockIdx.x;
  const T* te = wte + static_cast<int64_t>(tokens[b]) * C;
  const T* pe = wpe ? wpe + static_cast<int64_t>(positions[b]) * C : nullptr;
  for (int c = threadIdx.x; c < C; c += blockDim.x)
    x[static_cast<int64_t>(b) * C + c] = to_f(te[c]) + (pe ? to_f(pe[c]) : 0.f);
}

// Rotates x[0..D) by rotate_half at `pos` (transformers' angles: f32 inv_freq and angle).
__device__ __forceinline__ void rope_inplace(float* x, int D, int pos, float theta) {
  const int half = D / 2;
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const float inv_freq = 1.f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(D));
    float sn, cs;
    sincosf(static_cast<float>(pos) * inv_freq, &sn, &cs);
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * cs - x2 * sn;
    x[i + half] = x2 * cs + x1 * sn;
  }
}

// Block (chunk s, query head h, sequence b) over up to kChunk cached keys. The chunk holding
// the new position takes its key and value from qkv (rotated here, rounded to the cache
// dtype), and the group's first head stores them in the cache. Each block leaves
// [m, l, o(D)] in `part`; the last block of (b, h) to finish (a counter, reset after use)
// combines them into out, so one launch does append, attention and combine.
// AV: elements per 16-byte cache load (1 when D is not a multiple of it). Scores take one
// thread per key and values one thread per (AV columns, key group), so every cached row is
// fetched by independent loads in one round trip, not key by key.
template <typename T, int AV>
__global__ void attention_kernel(const float* qkv, int ldq, T* kc, T* vc, int64_t seq_stride,
                                 const int32_t* positions, int NH, int NKV, int D, int nsplit,
                                 float scale, float theta, float* part, int* counters,
                                 float* out) {
  extern __shared__ float sm[];  // q [D], k_new [D], v_new [D], p [kChunk], red [kg][D]
  float* q = sm;
  float* k_new = sm + D;
  float* v_new = sm + 2 * D;
  float* pr = sm + 3 * D;
  __shared__ bool last_block;
  const int s = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  pdl_start();
  pdl_wait();
  const int pos = positions[b];
  const int len = pos + 1;
  const int j0 = s * kChunk;
  if (j0 >= len) return;  // beyond this sequence: the combine counts only live chunks
  const int n = min(kChunk, len - j0);
  const int ns = (len + kChunk - 1) / kChunk;
  const int KV = NKV * D, kvh = h / (NH / NKV);
  const bool has_new = pos < j0 + kChunk;
  const float* row = qkv + static_cast<int64_t>(b) * ldq;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    q[d] = row[h * D + d];
    if (has_new) k_new[d] = row[NH * D + kvh * D + d], v_new[d] = row[NH * D + KV + kvh * D + d];
  }
  __syncthreads();
  if (theta > 0.f) {
    rope_inplace(q, D, pos, theta);
    if (has_new) rope_inplace(k_new, D, pos, theta);
    __syncthreads();
  }
  T* kb = kc + static_cast<int64_t>(b) * seq_stride + kvh * D;
  T* vb = vc + static_cast<int64_t>(b) * seq_stride + kvh * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    q[d] *= scale;
    if (has_new) {
      const T kt = from_f<T>(k_new[d]), vt = from_f<T>(v_new[d]);
      k_new[d] = to_f(kt), v_new[d] = to_f(vt);  // attend to what the cache will hold
      if (h % (NH / NKV) == 0) {
        kb[static_cast<int64_t>(pos) * KV + d] = kt;
        vb[static_cast<int64_t>(pos) * KV + d] = vt;
      }
    }
  }
  __syncthreads();
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    float dot = 0.f;
    if (j0 + j == pos) {
      for (int d = 0; d < D; ++d) dot += q[d] * k_new[d];
    } else {
      const T* kr = kb + static_cast<int64_t>(j0 + j) * KV;
#pragma unroll 8
      for (int d0 = 0; d0 < D; d0 += AV) {
        if constexpr (AV > 1) {
          const Packet<T> pk = *reinterpret_cast<const Packet<T>*>(kr + d0);
#pragma unroll
          for (int e = 0; e < AV; ++e) dot += q[d0 + e] * to_f(pk.v[e]);
        } else {
          dot += q[d0] * to_f(kr[d0]);
        }
      }
    }
    pr[j] = dot;
  }
  __syncthreads();
  float m = -INFINITY;
  for (int j = 0; j < n; ++j) m = fmaxf(m, pr[j]);
  __syncthreads();
  for (int j = threadIdx.x; j < n; j += blockDim.x) pr[j] = expf(pr[j] - m);
  __syncthreads();
  float* mine = part + ((static_cast<int64_t>(b) * NH + h) * nsplit + s) * (D + 2);
  const int dg = D / AV, kg = max(1, static_cast<int>(blockDim.x) / dg);
  float* red = pr + kChunk;
  for (int t = threadIdx.x; t < dg * kg; t += blockDim.x) {
    const int g = t % dg, kgi = t / dg;
    float acc[AV];
#pragma unroll
    for (int e = 0; e < AV; ++e) acc[e] = 0.f;
#pragma unroll 4
    for (int j = kgi; j < n; j += kg) {
      const float pj = pr[j];
      if (j0 + j == pos) {
#pragma unroll
        for (int e = 0; e < AV; ++e) acc[e] += pj * v_new[g * AV + e];
      } else {
        const T* vr = vb + static_cast<int64_t>(j0 + j) * KV + g * AV;
        if constexpr (AV > 1) {
          const Packet<T> pk = *reinterpret_cast<const Packet<T>*>(vr);
#pragma unroll
          for (int e = 0; e < AV; ++e) acc[e] += pj * to_f(pk.v[e]);
        } else {
          acc[0] += pj * to_f(vr[0]);
        }
      }
    }
#pragma unroll
    for (int e = 0; e < AV; ++e) red[kgi * D + g * AV + e] = acc[e];
  }
  __syncthreads();
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < kg; ++k) acc += red[k * D + d];
    mine[2 + d] = acc;
  }
  if (threadIdx.x == 0) {
    float l = 0.f;
    for (int j = 0; j < n; ++j) l += pr[j];
    mine[0] = m;
    mine[1] = l;
  }
  // Publish the partial, then count; the block that completes the set combines.
  __threadfence();
  __syncthreads();
  int* counter = counters + static_cast<int64_t>(b) * NH + h;
  if (threadIdx.x == 0) last_block = atomicAdd(counter, 1) == ns - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  const float* pp = part + (static_cast<int64_t>(b) * NH + h) * nsplit * (D + 2);
  float M = -INFINITY;
  for (int t = 0; t < ns; ++t) M = fmaxf(M, __ldcg(pp + t * (D + 2)));
  float L = 0.f;
  for (int t = 0; t < ns; ++t) L += __ldcg(pp + t * (D + 2) + 1) * expf(__ldcg(pp + t * (D + 2)) - M);
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.f;
    for (int t = 0; t < ns; ++t)
      acc += __ldcg(pp + t * (D + 2) + 2 + d) * expf(__ldcg(pp + t * (D + 2)) - M);
    out[static_cast<int64_t>(b) * NH * D + h * D + d] = acc / L;
  }
  if (threadIdx.x == 0) *counter = 0;  // ready for the next step
}

__global__ void argmax_kernel(const float* logits, int V, int32_t* ids, float* logprob) {
  __shared__ float sv[32];
  __shared__ int si[32];
  __shared__ float scratch[32];
  pdl_start();
  pdl_wait();
  const int b = blockIdx.x;
  const float* row = logits + static_cast<int64_t>(b) * V;
  float best = -INFINITY;
  int bi = INT_MAX;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float v = row[i];
    if (v > best) best = v, bi = i;  // increasing i: keeps the first of equal values
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ov > best || (ov == best && oi < bi)) best = ov, bi = oi;
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  if (lane == 0) sv[warp] = best, si[warp] = bi;
  __syncthreads();
  best = -INFINITY;
  bi = INT_MAX;
  for (int w = 0; w < nwarps; ++w)
    if (sv[w] > best || (sv[w] == best && si[w] < bi)) best = sv[w], bi = si[w];
  if (bi == INT_MAX) bi = 0;  // an all -inf / NaN row
  float sum = 0.f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) sum += expf(row[i] - best);
  sum = block_sum(sum, scratch);
  if (threadIdx.x == 0) {
    ids[b] = bi;
    logprob[b] = -logf(sum);
  }
}

template <typename T, int NB>
Status launch_gemv_nb(const GemvParams& p, bool vec, cudaStream_t stream) {
  const size_t smem = static_cast<size_t>(NB) * p.K * sizeof(float);
  const int rows_per_block = kGemvThreads / 32;
  int grid = (p.start[p.nseg] + rows_per_block - 1) / rows_per_block;
  grid = std::max(1, std::min(grid, num_sms() * 8));
  constexpr int V = 16 / sizeof(T);
  if (vec) {
    LW_TRY(allow_smem(reinterpret_cast<const void*>(gemv_kernel<T, NB, V>), smem));
    LW_TRY(launch_dependent(gemv_kernel<T, NB, V>, grid, kGemvThreads, smem, stream, p));
  } else {
    LW_TRY(allow_smem(reinterpret_cast<const void*>(gemv_kernel<T, NB, 1>), smem));
    LW_TRY(launch_dependent(gemv_kernel<T, NB, 1>, grid, kGemvThreads, smem, stream, p));
  }
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

int pad_batch(int nb) { return nb <= 1 ? 1 : nb <= 2 ? 2 : nb <= 4 ? 4 : 8; }

}  // namespace

// ============================== launchers ============================================
size_t gemv_smem_bytes(DType dtype, int B, int K) {
  return static_cast<size_t>(pad_batch(std::min(B, kGemvMaxBatch))) * K * sizeof(float);
}

Status gemv(const GemvArgs& a, cudaStream_t stream) {
  LW_CHECK(a.nseg >= 1 && a.nseg <= 3 && a.K > 0 && a.B >= 1, "decode gemv: bad arguments");
  // The largest chunk of sequences whose input rows fit in shared memory.
  int chunk = kGemvMaxBatch;
  while (chunk > 1 && static_cast<size_t>(chunk) * a.K * sizeof(float) > smem_optin()) chunk /= 2;
  LW_CHECK(static_cast<size_t>(a.K) * sizeof(float) <= smem_optin(),
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
  bool vec = a.K % (16 / static_cast<int>(dtype_size(a.dtype))) == 0;
  p.start[0] = 0;
  for (int s = 0; s < a.nseg; ++s) {
    p.w[s] = a.seg[s].w;
    p.bias[s] = a.seg[s].bias;
    p.start[s + 1] = p.start[s] + a.seg[s].rows;
    vec = vec && aligned16(a.seg[s].w);
  }
  for (int b0 = 0; b0 < a.B; b0 += chunk) {
    p.nb = std::min(chunk, a.B - b0);
    p.x = a.x + static_cast<int64_t>(b0) * a.ldx;
    p.y = a.y + static_cast<int64_t>(b0) * a.ldy;
    LW_DISPATCH_FLOAT(a.dtype, "decode gemv",
                      LW_TRY(launch_gemv<T>(p, pad_batch(p.nb), vec, stream)));
  }
  return Status::ok();
}

Status embed(DType dtype, float* x, const void* wte, const void* wpe, const int32_t* tokens,
             const int32_t* positions, int B, int C, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "decode embed",
    embed_kernel<T><<<B, 256, 0, stream>>>(x, static_cast<const T*>(wte),
                                           static_cast<const T*>(wpe), tokens, positions, C));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

size_t attention_scratch_floats(int B, int NH, int D, int P) {
  const int nsplit = (P + kChunk - 1) / kChunk;
  return static_cast<size_t>(B) * NH * nsplit * (D + 2);
}

Status attention(DType dtype, const float* qkv, int ldq, void* k_cache, void* v_cache,
                 int64_t seq_stride, const int32_t* positions, int B, int NH, int NKV, int D,
                 int P, float theta, float* scratch, int32_t* counters, float* out,
                 cudaStream_t stream) {
  LW_CHECK(NKV >= 1 && NH % NKV == 0 && D >= 2 && D % 2 == 0, "decode attention: bad head layout");
  const int nsplit = (P + kChunk - 1) / kChunk;
  const float scale = 1.f / sqrtf(static_cast<float>(D));
  dim3 grid(nsplit, NH, B);
  LW_DISPATCH_FLOAT(dtype, "decode attention", {
    constexpr int kAv = 16 / sizeof(T);
    const int av = D % kAv == 0 ? kAv : 1;
    const int dg = D / av, kg = std::max(1, kAttnThreads / dg);
    const size_t smem = (3 * D + kChunk + kg * D) * sizeof(float);
    auto* kernel = av == kAv ? attention_kernel<T, kAv> : attention_kernel<T, 1>;
    LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
    LW_TRY(launch_dependent(kernel, grid, kAttnThreads, smem, stream, qkv, ldq,
                            static_cast<T*>(k_cache), static_cast<T*>(v_cache), seq_stride,
                            positions, NH, NKV, D, nsplit, scale, theta, scratch,
                            reinterpret_cast<int*>(counters), out));
  });
  return Status::ok();
}

Status argmax_logprob(const float* logits, int B, int V, int32_t* ids, float* logprob,
                      cudaStream_t stream) {
  LW_TRY(launch_dependent(argmax_kernel, B, 1024, 0, stream, logits, V, ids, logprob));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace lw::cuda::decode
