// The Hopper backward of the fused attention (D = 64, bf16/f16, no dropout) on wgmma
// (attention_flash_wgmma.cuh), the FlashAttention-2 schedule of the mma.sync kernel in
// attention_flash.cu: one block per 128 keys of a key head, two warpgroups of 64 keys, a loop
// over the query heads sharing it and their 64-query tiles (Q and dO in two cp.async stages of
// 128-byte-swizzled shared memory). Per tile a warpgroup computes, in the transposed form
// (rows = its keys): S^T = K Q^T and dP^T = V dO^T (operands in shared memory), P^T and
// dS^T = P^T (dP^T - delta) in registers, dV += P^T dO and dK += dS^T Q (P^T, dS^T as register
// A fragments), and its part of dQ = dS K from dS^T written to shared memory, added into the
// f32 accumulator with atomics (each warpgroup adds its 64 keys' share).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "engine/backend/cuda/attention_flash_common.cuh"
#include "engine/backend/cuda/attention_flash_mma.cuh"
#include "engine/backend/cuda/attention_flash_wgmma.cuh"
#include "engine/backend/cuda/cuda_common.cuh"

namespace lw::cuda::flash {

namespace {

constexpr int kD = 64, kKeys = 128, kQ = 64;  // head size; keys a block; queries a tile
constexpr int kThreads = 256;
constexpr int kRowsBytes = 64 * 128;           // 64 swizzled rows of 64 elements
// K, V, two stages of Q and dO, dS^T, two stages of lse and delta, key flags; +1024: alignment.
constexpr size_t kSmem = 1024 + 2 * kKeys * 128 + 4 * kRowsBytes + kKeys * 128 + 4 * kQ * sizeof(float) +
                         kKeys * sizeof(int);

// Scores to P^T and dP^T to dS^T for a warp's 16 keys x 64 queries (C layout: s[4i..4i+3] are
// queries 8i + 2t, +1 of keys g and g + 8): masks (MASKED), lse (log2 units) and delta per query.
template <bool MASKED>
__device__ __forceinline__ void probs_grads(float (&s)[32], float (&dp)[32], const Params& p, const float* l2,
                                            const float* dl, const int* kf, int key0, int k0, int q0, float sl2) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    const int qi = (i >> 2) * 8 + 2 * t4 + (i & 1), kk = key0 + g + ((i >> 1) & 1) * 8;
    float pv = fast_exp2(fmaf(s[i], sl2, -l2[qi]));  // lse = +inf past T: P = 0
    if constexpr (MASKED) pv = kf[kk] && causal_ok(p, q0 + qi, k0 + kk) ? pv : 0.f;
    s[i] = pv;
    dp[i] = pv * (dp[i] - dl[qi]);
  }
}

template <typename T>
__device__ __forceinline__ void pack_frags(uint32_t (&a)[4][4], const float (&s)[32]) {
#pragma unroll
  for (int kk = 0; kk < 4; ++kk)
#pragma unroll
    for (int i = 0; i < 4; ++i) a[kk][i] = Mma<T>::pack(s[8 * kk + 2 * i], s[8 * kk + 2 * i + 1]);
}

// acc += A (register fragments, 64 rows x 64 k) @ B (64 swizzled rows along k, MN-major).
template <typename T>
__device__ __forceinline__ void rs_k64(float (&acc)[32], const uint32_t (&a)[4][4], uint32_t b_rows) {
  const uint64_t db = sm90::desc_sw128(b_rows);
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) sm90::Wgmma<T>::rs_n64_t(acc, a[kk], db + kk * (16 * 128 >> 4));
}

