// Fused attention on tensor cores, FlashAttention-2 style (mma.sync, see attention_flash_mma.cuh),
// no T x T matrix in memory. Forward: 128 queries per block of 4 warps (32 rows each), 64-key
// K/V tiles double-buffered with cp.async, online softmax in registers; saves the row
// log-sum-exp. Backward: one block per 128 keys (D = 64) of one key head, looping over the
// query heads that share it and their 64-query tiles: P recomputed, dK and dV accumulated in
// registers, dQ = dS K added into an f32 buffer with atomics (so dQ's last bits depend on
// the order of the additions), then scaled and converted; its blocks go in groups of 16 key
// heads (block_order), causal ones heaviest first. On Hopper builds for sm_90a the D = 64 forward
// without dropout runs on wgmma instead (attention_flash_sm90.cu); a wgmma backward in the
// same schedule (two warpgroups of 64 keys, one block an SM at 206 registers) measured 691 us
// against this kernel's 594 (B16 H12 T1024 bidirectional) and was dropped.
// Masks: causal (key > Tk - T + query), key padding (key_mask[b,key] == 0), the tails.
// Layouts: head-major [B,H,T,D], or token-major [B,T,H,D] (AttentionShape::tokens_major: the
// projections' own layout, so the model needs no head transposes); rows are D apart or H*D.
#include "engine/backend/cuda/attention_flash.h"

#include "engine/core/log.h"

#include <atomic>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "engine/backend/cuda/attention_flash_common.cuh"
#include "engine/backend/cuda/attention_flash_mma.cuh"
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/core/rng.h"

