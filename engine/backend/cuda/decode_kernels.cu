// Single-token decode kernels besides the GEMV (decode_gemv.cu; see decode_kernels.h):
// the embedding, attention and greedy argmax of a decode step.
// Attention (rotary and the cache append included) takes a cache of up to 384 positions in
// one block: a block a key/value head on tensor cores (16-bit caches, heads of 64 or 128,
// groups of up to 8 query heads), else a block a query head; longer caches are split into
// 384-key chunks over many blocks, whose partial softmaxes are combined (flash-decoding),
// reading each sequence's length on device.
// The argmax splits the vocabulary over many blocks the same way (a batch-1 row is one
// block's work otherwise).
// Attention copies its keys and values into shared memory before waiting on the GEMV that
// produces q. Kernels after the first launch as programmatic dependents (decode_common.cuh).
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "engine/backend/cuda/attention_flash_mma.cuh"
#include "engine/backend/cuda/decode_common.cuh"
#include "engine/backend/cuda/decode_kernels.h"

namespace lw::cuda::decode {
namespace {

using namespace detail;

constexpr int kMinChunk = 64;  // keys per attention block: the scratch is sized for this
constexpr int kAttnThreads = 128;     // the fewest threads of an attention block
constexpr int kMaxAttnThreads = 384;  // the largest chunk, and block (a thread a key)
constexpr int kMmaAttnThreads = 256;  // the tensor-core attention block: 8 warps
constexpr int kMaxCluster = 8;  // the portable cluster size: chunks a cluster combines
constexpr int kArgmaxThreads = 256;
constexpr int kArgmaxSlice = 1024;  // logits per argmax block (4 per thread)

template <typename T>
__global__ void embed_kernel(float* x, const T* wte, const T* wpe, const int32_t* tokens,
                             const int32_t* positions, int C, uint64_t* trace) {
  trace_stamp(trace, 0);
  pdl_launch_dependents();
  pdl_wait();
  trace_stamp(trace, 1);
  const int b = blockIdx.x;
  const T* te = wte + static_cast<int64_t>(tokens[b]) * C;
  const T* pe = wpe ? wpe + static_cast<int64_t>(positions[b]) * C : nullptr;
#pragma unroll 4
  for (int c = threadIdx.x; c < C; c += blockDim.x)
    x[static_cast<int64_t>(b) * C + c] = to_f(te[c]) + (pe ? to_f(pe[c]) : 0.f);
  trace_stamp(trace, 3);
}

// Thread block clusters (Hopper; the launcher uses them only there): the barrier's arrive
// (release: this thread's earlier writes, distributed shared memory included, are seen by
// threads past the wait) and wait (acquire), and stores into the first block's shared
// memory.
__device__ __forceinline__ void cluster_arrive(bool release) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (release) asm volatile("barrier.cluster.arrive.release;\n" ::: "memory");
  else asm volatile("barrier.cluster.arrive.relaxed;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void cluster_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("barrier.cluster.wait.acquire;\n" ::: "memory");
#endif
}
// The address of `p` (this block's shared memory) in the cluster's first block.
__device__ __forceinline__ uint32_t cluster_map_rank0(const float* p) {
  uint32_t r = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("mapa.shared::cluster.u32 %0, %1, 0;\n" : "=r"(r) : "r"(a));
#endif
  return r;
}
__device__ __forceinline__ void cluster_store(uint32_t addr, float v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("st.shared::cluster.f32 [%0], %1;\n" ::"r"(addr), "f"(v) : "memory");
#endif
}

// Issues a 16-byte copy global -> shared (Ampere+; completes by cp_commit / cp_wait).
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(gmem) : "memory");
}

// Publishes this block's partial (written before the call) and counts it in: true for the
// block that completes the set of n, which then reads the others' partials (and resets the
// counter for the next step).
__device__ __forceinline__ bool last_to_arrive(int* counter, int n) {
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(counter, 1) == n - 1;
  __syncthreads();
  if (last) __threadfence();
  return last;
}

// Column d of a head's output from its ns chunk partials [m, l, o(D)] (pp, stride D + 2):
// o = sum_t o_t e^(m_t - M) / sum_t l_t e^(m_t - M), the partials read in batches of 8 with
// every load issued before use, folded with a running maximum. No block reduction: each
// thread combines m and l itself (a few chunks).
__device__ __forceinline__ float combine_chunks(const float* pp, int ns, int D, int d) {
  float M = -INFINITY, L = 0.f, acc = 0.f;
  for (int t0 = 0; t0 < ns; t0 += 8) {
    float mv[8], lv[8], ov[8];
#pragma unroll
    for (int u = 0; u < 8; ++u) {
      const float* c = pp + static_cast<int64_t>(t0 + u) * (D + 2);
      const bool live = t0 + u < ns;
      mv[u] = live ? __ldcg(c) : -INFINITY;
      lv[u] = live ? __ldcg(c + 1) : 0.f;
      ov[u] = live ? __ldcg(c + 2 + d) : 0.f;
    }
    float mn = M;
#pragma unroll
    for (int u = 0; u < 8; ++u) mn = fmaxf(mn, mv[u]);
    const float rescale = M == -INFINITY ? 0.f : expf(M - mn);
    acc *= rescale;
    L *= rescale;
#pragma unroll
    for (int u = 0; u < 8; ++u) {
      if (t0 + u >= ns) break;
      const float e = expf(mv[u] - mn);
      acc += ov[u] * e;
      L += lv[u] * e;
    }
    M = mn;
  }
  return acc / L;
}