// The warp's dK (scaled) and dV rows, from the accumulators (rows = keys).
template <typename T>
__device__ __forceinline__ void store_kv(const Params& p, int64_t koff, int64_t krs, int key0,
                                         const float (&dk)[32], const float (&dv)[32]) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  T* dkp = static_cast<T*>(p.dk) + koff;
  T* dvp = static_cast<T*>(p.dv) + koff;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = key0 + g + r * 8;
    if (key >= p.Tk) continue;
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt) {
      const int64_t off = key * krs + dt * 8 + 2 * t4;
      *reinterpret_cast<uint32_t*>(dkp + off) = Mma<T>::pack(dk[4 * dt + 2 * r] * p.scale, dk[4 * dt + 2 * r + 1] * p.scale);
      *reinterpret_cast<uint32_t*>(dvp + off) = Mma<T>::pack(dv[4 * dt + 2 * r], dv[4 * dt + 2 * r + 1]);
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 1) bwd_sm90_kernel(Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t sK = (raw + 1023) & ~1023u, sV = sK + kKeys * 128, sQ = sV + kKeys * 128;
  const uint32_t sO = sQ + 2 * kRowsBytes, sS = sO + 2 * kRowsBytes;  // dO stages; dS^T [128 keys][64 q]
  float* lse_s = reinterpret_cast<float*>(smem_raw + (sS - raw) + kKeys * 128);  // [2][kQ], log2 units
  float* dl_s = lse_s + 2 * kQ;                                                    // [2][kQ]
  int* kf = reinterpret_cast<int*>(dl_s + 2 * kQ);                                 // [kKeys]
  int kb, bk;
  block_order((p.Tk + kKeys - 1) / kKeys, p.B * p.NKV, false, kb, bk);
  const int k0 = kb * kKeys, b = bk / p.NKV, hk = bk % p.NKV, group = p.NH / p.NKV;
  const int wg = threadIdx.x >> 7, lane = threadIdx.x & 31;
  const int wkey = wg * 64 + ((threadIdx.x >> 5) & 3) * 16;  // this warp's first key in the block
  const int64_t koff = k_base<kD>(p, b, hk), qrs = q_rows<kD>(p), krs = k_rows<kD>(p);
  sm90::cp_tile_sw128<T, kKeys, kThreads>(sK, static_cast<const T*>(p.k) + koff, k0, p.Tk, krs);
  sm90::cp_tile_sw128<T, kKeys, kThreads>(sV, static_cast<const T*>(p.v) + koff, k0, p.Tk, krs);
  for (int i = threadIdx.x; i < kKeys; i += kThreads) {
    const int key = k0 + i;
    kf[i] = key < p.Tk && (!p.mask || p.mask[static_cast<int64_t>(b) * p.Tk + key] != 0);
  }
  const int qstart = p.causal ? max(0, k0 - (p.Tk - p.T)) : 0;  // first query that sees k0
  const int nq = qstart < p.T ? (p.T - qstart + kQ - 1) / kQ : 0;
  const int n_tiles = group * nq;
  auto issue = [&](int j) {  // tile j's Q, dO, lse and delta into stage j % 2
    const int st = j & 1, hq = hk * group + j / nq, q0 = qstart + (j % nq) * kQ;
    const int64_t qoff = q_base<kD>(p, b, hq);
    sm90::cp_tile_sw128<T, kQ, kThreads>(sQ + st * kRowsBytes, static_cast<const T*>(p.q) + qoff, q0, p.T, qrs);
    sm90::cp_tile_sw128<T, kQ, kThreads>(sO + st * kRowsBytes, static_cast<const T*>(p.dout) + qoff, q0, p.T, qrs);
    if (threadIdx.x < kQ) {
      const int q = q0 + threadIdx.x;
      const int64_t at = (static_cast<int64_t>(b) * p.NH + hq) * p.T + q;
      lse_s[st * kQ + threadIdx.x] = q < p.T ? p.lse_in[at] * kLog2e : INFINITY;
      dl_s[st * kQ + threadIdx.x] = q < p.T ? p.delta[at] : 0.f;
    }
  };
  if (n_tiles > 0) issue(0);
  cp_commit();

  const float sl2 = p.scale * kLog2e;
  const uint64_t dk_rows = sm90::desc_sw128(sK + wg * kRowsBytes), dv_rows = sm90::desc_sw128(sV + wg * kRowsBytes);
  float dk[32], dv[32], s[32], dp[32], dq[32];
  uint32_t pa[4][4], da[4][4];  // P^T and dS^T as register A fragments
#pragma unroll
  for (int i = 0; i < 32; ++i) dk[i] = dv[i] = 0.f;
  bool keys_valid = false;
  for (int j = 0; j < n_tiles; ++j) {
    const int st = j & 1, hq = hk * group + j / nq, q0 = qstart + (j % nq) * kQ;
    cp_wait<0>();
    sm90::fence_proxy_async();
    __syncthreads();  // tile j landed; every warp is done with tile j - 1 (the other stage, dS^T)
    if (j == 0) keys_valid = __all_sync(0xffffffffu, kf[wkey + (lane & 15)] != 0);
    if (j + 1 < n_tiles) issue(j + 1);
    cp_commit();
    const uint32_t q_rows_s = sQ + st * kRowsBytes, o_rows_s = sO + st * kRowsBytes;
    const uint64_t dqt = sm90::desc_sw128(q_rows_s), dot = sm90::desc_sw128(o_rows_s);
    sm90::fence();
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) sm90::Wgmma<T>::template ss_n64<0, 0>(s, dk_rows + kk * 2, dqt + kk * 2, kk);
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) sm90::Wgmma<T>::template ss_n64<0, 0>(dp, dv_rows + kk * 2, dot + kk * 2, kk);
    sm90::commit();
    sm90::wait<0>();
    sm90::reg_fence(s);
    sm90::reg_fence(dp);
    // Interior: the warp's keys valid and visible to the tile's first query.
    const bool full = keys_valid && causal_ok(p, q0, k0 + wkey + 15);
    if (full) probs_grads<false>(s, dp, p, lse_s + st * kQ, dl_s + st * kQ, kf, wkey, k0, q0, sl2);
    else probs_grads<true>(s, dp, p, lse_s + st * kQ, dl_s + st * kQ, kf, wkey, k0, q0, sl2);
    pack_frags<T>(pa, s);
    pack_frags<T>(da, dp);
    sm90::fence();
    rs_k64<T>(dv, pa, o_rows_s);  // dV += P^T dO
    rs_k64<T>(dk, da, q_rows_s);  // dK += dS^T Q
    sm90::commit();
    // dS^T rows of this warp into shared memory (swizzled, rows = keys) for dQ = dS K.
    {
      const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
      for (int kk = 0; kk < 4; ++kk)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = wkey + g + (i & 1) * 8, col = kk * 16 + (i >> 1) * 8 + 2 * t4;
          asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(sS + sm90::swz(row, col)), "r"(da[kk][i]) : "memory");
        }
    }
    sm90::fence_proxy_async();
    sm90::named_sync(1 + wg, 128);  // the warpgroup's 64 dS^T rows written
    // dQ (64 queries x D) of this warpgroup's keys: A = dS (dS^T read MN-major), B = K (MN-major).
    sm90::fence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
      sm90::Wgmma<T>::template ss_n64<1, 1>(dq, sm90::desc_sw128(sS + wg * kRowsBytes + kk * 16 * 128),
                                            sm90::desc_sw128(sK + wg * kRowsBytes + kk * 16 * 128), kk);
    sm90::commit();
    sm90::wait<0>();
    sm90::reg_fence(dq);
    sm90::reg_fence(dk);
    sm90::reg_fence(dv);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      sm90::reg_fence(pa[kk]);
      sm90::reg_fence(da[kk]);
    }
    {
      const int g = lane >> 2, t4 = lane & 3;
      float* dqa = p.dq_acc + (static_cast<int64_t>(b * p.NH + hq) * p.T) * kD + 2 * t4;
      const int qrow = ((threadIdx.x >> 5) & 3) * 16 + g;  // the dQ accumulator's rows are queries
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int q = q0 + qrow + r * 8;
        if (q >= p.T) continue;
#pragma unroll
        for (int dt = 0; dt < kD / 8; ++dt)
          atomicAdd(reinterpret_cast<float2*>(dqa + static_cast<int64_t>(q) * kD + dt * 8),
                    make_float2(dq[4 * dt + 2 * r], dq[4 * dt + 2 * r + 1]));
      }
    }
  }
  store_kv<T>(p, koff, krs, k0 + wkey, dk, dv);
#endif
}

template <typename T>
Status launch_t(const Params& p, cudaStream_t stream) {
  auto kernel = bwd_sm90_kernel<T>;
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), kSmem));
  const unsigned grid = p.B * p.NKV * ((p.Tk + kKeys - 1) / kKeys);  // see block_order
  kernel<<<grid, kThreads, kSmem, stream>>>(p);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace

Status backward_sm90(bool bf16, const Params& p, cudaStream_t stream) {
  return bf16 ? launch_t<__nv_bfloat16>(p, stream) : launch_t<__half>(p, stream);
}

}  // namespace lw::cuda::flash