namespace lw::cuda::flash {

namespace {

constexpr int kTile = 64;  // keys per forward step

// ============================== kernels ==============================================

// The dropout mask of element (bh, query, key) of [B*NH, T, Tk]: the same Philox draw as
// ops::dropout on the materialized probabilities, so the fused path equals the composed one.
__device__ __forceinline__ bool dropout_keep(const Params& p, int bh, int query, int key) {
  const uint64_t i = (static_cast<uint64_t>(bh) * p.T + query) * p.Tk + key;
  return philox_uniform(p.seed, p.offset + i) >= p.p_drop;
}

// The masks of keys `key` and `key + 1` of one row: adjacent stream positions, so one Philox
// block (four positions) usually serves both (a second one when the first is its last word).
__device__ __forceinline__ uint32_t philox_word(const Philox4& r, uint32_t w) {
  return w == 0 ? r.v[0] : w == 1 ? r.v[1] : w == 2 ? r.v[2] : r.v[3];
}
__device__ __forceinline__ void dropout_keep2(const Params& p, int bh, int query, int key,
                                              bool& keep0, bool& keep1) {
  const uint64_t c = p.offset + (static_cast<uint64_t>(bh) * p.T + query) * p.Tk + key;
  const uint64_t blk = c >> 2;
  const uint32_t k0 = static_cast<uint32_t>(p.seed), k1 = static_cast<uint32_t>(p.seed >> 32);
  const Philox4 r = philox4x32_10(Philox4{{static_cast<uint32_t>(blk), static_cast<uint32_t>(blk >> 32), 0u, 0u}}, k0, k1);
  const uint32_t w = static_cast<uint32_t>(c & 3);
  keep0 = bits_to_uniform(philox_word(r, w)) >= p.p_drop;
  if (w == 3) {
    const uint64_t nb = blk + 1;
    const Philox4 r2 = philox4x32_10(Philox4{{static_cast<uint32_t>(nb), static_cast<uint32_t>(nb >> 32), 0u, 0u}}, k0, k1);
    keep1 = bits_to_uniform(r2.v[0]) >= p.p_drop;
  } else {
    keep1 = bits_to_uniform(philox_word(r, w + 1)) >= p.p_drop;
  }
}

// Keep bits of a warp-row fragment of a 64-key tile (rows row_a / row_b, keys k0 + nt*8 + 2*t4
// + {0,1}): bit nt*4 + e for element s[nt][e], as the m16n8 accumulator holds them.
__device__ __forceinline__ uint32_t fragment_keep_bits(const Params& p, int bh, int row_a, int row_b,
                                                       int k0, int t4) {
  uint32_t kept = 0xffffffffu;
#pragma unroll
  for (int nt = 0; nt < 8; ++nt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      bool keep0, keep1;
      dropout_keep2(p, bh, r == 0 ? row_a : row_b, k0 + nt * 8 + 2 * t4, keep0, keep1);
      if (!keep0) kept &= ~(1u << (nt * 4 + 2 * r));
      if (!keep1) kept &= ~(1u << (nt * 4 + 2 * r + 1));
    }
  return kept;
}

// a[0] += x, a[1] += y: one vector atomic on Hopper, two scalar ones before it (float2
// atomicAdd exists from sm_90 on).
__device__ __forceinline__ void atomic_add2(float* a, float2 v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float2*>(a), v);
#else
  atomicAdd(a, v.x);
  atomicAdd(a + 1, v.y);
#endif
}

// Key validity of a 64-key tile (inside Tk and not padding), written next to the tile.
template <int NT>
__device__ __forceinline__ void key_flags(int* flags, const Params& p, int b, int k0) {
  for (int i = threadIdx.x; i < kTile; i += NT) {
    const int key = k0 + i;
    flags[i] = key < p.Tk && (!p.mask || p.mask[static_cast<int64_t>(b) * p.Tk + key] != 0);
  }
}

// True when every key of the tile is valid (flags of 64 keys; one warp reads them all).
__device__ __forceinline__ bool tile_keys_valid(const int* flags) {
  const int lane = threadIdx.x & 31;
  return __all_sync(0xffffffffu, flags[lane] && flags[lane + 32]);
}

// Forward for 16*MT*NW queries per block (each warp owns MT row tiles of 16); K/V tiles of
// 64 keys double-buffered with cp.async. The scores stay unscaled until the exponent, where
// scale*log2(e) folds into one FFMA per element.
template <typename T, int D, int NW, int MT, int MINB, bool DROP>
__global__ void __launch_bounds__(NW * 32, MINB) fwd_kernel(Params p) {
  constexpr bool kQRegs = MINB <= 2;  // Q fragments kept in registers (else re-read per tile)
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int NT = NW * 32, QT = NW * 16 * MT, ld = D + 8;  // +16 bytes/row: no ldmatrix bank conflicts
  T* Qs = reinterpret_cast<T*>(smem_raw);
  T* Ks = Qs + QT * ld;            // [3][64][ld]
  T* Vs = Ks + 3 * kTile * ld;     // [3][64][ld]
  int* kf = reinterpret_cast<int*>(Vs + 3 * kTile * ld);  // [3][64]
  const int q0 = blockIdx.x * QT, bh = blockIdx.y;
  const int b = bh / p.NH, h = bh % p.NH, hk = h / (p.NH / p.NKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  const int64_t qrs = q_rows<D>(p), krs = k_rows<D>(p);
  const T* q = static_cast<const T*>(p.q) + q_base<D>(p, b, h);
  const T* k = static_cast<const T*>(p.k) + k_base<D>(p, b, hk);
  const T* v = static_cast<const T*>(p.v) + k_base<D>(p, b, hk);
  const int kv_end = p.causal ? min(p.Tk, p.Tk - p.T + q0 + QT) : p.Tk;
  const int n_tiles = kv_end > 0 ? (kv_end + kTile - 1) / kTile : 0;
  auto issue = [&](int j) {
    const int st = j % 3;
    cp_tile<T, D, kTile, NT>(Ks + st * kTile * ld, k, j * kTile, p.Tk, krs);
    cp_tile<T, D, kTile, NT>(Vs + st * kTile * ld, v, j * kTile, p.Tk, krs);
    key_flags<NT>(kf + st * kTile, p, b, j * kTile);
  };
  cp_tile<T, D, QT, NT>(Qs, q, q0, p.T, qrs);
  if (n_tiles > 0) issue(0);
  cp_commit();

  const float sl2 = p.scale * kLog2e;
  float o[MT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < D / 8; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
  float mrow[MT][2], lrow[MT][2];  // running max (log2 units) and row sum
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) mrow[mt][0] = mrow[mt][1] = -INFINITY, lrow[mt][0] = lrow[mt][1] = 0.f;
  const int wrow = q0 + warp * 16 * MT;  // this warp's first query
  uint32_t qf[kQRegs ? MT : 1][D / 16][4];  // this warp's query rows, loaded once

  for (int j = 0; j < n_tiles; ++j) {
    const int st = j % 3, k0 = j * kTile;
    if (j + 1 < n_tiles) {
      issue(j + 1);
      cp_commit();
      cp_wait<1>();
    } else {
      cp_wait<0>();
    }
    __syncthreads();
    if (j == 0) {
#pragma unroll
      for (int mt = 0; mt < (kQRegs ? MT : 0); ++mt) load_a_frags<T, D>(qf[mt], Qs, warp * 16 * MT + mt * 16, ld);
    }
    const T* Kt = Ks + st * kTile * ld;
    const T* Vt = Vs + st * kTile * ld;
    const int* f = kf + st * kTile;
    // Interior tiles (every key valid and visible to all the warp's rows) need no mask; the
    // two versions keep the tile's math one branch-free block the compiler can interleave.
    const bool full = tile_keys_valid(f) && causal_ok(p, wrow, k0 + kTile - 1);
    auto step = [&](auto masked) {
      float s[MT][8][4];
      if constexpr (kQRegs) mma_abt_mt_frags<T, D, MT, kTile>(s, qf, Kt, 0, ld);
      else mma_abt_mt<T, D, MT, kTile>(s, Qs, warp * 16 * MT, ld, Kt, 0, ld);
      if constexpr (decltype(masked)::value) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < 8; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int kk = nt * 8 + 2 * t4 + (e & 1);
              if (!(f[kk] && causal_ok(p, wrow + mt * 16 + g + (e >> 1) * 8, k0 + kk))) s[mt][nt][e] = -INFINITY;
            }
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        float mx[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {  // a tree, not a chain of dependent fmaxf
          float m4[4];
#pragma unroll
          for (int i = 0; i < 4; ++i)
            m4[i] = fmaxf(fmaxf(s[mt][2 * i][2 * r], s[mt][2 * i][2 * r + 1]),
                          fmaxf(s[mt][2 * i + 1][2 * r], s[mt][2 * i + 1][2 * r + 1]));
          mx[r] = fmaxf(fmaxf(m4[0], m4[1]), fmaxf(m4[2], m4[3]));
        }
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
          mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        }
        float alpha[2], msub[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          // The max is taken on raw scores (scale > 0 keeps the order); -inf: nothing seen yet.
          const float mnew = fmaxf(mrow[mt][r], mx[r] * sl2);
          alpha[r] = mnew == -INFINITY ? 1.f : fast_exp2(mrow[mt][r] - mnew);  // exp2(-inf) = 0
          mrow[mt][r] = mnew;
          msub[r] = mnew == -INFINITY ? 0.f : mnew;  // masked scores stay -inf -> 0
          lrow[mt][r] *= alpha[r];
        }
#pragma unroll
        for (int nt = 0; nt < 8; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[mt][nt][e] = fast_exp2(fmaf(s[mt][nt][e], sl2, -msub[e >> 1]));
#pragma unroll
        for (int r = 0; r < 2; ++r) {  // the tile's row sum as a tree
          float t4s[4];
#pragma unroll
          for (int i = 0; i < 4; ++i)
            t4s[i] = (s[mt][2 * i][2 * r] + s[mt][2 * i][2 * r + 1]) + (s[mt][2 * i + 1][2 * r] + s[mt][2 * i + 1][2 * r + 1]);
          lrow[mt][r] += (t4s[0] + t4s[1]) + (t4s[2] + t4s[3]);
        }
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt) {
          o[mt][dt][0] *= alpha[0]; o[mt][dt][1] *= alpha[0];
          o[mt][dt][2] *= alpha[1]; o[mt][dt][3] *= alpha[1];
        }
        if constexpr (DROP) {  // the row sums above use the undropped probabilities
          const int ra = wrow + mt * 16 + g;
          const uint32_t kept = fragment_keep_bits(p, bh, ra, ra + 8, k0, t4);
#pragma unroll
          for (int nt = 0; nt < 8; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e)
              s[mt][nt][e] = (kept >> (nt * 4 + e)) & 1u ? s[mt][nt][e] * p.keep_scale : 0.f;
        }
      }
      mma_pb_mt<T, D, MT, kTile>(o, s, Vt, 0, ld);
    };
    if (full) step(std::false_type{});
    else step(std::true_type{});
    // No barrier here: three stages, so the copy issued next (into stage (j + 2) % 3) never
    // lands in a stage a slower warp still reads (it has passed this iteration's barrier).
  }
  T* out = static_cast<T*>(p.o) + q_base<D>(p, b, h);
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float l = lrow[mt][r];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const int row = wrow + mt * 16 + g + r * 8;
      if (row >= p.T) continue;
      const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const uint32_t packed = Mma<T>::pack(o[mt][dt][2 * r] * inv, o[mt][dt][2 * r + 1] * inv);
        *reinterpret_cast<uint32_t*>(out + row * qrs + dt * 8 + 2 * t4) = packed;
      }
      if (t4 == 0)
        p.lse_out[static_cast<int64_t>(bh) * p.T + row] = l > 0.f ? mrow[mt][r] * kLn2 + logf(l) : -INFINITY;
    }
}