// Block (chunk s, query head h, sequence b) over up to `chunk` cached keys. The chunk holding
// the new position takes its key and value from qkv (rotated here, rounded to the cache
// dtype), and the group's first head stores them in the cache. Each block computes
// [m, l, o(D)] of its chunk; a sequence whose keys fit one chunk writes o / l directly; else
// with `cluster` (the head's chunks one thread block cluster) it stores them in the first
// block's shared memory, which combines them after the cluster barrier; else it leaves them
// in `part` and the last block of (b, h) to finish (a counter, reset after use) combines.
// Either way one launch does append, attention and combine.
// AV: elements per 16-byte cache load (1 when D is not a multiple of it). Scores take one
// thread per key and values one thread per (AV columns, key group). MAXT: the most threads a
// launch has (256, or 384 with LW_DECODE_ATTN_THREADS=384); two blocks' registers fit an SM.
// `stage`: keys and values are staged (the launcher's shared memory has room for them).
// Everything that does not depend on the q/k/v GEMV happens before the wait on it: the
// chunk's cached keys and values are copied into shared memory (cp.async: no registers held,
// so that a block of a thread a key stays small enough to be resident beside the GEMV's
// blocks, and copies early) and the thread's rotary angle computed, so after the wait the
// chain is q (one L2 round trip), the block reductions, the values, and for split chunks the
// partials' hand-over (the cluster barrier, or a fence, the counter and one more round trip).
template <typename T, int AV, int MAXT>
__global__ void __launch_bounds__(MAXT, 2) attention_kernel(
    const float* qkv, int ldq, T* kc, T* vc, int64_t seq_stride, const int32_t* positions, int NH,
    int NKV, int D, int chunk, int nsplit, int stage, int cluster, float scale, float theta,
    float* part, int* counters, float* out, uint64_t* trace) {
  // q [D], k_new [D], v_new [D], p [chunk], red [kg][D], with `cluster` the chunks' partials
  // [nsplit][2 + D] (filled by the cluster's blocks in its first block's memory), then (16-byte
  // aligned) the staged keys and values [chunk][rs] each (sized by the launcher).
  extern __shared__ float sm[];
  float* q = sm;
  float* k_new = sm + D;
  float* v_new = sm + 2 * D;
  float* pr = sm + 3 * D;
  __shared__ float red_scratch[32];
  const int s = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  trace_stamp(trace, 0);
  pdl_launch_dependents();
  // Cluster barrier, phase 0: every block of the cluster runs (its shared memory may be
  // written) once it completes; waited on just before the partials go to the first block.
  if (cluster) cluster_arrive(false);
  // positions[] was uploaded before the step's first kernel and cached rows [0, pos) by
  // earlier steps.
  const int pos = positions[b];
  const int len = pos + 1;
  const int j0 = s * chunk;
  if (j0 >= len) {  // beyond this sequence: the combine counts only live chunks
    if (cluster) cluster_wait(), cluster_arrive(true);  // the phases the live blocks wait on
    return;
  }
  const int n = min(chunk, len - j0);
  const int ns = (len + chunk - 1) / chunk;
  const int KV = NKV * D, kvh = h / (NH / NKV), half = D / 2;
  const bool has_new = pos < j0 + chunk;
  T* kb = kc + static_cast<int64_t>(b) * seq_stride + kvh * D;
  T* vb = vc + static_cast<int64_t>(b) * seq_stride + kvh * D;
  const int dg = D / AV, kg = max(1, static_cast<int>(blockDim.x) / dg);
  // The chunk's keys and values into shared memory, rows padded by 16 bytes (a thread's key
  // row and a warp's value rows then fall on distinct banks). The new position's row is
  // copied as the cache holds it now and not used (k_new / v_new are).
  const bool staged = stage && AV > 1;
  const int rs = D + 16 / static_cast<int>(sizeof(T));
  const int stage_at = (3 * D + chunk + kg * D + (cluster ? nsplit * (D + 2) : 0) + 3) / 4 * 4;
  T* ks = reinterpret_cast<T*>(sm + stage_at);
  T* vs = ks + static_cast<int64_t>(chunk) * rs;
  if (staged) {
    for (int i = threadIdx.x; i < n * dg; i += blockDim.x) {
      const int j = i / dg, c = (i - j * dg) * AV;
      const int64_t at = static_cast<int64_t>(j0 + j) * KV + c;
      cp_async16(ks + j * rs + c, kb + at);
      cp_async16(vs + j * rs + c, vb + at);
    }
    cp_commit();
  }
  // Rotary angle of column pair (i, i + D/2), i = this thread (D <= 2 * blockDim.x, checked
  // by the launcher): transformers' f32 inv_freq and angle.
  const int i = threadIdx.x;
  float sn = 0.f, cs = 1.f;
  if (theta > 0.f && i < half) {
    const float inv_freq = 1.f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(D));
    sincosf(static_cast<float>(pos) * inv_freq, &sn, &cs);
  }
  pdl_wait();
  trace_stamp(trace, 1);
  if (i < half) {
    const float* row = qkv + static_cast<int64_t>(b) * ldq;
    const float* kr = row + NH * D + kvh * D;
    const float* vr = kr + KV;
    const float q1 = row[h * D + i], q2 = row[h * D + i + half];
    float k1 = 0.f, k2 = 0.f, v1 = 0.f, v2 = 0.f;
    if (has_new) k1 = kr[i], k2 = kr[i + half], v1 = vr[i], v2 = vr[i + half];
    float q_lo = q1, q_hi = q2, k_lo = k1, k_hi = k2;
    if (theta > 0.f) {
      q_lo = q1 * cs - q2 * sn, q_hi = q2 * cs + q1 * sn;
      k_lo = k1 * cs - k2 * sn, k_hi = k2 * cs + k1 * sn;
    }
    q[i] = q_lo * scale;
    q[i + half] = q_hi * scale;
    if (has_new) {
      const T kt1 = from_f<T>(k_lo), kt2 = from_f<T>(k_hi), vt1 = from_f<T>(v1), vt2 = from_f<T>(v2);
      k_new[i] = to_f(kt1), k_new[i + half] = to_f(kt2);  // attend to what the cache will hold
      v_new[i] = to_f(vt1), v_new[i + half] = to_f(vt2);
      if (h % (NH / NKV) == 0) {
        T* kp = kb + static_cast<int64_t>(pos) * KV;
        T* vp = vb + static_cast<int64_t>(pos) * KV;
        kp[i] = kt1, kp[i + half] = kt2, vp[i] = vt1, vp[i + half] = vt2;
      }
    }
  }
  if (staged) cp_wait<0>();  // (the barrier below orders the reads after it)
  __syncthreads();
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    float dot = 0.f;
    if (j0 + j == pos) {
      for (int d = 0; d < D; ++d) dot += q[d] * k_new[d];
    } else if (staged) {
      if constexpr (AV > 1) {
        const T* kr = ks + j * rs;
#pragma unroll 8
        for (int u = 0; u < dg; ++u) {
          const Packet<T> pk = *reinterpret_cast<const Packet<T>*>(kr + u * AV);
#pragma unroll
          for (int e = 0; e < AV; ++e) dot += q[u * AV + e] * to_f(pk.v[e]);
        }
      }
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
  // Chunk maximum and sum by block reductions (each thread holds its own keys' scores).
  float m = -INFINITY;
  for (int j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, pr[j]);
  m = block_max(m, red_scratch);
  float lsum = 0.f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    const float e = expf(pr[j] - m);
    pr[j] = e;
    lsum += e;
  }
  const float l = block_sum(lsum, red_scratch);  // its barriers publish pr
  float* mine = part + ((static_cast<int64_t>(b) * NH + h) * nsplit + s) * (D + 2);
  float* red = pr + chunk;
  // Rows of red to sum per column: with 32 / dg key groups a warp (every thread one (group,
  // column packet) item), the warp sums its groups by shuffles and leaves one row.
  const int warp_groups = 32 % dg == 0 && dg * kg == static_cast<int>(blockDim.x) ? 32 / dg : 1;
  const int rows = warp_groups > 1 ? static_cast<int>(blockDim.x) / 32 : kg;
  for (int t = threadIdx.x; t < dg * kg; t += blockDim.x) {
    const int g = t % dg, kgi = t / dg;
    float acc[AV];
#pragma unroll
    for (int e = 0; e < AV; ++e) acc[e] = 0.f;
    if (staged) {
      if constexpr (AV > 1) {
#pragma unroll 4
        for (int j = kgi; j < n; j += kg) {
          const float pj = pr[j];
          if (j0 + j == pos) {
#pragma unroll
            for (int e = 0; e < AV; ++e) acc[e] += pj * v_new[g * AV + e];
          } else {
            const Packet<T> pk = *reinterpret_cast<const Packet<T>*>(vs + j * rs + g * AV);
#pragma unroll
            for (int e = 0; e < AV; ++e) acc[e] += pj * to_f(pk.v[e]);
          }
        }
      }
    } else {
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
    }
    if (warp_groups > 1) {  // the warp's key groups summed in registers: one row a warp
#pragma unroll
      for (int e = 0; e < AV; ++e)
        for (int o = dg; o < 32; o <<= 1) acc[e] += __shfl_xor_sync(0xffffffffu, acc[e], o);
      if ((threadIdx.x & 31) < dg) {
#pragma unroll
        for (int e = 0; e < AV; ++e) red[(threadIdx.x >> 5) * D + g * AV + e] = acc[e];
      }
    } else {
#pragma unroll
      for (int e = 0; e < AV; ++e) red[kgi * D + g * AV + e] = acc[e];
    }
  }
  __syncthreads();
  // A sequence whose keys fit one chunk has nothing to combine: its output directly.
  const bool alone = ns == 1 && (counters || cluster);
  if (cluster && !alone) {
    // The partial goes into the first block's shared memory (distributed shared memory),
    // the cluster barrier publishes it, and that block combines: no global round trips, no
    // fence and no counter on the chain.
    const uint32_t slot = cluster_map_rank0(sm + 3 * D + chunk + kg * D + s * (D + 2));
    cluster_wait();
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
      float acc = 0.f;
      for (int k = 0; k < rows; ++k) acc += red[k * D + d];
      cluster_store(slot + 4 * (2 + d), acc);
    }
    if (threadIdx.x == 0) cluster_store(slot, m), cluster_store(slot + 4, l);
    trace_stamp(trace, 2);
    cluster_arrive(true);
    if (s != 0) return;
    cluster_wait();
    const float* parts = sm + 3 * D + chunk + kg * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
      float M = -INFINITY;
      for (int t = 0; t < ns; ++t) M = fmaxf(M, parts[t * (D + 2)]);
      float L = 0.f, acc = 0.f;
      for (int t = 0; t < ns; ++t) {
        const float* c = parts + t * (D + 2);
        const float e = expf(c[0] - M);
        L += c[1] * e;
        acc += c[2 + d] * e;
      }
      out[static_cast<int64_t>(b) * NH * D + h * D + d] = acc / L;
    }
    trace_stamp(trace, 3);
    return;
  }
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < rows; ++k) acc += red[k * D + d];
    if (alone)
      out[static_cast<int64_t>(b) * NH * D + h * D + d] = acc / l;
    else
      mine[2 + d] = acc;
  }
  if (alone) {
    trace_stamp(trace, 2);
    trace_stamp(trace, 3);
    return;
  }
  if (threadIdx.x == 0) {
    mine[0] = m;
    mine[1] = l;
  }
  trace_stamp(trace, 2);
  if (!counters) return;  // the o-projection GEMV combines
  int* counter = counters + static_cast<int64_t>(b) * NH + h;
  if (!last_to_arrive(counter, ns)) return;
  const float* pp = part + (static_cast<int64_t>(b) * NH + h) * nsplit * (D + 2);
  for (int d = threadIdx.x; d < D; d += blockDim.x)
    out[static_cast<int64_t>(b) * NH * D + h * D + d] = combine_chunks(pp, ns, D, d);
  if (threadIdx.x == 0) *counter = 0;  // ready for the next step
  trace_stamp(trace, 3);
}

