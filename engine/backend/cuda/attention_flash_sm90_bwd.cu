// The Hopper backward of the fused attention (D = 64, bf16/f16, no dropout) on wgmma
// (attention_flash_wgmma.cuh), between the delta and the dQ conversion kernels of
// attention_flash.cu. A work item is 128 keys of a key head; one persistent block an SM (two
// warpgroups of 64 keys, 255 registers a thread) takes items from a counter, and for each
// loops over the query heads sharing the keys and their 128-query tiles: Q and dO by the TMA
// unit (128-byte-swizzled boxes), lse and delta by 4-byte copies, into three stages with one
// transaction barrier each. Per tile a warpgroup computes,
// transposed (rows = its keys):
//   S^T = K Q^T and dP^T = V dO^T  (two commit groups: the exponentials of P^T run while dP^T's
//                                   products still do),
//   P^T, dS^T = P^T (dP^T - delta) in registers,
//   dV += P^T dO, dK += dS^T Q     (P^T and dS^T as register A fragments, no shared memory),
//   dQ = dS K for its 64 queries   (dS^T of both warpgroups through shared memory),
// and adds dQ into the f32 accumulator with vector reductions: one addition per 128 x 128 tile.
// The warpgroups meet once a tile (dS^T written), not at a block-wide barrier. Tiles are
// numbered across a block's items, so the next item's first tile is copied during this item's
// last one, its K and V rows are prefetched to L2 meanwhile, and no block start or end (K/V
// loads, barrier set-up, the dK/dV stores) stands alone between items. An item's dK and dV
// leave through a free dS^T buffer, in 16-byte stores of whole rows.
// ptxas serialises every wgmma of the kernel (warnings C7511-C7520) when it cannot tell which
// commit groups a wait retires, an accumulator is touched while its product may be in flight,
// or its own warpgroup synchronisation would sit in divergent code: here each tile's products
// are waited for within the tile, and the branches between issue and wait touch no accumulator. Measured against this on the H100 and
// dropped (README): dQ by per-row bulk or TMA tensor reduce-adds, key blocks in clusters of two
// pre-adding dQ through distributed shared memory, the next tile's copies after the products.
#include <cuda.h>  // CUtensorMap (the encoder comes through the runtime: no libcuda link)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <type_traits>

#include "engine/backend/cuda/attention_flash_common.cuh"
#include "engine/backend/cuda/attention_flash_mma.cuh"
#include "engine/backend/cuda/attention_flash_wgmma.cuh"
#include "engine/backend/cuda/cuda_common.cuh"

namespace lw::cuda::flash {

namespace {

constexpr int kD = 64, kKeys = 128, kQ = 128;  // head size; keys a block; queries a tile
constexpr int kThreads = 256;
constexpr uint32_t kTile = 128 * 128;          // 128 swizzled rows of 64 elements
// Q/dO tiles: the one in use, the next, and the one the slower warpgroup may still read.
constexpr int kStages = 3;
// K, V, the Q and dO stages, dS^T (two buffers of two halves of 64 queries), the lse and delta
// stages, key flags, the next work item (16 bytes), the stages' barriers; +1024: the swizzle
// atoms' alignment.
constexpr size_t kSmem = 1024 + (2 + 2 * kStages + 4) * kTile + 2 * kStages * kQ * sizeof(float) +
                         (kKeys + 4) * sizeof(int) + kStages * sizeof(uint64_t);
constexpr uint32_t kTileTx = 2 * kTile;  // bytes a stage receives from the TMA unit (Q and dO)

struct Maps {  // TMA descriptors: Q and dO as [B][NH][T][64] boxes of 128 rows
  CUtensorMap q, dout;
};

__device__ __forceinline__ void cp_async4(float* s, const float* g, bool ok) {
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(s));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(a), "l"(ok ? g : nullptr), "r"(ok ? 4 : 0));
}

__device__ __forceinline__ void tma_4d(uint32_t dst, const CUtensorMap* map, int c1, int c2, int c3, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}
__device__ __forceinline__ void bar_wait(uint32_t bar, uint32_t phase) {
  uint32_t done = 0;
  while (!done)
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(bar), "r"(phase)
                 : "memory");
}