// delta[row] = sum_d dout[row, d] * out[row, d] for rows (b, h, t) in [B,NH,T] order, and
// the row's f32 dQ accumulator zeroed (and the Hopper backward's work counter); D/8 threads per
// row, 16-byte loads.
template <typename T, int D>
__global__ void delta_kernel(Params p, int64_t rows) {
  constexpr int TPR = D / 8;  // threads per row
  const int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / TPR;
  const int c = threadIdx.x % TPR;
  const bool ok = row < rows;  // no early return: the whole warp shuffles below
  if (p.work != nullptr && blockIdx.x == 0 && threadIdx.x == 0) *p.work = 0;
  float acc = 0.f;
  if (ok) {
    const int64_t bh = row / p.T;
    const int t = static_cast<int>(row - bh * p.T);
    const int64_t at =
        q_base<D>(p, static_cast<int>(bh / p.NH), static_cast<int>(bh % p.NH)) + t * q_rows<D>(p) + c * 8;
    const uint4 a = *reinterpret_cast<const uint4*>(static_cast<const T*>(p.dout) + at);
    const uint4 o = *reinterpret_cast<const uint4*>(static_cast<const T*>(p.out) + at);
    const T* av = reinterpret_cast<const T*>(&a);
    const T* ov = reinterpret_cast<const T*>(&o);
#pragma unroll
    for (int e = 0; e < 8; ++e) acc += to_f(av[e]) * to_f(ov[e]);
  }
#pragma unroll
  for (int w = TPR / 2; w > 0; w /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, w);
  if (!ok) return;
  if (c == 0) p.delta[row] = acc;
  float4* z = reinterpret_cast<float4*>(p.dq_acc + row * D + c * 8);
  z[0] = z[1] = make_float4(0.f, 0.f, 0.f, 0.f);
}