// Tensor-core attention for 16-bit caches with heads of 64 or 128 and at most 8 query heads
// a key/value head: block (chunk s, key/value head, sequence b) serves all G = NH / NKV query
// heads of the group at once, the group's queries being the rows of one m16n8k16 A operand.
// Rows 0..7 hold each query's high 16-bit part and rows 8..15 what it leaves (q - high), so
// scores = row g + row g + 8 carry ~16 mantissa bits (as the f32 scalar kernel nearly does);
// the probabilities are split the same way for the values' product. A warp takes key tiles
// of 16 (warp, warp + 8, warp + 16: up to 384 keys) and keeps their scores in registers; the
// warps share their maxima (one barrier), so their [G, D] value parts and sums simply add
// (a second barrier). Each warp does ~50 tensor-core instructions where the scalar kernel's
// did ~800 scalar ones (its time after the wait was instruction-issue bound: README).
// As the scalar kernel: keys and values staged by cp.async before the wait (the new row
// excepted: it is written from qkv, rotated and rounded, as the cache will hold it), the
// group's cache append done here, a sequence that fits one chunk written directly, longer
// ones combined by the last block (counter per (b, key/value head)) or, with counters null,
// left as partials (natural-log units) for the o-projection GEMV.
template <typename T, int D>
__global__ void __launch_bounds__(kMmaAttnThreads, 1) attention_mma_kernel(
    const float* qkv, int ldq, T* kc, T* vc, int64_t seq_stride, const int32_t* positions, int NH,
    int NKV, int chunk, int nsplit, float scale_log2, float theta, float* part, int* counters,
    float* out, uint64_t* trace) {
  constexpr int kRow = D + 8;  // a staged row padded by 16 bytes: ldmatrix rows on distinct banks
  constexpr int kWarps = kMmaAttnThreads / 32;
  constexpr int kHalf = D / 2;
  constexpr int kPacket = 16 / sizeof(T);
  constexpr int kMaxTiles = (kMaxAttnThreads + 16 * kWarps - 1) / (16 * kWarps);
  static_assert(kMmaAttnThreads % kHalf == 0, "a thread keeps one rotary pair");
  // ks, vs [rows][kRow] (every warp's kMaxTiles tiles; warp w's output goes in tile w of ks
  // once its scores are done), qs [16][kRow], then each warp's row maxima and sums [kWarps][8].
  extern __shared__ __align__(16) unsigned char smem[];
  constexpr int rows = kMaxTiles * 16 * kWarps;
  static_assert(rows == kMaxAttnThreads, "attention_mma_smem() sizes for the largest chunk");
  T* ks = reinterpret_cast<T*>(smem);
  T* vs = ks + rows * kRow;
  T* qs = vs + rows * kRow;
  float* wmax = reinterpret_cast<float*>(qs + 16 * kRow);
  float* wsum = wmax + kWarps * 8;
  const int s = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  trace_stamp(trace, 0);
  pdl_launch_dependents();
  const int pos = positions[b];
  const int len = pos + 1;
  const int j0 = s * chunk;
  if (j0 >= len) return;  // beyond this sequence: the combine counts only live chunks
  const int n = min(chunk, len - j0);
  const int ns = (len + chunk - 1) / chunk;
  const int G = NH / NKV, KV = NKV * D;
  const bool has_new = pos < j0 + chunk;
  T* kb = kc + static_cast<int64_t>(b) * seq_stride + kvh * D;
  T* vb = vc + static_cast<int64_t>(b) * seq_stride + kvh * D;
  const int cached = n - (has_new ? 1 : 0);
  for (int i = threadIdx.x; i < cached * (D / kPacket); i += blockDim.x) {
    const int j = i / (D / kPacket), c = (i - j * (D / kPacket)) * kPacket;
    const int64_t at = static_cast<int64_t>(j0 + j) * KV + c;
    cp_async16(ks + j * kRow + c, kb + at);
    cp_async16(vs + j * kRow + c, vb + at);
  }
  cp_commit();
  // Zero values past the chunk's keys (their p is 0, and 0 * NaN would not be) and zero
  // query rows of absent heads.
  const T zero = from_f<T>(0.f);
  for (int i = threadIdx.x; i < (rows - n) * (D / kPacket); i += blockDim.x) {
    const int j = n + i / (D / kPacket), c = (i % (D / kPacket)) * kPacket;
    *reinterpret_cast<uint4*>(vs + j * kRow + c) = make_uint4(0, 0, 0, 0);
  }
  for (int i = threadIdx.x; i < (8 - G) * D; i += blockDim.x) {
    const int r = G + i / D, c = i % D;
    qs[r * kRow + c] = zero, qs[(r + 8) * kRow + c] = zero;
  }
  // This thread's rotary pair (i, i + D/2): transformers' f32 inv_freq and angle.
  const int i = threadIdx.x % kHalf;
  float sn = 0.f, cs = 1.f;
  if (theta > 0.f) {
    const float inv_freq = 1.f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(D));
    sincosf(static_cast<float>(pos) * inv_freq, &sn, &cs);
  }
  auto rotate = [&](float& lo, float& hi) {
    if (theta > 0.f) {
      const float a = lo * cs - hi * sn, c = hi * cs + lo * sn;
      lo = a, hi = c;
    }
  };
  pdl_wait();
  trace_stamp(trace, 1);
  const float* row = qkv + static_cast<int64_t>(b) * ldq;
  float k1 = 0.f, k2 = 0.f, v1 = 0.f, v2 = 0.f;
  const bool appends = has_new && threadIdx.x < kHalf;
  if (appends) {
    const float* kr = row + NH * D + kvh * D;
    k1 = kr[i], k2 = kr[i + kHalf], v1 = kr[KV + i], v2 = kr[KV + i + kHalf];
  }
  for (int it = threadIdx.x; it < G * kHalf; it += blockDim.x) {
    const int r = it / kHalf;
    const float* qr = row + (kvh * G + r) * D;
    float q1 = qr[i], q2 = qr[i + kHalf];
    rotate(q1, q2);
    q1 *= scale_log2, q2 *= scale_log2;
    const T h1 = from_f<T>(q1), h2 = from_f<T>(q2);
    qs[r * kRow + i] = h1, qs[r * kRow + i + kHalf] = h2;
    qs[(r + 8) * kRow + i] = from_f<T>(q1 - to_f(h1));
    qs[(r + 8) * kRow + i + kHalf] = from_f<T>(q2 - to_f(h2));
  }
  if (appends) {
    rotate(k1, k2);
    const T kt1 = from_f<T>(k1), kt2 = from_f<T>(k2), vt1 = from_f<T>(v1), vt2 = from_f<T>(v2);
    T* kn = ks + (n - 1) * kRow;
    T* vn = vs + (n - 1) * kRow;
    kn[i] = kt1, kn[i + kHalf] = kt2, vn[i] = vt1, vn[i + kHalf] = vt2;
    T* kp = kb + static_cast<int64_t>(pos) * KV;
    T* vp = vb + static_cast<int64_t>(pos) * KV;
    kp[i] = kt1, kp[i + kHalf] = kt2, vp[i] = vt1, vp[i + kHalf] = vt2;
  }
  cp_wait<0>();
  __syncthreads();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  uint32_t qa[D / 16][4];
  flash::load_a_frags<T, D>(qa, qs, 0, kRow);
  // Scores (log2 units) of key tiles warp + u * kWarps, every tile computed (the branch-free
  // loop lets all fragment loads go out before the products; keys past the chunk are masked
  // here and their values are zero): per n-tile of 8 keys, this lane's query g at keys 2t,
  // 2t + 1 (high + low rows summed).
  float sc[kMaxTiles][2][2];
  float m = -INFINITY;