// Which of a tile's elements probs() has to mask: none (an interior tile), by the causal rule
// alone (the diagonal tiles of a causal grid without padding: one compare an element), or by
// every rule (key flags, queries past T, the causal rule, rows whose keys are all masked).
enum class Masks { kNone, kCausal, kAll };

// P^T of a warp's 16 keys x 128 queries (C layout: s[4i..4i+3] are queries 8i + 2t, +1 of keys
// g and g + 8), in place and packed into register A fragments; lse per query (natural log) from
// shared memory. Past T, lse, Q and dO are zero-filled: P^T is 1 there but dO's and dS^T's rows
// are zero, so nothing reaches dV, dK or dQ.
template <typename T, Masks M>
__device__ __forceinline__ void probs(float (&s)[64], uint32_t (&pa)[8][4], const Params& p, const float* lse,
                                      const int* kf, int key0, int k0, int q0, float sl2) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  // kCausal: key k0 + kk is visible to query q0 + qi when qi >= kk - (q0 - k0 + Tk - T).
  const int shift = q0 - k0 + p.Tk - p.T;
#pragma unroll
  for (int i = 0; i < 64; i += 2) {
    const int qi = (i >> 2) * 8 + 2 * t4;
    const float2 l = *reinterpret_cast<const float2*>(lse + qi);
    float p0 = fast_exp2(fmaf(s[i], sl2, -l.x * kLog2e));
    float p1 = fast_exp2(fmaf(s[i + 1], sl2, -l.y * kLog2e));
    const int kk = key0 + g + ((i >> 1) & 1) * 8;
    if constexpr (M == Masks::kCausal) {
      p0 = qi >= kk - shift ? p0 : 0.f;
      p1 = qi + 1 >= kk - shift ? p1 : 0.f;
    } else if constexpr (M == Masks::kAll) {
      p0 = kf[kk] && q0 + qi < p.T && causal_ok(p, q0 + qi, k0 + kk) && l.x != -INFINITY ? p0 : 0.f;
      p1 = kf[kk] && q0 + qi + 1 < p.T && causal_ok(p, q0 + qi + 1, k0 + kk) && l.y != -INFINITY ? p1 : 0.f;
    }
    s[i] = p0;
    s[i + 1] = p1;
    pa[i >> 3][(i >> 1) & 3] = Mma<T>::pack(p0, p1);
  }
}

// dS^T = P^T (dP^T - delta) of the same 16 x 128 (delta per query from shared memory), packed
// into register A fragments.
template <typename T>
__device__ __forceinline__ void grads(float (&dp)[64], uint32_t (&da)[8][4], const float (&s)[64], const float* dl) {
  const int t4 = threadIdx.x & 3;
#pragma unroll
  for (int i = 0; i < 64; i += 2) {
    const int qi = (i >> 2) * 8 + 2 * t4;
    const float2 d = *reinterpret_cast<const float2*>(dl + qi);
    da[i >> 3][(i >> 1) & 3] = Mma<T>::pack(s[i] * (dp[i] - d.x), s[i + 1] * (dp[i + 1] - d.y));
  }
}

// The warpgroup's 64 dK (scaled) and dV rows (keys k0 + 64 wg ..), from the accumulators
// (rows = keys) through a free 32 KB of shared memory (dK then dV, 128-byte-swizzled rows), so
// that they leave in 16-byte stores of whole rows: the accumulators' 4-byte pieces, stored
// directly, kept the load/store unit throttled (ncu) behind the last tile's dQ reductions.
template <typename T>
__device__ __forceinline__ void store_kv(const Params& p, int64_t koff, int64_t krs, int k0, uint32_t stage,
                                         const float (&dk)[32], const float (&dv)[32]) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3, wg = threadIdx.x >> 7;
  const int wrow = wg * 64 + ((threadIdx.x >> 5) & 3) * 16;  // the warp's first row (key - k0)