// dq = scale * dq_acc, into dq's own layout; 8 elements per thread.
template <typename T, int D>
__global__ void dq_convert_kernel(Params p, int64_t rows) {
  constexpr int TPR = D / 8;
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t row = i / TPR;
  const int c = static_cast<int>(i % TPR);
  if (row >= rows) return;
  const int64_t bh = row / p.T;
  const int t = static_cast<int>(row - bh * p.T);
  const float4* a = reinterpret_cast<const float4*>(p.dq_acc + row * D + c * 8);
  const float4 x = a[0], y = a[1];
  uint4 out;
  out.x = Mma<T>::pack(x.x * p.scale, x.y * p.scale);
  out.y = Mma<T>::pack(x.z * p.scale, x.w * p.scale);
  out.z = Mma<T>::pack(y.x * p.scale, y.y * p.scale);
  out.w = Mma<T>::pack(y.z * p.scale, y.w * p.scale);
  const int64_t at = q_base<D>(p, static_cast<int>(bh / p.NH), static_cast<int>(bh % p.NH)) + t * q_rows<D>(p) + c * 8;
  *reinterpret_cast<uint4*>(static_cast<T*>(p.dq) + at) = out;
}

// Backward, one block per KB = 16*MT*NW keys of one key head (FlashAttention-2): loop over
// the query heads sharing it and their 64-query tiles (double-buffered with cp.async), in the
// transposed form (warp rows = keys): S^T = K Q^T, P^T, dV += P^T dO, dP^T = V dO^T,
// dS^T = P^T (dP^T - delta), dK += dS^T Q, all in registers over two 32-query halves; dS^T goes
// to shared memory for dQ = dS K, added into the f32 accumulator with atomics (2 x 2 warps).
template <typename T, int D, int NW, int MT, int MINB, bool DROP>
__global__ void __launch_bounds__(NW * 32, MINB) bwd_kernel(Params p) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int NT = NW * 32, KB = NW * 16 * MT, QB = 64, QH = 32, ld = D + 8, lds = QB + 8;
  static_assert(NW == 4 || NW == 8, "the dQ product splits the 64 x D tile over NW/2 x 2 warps");
  constexpr int DQM = 8 / NW;  // dQ row tiles (of 16) per warp
  T* Ks = reinterpret_cast<T*>(smem_raw);
  T* Vs = Ks + KB * ld;
  T* Qs = Vs + KB * ld;              // [2][QB][ld]
  T* dOs = Qs + 2 * QB * ld;         // [2][QB][ld]
  T* dSs0 = dOs + 2 * QB * ld;       // [2][KB][lds]: dS^T, double-buffered by tile
  float* lse_s = reinterpret_cast<float*>(dSs0 + 2 * KB * lds);  // [2][QB], log2 domain
  float* dl_s = lse_s + 2 * QB;                              // [2][QB]
  int* kf = reinterpret_cast<int*>(dl_s + 2 * QB);           // [KB]
  int kb, bk;
  block_order((p.Tk + KB - 1) / KB, p.B * p.NKV, false, kb, bk);
  const int k0 = kb * KB;
  const int b = bk / p.NKV, hk = bk % p.NKV, group = p.NH / p.NKV;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  const int64_t koff = k_base<D>(p, b, hk), qrs = q_rows<D>(p), krs = k_rows<D>(p);
  cp_tile<T, D, KB, NT>(Ks, static_cast<const T*>(p.k) + koff, k0, p.Tk, krs);
  cp_tile<T, D, KB, NT>(Vs, static_cast<const T*>(p.v) + koff, k0, p.Tk, krs);
  for (int i = threadIdx.x; i < KB; i += NT) {
    const int key = k0 + i;
    kf[i] = key < p.Tk && (!p.mask || p.mask[static_cast<int64_t>(b) * p.Tk + key] != 0);
  }
  const int qstart = p.causal ? max(0, k0 - (p.Tk - p.T)) : 0;  // first query that sees k0
  const int nq = qstart < p.T ? (p.T - qstart + QB - 1) / QB : 0;
  const int n_tiles = group * nq;
  static_assert(QB <= NT, "one thread per query row of the tile");
  auto issue = [&](int j) {
    const int st = j & 1, hq = hk * group + j / nq, q0 = qstart + (j % nq) * QB;
    const int64_t qoff = q_base<D>(p, b, hq);
    cp_tile<T, D, QB, NT>(Qs + st * QB * ld, static_cast<const T*>(p.q) + qoff, q0, p.T, qrs);
    cp_tile<T, D, QB, NT>(dOs + st * QB * ld, static_cast<const T*>(p.dout) + qoff, q0, p.T, qrs);
  };
  // The tile's log-sum-exp (log2 domain; +inf past T: P = 0) and delta of this thread's row.
  auto row_stats = [&](int j, float& l2, float& dl) {
    const int hq = hk * group + j / nq, q = qstart + (j % nq) * QB + static_cast<int>(threadIdx.x);
    const int64_t at = (static_cast<int64_t>(b) * p.NH + hq) * p.T + q;
    const bool ok = threadIdx.x < QB && q < p.T;
    l2 = ok ? p.lse_in[at] * kLog2e : INFINITY;
    dl = ok ? p.delta[at] : 0.f;
  };
  if (n_tiles > 0) {
    issue(0);
    float l2, dl;
    row_stats(0, l2, dl);
    if (threadIdx.x < QB) lse_s[threadIdx.x] = l2, dl_s[threadIdx.x] = dl;
  }
  cp_commit();
  const int wkey = warp * 16 * MT;  // this warp's first key within the block
  __syncthreads();                  // key flags written
  const bool keys_valid = __all_sync(0xffffffffu, kf[wkey + lane % (16 * MT)] != 0);
  const float sl2 = p.scale * kLog2e;
  const float ks = p.p_drop > 0.f ? p.keep_scale : 1.f;
  float dk[MT][D / 8][4], dv[MT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < D / 8; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) dk[mt][i][e] = dv[mt][i][e] = 0.f;
  const int wq = warp >> 1, wd = warp & 1;  // dQ: this warp's 16*DQM queries x D/2 columns
  for (int j = 0; j < n_tiles; ++j) {
    const int st = j & 1, hq = hk * group + j / nq, q0 = qstart + (j % nq) * QB;
    T* dSs = dSs0 + st * KB * lds;
    // The next tile's row statistics: loaded now, stored after this tile's dS^T barrier (its
    // stage was last read before the previous one), so the loads' latency hides under the math.
    float next_l2 = 0.f, next_dl = 0.f;
    if (j + 1 < n_tiles) row_stats(j + 1, next_l2, next_dl);
    if (j + 1 < n_tiles) {
      issue(j + 1);
      cp_commit();
      cp_wait<1>();
    } else {
      cp_wait<0>();
    }
    __syncthreads();
    const T* Qt = Qs + st * QB * ld;
    const T* dOt = dOs + st * QB * ld;
    const float* ls = lse_s + st * QB;
    const float* ds = dl_s + st * QB;
    const int bh = b * p.NH + hq;
#pragma unroll
    for (int hf = 0; hf < QB / QH; ++hf) {
      const int qh = hf * QH;  // first query of the half within the tile
      // Interior: the warp's keys valid and visible to the half's first query. The two
      // versions keep the half's math one branch-free block.
      const bool full = keys_valid && causal_ok(p, q0 + qh, k0 + wkey + 16 * MT - 1);
      auto half = [&](auto masked) {
        float s[MT][QH / 8][4];
        mma_abt_mt<T, D, MT, QH>(s, Ks, wkey, ld, Qt, qh, ld);  // S^T: rows keys, cols queries
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < QH / 8; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int qi = qh + nt * 8 + 2 * t4 + (e & 1);
              const float l2 = ls[qi];
              const float pv = fast_exp2(fmaf(s[mt][nt][e], sl2, -l2));  // P^T
              if constexpr (decltype(masked)::value) {
                const int kk = wkey + mt * 16 + g + (e >> 1) * 8;
                s[mt][nt][e] = kf[kk] && causal_ok(p, q0 + qi, k0 + kk) && l2 != -INFINITY ? pv : 0.f;
              } else {
                s[mt][nt][e] = pv;
              }
            }
        [[maybe_unused]] uint32_t kept = 0xffffffffu;  // bit (mt*QH/8 + nt)*4 + e: kept by dropout
        if constexpr (DROP) {
          float pd[MT][QH / 8][4];
#pragma unroll
          for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int nt = 0; nt < QH / 8; ++nt)
#pragma unroll
              for (int e = 0; e < 4; ++e) {
                const int qi = qh + nt * 8 + 2 * t4 + (e & 1);
                const int kk = wkey + mt * 16 + g + (e >> 1) * 8;
                const bool keep = dropout_keep(p, bh, q0 + qi, k0 + kk);
                if (!keep) kept &= ~(1u << ((mt * (QH / 8) + nt) * 4 + e));
                pd[mt][nt][e] = keep ? s[mt][nt][e] * p.keep_scale : 0.f;
              }
          mma_pb_mt<T, D, MT, QH>(dv, pd, dOt, qh, ld);
        } else {
          mma_pb_mt<T, D, MT, QH>(dv, s, dOt, qh, ld);
        }
        float dp[MT][QH / 8][4];
        mma_abt_mt<T, D, MT, QH>(dp, Vs, wkey, ld, dOt, qh, ld);  // dP^T
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < QH / 8; ++nt) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int qi = qh + nt * 8 + 2 * t4 + (e & 1);
              float dpv = dp[mt][nt][e];
              if constexpr (DROP) dpv = (kept >> ((mt * (QH / 8) + nt) * 4 + e)) & 1u ? dpv * ks : 0.f;
              dp[mt][nt][e] = s[mt][nt][e] * (dpv - ds[qi]);  // dS^T (unscaled)
            }
