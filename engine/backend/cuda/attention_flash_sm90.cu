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
#include <string>
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

// Online softmax of a warp's 16 x NK score tile (rows g, g+8; NS = NK/2 values a thread): the
// masks (MASKED), the running max (log2 units) and sum; the scores become exp2(s * sl2 - max)
// and alpha is the factor that rescales the output accumulated so far.
template <bool MASKED, int NS>
__device__ __forceinline__ void softmax_tile(float (&s)[NS], float (&mrow)[2], float (&lrow)[2], float (&alpha)[2],
                                             const Params& p, const int* f, int row0, int k0, float sl2) {
  constexpr int NG = NS / 4;  // 8-key groups
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  if constexpr (MASKED) {
#pragma unroll
    for (int i = 0; i < NS; ++i) {
      const int kk = (i >> 2) * 8 + 2 * t4 + (i & 1);
      if (!(f[kk] && causal_ok(p, row0 + g + ((i >> 1) & 1) * 8, k0 + kk))) s[i] = -INFINITY;
    }
  }
  float mx[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float t[NG / 2];  // a tree, not a chain of dependent fmaxf
#pragma unroll
    for (int i = 0; i < NG / 2; ++i)
      t[i] = fmaxf(fmaxf(s[8 * i + 2 * r], s[8 * i + 2 * r + 1]), fmaxf(s[8 * i + 4 + 2 * r], s[8 * i + 5 + 2 * r]));
#pragma unroll
    for (int w = NG / 4; w >= 1; w /= 2)
#pragma unroll
      for (int i = 0; i < w; ++i) t[i] = fmaxf(t[i], t[i + w]);
    mx[r] = t[0];
  }
  float msub[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
    // The max is taken on raw scores (scale > 0 keeps the order); -inf: nothing seen yet.
    const float mnew = fmaxf(mrow[r], mx[r] * sl2);
    alpha[r] = mnew == -INFINITY ? 1.f : fast_exp2(mrow[r] - mnew);  // exp2(-inf) = 0
    mrow[r] = mnew;
    msub[r] = mnew == -INFINITY ? 0.f : mnew;  // masked scores stay -inf -> 0
  }
#pragma unroll
  for (int i = 0; i < NS; ++i) s[i] = fast_exp2(fmaf(s[i], sl2, -msub[(i >> 1) & 1]));
#pragma unroll
  for (int r = 0; r < 2; ++r) {  // the tile's row sum as a tree
    float t[NG / 2];
#pragma unroll
    for (int i = 0; i < NG / 2; ++i)
      t[i] = (s[8 * i + 2 * r] + s[8 * i + 2 * r + 1]) + (s[8 * i + 4 + 2 * r] + s[8 * i + 5 + 2 * r]);
#pragma unroll
    for (int w = NG / 4; w >= 1; w /= 2)
#pragma unroll
      for (int i = 0; i < w; ++i) t[i] += t[i + w];
    lrow[r] = lrow[r] * alpha[r] + t[0];
  }
}

template <int N>
__device__ __forceinline__ void fence_regs(float (&r)[N]) { sm90::reg_fence(r); }
template <int N>
__device__ __forceinline__ void fence_regs(uint32_t (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i) sm90::reg_fence(r[i]);
}

