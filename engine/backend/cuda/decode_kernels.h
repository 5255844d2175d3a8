// Launchers of the fused single-token decode kernels (decode_gemv.cu, decode_kernels.cu) behind
// engine/generate/decode_engine: matrix-vector products that read each weight once for up
// to 8 sequences (with a fused input norm / SwiGLU and a bias + GELU / residual-add
// epilogue), rotary + KV-cache append, split-key single-query attention and greedy argmax.
// Activations are f32; weights and the KV cache have the model's storage dtype. Every
// launcher is graph-capturable: no allocation, no synchronisation, positions read on device.
// Dimension letters: B sequences, K input width, N output rows, NH query heads, NKV key/value
// heads, D head size, P cache positions, V vocabulary.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "engine/core/dtype.h"
#include "engine/core/status.h"

namespace lw::cuda::decode {

// LW_DECODE_TRACE (a measuring aid): a launch given a trace slot has thread 0 of each of its
// first kTraceBlocks blocks write kTraceStamps %globaltimer stamps (ns) at
// trace[block * kTraceStamps + i]: 0 start, 1 after the wait on the previous kernel, 2 its
// input ready (GEMV) / partial written (attention), 3 end.
inline constexpr int kTraceBlocks = 1024;
inline constexpr int kTraceStamps = 4;

// What the GEMV does to its input rows before the product.
enum class InputOp {
  kNone,
  kLayerNorm,  // (x - mean) * rstd * norm_w + norm_b
  kRmsNorm,    // x * rsqrt(mean(x^2) + eps) * norm_w
  kSwiglu,     // input rows are [gate (K) | up (K)]: silu(gate) * up
  kAttention,  // input rows are attention()'s per-chunk partials, combined here (K = NH*D)
};
// What it does with each output value (after the bias).
// kSwigluPair: two segments of equal rows (gate, up; no biases) and one output per row pair,
// silu(gate · x) * (up · x): one warp computes both rows, so the down projection reads F
// values instead of 2F.
enum class OutputOp { kStore, kAccumulate, kGeluTanh, kGeluErf, kSwigluPair };

// One weight matrix of a (virtually) concatenated GEMV: w [rows, K], bias [rows] or null.
struct GemvSegment {
  const void* w = nullptr;
  const void* bias = nullptr;
  int rows = 0;
};

struct GemvArgs {
  DType dtype = DType::kBF16;  // storage of weights, biases and norm weights
  const float* x = nullptr;    // [B, ldx] f32 (K columns, 2K for kSwiglu)
  int ldx = 0;
  int B = 1, K = 0;
  InputOp input = InputOp::kNone;
  const void* norm_w = nullptr;  // [K]
  const void* norm_b = nullptr;  // [K] (layer norm)
  float eps = 1e-5f;
  GemvSegment seg[3];
  int nseg = 1;
  float* y = nullptr;  // [B, ldy] f32; segment outputs side by side
  int ldy = 0;
  OutputOp output = OutputOp::kStore;
  // kAttention: attention()'s scratch and positions, its heads NH, head size D, chunk and
  // nsplit (attention_split()).
  const float* attn_part = nullptr;
  const int32_t* positions = nullptr;
  int heads = 0, head_dim = 0, chunk = 0, nsplit = 0;
  uint64_t* trace = nullptr;  // LW_DECODE_TRACE slot (the first chunk of sequences only)
};

// The most sequences one GEMV launch serves (more are done in chunks of this many).
inline constexpr int kGemvMaxBatch = 8;
// Shared memory one GEMV launch needs for `B` rows of width K (fails above the device limit).
size_t gemv_smem_bytes(DType dtype, int B, int K);
Status gemv(const GemvArgs& a, cudaStream_t stream);

// x[b] = wte[tokens[b]] (+ wpe[positions[b]] when wpe is not null), f32 [B, C].
Status embed(DType dtype, float* x, const void* wte, const void* wpe, const int32_t* tokens,
             const int32_t* positions, int B, int C, cudaStream_t stream,
             uint64_t* trace = nullptr);

// Floats of scratch attention() needs for B sequences over P cache positions.
size_t attention_scratch_floats(int B, int NH, int D, int P);
// Keys per attention block for a cache of P positions (all of them up to 384;
// LW_DECODE_ATTN_CHUNK=64|128|256|384 forces one) and the chunks over P positions.
int attention_chunk(int P);
inline int attention_split(int P) { return (P + attention_chunk(P) - 1) / attention_chunk(P); }
// Blocks of a head that attention() runs as one thread block cluster for B sequences of NH
// heads over P positions: its chunks, when 2 to 8 of them on a Hopper GPU and the grid is
// small (see decode_kernels.cu); else 1 (no cluster).
int attention_cluster_size(int B, int NH, int P);
// qkv [B, ldq] f32 = [q (NH*D) | k (NKV*D) | v (NKV*D)] of the new tokens. For each sequence
// b: rotates q and k at positions[b] (theta > 0: rotate_half, as transformers), stores k and v
// (dtype) at row positions[b] of its cache (k_cache + b * seq_stride + positions[b] * NKV*D),
// and writes out [B, NH*D] f32 = softmax(q k / sqrt(D)) v over cache rows [0, positions[b]],
// grouped-query aware; a cache longer than attention_chunk(P) is split in chunks over many
// blocks (flash-decoding).
// A sequence whose keys fit one chunk writes its output directly; longer ones combine: in
// the first block of the head's cluster (attention_cluster_size), or the last block to
// finish, found by counters: B*NH ints, zero before the first call (each call leaves them
// zero). With counters null the blocks only leave their partials in scratch, for a GEMV
// with InputOp::kAttention to combine (one memory round trip less on the step's critical
// path).
// kAuto takes the tensor-core kernel where attention_mma_fits() (bf16/f16 caches, heads of 64
// or 128, at most 8 query heads a key/value head: one block serves the group) and the scalar
// kernel (a block a query head) elsewhere; tests name one. The tensor-core kernel combines
// long caches by counters only (no clusters).
enum class AttentionPath { kAuto, kScalar };
Status attention(DType dtype, const float* qkv, int ldq, void* k_cache, void* v_cache,
                 int64_t seq_stride, const int32_t* positions, int B, int NH, int NKV, int D,
                 int P, float theta, float* scratch, int32_t* counters, float* out,
                 cudaStream_t stream, uint64_t* trace = nullptr,
                 AttentionPath path = AttentionPath::kAuto);
// Whether attention() with kAuto runs the tensor-core kernel for these heads
// (LW_DECODE_ATTN_MMA=0 turns it off).
bool attention_mma_fits(DType dtype, int NH, int NKV, int D);

// Floats of scratch argmax_logprob() needs for B rows of V logits.
size_t argmax_scratch_floats(int B, int V);
// Per row of logits [B, V] f32: ids[b] = first index of the maximum (torch.argmax) and
// logprob[b] = its log-softmax value. The vocabulary is split over many blocks; the last
// block of a row combines. counters: B ints, zero before the first call (left zero).
// ids_mirror (optional): a second copy of ids, e.g. mapped host memory, so that no copy
// follows the kernel (logprob may point there too). next (optional): the next step's input
// io = [tokens (ld) | positions (ld)] i32 becomes [ids | positions + 1, at most positions - 1
// of the cache], written after every kernel of the step is done, so that a following step
// can start from it with no upload.
struct NextInput {
  int32_t* io = nullptr;
  int ld = 0;
  int positions = 1;  // the cache's
};
Status argmax_logprob(const float* logits, int B, int V, float* scratch, int32_t* counters,
                      int32_t* ids, float* logprob, cudaStream_t stream,
                      uint64_t* trace = nullptr, int32_t* ids_mirror = nullptr,
                      const NextInput& next = {});

}  // namespace lw::cuda::decode