#pragma unroll
            for (int r = 0; r < 2; ++r)
              *reinterpret_cast<uint32_t*>(dSs + (wkey + mt * 16 + g + r * 8) * lds + qh + nt * 8 + 2 * t4) =
                  Mma<T>::pack(dp[mt][nt][2 * r], dp[mt][nt][2 * r + 1]);
          }
        mma_pb_mt<T, D, MT, QH>(dk, dp, Qt, qh, ld);
      };
      if (full) half(std::false_type{});
      else half(std::true_type{});
    }
    __syncthreads();  // dS^T complete
    if (j + 1 < n_tiles && threadIdx.x < QB) {
      lse_s[(st ^ 1) * QB + threadIdx.x] = next_l2;
      dl_s[(st ^ 1) * QB + threadIdx.x] = next_dl;
    }
    {
      // dQ[16*DQM queries x D/2] of this warp = dS (dS^T read transposed) @ K.
      float acc[DQM][D / 16][4];
#pragma unroll
      for (int mt = 0; mt < DQM; ++mt)
#pragma unroll
        for (int i = 0; i < D / 16; ++i) acc[mt][i][0] = acc[mt][i][1] = acc[mt][i][2] = acc[mt][i][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < KB / 16; ++kk) {
        uint32_t a[DQM][4];
#pragma unroll
        for (int mt = 0; mt < DQM; ++mt) load_a_t(a[mt], dSs, wq * 16 * DQM + mt * 16, kk * 16, lds);
#pragma unroll
        for (int dp2 = 0; dp2 < D / 32; ++dp2) {
          uint32_t bb[4];
          load_b_kn(bb, Ks, kk * 16, wd * (D / 2) + dp2 * 16, ld);
#pragma unroll
          for (int mt = 0; mt < DQM; ++mt) {
            Mma<T>::run(acc[mt][2 * dp2], a[mt], bb[0], bb[1]);
            Mma<T>::run(acc[mt][2 * dp2 + 1], a[mt], bb[2], bb[3]);
          }
        }
      }
      float* dqa = p.dq_acc + (static_cast<int64_t>(bh) * p.T) * D + wd * (D / 2) + 2 * t4;
#pragma unroll
      for (int mt = 0; mt < DQM; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const int row = q0 + wq * 16 * DQM + mt * 16 + g + r * 8;
          if (row >= p.T) continue;
#pragma unroll
          for (int nt = 0; nt < D / 16; ++nt)
            atomic_add2(dqa + static_cast<int64_t>(row) * D + nt * 8,
                        make_float2(acc[mt][nt][2 * r], acc[mt][nt][2 * r + 1]));
        }
    }
    // No barrier here: the next tile writes the other dS^T buffer, and its copies land in the
    // stage every warp finished reading before this tile's dS^T barrier.
  }
  T* dkp = static_cast<T*>(p.dk) + koff;
  T* dvp = static_cast<T*>(p.dv) + koff;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int key = k0 + wkey + mt * 16 + g + r * 8;
      if (key >= p.Tk) continue;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const int64_t off = key * krs + dt * 8 + 2 * t4;
        *reinterpret_cast<uint32_t*>(dkp + off) =
            Mma<T>::pack(dk[mt][dt][2 * r] * p.scale, dk[mt][dt][2 * r + 1] * p.scale);
        *reinterpret_cast<uint32_t*>(dvp + off) = Mma<T>::pack(dv[mt][dt][2 * r], dv[mt][dt][2 * r + 1]);
      }
    }
}