// S = Q K^T for NK keys: Q from registers (QREG, qa) or from its shared tile (descriptor dq).
template <typename T, int NK, bool QREG, int NQ>
__device__ __forceinline__ void issue_s(float (&s)[NK / 2], const uint32_t (&qa)[NQ][4], uint64_t dq, uint64_t dk) {
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    if constexpr (NK == 64) {
      if constexpr (QREG) sm90::Wgmma<T>::template rs_n64<0>(s, qa[kk % NQ], dk + kk * 2, kk);
      else sm90::Wgmma<T>::ss_n64(s, dq + kk * 2, dk + kk * 2, kk);
    } else {
      if constexpr (QREG) sm90::Wgmma<T>::template rs_n128<0>(s, qa[kk % NQ], dk + kk * 2, kk);
      else sm90::Wgmma<T>::ss_n128(s, dq + kk * 2, dk + kk * 2, kk);
    }
  }
  sm90::commit();
}
// O += P V over NK keys: P from registers, V (rows = keys) MN-major.
template <typename T, int NK>
__device__ __forceinline__ void issue_pv(float (&o)[32], const uint32_t (&pa)[NK / 16][4], uint32_t v_rows) {
  const uint64_t dv = sm90::desc_sw128(v_rows);
#pragma unroll
  for (int kk = 0; kk < NK / 16; ++kk) sm90::Wgmma<T>::template rs_n64<1>(o, pa[kk], dv + kk * (16 * 128 >> 4), 1);
  sm90::commit();
}

