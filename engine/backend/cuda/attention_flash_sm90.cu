// The Hopper forward of the fused attention (D = 64, bf16/f16, no dropout), on the warpgroup
// tensor-core instructions of sm_90a (wgmma, attention_flash_wgmma.cuh). A block holds two
// warpgroups of 64 queries and two blocks share an SM (127 registers a thread): four
// warpgroups whose products and softmaxes interleave. 128-key K/V tiles arrive by cp.async in
// two stages of 128-byte-swizzled shared memory; per tile a warpgroup computes S = Q K^T (Q and
// K from shared memory), the online softmax in registers (the mma.sync kernels' fragment
// layout: unscaled scores, scale * log2(e) folded into one FFMA), then O += P V with P as
// register A fragments. Measured against this on the H100 and dropped: FlashAttention-3's
// intra-warpgroup overlap (S of tile j beside P V of tile j-1; needs ~160 registers, so one
// block of three warpgroups an SM, or 64-key units at two blocks), Q in registers, four
// warpgroups a block, a ping-pong of the two warpgroups' score products, skipping the rescale
// of rows whose max held, copying the next tile after the score product is issued (spills).
// The mma.sync forward (attention_flash.cu) serves dropout, D = 128 and builds without sm_90a.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "engine/backend/cuda/attention_flash_common.cuh"
#include "engine/backend/cuda/attention_flash_mma.cuh"
#include "engine/backend/cuda/attention_flash_wgmma.cuh"
#include "engine/backend/cuda/cuda_common.cuh"