template <typename K>
Status launch(K kernel, dim3 grid, int threads, size_t smem, const Params& p, cudaStream_t stream) {
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
  kernel<<<grid, threads, smem, stream>>>(p);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

// Configurations (H100, B16 H12 T1024 D64): the forward with 4 warps of 32 query rows and
// three blocks per SM (Q re-read from shared memory to fit the registers) beat 8 warps of 16
// rows and two blocks with Q in registers; the backward with 4 warps of 32 key rows beat 16-row
// warps at 8 or 12 warps per SM. D = 128 needs the registers: 16 rows per warp, one block.
template <typename T, int D, int NW, int MT, int MINB, bool DROP>
Status forward_cfg(const Params& p, cudaStream_t stream) {
  constexpr int QT = NW * 16 * MT;
  const size_t smem = (QT + 6 * kTile) * (D + 8) * sizeof(T) + 3 * kTile * sizeof(int);
  const dim3 grid((p.T + QT - 1) / QT, p.B * p.NH);
  return launch(fwd_kernel<T, D, NW, MT, MINB, DROP>, grid, NW * 32, smem, p, stream);
}

// With dropout the Philox draws need the registers of two blocks per SM. Hopper (sm_90a
// builds) takes D = 64 without dropout on wgmma (attention_flash_sm90.cu).
template <typename T, int D>
Status forward_t(const Params& p, cudaStream_t stream) {
  const bool drop = p.p_drop > 0.f;
  if (D == 64 && !drop && forward_sm90_available()) return forward_sm90(std::is_same_v<T, __nv_bfloat16>, p, stream);
  if constexpr (D == 64)
    return drop ? forward_cfg<T, D, 4, 2, 2, true>(p, stream) : forward_cfg<T, D, 4, 2, 3, false>(p, stream);
  else
    return drop ? forward_cfg<T, D, 8, 1, 1, true>(p, stream) : forward_cfg<T, D, 8, 1, 1, false>(p, stream);
}

template <typename T, int D, int NW, int MT, int MINB, bool DROP>
Status backward_cfg(const Params& p, cudaStream_t stream) {
  constexpr int KB = NW * 16 * MT, QB = 64;
  const size_t smem = (2 * KB + 4 * QB) * (D + 8) * sizeof(T) + 2 * KB * (QB + 8) * sizeof(T) +
                      4 * QB * sizeof(float) + KB * sizeof(int);
  const unsigned grid = p.B * p.NKV * ((p.Tk + KB - 1) / KB);  // block_order
  return launch(bwd_kernel<T, D, NW, MT, MINB, DROP>, grid, NW * 32, smem, p, stream);
}

template <typename T, int D>
Status backward_t(const Params& p, cudaStream_t stream) {
  const int64_t rows = static_cast<int64_t>(p.B) * p.NH * p.T;
  constexpr int kRowThreads = D / 8, kBlock = 256;
  const unsigned row_blocks = static_cast<unsigned>((rows * kRowThreads + kBlock - 1) / kBlock);
  delta_kernel<T, D><<<row_blocks, kBlock, 0, stream>>>(p, rows);
  LW_CUDA_LAUNCH_CHECK();
  // Hopper (sm_90a builds) takes D = 64 without dropout on wgmma (attention_flash_sm90_bwd.cu);
  // LW_ATTN_BWD=mma keeps it on this file's kernel (for side-by-side measurements).
  const bool drop = p.p_drop > 0.f;
  static const bool force_mma = [] {
    const char* e = std::getenv("LW_ATTN_BWD");
    return e != nullptr && std::string(e) == "mma";
  }();
  bool on_sm90 = false;
  if (D == 64 && !drop && !force_mma && forward_sm90_available()) {
    const Status st = backward_sm90(std::is_same_v<T, __nv_bfloat16>, p, stream);
    on_sm90 = st.code() != StatusCode::kUnsupported;
    if (on_sm90) {
      LW_TRY(st);
    } else {  // tensors the TMA unit cannot describe (e.g. misaligned): said once, not an error
      static std::atomic<bool> told{false};
      if (!told.exchange(true)) log_warn(st.message() + "; the mma.sync backward runs instead");
    }
  }
  // With dropout (a Philox draw per element) 16 key rows per warp, or the registers spill.
  if constexpr (D == 64) {
    if (!on_sm90)
      LW_TRY((drop ? backward_cfg<T, D, 4, 1, 2, true>(p, stream) : backward_cfg<T, D, 4, 2, 2, false>(p, stream)));
  } else {
    LW_TRY((drop ? backward_cfg<T, D, 4, 1, 1, true>(p, stream) : backward_cfg<T, D, 4, 1, 1, false>(p, stream)));
  }
  dq_convert_kernel<T, D><<<row_blocks, kBlock, 0, stream>>>(p, rows);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

template <typename T>
Status by_head_size(const Params& p, int D, bool fwd, cudaStream_t stream) {
  if (D == 64) return fwd ? forward_t<T, 64>(p, stream) : backward_t<T, 64>(p, stream);
  if (D == 128) return fwd ? forward_t<T, 128>(p, stream) : backward_t<T, 128>(p, stream);
  return unsupported("flash attention: head size " + std::to_string(D) + " (64 or 128 only)");
}

Status dispatch(DType dtype, const Params& p, int D, bool fwd, cudaStream_t stream) {
  if (dtype == DType::kBF16) return by_head_size<__nv_bfloat16>(p, D, fwd, stream);
  if (dtype == DType::kF16) return by_head_size<__half>(p, D, fwd, stream);
  return unsupported_dtype(dtype, "flash attention");
}

// delta [B*NH*T] f32 first in the workspace, rounded up so the dQ accumulator after it is
// 16-byte aligned; the work counter last.
size_t delta_floats(const AttentionShape& s) { return (static_cast<size_t>(s.B) * s.NH * s.T + 3) / 4 * 4; }

void set_dropout(Params& p, const AttentionShape& s) {
  p.p_drop = s.dropout;
  p.keep_scale = s.dropout > 0.f ? 1.f / (1.f - s.dropout) : 1.f;
  p.seed = s.dropout_seed;
  p.offset = s.dropout_offset;
}

}  // namespace

// ============================== launchers ============================================
size_t backward_workspace_bytes(const AttentionShape& s) {
  return (delta_floats(s) + static_cast<size_t>(s.B) * s.NH * s.T * s.D + 4) * sizeof(float);  // + the work counter
}

Status forward(DType dtype, void* out, float* lse, const void* q, const void* k, const void* v,
               const int32_t* key_mask, const AttentionShape& s, cudaStream_t stream) {
  LW_CHECK(s.scale > 0.f, "flash attention: the softmax scale must be positive");
  Params p{};
  p.q = q; p.k = k; p.v = v; p.o = out; p.lse_out = lse; p.mask = key_mask;
  p.B = s.B; p.NH = s.NH; p.NKV = s.NKV; p.T = s.T; p.Tk = s.Tk > 0 ? s.Tk : s.T;
  p.causal = s.causal; p.scale = s.scale; p.tm = s.tokens_major;
  set_dropout(p, s);
  return dispatch(dtype, p, s.D, true, stream);
}

Status backward(DType dtype, void* dq, void* dk, void* dv, const void* dout, const void* q,
                const void* k, const void* v, const void* out, const float* lse,
                const int32_t* key_mask, const AttentionShape& s, float* workspace,
                cudaStream_t stream) {
  LW_CHECK(s.scale > 0.f, "flash attention: the softmax scale must be positive");
  Params p{};
  p.q = q; p.k = k; p.v = v; p.out = out; p.dout = dout; p.dq = dq; p.dk = dk; p.dv = dv;
  p.lse_in = lse; p.delta = workspace; p.mask = key_mask;
  p.dq_acc = workspace + delta_floats(s);
  p.work = reinterpret_cast<int*>(p.dq_acc + static_cast<size_t>(s.B) * s.NH * s.T * s.D);
  p.B = s.B; p.NH = s.NH; p.NKV = s.NKV; p.T = s.T; p.Tk = s.Tk > 0 ? s.Tk : s.T;
  p.causal = s.causal; p.scale = s.scale; p.tm = s.tokens_major;
  set_dropout(p, s);
  return dispatch(dtype, p, s.D, false, stream);
}

}  // namespace lw::cuda::flash