#pragma unroll
  for (int r = 0; r < 2; ++r)
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt) {
      const uint32_t at = sm90::swz(wrow + g + r * 8, dt * 8 + 2 * t4);
      asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(stage + at),
                   "r"(Mma<T>::pack(dk[4 * dt + 2 * r] * p.scale, dk[4 * dt + 2 * r + 1] * p.scale)));
      asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(stage + kTile + at),
                   "r"(Mma<T>::pack(dv[4 * dt + 2 * r], dv[4 * dt + 2 * r + 1])));
    }
  sm90::named_sync(2 + wg, 128);  // the warpgroup's rows staged
  const int t = threadIdx.x & 127;
#pragma unroll
  for (int i = 0; i < 8; ++i) {  // 2 matrices x 64 rows x 8 chunks of 16 bytes, 8 a thread
    const int idx = t + i * 128, m = idx >> 9, row = wg * 64 + ((idx & 511) >> 3), c = idx & 7;
    uint4 v;
    asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "r"(stage + m * kTile + sm90::swz(row, c * 8)));
    if (k0 + row < p.Tk)
      *reinterpret_cast<uint4*>(static_cast<T*>(m ? p.dv : p.dk) + koff + (k0 + row) * krs + c * 8) = v;
  }
}

// Adds the warp's 16 dQ rows (queries row0 + g, + 8 of head bh) into the f32 accumulator with
// vector reductions in L2 (fire and forget; a TMA reduce-add from shared memory measured the
// same, and the traffic, 32 KB per 128 x 128 tile, is what costs).
__device__ __forceinline__ void add_dq(const Params& p, int bh, int row0, const float (&dq)[32]) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  float* dqa = p.dq_acc + static_cast<int64_t>(bh) * p.T * kD + 2 * t4;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int q = row0 + g + r * 8;
    if (q >= p.T) continue;
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt)
      asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(dqa + static_cast<int64_t>(q) * kD + dt * 8),
                   "f"(dq[4 * dt + 2 * r]), "f"(dq[4 * dt + 2 * r + 1])
                   : "memory");
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 1) bwd_sm90_kernel(Params p, const __grid_constant__ Maps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t sK = (raw + 1023) & ~1023u, sV = sK + kTile, sQ = sV + kTile;  // Q stages
  const uint32_t sO = sQ + kStages * kTile, sS0 = sO + kStages * kTile;  // dO stages; dS^T [2][2 halves][128 keys][64 q]
  float* lse_s = reinterpret_cast<float*>(smem_raw + (sS0 - raw) + 4 * kTile);  // [kStages][kQ]
  float* dl_s = lse_s + kStages * kQ;                                            // [kStages][kQ]
  int* kf = reinterpret_cast<int*>(dl_s + kStages * kQ);                         // [kKeys]
  // Work items: (key block, key head) in block_order's order; the first one a block's own
  // index, the next ones taken from the counter. The next item is known one item ahead, so
  // its first tile's copies go out during this item's last tile, like any next tile's.
  const int n_kb = (p.Tk + kKeys - 1) / kKeys, n_items = n_kb * p.B * p.NKV, group = p.NH / p.NKV;
  int* next_s = kf + kKeys;  // the item after the current one (thread 0 takes it)
  const uint32_t bars = static_cast<uint32_t>(__cvta_generic_to_shared(next_s + 4));  // [kStages] x 8 bytes
  if (threadIdx.x == 0) {
    // Thread 0's arrival with the TMA bytes, and every thread's lse / delta copy.
    for (int i = 0; i < kStages; ++i)
      asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bars + 8 * i), "r"(1 + kThreads));
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  const int wg = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
  const int wkey = wg * 64 + warp * 16;  // this warp's first key in the block
  struct Item {
    int k0, b, hk, qstart, nq;  // first key, batch, key head, first query that sees k0, query tiles
  };
  auto item_at = [&](int i) {
    Item it;
    int kb, bk;
    block_order(i, n_kb, p.B * p.NKV, false, kb, bk);
    it.k0 = kb * kKeys;
    it.b = bk / p.NKV;
    it.hk = bk % p.NKV;
    it.qstart = p.causal ? max(0, it.k0 - (p.Tk - p.T)) : 0;
    it.nq = it.qstart < p.T ? (p.T - it.qstart + kQ - 1) / kQ : 0;
    return it;
  };
  auto tile_at = [&](const Item& it, int j, int& hq, int& q0) {  // tile j's query head and first query
    hq = it.hk * group + j / it.nq;
    q0 = it.qstart + (j % it.nq) * kQ;
  };
  // Tile j of item `it` into stage st, by every thread: Q and dO by the TMA unit (thread 0; rows
  // past T come zero-filled), lse and delta by 4-byte copies (a TMA box would need 16-byte-
  // aligned rows), each thread's copy completing as an arrival on the stage's barrier.
  auto issue = [&](const Item& it, int j, int st) {
    int hq, q0;
    tile_at(it, j, hq, q0);
    const uint32_t bar = bars + 8 * st;
    if (threadIdx.x == 0) {
      asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(kTileTx) : "memory");
      tma_4d(sQ + st * kTile, &maps.q, q0, hq, it.b, bar);
      tma_4d(sO + st * kTile, &maps.dout, q0, hq, it.b, bar);
    }
    const int r = threadIdx.x & (kQ - 1), q = q0 + r;
    const int64_t at = (static_cast<int64_t>(it.b) * p.NH + hq) * p.T + q;
    const bool first = threadIdx.x < kQ;  // lse by the first 128 threads, delta by the others
    cp_async4((first ? lse_s : dl_s) + st * kQ + r, (first ? p.lse_in : p.delta) + at, q < p.T);
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
  };

  const float sl2 = p.scale * kLog2e;
  const uint64_t dk_rows = sm90::desc_sw128(sK + wg * 64 * 128), dv_rows = sm90::desc_sw128(sV + wg * 64 * 128);
  float dk[32], dv[32], s[64], dp[64], dq[32];
  uint32_t pa[8][4], da[8][4];  // P^T and dS^T as register A fragments
  int item = blockIdx.x;
  int g = 0;                    // tiles begun by this block: stage g % kStages, dS^T buffer g & 1
  bool first_issued = false;    // the item's first tile already on its way
  if (threadIdx.x == 0) *next_s = static_cast<int>(gridDim.x) + atomicAdd(p.work, 1);
  while (item < n_items) {
    const Item it = item_at(item);
    const int k0 = it.k0, b = it.b, n_tiles = group * it.nq;
    const int64_t koff = k_base<kD>(p, b, it.hk), krs = k_rows<kD>(p);
    sm90::cp_tile_sw128<T, kKeys, kThreads>(sK, static_cast<const T*>(p.k) + koff, k0, p.Tk, krs);
    sm90::cp_tile_sw128<T, kKeys, kThreads>(sV, static_cast<const T*>(p.v) + koff, k0, p.Tk, krs);
    for (int i = threadIdx.x; i < kKeys; i += kThreads) {
      const int key = k0 + i;
      kf[i] = key < p.Tk && (!p.mask || p.mask[static_cast<int64_t>(b) * p.Tk + key] != 0);
    }
    cp_commit();
    cp_wait<0>();
    sm90::fence_proxy_async();
    __syncthreads();  // K, V, the key flags and the next item in place (the barriers initialised)
    const int next = *next_s;
    const Item nit = item_at(next < n_items ? next : item);
    if (next < n_items && threadIdx.x < 2 * kKeys && nit.k0 + (threadIdx.x & (kKeys - 1)) < p.Tk) {
      // The next item's K and V rows towards L2 now, so that its start waits less for them.
      const int64_t at = k_base<kD>(p, nit.b, nit.hk) + (nit.k0 + (threadIdx.x & (kKeys - 1))) * krs;
      const T* src = static_cast<const T*>(threadIdx.x < kKeys ? p.k : p.v) + at;
      asm volatile("prefetch.global.L2 [%0];\n" ::"l"(src));
    }
    if (!first_issued && n_tiles > 0) issue(it, 0, g % kStages);
#pragma unroll
    for (int i = 0; i < 32; ++i) dk[i] = dv[i] = 0.f;
    // The warpgroups meet once a tile (after writing dS^T), so one may run up to a tile ahead:
    // tile g + 1 goes into the stage of tile g - 2, which both are done with once this thread
    // has passed tile g - 1's meeting; dS^T alternates between two buffers for the same reason.
    first_issued = false;
    for (int j = 0; j < n_tiles; ++j, ++g) {
      const int st = g % kStages;
      const uint32_t phase = (g / kStages) & 1;  // the stage's use count, mod 2
      int hq, q0;
      tile_at(it, j, hq, q0);
      const int st1 = st + 1 < kStages ? st + 1 : 0;
      if (j + 1 < n_tiles) {
        issue(it, j + 1, st1);
      } else if (next < n_items && nit.nq > 0) {
        issue(nit, 0, st1);
        first_issued = true;
      }
      bar_wait(bars + 8 * st, phase);  // tile g landed
      const uint32_t q_st = sQ + st * kTile, o_st = sO + st * kTile, sS = sS0 + (g & 1) * 2 * kTile;
      sm90::fence();
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) sm90::Wgmma<T>::ss_n128(s, dk_rows + kk * 2, sm90::desc_sw128(q_st) + kk * 2, kk);
      sm90::commit();
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) sm90::Wgmma<T>::ss_n128(dp, dv_rows + kk * 2, sm90::desc_sw128(o_st) + kk * 2, kk);
      sm90::commit();
      const bool keys_valid = __all_sync(0xffffffffu, kf[wkey + (lane & 15)] != 0);
      // Interior: the warp's keys valid and visible to the tile's first query, no query past T.
      const bool full = keys_valid && causal_ok(p, q0, k0 + wkey + 15) && q0 + kQ <= p.T;
      // Otherwise only the causal rule, when no key is padded (then every query's lse is finite).
      const bool causal_only = keys_valid && q0 + kQ <= p.T && p.mask == nullptr;
      sm90::wait<1>();
      sm90::reg_fence(s);
      if (full) probs<T, Masks::kNone>(s, pa, p, lse_s + st * kQ, kf, wkey, k0, q0, sl2);
      else if (causal_only) probs<T, Masks::kCausal>(s, pa, p, lse_s + st * kQ, kf, wkey, k0, q0, sl2);
      else probs<T, Masks::kAll>(s, pa, p, lse_s + st * kQ, kf, wkey, k0, q0, sl2);
      sm90::wait<0>();
      sm90::reg_fence(dp);
      grads<T>(dp, da, s, dl_s + st * kQ);
      // dS^T rows of this warp into shared memory (swizzled, rows = keys, a half per 64 queries).
      {
        const int gr = lane >> 2, t4 = lane & 3;
#pragma unroll
        for (int kk = 0; kk < 8; ++kk)
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int row = wkey + gr + (i & 1) * 8, col = kk * 16 + (i >> 1) * 8 + 2 * t4;
            asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(sS + (col >> 6) * kTile + sm90::swz(row, col & 63)),
                         "r"(da[kk][i])
                         : "memory");
          }
      }
      sm90::fence_proxy_async();
      sm90::fence();