#pragma unroll
  for (int u = 0; u < kMaxTiles; ++u) {
    const int kt = warp + u * kWarps;
    float acc[2][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t bf[4];
      flash::load_b_nk(bf, ks, kt * 16, kk * 16, kRow);
      flash::Mma<T>::run(acc[0], qa[kk], bf[0], bf[1]);
      flash::Mma<T>::run(acc[1], qa[kk], bf[2], bf[3]);
    }
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const float v = kt * 16 + nt * 8 + 2 * t + e < n ? acc[nt][e] + acc[nt][2 + e] : -INFINITY;
        sc[u][nt][e] = v;
        m = fmaxf(m, v);
      }
  }
  // The block's maximum per query (one barrier), so the warps' parts add without rescaling.
  m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));
  m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));
  if (t == 0) wmax[warp * 8 + g] = m;
  __syncthreads();
  m = -INFINITY;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) m = fmaxf(m, wmax[w * 8 + g]);  // finite: key 0 is warp 0's
  float l = 0.f;
#pragma unroll
  for (int u = 0; u < kMaxTiles; ++u)
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int e = 0; e < 2; ++e) l += (sc[u][nt][e] = flash::fast_exp2(sc[u][nt][e] - m));
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
  // Values: A = p of the tile's 16 keys, high parts in row g, the rest in row g + 8.
  float o[D / 8][4] = {};
