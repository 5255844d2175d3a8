// The Hopper forward of the fused attention (D = 64, bf16/f16, no dropout), on the warpgroup
// tensor-core instructions of sm_90a (wgmma, attention_flash_wgmma.cuh): FlashAttention-3's
// intra-warpgroup overlap without its producer warps. A block holds NWG warpgroups of 64
// queries; 128-key K/V tiles arrive by cp.async into 128-byte-swizzled shared memory (K in two
// stages, V in three: V of tile j-1 is still read while tile j's scores are computed). Per
// tile, a warpgroup issues S_j = Q K_j^T and O += P_{j-1} V_{j-1} together, takes tile j's
// online softmax while the second product runs, then rescales O. The softmax is the mma.sync
// kernels' (same fragment layout): unscaled scores, scale * log2(e) folded into one FFMA.
// The mma.sync forward (attention_flash.cu) stays for dropout, D = 128 and non-sm_90a builds.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "engine/backend/cuda/attention_flash_common.cuh"
#include "engine/backend/cuda/attention_flash_mma.cuh"
#include "engine/backend/cuda/attention_flash_wgmma.cuh"
#include "engine/backend/cuda/cuda_common.cuh"

namespace lw::cuda::flash {

namespace {

constexpr int kD = 64, kKeys = 128;        // head size; keys per tile
constexpr int kKStages = 2, kVStages = 3;  // see the header comment
constexpr int kTileBytes = kKeys * kD * 2;

// Online softmax of a warp's 16 x 128 score tile (rows g, g+8): the masks (MASKED), the
// running max (log2 units) and sum; the scores become exp2(s * sl2 - max) and alpha is the
// factor that rescales the output accumulated so far.
template <bool MASKED>
__device__ __forceinline__ void softmax_tile(float (&s)[64], float (&mrow)[2], float (&lrow)[2], float (&alpha)[2],
                                             const Params& p, const int* f, int row0, int k0, float sl2) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  if constexpr (MASKED) {
#pragma unroll
    for (int i = 0; i < 64; ++i) {
      const int kk = (i >> 2) * 8 + 2 * t4 + (i & 1);
      if (!(f[kk] && causal_ok(p, row0 + g + ((i >> 1) & 1) * 8, k0 + kk))) s[i] = -INFINITY;
    }
  }
  float mx[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {  // a tree, not a chain of dependent fmaxf
    float m8[8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
      m8[i] = fmaxf(fmaxf(s[8 * i + 2 * r], s[8 * i + 2 * r + 1]), fmaxf(s[8 * i + 4 + 2 * r], s[8 * i + 5 + 2 * r]));
    mx[r] = fmaxf(fmaxf(fmaxf(m8[0], m8[1]), fmaxf(m8[2], m8[3])), fmaxf(fmaxf(m8[4], m8[5]), fmaxf(m8[6], m8[7])));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
  }
  float msub[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    // The max is taken on raw scores (scale > 0 keeps the order); -inf: nothing seen yet.
    const float mnew = fmaxf(mrow[r], mx[r] * sl2);
    alpha[r] = mnew == -INFINITY ? 1.f : fast_exp2(mrow[r] - mnew);  // exp2(-inf) = 0
    mrow[r] = mnew;
    msub[r] = mnew == -INFINITY ? 0.f : mnew;  // masked scores stay -inf -> 0
  }
#pragma unroll
  for (int i = 0; i < 64; ++i) s[i] = fast_exp2(fmaf(s[i], sl2, -msub[(i >> 1) & 1]));
#pragma unroll
  for (int r = 0; r < 2; ++r) {  // the tile's row sum as a tree
    float t8[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) t8[i] = (s[8 * i + 2 * r] + s[8 * i + 2 * r + 1]) + (s[8 * i + 4 + 2 * r] + s[8 * i + 5 + 2 * r]);
    lrow[r] = lrow[r] * alpha[r] + (((t8[0] + t8[1]) + (t8[2] + t8[3])) + ((t8[4] + t8[5]) + (t8[6] + t8[7])));
  }
}

// O += P V over one 128-key tile: eight k16 steps, P from registers, V (rows = keys) MN-major.
template <typename T>
__device__ __forceinline__ void issue_pv(float (&o)[32], const uint32_t (&pa)[8][4], uint32_t v_stage) {
  const uint64_t dv = sm90::desc_sw128(v_stage);
#pragma unroll
  for (int kk = 0; kk < 8; ++kk) sm90::Wgmma<T>::rs_n64_t(o, pa[kk], dv + kk * (16 * 128 >> 4));
  sm90::commit();
}

template <int N>
__device__ __forceinline__ void fence_regs(float (&r)[N]) { sm90::reg_fence(r); }
__device__ __forceinline__ void fence_regs(uint32_t (&r)[8][4]) {
#pragma unroll
  for (int i = 0; i < 8; ++i) sm90::reg_fence(r[i]);
}

template <typename T, int NWG, int MINB, bool PIPE>
__global__ void __launch_bounds__(NWG * 128, MINB) fwd_sm90_kernel(Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int NT = NWG * 128, QT = NWG * 64;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  // The swizzle atoms need 1024-byte alignment (the launch adds the slack).
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t sQ = (raw + 1023) & ~1023u, sK = sQ + QT * 128, sV = sK + kKStages * kTileBytes;
  int* kf = reinterpret_cast<int*>(smem_raw + (sV - raw) + kVStages * kTileBytes);  // [kKStages][kKeys]
  // Causal: the query blocks with the most keys go first (grid y), so the short ones fill the tail.
  const int bh = blockIdx.x, qb = p.causal ? gridDim.y - 1 - blockIdx.y : blockIdx.y, q0 = qb * QT;
  const int b = bh / p.NH, h = bh % p.NH, hk = h / (p.NH / p.NKV);
  const int wg = threadIdx.x >> 7, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  const int wrow = q0 + wg * 64 + ((threadIdx.x >> 5) & 3) * 16;  // this warp's first query
  const int64_t qrs = q_rows<kD>(p), krs = k_rows<kD>(p);
  const T* k = static_cast<const T*>(p.k) + k_base<kD>(p, b, hk);
  const T* v = static_cast<const T*>(p.v) + k_base<kD>(p, b, hk);
  const int kv_end = p.causal ? min(p.Tk, p.Tk - p.T + q0 + QT) : p.Tk;
  const int n_tiles = kv_end > 0 ? (kv_end + kKeys - 1) / kKeys : 0;
  auto issue = [&](int j) {
    const int k0 = j * kKeys;
    sm90::cp_tile_sw128<T, kKeys, NT>(sK + (j % kKStages) * kTileBytes, k, k0, p.Tk, krs);
    sm90::cp_tile_sw128<T, kKeys, NT>(sV + (j % kVStages) * kTileBytes, v, k0, p.Tk, krs);
    int* f = kf + (j % kKStages) * kKeys;
    for (int i = threadIdx.x; i < kKeys; i += NT)
      f[i] = k0 + i < p.Tk && (!p.mask || p.mask[static_cast<int64_t>(b) * p.Tk + k0 + i] != 0);
  };
  sm90::cp_tile_sw128<T, QT, NT>(sQ, static_cast<const T*>(p.q) + q_base<kD>(p, b, h), q0, p.T, qrs);
  if (n_tiles > 0) issue(0);
  cp_commit();

  const float sl2 = p.scale * kLog2e;
  const uint64_t dq = sm90::desc_sw128(sQ + wg * 64 * 128);
  float o[32], s[64];
  uint32_t pa[8][4];  // P of the previous tile as register A fragments (PIPE)
#pragma unroll
  for (int i = 0; i < 32; ++i) o[i] = 0.f;
  float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
  // Tile j: its scores (with P_{j-1} V_{j-1} in flight, PIPE), softmax, O rescaled, P_j packed.
  auto tile = [&](int j, auto pipe) {
    const int k0 = j * kKeys;
    cp_wait<0>();
    sm90::fence_proxy_async();
    __syncthreads();  // tile j landed; every warp is done with tile j - 1's K and j - 2's V
    if (j + 1 < n_tiles) issue(j + 1);
    cp_commit();
    const uint64_t dk = sm90::desc_sw128(sK + (j % kKStages) * kTileBytes);
    sm90::fence();
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) sm90::Wgmma<T>::ss_n128(s, dq + kk * 2, dk + kk * 2, kk);
    sm90::commit();
    if constexpr (decltype(pipe)::value) {
      issue_pv<T>(o, pa, sV + ((j - 1) % kVStages) * kTileBytes);
      sm90::wait<1>();
    } else {
      sm90::wait<0>();
    }
    fence_regs(s);
    const int* f = kf + (j % kKStages) * kKeys;
    // Interior tiles (every key valid and visible to all the warp's rows) skip the mask.
    const bool full = __all_sync(0xffffffffu, f[lane] && f[lane + 32] && f[lane + 64] && f[lane + 96]) &&
                      causal_ok(p, wrow, k0 + kKeys - 1);
    float alpha[2];
    if (full) softmax_tile<false>(s, mrow, lrow, alpha, p, f, wrow, k0, sl2);
    else softmax_tile<true>(s, mrow, lrow, alpha, p, f, wrow, k0, sl2);
    if constexpr (decltype(pipe)::value) sm90::wait<0>();
    fence_regs(o);
    fence_regs(pa);
#pragma unroll
    for (int i = 0; i < 32; ++i) o[i] *= alpha[(i >> 1) & 1];
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
      pa[kk][0] = Mma<T>::pack(s[8 * kk + 0], s[8 * kk + 1]);
      pa[kk][1] = Mma<T>::pack(s[8 * kk + 2], s[8 * kk + 3]);
      pa[kk][2] = Mma<T>::pack(s[8 * kk + 4], s[8 * kk + 5]);
      pa[kk][3] = Mma<T>::pack(s[8 * kk + 6], s[8 * kk + 7]);
    }
  };
  auto pv = [&](int j) {
    sm90::fence();
    issue_pv<T>(o, pa, sV + (j % kVStages) * kTileBytes);
    sm90::wait<0>();
    fence_regs(o);
    fence_regs(pa);
  };
  if (PIPE) {
    if (n_tiles > 0) tile(0, std::false_type{});
    for (int j = 1; j < n_tiles; ++j) tile(j, std::true_type{});
    if (n_tiles > 0) pv(n_tiles - 1);
  } else {
    for (int j = 0; j < n_tiles; ++j) {
      tile(j, std::false_type{});
      pv(j);
    }
  }
  T* out = static_cast<T*>(p.o) + q_base<kD>(p, b, h);
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = lrow[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int row = wrow + g + r * 8;
    if (row >= p.T) continue;
    const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt)
      *reinterpret_cast<uint32_t*>(out + row * qrs + dt * 8 + 2 * t4) =
          Mma<T>::pack(o[4 * dt + 2 * r] * inv, o[4 * dt + 2 * r + 1] * inv);
    if (t4 == 0)
      p.lse_out[static_cast<int64_t>(bh) * p.T + row] = l > 0.f ? mrow[r] * kLn2 + logf(l) : -INFINITY;
  }
#endif
}