#pragma unroll
      for (int kk = 0; kk < kQ / 16; ++kk) sm90::Wgmma<T>::rs_n64_t(dv, pa[kk], sm90::desc_sw128(o_st) + kk * (16 * 128 >> 4));
#pragma unroll
      for (int kk = 0; kk < kQ / 16; ++kk) sm90::Wgmma<T>::rs_n64_t(dk, da[kk], sm90::desc_sw128(q_st) + kk * (16 * 128 >> 4));
      sm90::commit();
      sm90::named_sync(1, kThreads);  // dS^T of both warpgroups written
      // dQ of this warpgroup's 64 queries over the block's 128 keys: A = dS (dS^T read
      // MN-major), B = K (MN-major).
      sm90::fence();
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk)
        sm90::Wgmma<T>::template ss_n64<1, 1>(dq, sm90::desc_sw128(sS + wg * kTile + kk * 16 * 128),
                                              sm90::desc_sw128(sK + kk * 16 * 128), kk);
      sm90::commit();
      sm90::wait<0>();
      sm90::reg_fence(dq);
      sm90::reg_fence(dk);
      sm90::reg_fence(dv);
#pragma unroll
      for (int kk = 0; kk < 8; ++kk) {
        sm90::reg_fence(pa[kk]);
        sm90::reg_fence(da[kk]);
      }
      add_dq(p, b * p.NH + hq, q0 + wg * 64 + warp * 16, dq);
    }
    // dS^T's buffer g & 1 is free: its last reader, tile g - 2's dQ, finished in both
    // warpgroups before tile g - 1's meeting (the last tile used the other one).
    store_kv<T>(p, koff, krs, k0, sS0 + (g & 1) * 2 * kTile, dk, dv);
    __syncthreads();  // K, V, the key flags and next_s free for the next item
    if (threadIdx.x == 0 && next < n_items) *next_s = static_cast<int>(gridDim.x) + atomicAdd(p.work, 1);
    item = next;
  }