#pragma unroll
  for (int u = 0; u < kMaxTiles; ++u) {
    const int kt = warp + u * kWarps;
    uint32_t pa[4];
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
      const float p0 = sc[u][nt][0], p1 = sc[u][nt][1];
      const T h0 = from_f<T>(p0), h1 = from_f<T>(p1);
      pa[2 * nt] = flash::Mma<T>::pack(to_f(h0), to_f(h1));
      pa[2 * nt + 1] = flash::Mma<T>::pack(p0 - to_f(h0), p1 - to_f(h1));
    }
#pragma unroll
    for (int nd = 0; nd < D / 16; ++nd) {
      uint32_t bf[4];
      flash::load_b_kn(bf, vs, kt * 16, nd * 16, kRow);
      flash::Mma<T>::run(o[2 * nd], pa, bf[0], bf[1]);
      flash::Mma<T>::run(o[2 * nd + 1], pa, bf[2], bf[3]);
    }
  }
  // This warp's part [G][D + 8] (rows padded: a half-warp's float2 stores on distinct banks)
  // into its own first key tile, which no other warp reads.
  constexpr int kOutRow = D + 8;
  __syncwarp();
  float* wout = reinterpret_cast<float*>(ks + warp * 16 * kRow);
  if (g < G) {
#pragma unroll
    for (int nd = 0; nd < D / 8; ++nd)
      *reinterpret_cast<float2*>(wout + g * kOutRow + nd * 8 + 2 * t) =
          make_float2(o[nd][0] + o[nd][2], o[nd][1] + o[nd][3]);
    if (t == 0) wsum[warp * 8 + g] = l;
  }
  __syncthreads();
  const bool alone = ns == 1 && counters;
  for (int it = threadIdx.x; it < G * D / 2; it += blockDim.x) {
    const int r = it / (D / 2), d = 2 * (it - r * (D / 2));
    float2 acc = make_float2(0.f, 0.f);
    float L = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float2 v =
          *reinterpret_cast<const float2*>(reinterpret_cast<const float*>(ks + w * 16 * kRow) +
                                           r * kOutRow + d);
      acc.x += v.x, acc.y += v.y;
      L += wsum[w * 8 + r];
    }
    const int h = kvh * G + r;
    if (alone) {
      *reinterpret_cast<float2*>(out + static_cast<int64_t>(b) * NH * D + h * D + d) =
          make_float2(acc.x / L, acc.y / L);
    } else {
      float* mine = part + ((static_cast<int64_t>(b) * NH + h) * nsplit + s) * (D + 2);
      mine[2 + d] = acc.x, mine[3 + d] = acc.y;
      if (d == 0) {
        float M = -INFINITY;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) M = fmaxf(M, wmax[w * 8 + r]);
        mine[0] = M * 0.69314718f, mine[1] = L;  // natural-log units
      }
    }
  }
  trace_stamp(trace, 2);
  if (alone || !counters) {
    trace_stamp(trace, 3);
    return;
  }
  int* counter = counters + static_cast<int64_t>(b) * NH + kvh;
  if (!last_to_arrive(counter, ns)) return;
  for (int it = threadIdx.x; it < G * D; it += blockDim.x) {
    const int r = it / D, d = it - r * D, h = kvh * G + r;
    const float* pp = part + (static_cast<int64_t>(b) * NH + h) * nsplit * (D + 2);
    out[static_cast<int64_t>(b) * NH * D + h * D + d] = combine_chunks(pp, ns, D, d);
  }
  if (threadIdx.x == 0) *counter = 0;  // ready for the next step
  trace_stamp(trace, 3);
}