// Shared memory only in the sm_90a binary: its presence tells the host which one the device runs.
__global__ void sm90_probe() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __shared__ volatile int built;
  built = 1;
#endif
}

template <typename T, int NWG, int MINB, bool PIPE>
Status launch_cfg(const Params& p, cudaStream_t stream) {
  constexpr int QT = NWG * 64;
  const size_t smem = 1024 + QT * 128 + (kKStages + kVStages) * kTileBytes + kKStages * kKeys * sizeof(int);
  auto kernel = fwd_sm90_kernel<T, NWG, MINB, PIPE>;
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
  const dim3 grid(p.B * p.NH, (p.T + QT - 1) / QT);
  kernel<<<grid, NWG * 128, smem, stream>>>(p);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

template <typename T>
Status launch_t(const Params& p, cudaStream_t stream) {
  const char* v = std::getenv("LW_ATTN_RUN");  // TEMPORARY: variants while comparing
  if (v && !std::strcmp(v, "w2")) return launch_cfg<T, 2, 2, false>(p, stream);
  if (v && !std::strcmp(v, "w2p")) return launch_cfg<T, 2, 1, true>(p, stream);
  return launch_cfg<T, 3, 1, true>(p, stream);
}

}  // namespace

bool forward_sm90_available() {
  static const bool built = [] {
    cudaFuncAttributes a{};
    const bool ok = cudaFuncGetAttributes(&a, sm90_probe) == cudaSuccess;
    if (!ok) cudaGetLastError();  // no sm_90 image for this device: not an error of a later launch
    return ok && a.sharedSizeBytes > 0;
  }();
  const char* v = std::getenv("LW_ATTN_RUN");  // TEMPORARY
  return built && !(v && !std::strcmp(v, "mma"));
}

Status forward_sm90(bool bf16, const Params& p, cudaStream_t stream) {
  return bf16 ? launch_t<__nv_bfloat16>(p, stream) : launch_t<__half>(p, stream);
}

}  // namespace lw::cuda::flash