template <typename T, int NWG, int MINB, int NK, bool PIPE, bool QREG>
__global__ void __launch_bounds__(NWG * 128, MINB) fwd_sm90_kernel(Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int NT = NWG * 128, QT = NWG * 64, UPT = kKeys / NK;  // UPT: key units a tile
  extern __shared__ __align__(16) unsigned char smem_raw[];
  // The swizzle atoms need 1024-byte alignment (the launch adds the slack).
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t sQ = (raw + 1023) & ~1023u, sK = sQ + QT * 128, sV = sK + kKStages * kTileBytes;
  int* kf = reinterpret_cast<int*>(smem_raw + (sV - raw) + kVStages * kTileBytes);  // [kKStages][kKeys]
  int qb, bh;
  block_order((p.T + QT - 1) / QT, p.B * p.NH, p.causal, qb, bh);
  const int q0 = qb * QT;
  const int b = bh / p.NH, h = bh % p.NH, hk = h / (p.NH / p.NKV);
  const int wg = threadIdx.x >> 7, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  const int wrow = q0 + wg * 64 + ((threadIdx.x >> 5) & 3) * 16;  // this warp's first query
  const int64_t qrs = q_rows<kD>(p), krs = k_rows<kD>(p);
  const T* k = static_cast<const T*>(p.k) + k_base<kD>(p, b, hk);
  const T* v = static_cast<const T*>(p.v) + k_base<kD>(p, b, hk);
  const int kv_end = p.causal ? min(p.Tk, p.Tk - p.T + q0 + QT) : p.Tk;
  const int n_units = kv_end > 0 ? (kv_end + NK - 1) / NK : 0;
  const int n_tiles = (n_units + UPT - 1) / UPT;
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
  uint32_t qa[QREG ? kD / 16 : 1][4];  // Q as register A fragments (QREG)
  float o[32], s[NK / 2];
  uint32_t pa[NK / 16][4];  // P as register A fragments
#pragma unroll
  for (int i = 0; i < 32; ++i) o[i] = 0.f;
  float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
  // Shared memory of unit u (NK keys): rows of its stage.
  auto k_rows_at = [&](int u) { return sK + (u / UPT % kKStages) * kTileBytes + (u % UPT) * NK * 128; };
  auto v_rows_at = [&](int u) { return sV + (u / UPT % kVStages) * kTileBytes + (u % UPT) * NK * 128; };
  // Unit u: its scores (with P_{u-1} V_{u-1} in flight, PIPE), softmax, O rescaled, P_u packed.
  auto unit = [&](int u, auto pipe) {
    const int k0 = u * NK;
    if (u % UPT == 0) {
      cp_wait<0>();
      sm90::fence_proxy_async();
      __syncthreads();  // tile u/UPT landed; every warp is done with the stages the next load reuses
      if (u / UPT + 1 < n_tiles) issue(u / UPT + 1);
      cp_commit();
      if (QREG && u == 0) {
#pragma unroll
        for (int kk = 0; kk < (QREG ? kD / 16 : 0); ++kk) sm90::load_a_sw128(qa[kk], sQ, wrow - q0, kk * 16);
      }
    }
    sm90::fence();
    issue_s<T, NK, QREG>(s, qa, dq, sm90::desc_sw128(k_rows_at(u)));
    if constexpr (decltype(pipe)::value) {
      issue_pv<T, NK>(o, pa, v_rows_at(u - 1));
      sm90::wait<1>();
    } else {
      sm90::wait<0>();
    }
    fence_regs(s);
    const int* f = kf + (u / UPT % kKStages) * kKeys + (u % UPT) * NK;
    // Interior units (every key valid and visible to all the warp's rows) skip the mask.
    bool valid = true;
#pragma unroll
    for (int i = 0; i < NK / 32; ++i) valid = valid && f[lane + 32 * i];
    const bool full = __all_sync(0xffffffffu, valid) && causal_ok(p, wrow, k0 + NK - 1);
    float alpha[2];
    if (full) softmax_tile<false>(s, mrow, lrow, alpha, p, f, wrow, k0, sl2);
    else softmax_tile<true>(s, mrow, lrow, alpha, p, f, wrow, k0, sl2);
    if constexpr (decltype(pipe)::value) sm90::wait<0>();
    fence_regs(o);
    fence_regs(pa);
#pragma unroll
    for (int i = 0; i < 32; ++i) o[i] *= alpha[(i >> 1) & 1];
#pragma unroll
    for (int kk = 0; kk < NK / 16; ++kk) {
      pa[kk][0] = Mma<T>::pack(s[8 * kk + 0], s[8 * kk + 1]);
      pa[kk][1] = Mma<T>::pack(s[8 * kk + 2], s[8 * kk + 3]);
      pa[kk][2] = Mma<T>::pack(s[8 * kk + 4], s[8 * kk + 5]);
      pa[kk][3] = Mma<T>::pack(s[8 * kk + 6], s[8 * kk + 7]);
    }
  };
  auto pv = [&](int u) {
    sm90::fence();
    issue_pv<T, NK>(o, pa, v_rows_at(u));
    sm90::wait<0>();
    fence_regs(o);
    fence_regs(pa);
  };
  if (PIPE) {
    if (n_units > 0) unit(0, std::false_type{});
    for (int u = 1; u < n_units; ++u) unit(u, std::true_type{});
    if (n_units > 0) pv(n_units - 1);
  } else {
    for (int u = 0; u < n_units; ++u) {
      unit(u, std::false_type{});
      pv(u);
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

template <typename T, int NWG, int MINB, int NK, bool PIPE, bool QREG>
Status launch_cfg(const Params& p, cudaStream_t stream) {
  constexpr int QT = NWG * 64;
  const size_t smem = 1024 + QT * 128 + (kKStages + kVStages) * kTileBytes + kKStages * kKeys * sizeof(int);
  auto kernel = fwd_sm90_kernel<T, NWG, MINB, NK, PIPE, QREG>;
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), smem));
  const unsigned grid = p.B * p.NH * ((p.T + QT - 1) / QT);  // block_order
  kernel<<<grid, NWG * 128, smem, stream>>>(p);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

template <typename T>
Status launch_t(const Params& p, cudaStream_t stream) {
  const char* v = std::getenv("LW_ATTN_RUN");  // TEMPORARY: variants while comparing
  const std::string run = v ? v : "";
  if (run == "u2") return launch_cfg<T, 2, 2, 64, true, true>(p, stream);
  if (run == "u2s") return launch_cfg<T, 2, 2, 64, true, false>(p, stream);
  if (run == "u4") return launch_cfg<T, 4, 1, 64, true, true>(p, stream);
  if (run == "w4") return launch_cfg<T, 4, 1, 128, false, false>(p, stream);
  return launch_cfg<T, 2, 2, 128, false, false>(p, stream);
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