// (value, index) that is larger, the first index among equal values.
__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
  if (ov > v || (ov == v && oi < i)) v = ov, i = oi;
}

// Block (slice g, sequence b) over logits [g * slice, (g + 1) * slice): leaves its maximum,
// the maximum's first index and sum(exp(x - maximum)) in part[b][g]; the last block of the
// row (a counter, reset after use) combines them: ids[b] = first index of the row's maximum
// (torch.argmax), logprob[b] = its log-softmax value.
__global__ void argmax_kernel(const float* logits, int V, int slice, float* part, int* counters,
                              int32_t* ids, float* logprob, int32_t* ids_mirror, int32_t* next_io,
                              int io_ld, int last_position, uint64_t* trace) {
  __shared__ float sv[32];
  __shared__ int si[32];
  __shared__ float scratch[32];
  trace_stamp(trace, 0);
  pdl_launch_dependents();
  pdl_wait();
  trace_stamp(trace, 1);
  const int g = blockIdx.x, b = blockIdx.y, ng = gridDim.x;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  const float* row = logits + static_cast<int64_t>(b) * V;
  const int lo = g * slice, hi = min(V, lo + slice);
  float x[kArgmaxSlice / kArgmaxThreads];
  float best = -INFINITY;
  int bi = INT_MAX;
#pragma unroll
  for (int u = 0; u < kArgmaxSlice / kArgmaxThreads; ++u) {  // all loads before any use
    const int i = lo + threadIdx.x + u * kArgmaxThreads;
    x[u] = i < hi ? row[i] : -INFINITY;
  }
#pragma unroll
  for (int u = 0; u < kArgmaxSlice / kArgmaxThreads; ++u) {
    const int i = lo + threadIdx.x + u * kArgmaxThreads;
    if (i < hi && x[u] > best) best = x[u], bi = i;  // increasing i: first of equal values
  }
  for (int o = 16; o > 0; o >>= 1)
    better(best, bi, __shfl_xor_sync(0xffffffffu, best, o), __shfl_xor_sync(0xffffffffu, bi, o));
  if (lane == 0) sv[warp] = best, si[warp] = bi;
  __syncthreads();
  best = -INFINITY, bi = INT_MAX;
  for (int w = 0; w < nwarps; ++w) better(best, bi, sv[w], si[w]);
  float s = 0.f;
  if (best > -INFINITY) {
#pragma unroll
    for (int u = 0; u < kArgmaxSlice / kArgmaxThreads; ++u)
      if (lo + threadIdx.x + u * kArgmaxThreads < hi) s += expf(x[u] - best);
  }
  s = block_sum(s, scratch);
  float* mine = part + (static_cast<int64_t>(b) * ng + g) * 3;
  if (threadIdx.x == 0) {
    mine[0] = best;
    mine[1] = __int_as_float(bi);
    mine[2] = s;
  }
  if (!last_to_arrive(counters + b, ng)) return;
  const float* pp = part + static_cast<int64_t>(b) * ng * 3;
  best = -INFINITY, bi = INT_MAX;
  for (int t = threadIdx.x; t < ng; t += blockDim.x)
    better(best, bi, __ldcg(pp + 3 * t), __float_as_int(__ldcg(pp + 3 * t + 1)));
  for (int o = 16; o > 0; o >>= 1)
    better(best, bi, __shfl_xor_sync(0xffffffffu, best, o), __shfl_xor_sync(0xffffffffu, bi, o));
  __syncthreads();
  if (lane == 0) sv[warp] = best, si[warp] = bi;
  __syncthreads();
  best = -INFINITY, bi = INT_MAX;
  for (int w = 0; w < nwarps; ++w) better(best, bi, sv[w], si[w]);
  float total = 0.f;
  if (best > -INFINITY)
    for (int t = threadIdx.x; t < ng; t += blockDim.x) {
      const float m = __ldcg(pp + 3 * t);
      if (m > -INFINITY) total += __ldcg(pp + 3 * t + 2) * expf(m - best);
    }
  total = block_sum(total, scratch);
  if (threadIdx.x == 0) {
    const int id = bi == INT_MAX ? 0 : bi;  // an all -inf / NaN row
    ids[b] = id;
    if (ids_mirror) ids_mirror[b] = id;
    if (next_io) {  // every kernel of this step is done (each waited on its predecessor)
      next_io[b] = id;
      next_io[io_ld + b] = min(next_io[io_ld + b] + 1, last_position);
    }
    logprob[b] = best > -INFINITY ? -logf(total) : NAN;
    counters[b] = 0;  // ready for the next step
  }
  trace_stamp(trace, 3);
}

}  // namespace