#endif
}

// cuTensorMapEncodeTiled from the driver, through the runtime (no link against libcuda).
using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
EncodeTiled encode_tiled() {
  static const EncodeTiled fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      return static_cast<EncodeTiled>(nullptr);
    }
    return reinterpret_cast<EncodeTiled>(f);
  }();
  return fn;
}

Status check_map(CUresult r, const char* what) {
  if (r == CUDA_SUCCESS) return Status::ok();
  return unsupported(std::string("flash attention backward: the TMA descriptor of ") + what +
                     " was refused (CUresult " + std::to_string(static_cast<int>(r)) + ")");
}

// Q and dO (either layout) as [B][NH][T][64] in 128 x 64 boxes, 128-byte swizzled.
Status make_maps(const Params& p, bool bf16, Maps& m) {
  const EncodeTiled encode = encode_tiled();
  if (encode == nullptr) return unsupported("flash attention backward: cuTensorMapEncodeTiled is unavailable");
  const cuuint64_t row = kD * 2, T = p.T, NH = p.NH, B = p.B;
  const cuuint64_t dims[4] = {kD, T, NH, B};
  const cuuint64_t strides[3] = {p.tm ? NH * row : row, p.tm ? row : T * row, T * NH * row};
  const cuuint32_t box[4] = {kD, kQ, 1, 1}, elem[4] = {1, 1, 1, 1};
  const CUtensorMapDataType ty = bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  for (auto [map, ptr, what] : {std::tuple{&m.q, p.q, "Q"}, std::tuple{&m.dout, p.dout, "dO"}})
    LW_TRY(check_map(encode(map, ty, 4, const_cast<void*>(ptr), dims, strides, box, elem, CU_TENSOR_MAP_INTERLEAVE_NONE,
                            CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE),
                     what));
  return Status::ok();
}

template <typename T>
Status launch_t(const Params& p, cudaStream_t stream) {
  auto kernel = bwd_sm90_kernel<T>;
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), kSmem));
  Maps maps;
  LW_TRY(make_maps(p, std::is_same_v<T, __nv_bfloat16>, maps));
  // One resident block an SM, each taking key blocks until none are left (the work counter).
  const int items = p.B * p.NKV * ((p.Tk + kKeys - 1) / kKeys);
  if (p.work == nullptr) return invalid_argument("flash attention backward: no work counter in the workspace");
  const unsigned grid = static_cast<unsigned>(std::min(items, sm_count()));
  kernel<<<grid, kThreads, kSmem, stream>>>(p, maps);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace

Status backward_sm90(bool bf16, const Params& p, cudaStream_t stream) {
  return bf16 ? launch_t<__nv_bfloat16>(p, stream) : launch_t<__half>(p, stream);
}

}  // namespace lw::cuda::flash
