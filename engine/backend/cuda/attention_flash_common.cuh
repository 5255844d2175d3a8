// Internal to the fused attention kernels (attention_flash.cu: mma.sync, any sm_80+ GPU;
// attention_flash_sm90.cu: the Hopper wgmma forward): the kernel parameters, the layout of
// the head-major / token-major tensors and the causal rule, shared by both files.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/core/status.h"

namespace lw::cuda::flash {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

struct Params {
  const void *q, *k, *v, *out, *dout;
  void *o, *dq, *dk, *dv;
  const float* lse_in;
  float* lse_out;
  float* delta;
  float* dq_acc;  // [B*NH, T, D] f32, the fused backward's dQ sum
  int* work;      // the Hopper backward's next key block to take (zeroed by the delta kernel)
  const int32_t* mask;
  int B, NH, NKV, T, Tk;  // Tk: key length (queries are the last T of Tk positions)
  bool causal;
  bool tm;  // token-major [B,T,H,D] tensors
  float scale;
  float p_drop;      // probability dropout (0: none); kept values scaled by keep_scale
  float keep_scale;
  uint64_t seed, offset;
};

// Offsets of head h of batch b (first row) and the distance between rows: query-side
// tensors (q, out, dq, dout) have NH heads of T rows, key-side ones (k, v, dk, dv) NKV of Tk.
template <int D>
__device__ __forceinline__ int64_t q_base(const Params& p, int b, int h) {
  return p.tm ? (static_cast<int64_t>(b) * p.T * p.NH + h) * D : (static_cast<int64_t>(b) * p.NH + h) * p.T * D;
}
template <int D>
__device__ __forceinline__ int64_t k_base(const Params& p, int b, int hk) {
  return p.tm ? (static_cast<int64_t>(b) * p.Tk * p.NKV + hk) * D
              : (static_cast<int64_t>(b) * p.NKV + hk) * p.Tk * D;
}
template <int D>
__device__ __forceinline__ int64_t q_rows(const Params& p) { return p.tm ? static_cast<int64_t>(p.NH) * D : D; }
template <int D>
__device__ __forceinline__ int64_t k_rows(const Params& p) { return p.tm ? static_cast<int64_t>(p.NKV) * D : D; }

// Causal query i sees keys j <= Tk - T + i.
__device__ __forceinline__ bool causal_ok(const Params& p, int query, int key) {
  return !p.causal || key <= p.Tk - p.T + query;
}

// Which (head, block) a block of a 1-D grid of n_heads * n_blocks works on. The blocks of one
// head read the same K/V (forward) or Q/dO (backward), so heads go in groups of 16 whose blocks
// run together and share those in L2 (a head-minor order re-reads them from DRAM). Within a
// group the blocks go in rank order, or reversed: causal grids put the blocks with the most
// work first (the forward's last query blocks, the backward's first key blocks), so that the
// short ones fill the tail.
// `index` is the block's place in that order (blockIdx.x, or a persistent block's work item).
__device__ __forceinline__ void block_order(int index, int n_blocks, int n_heads, bool reversed, int& blk, int& head) {
  constexpr int kGroup = 16;
  const int per = kGroup * n_blocks, grp = index / per;
  const int r = index - grp * per, size = min(kGroup, n_heads - grp * kGroup);
  const int rank = r / size;
  head = grp * kGroup + r % size;
  blk = reversed ? n_blocks - 1 - rank : rank;
}
__device__ __forceinline__ void block_order(int n_blocks, int n_heads, bool reversed, int& blk, int& head) {
  block_order(static_cast<int>(blockIdx.x), n_blocks, n_heads, reversed, blk, head);
}

// The wgmma forward (attention_flash_sm90.cu): D = 64, bf16/f16, no dropout. Available when
// the build targets sm_90a (the architecture-specific Hopper features); plain sm_90 builds and
// other GPUs use the mma.sync kernels.
bool forward_sm90_available();
Status forward_sm90(bool bf16, const Params& p, cudaStream_t stream);
// Its backward (attention_flash_sm90_bwd.cu): the key-block kernel between the delta and the
// dQ conversion kernels of attention_flash.cu, same cases, same availability.
Status backward_sm90(bool bf16, const Params& p, cudaStream_t stream);

}  // namespace lw::cuda::flash