// ============================== launchers ============================================
Status embed(DType dtype, float* x, const void* wte, const void* wpe, const int32_t* tokens,
             const int32_t* positions, int B, int C, cudaStream_t stream, uint64_t* trace) {
  LW_DISPATCH_FLOAT(dtype, "decode embed",
    embed_kernel<T><<<B, 256, 0, stream>>>(x, static_cast<const T*>(wte),
                                           static_cast<const T*>(wpe), tokens, positions, C,
                                           trace));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

int attention_chunk(int P) {
  // One block a head while the cache fits kMaxAttnThreads keys (one key a thread, keys and
  // values staged in shared memory before the wait), so that no partials are combined: the cache rounded up to
  // whole warp pairs, at least 128 keys. Longer caches go in chunks of kMaxAttnThreads.
  // LW_DECODE_ATTN_CHUNK=64|128|256|384 forces a chunk (128 was the default before, measured
  // on the H100 against 64, 256 and 512 with 128 threads a block and registers held).
  static const int forced = [] {
    const char* v = std::getenv("LW_DECODE_ATTN_CHUNK");
    const int c = v ? std::atoi(v) : 0;
    return c == kMinChunk || c == 128 || c == 256 || c == kMaxAttnThreads ? c : 0;
  }();
  if (forced) return forced;
  return std::clamp((std::max(P, 1) + 63) / 64 * 64, kAttnThreads, kMaxAttnThreads);
}

size_t attention_scratch_floats(int B, int NH, int D, int P) {
  const int nsplit = (P + kMinChunk - 1) / kMinChunk;
  return static_cast<size_t>(B) * NH * nsplit * (D + 2);
}

int attention_cluster_size(int B, int NH, int P) {
  // LW_DECODE_ATTN_CLUSTER=0: never (the counter and the last block's combine through global
  // memory), =1: whenever the chunks fit a cluster; by default only small grids (at most half
  // as many blocks as SMs) use clusters: measured on the H100 (batch 1), GPT-2's 36 blocks
  // 3,364-3,391 tok/s against 3,270-3,283 without, TinyLlama's 96 blocks 914-917 against
  // 923-930 (a cluster's blocks start together in one GPC, beside the o-projection's blocks
  // already resident).
  static const int mode = [] {
    const char* v = std::getenv("LW_DECODE_ATTN_CLUSTER");
    if (device_attr(cudaDevAttrComputeCapabilityMajor) < 9) return 0;
    return v && std::string(v) == "0" ? 0 : v && std::string(v) == "1" ? 1 : 2;
  }();
  const int nsplit = attention_split(P);
  if (mode == 0 || nsplit < 2 || nsplit > kMaxCluster) return 1;
  if (mode == 2 && int64_t{B} * NH * nsplit > num_sms() / 2) return 1;
  return nsplit;
}

namespace {
// Shared memory of attention_mma_kernel: keys and values (at least a tile of 16 a warp), the
// queries' 16 rows, the warps' maxima and sums.
size_t attention_mma_smem(int D) {
  const size_t rows = kMaxAttnThreads, row_bytes = (D + 8) * 2;
  return (2 * rows + 16) * row_bytes + 2 * (kMmaAttnThreads / 32) * 8 * sizeof(float);
}
}  // namespace

bool attention_mma_fits(DType dtype, int NH, int NKV, int D) {
  // LW_DECODE_ATTN_MMA=0: the scalar kernel everywhere (to measure what the tensor cores gain).
  static const bool on = [] {
    const char* v = std::getenv("LW_DECODE_ATTN_MMA");
    return !(v && std::string(v) == "0");
  }();
  return on && (dtype == DType::kBF16 || dtype == DType::kF16) && (D == 64 || D == 128) &&
         NKV >= 1 && NH % NKV == 0 && NH / NKV <= 8 &&
         attention_mma_smem(D) + 1024 <= smem_optin();
}

Status attention(DType dtype, const float* qkv, int ldq, void* k_cache, void* v_cache,
                 int64_t seq_stride, const int32_t* positions, int B, int NH, int NKV, int D,
                 int P, float theta, float* scratch, int32_t* counters, float* out,
                 cudaStream_t stream, uint64_t* trace, AttentionPath path) {
  LW_CHECK(NKV >= 1 && NH % NKV == 0 && D >= 2 && D % 2 == 0 && D <= 2 * kAttnThreads,
           "decode attention: bad head layout (head size must be even and at most " +
               std::to_string(2 * kAttnThreads) + ")");
  const int chunk = attention_chunk(P);
  // Threads of a block: one a key up to LW_DECODE_ATTN_THREADS (128, 256 or 384; 256 by
  // default), so that two blocks' registers fit an SM (a block beside a GEMV block).
  static const int max_threads = [] {
    const char* v = std::getenv("LW_DECODE_ATTN_THREADS");
    const int t = v ? std::atoi(v) : 0;
    return t == kAttnThreads || t == kMaxAttnThreads ? t : 256;
  }();
  const int threads = std::max(kAttnThreads, std::min(chunk, max_threads));
  // LW_DECODE_ATTN_PRELOAD=0: no key / value fetch before the wait (to measure what it gains).
  static const int preload = [] {
    const char* v = std::getenv("LW_DECODE_ATTN_PRELOAD");
    return v && std::string(v) == "0" ? 0 : 1;
  }();
  const int nsplit = (P + chunk - 1) / chunk;
  if (path != AttentionPath::kScalar && attention_mma_fits(dtype, NH, NKV, D)) {
    const float scale_log2 = 1.4426950409f / sqrtf(static_cast<float>(D));
    const dim3 grid(nsplit, NKV, B);
    auto run = [&](auto* kernel) -> Status {
      const size_t smem = attention_mma_smem(D);
      LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
      return launch_dependent(kernel, grid, kMmaAttnThreads, smem, stream, qkv, ldq, k_cache,
                              v_cache, seq_stride, positions, NH, NKV, chunk, nsplit, scale_log2,
                              theta, scratch, reinterpret_cast<int*>(counters), out, trace);
    };
    if (dtype == DType::kBF16)
      return run(D == 64 ? attention_mma_kernel<__nv_bfloat16, 64>
                         : attention_mma_kernel<__nv_bfloat16, 128>);
    return run(D == 64 ? attention_mma_kernel<__half, 64> : attention_mma_kernel<__half, 128>);
  }
  // The chunks of a head as one cluster combine in its first block (counters are then not
  // used; a GEMV combines when they are null, as before).
  const int cluster = counters ? attention_cluster_size(B, NH, P) : 1;
  const float scale = 1.f / sqrtf(static_cast<float>(D));
  dim3 grid(nsplit, NH, B);
  LW_DISPATCH_FLOAT(dtype, "decode attention", {
    constexpr int kAv = 16 / sizeof(T);
    const int av = D % kAv == 0 ? kAv : 1;
    const int dg = D / av, kg = std::max(1, threads / dg);
    const size_t floats = (3 * D + chunk + kg * D + (cluster > 1 ? nsplit * (D + 2) : 0) + 3) / 4 * 4;
    size_t staged = preload && av == kAv ? 2 * size_t(chunk) * (D + kAv) * sizeof(T) : 0;
    // Keys and values that do not fit shared memory (f32 heads of 128, heads of 256) are
    // read after the wait instead.
    if (floats * sizeof(float) + staged + 1024 > smem_optin()) staged = 0;  // (+ static)
    const size_t smem = floats * sizeof(float) + staged;
    auto* kernel = threads > 256 ? (av == kAv ? attention_kernel<T, kAv, kMaxAttnThreads>
                                              : attention_kernel<T, 1, kMaxAttnThreads>)
                                 : (av == kAv ? attention_kernel<T, kAv, 256>
                                              : attention_kernel<T, 1, 256>);
    LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
    LW_TRY(launch_dependent_clustered(cluster, kernel, grid, threads, smem, stream, qkv, ldq,
                                      static_cast<T*>(k_cache), static_cast<T*>(v_cache),
                                      seq_stride, positions, NH, NKV, D, chunk, nsplit,
                                      staged > 0 ? 1 : 0,
                                      cluster > 1 ? 1 : 0, scale, theta, scratch,
                                      reinterpret_cast<int*>(counters), out, trace));
  });
  return Status::ok();
}

size_t argmax_scratch_floats(int B, int V) {
  return static_cast<size_t>(B) * ((V + kArgmaxSlice - 1) / kArgmaxSlice) * 3;
}

Status argmax_logprob(const float* logits, int B, int V, float* scratch, int32_t* counters,
                      int32_t* ids, float* logprob, cudaStream_t stream, uint64_t* trace,
                      int32_t* ids_mirror, const NextInput& next) {
  LW_CHECK(B >= 1 && V >= 1, "decode argmax: bad arguments");
  const dim3 grid((V + kArgmaxSlice - 1) / kArgmaxSlice, B);
  LW_TRY(launch_dependent(argmax_kernel, grid, kArgmaxThreads, 0, stream, logits, V,
                          kArgmaxSlice, scratch, reinterpret_cast<int*>(counters), ids, logprob,
                          ids_mirror, next.io, next.ld, next.positions - 1, trace));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace lw::cuda::decode