namespace lw::cuda::flash {

namespace {

constexpr int kD = 64, kKeys = 128;  // head size; keys per tile
constexpr int kWG = 2, kThreads = kWG * 128, kQueries = kWG * 64;  // a block
constexpr int kStages = 2;
constexpr int kTileBytes = kKeys * kD * 2;
// Q, the K and V stages, the key flags; +1024: the swizzle atoms' alignment.
constexpr size_t kSmem = 1024 + kQueries * 128 + 2 * kStages * kTileBytes + kStages * kKeys * sizeof(int);

// Online softmax of a warp's 16 x 128 score tile (rows g, g+8; s[4i..4i+3] the m16n8 C layout
// of keys 8i..8i+7): the masks (MASKED), the running max (log2 units) and sum; the scores
// become exp2(s * sl2 - max) and alpha is the factor that rescales the output so far.
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
    float t[8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
      t[i] = fmaxf(fmaxf(s[8 * i + 2 * r], s[8 * i + 2 * r + 1]), fmaxf(s[8 * i + 4 + 2 * r], s[8 * i + 5 + 2 * r]));
    mx[r] = fmaxf(fmaxf(fmaxf(t[0], t[1]), fmaxf(t[2], t[3])), fmaxf(fmaxf(t[4], t[5]), fmaxf(t[6], t[7])));
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
  for (int i = 0; i < 64; ++i) s[i] = fast_exp2(fmaf(s[i], sl2, -msub[(i >> 1) & 1]));
#pragma unroll
  for (int r = 0; r < 2; ++r) {  // the tile's row sum as a tree
    float t[8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
      t[i] = (s[8 * i + 2 * r] + s[8 * i + 2 * r + 1]) + (s[8 * i + 4 + 2 * r] + s[8 * i + 5 + 2 * r]);
    lrow[r] = lrow[r] * alpha[r] + (((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7])));
  }
}

// S = Q K^T over one tile (four k16 steps; descriptors of the warpgroup's Q rows and the K tile).
template <typename T>
__device__ __forceinline__ void issue_s(float (&s)[64], uint64_t dq, uint64_t dk) {
  sm90::fence();
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) sm90::Wgmma<T>::ss_n128(s, dq + kk * 2, dk + kk * 2, kk);  // +32 bytes
  sm90::commit();
}
// O += P V over one tile: eight k16 steps, P from registers, V (rows = keys) MN-major.
template <typename T>
__device__ __forceinline__ void issue_pv(float (&o)[32], const uint32_t (&pa)[8][4], uint64_t dv) {
  sm90::fence();
#pragma unroll
  for (int kk = 0; kk < 8; ++kk) sm90::Wgmma<T>::rs_n64_t(o, pa[kk], dv + kk * (16 * 128 >> 4));  // +16 rows
  sm90::commit();
}

// P (the softmax's f32 C fragments) as register A fragments of the k16 steps.
template <typename T>
__device__ __forceinline__ void pack_p(uint32_t (&pa)[8][4], const float (&s)[64]) {
#pragma unroll
  for (int kk = 0; kk < 8; ++kk)
#pragma unroll
    for (int i = 0; i < 4; ++i) pa[kk][i] = Mma<T>::pack(s[8 * kk + 2 * i], s[8 * kk + 2 * i + 1]);
}

// Writes the warp's 16 output rows (O / l) and their log-sum-exp.
template <typename T>
__device__ __forceinline__ void store_rows(const Params& p, T* out, int64_t qrs, int bh, int row0,
                                           const float (&o)[32], const float (&mrow)[2], const float (&lrow)[2]) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = lrow[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int row = row0 + g + r * 8;
    if (row >= p.T) continue;
    const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt)
      *reinterpret_cast<uint32_t*>(out + row * qrs + dt * 8 + 2 * t4) =
          Mma<T>::pack(o[4 * dt + 2 * r] * inv, o[4 * dt + 2 * r + 1] * inv);
    if (t4 == 0)
      p.lse_out[static_cast<int64_t>(bh) * p.T + row] = l > 0.f ? mrow[r] * kLn2 + logf(l) : -INFINITY;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 2) fwd_sm90_kernel(Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t sQ = (raw + 1023) & ~1023u, sK = sQ + kQueries * 128, sV = sK + kStages * kTileBytes;
  int* kf = reinterpret_cast<int*>(smem_raw + (sV - raw) + kStages * kTileBytes);  // [kStages][kKeys]
  int qb, bh;
  block_order((p.T + kQueries - 1) / kQueries, p.B * p.NH, p.causal, qb, bh);
  const int q0 = qb * kQueries, b = bh / p.NH, h = bh % p.NH, hk = h / (p.NH / p.NKV);
  const int wg = threadIdx.x >> 7, lane = threadIdx.x & 31;
  const int wrow = q0 + wg * 64 + ((threadIdx.x >> 5) & 3) * 16;  // this warp's first query
  const int64_t qrs = q_rows<kD>(p), krs = k_rows<kD>(p);
  const T* k = static_cast<const T*>(p.k) + k_base<kD>(p, b, hk);
  const T* v = static_cast<const T*>(p.v) + k_base<kD>(p, b, hk);
  const int kv_end = p.causal ? min(p.Tk, p.Tk - p.T + q0 + kQueries) : p.Tk;
  const int n_tiles = kv_end > 0 ? (kv_end + kKeys - 1) / kKeys : 0;
  auto issue = [&](int j) {  // tile j's K, V and key flags into stage j % kStages
    const int k0 = j * kKeys, st = j % kStages;
    sm90::cp_tile_sw128<T, kKeys, kThreads>(sK + st * kTileBytes, k, k0, p.Tk, krs);
    sm90::cp_tile_sw128<T, kKeys, kThreads>(sV + st * kTileBytes, v, k0, p.Tk, krs);
    for (int i = threadIdx.x; i < kKeys; i += kThreads)
      kf[st * kKeys + i] = k0 + i < p.Tk && (!p.mask || p.mask[static_cast<int64_t>(b) * p.Tk + k0 + i] != 0);
  };
  sm90::cp_tile_sw128<T, kQueries, kThreads>(sQ, static_cast<const T*>(p.q) + q_base<kD>(p, b, h), q0, p.T, qrs);
  if (n_tiles > 0) issue(0);
  cp_commit();

  const float sl2 = p.scale * kLog2e;
  const uint64_t dq = sm90::desc_sw128(sQ + wg * 64 * 128);
  float o[32], s[64];
  uint32_t pa[8][4];
#pragma unroll
  for (int i = 0; i < 32; ++i) o[i] = 0.f;
  float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
  for (int j = 0; j < n_tiles; ++j) {
    const int k0 = j * kKeys, st = j % kStages;
    cp_wait<0>();
    sm90::fence_proxy_async();  // this thread's copies, visible to wgmma (the async proxy)
    __syncthreads();            // tile j landed; every warp is done with tile j - 1 (the next stage)
    if (j + 1 < n_tiles) issue(j + 1);
    cp_commit();
    issue_s<T>(s, dq, sm90::desc_sw128(sK + st * kTileBytes));
    sm90::wait<0>();
    sm90::reg_fence(s);
    const int* f = kf + st * kKeys;
    // Interior tiles (every key valid and visible to all the warp's rows) skip the mask.
    const bool full = __all_sync(0xffffffffu, f[lane] && f[lane + 32] && f[lane + 64] && f[lane + 96]) &&
                      causal_ok(p, wrow, k0 + kKeys - 1);
    float alpha[2];
    if (full) softmax_tile<false>(s, mrow, lrow, alpha, p, f, wrow, k0, sl2);
    else softmax_tile<true>(s, mrow, lrow, alpha, p, f, wrow, k0, sl2);
    sm90::reg_fence(o);
#pragma unroll
    for (int i = 0; i < 32; ++i) o[i] *= alpha[(i >> 1) & 1];
    pack_p<T>(pa, s);
    issue_pv<T>(o, pa, sm90::desc_sw128(sV + st * kTileBytes));
    sm90::wait<0>();
    sm90::reg_fence(o);
    for (int kk = 0; kk < 8; ++kk) sm90::reg_fence(pa[kk]);
  }
  store_rows<T>(p, static_cast<T*>(p.o) + q_base<kD>(p, b, h), qrs, bh, wrow, o, mrow, lrow);
#endif
}

// Shared memory only in the sm_90a binary: its presence tells the host which one the device runs.
__global__ void sm90_probe() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __shared__ volatile int built;
  built = 1;
#endif
}

template <typename T>
Status launch_t(const Params& p, cudaStream_t stream) {
  auto kernel = fwd_sm90_kernel<T>;
  LW_TRY(allow_smem(reinterpret_cast<const void*>(kernel), kSmem));
  const unsigned grid = p.B * p.NH * ((p.T + kQueries - 1) / kQueries);  // see block_order
  kernel<<<grid, kThreads, kSmem, stream>>>(p);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace

bool forward_sm90_available() {
  static const bool built = [] {
    cudaFuncAttributes a{};
    const bool ok = cudaFuncGetAttributes(&a, sm90_probe) == cudaSuccess;
    if (!ok) cudaGetLastError();  // no sm_90 image for this device: not an error of a later launch
    return ok && a.sharedSizeBytes > 0;
  }();
  return built;
}

Status forward_sm90(bool bf16, const Params& p, cudaStream_t stream) {
  return bf16 ? launch_t<__nv_bfloat16>(p, stream) : launch_t<__half>(p, stream);
}

}  // namespace lw::cuda::flash
