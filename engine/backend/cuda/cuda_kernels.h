// The CUDA launchers: one per CPU reference kernel in engine/backend/cpu/cpu_kernels.h,
// with the same meaning and argument order, plus the storage dtype of the float
// tensors (f32, bf16 or f16; f32 accumulation inside) and the stream to run on.
// Plain C++ (no device code here), so g++-compiled code such as engine/ops can call it.
// Every launcher is CUDA-graph capturable: it allocates nothing, never synchronises
// and reads no device memory on the host. Integer tensors (ids, targets, masks,
// positions) are int32; optimizer state (m, v, master weights) is f32.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/core/dtype.h"
#include "engine/core/status.h"

namespace lw::cuda {

using cpu::AttentionShape;
using cpu::GeluKind;

// ---- GEMM (cuBLASLt, cuBLAS fallback) ---------------------------------------------
// How f32 GEMMs compute: exact f32 (comparisons) or TF32 tensor cores (training speed).
enum class F32Math { kExact, kTF32 };
void set_f32_math(F32Math math);  // process-wide; default kExact
F32Math f32_math();

// Fused epilogues: y = op(A)op(B) [+ bias[n]] [then GELU (tanh form)].
// kBiasGeluAux also stores the pre-activation (x + bias) in `aux` [M,N] for backward.
enum class Epilogue { kNone, kBias, kBiasGelu, kBiasGeluAux };

// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] (row-major, as lw::cpu::gemm).
// A, B and C all have storage type `dtype`.
Status gemm(DType dtype, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
            const void* A, int lda, int64_t stride_a, const void* B, int ldb, int64_t stride_b,
            float beta, void* C, int ldc, int64_t stride_c, int batch, cudaStream_t stream);
// The same with a fused epilogue; bias [N] (dtype), aux [M,N] with leading dimension ldc.
Status gemm_epilogue(DType dtype, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                     const void* A, int lda, int64_t stride_a, const void* B, int ldb,
                     int64_t stride_b, float beta, void* C, int ldc, int64_t stride_c, int batch,
                     Epilogue epilogue, const void* bias, void* aux, cudaStream_t stream);
// Creates the cuBLASLt handle and the stream's workspace up front, so that a step
// captured into a CUDA graph later finds them ready (call once per stream, outside capture).
Status gemm_prepare(cudaStream_t stream);

// ---- elementwise / bias --------------------------------------------------------------
Status add_bias(DType dtype, void* y, const void* bias, int64_t rows, int C, cudaStream_t stream);
// dbias += sum_r dy[r,c] (dbias has storage type `dtype`; deterministic column sums).
// Half-precision rows are summed in two passes through `scratch` (at least
// bias_backward_scratch_bytes(rows, C), from the caller's allocator); without it, or for
// f32, one slower pass.
size_t bias_backward_scratch_bytes(int64_t rows, int C);
Status bias_backward(DType dtype, void* dbias, const void* dy, int64_t rows, int C,
                     float* scratch, size_t scratch_bytes, cudaStream_t stream);
Status gelu_forward(DType dtype, void* y, const void* x, int64_t n, GeluKind kind,
                    cudaStream_t stream);
Status gelu_backward(DType dtype, void* dx, const void* dy, const void* x, int64_t n,
                     GeluKind kind, cudaStream_t stream);
Status bias_gelu_forward(DType dtype, void* y, const void* x, const void* bias, int64_t rows,
                         int C, GeluKind kind, cudaStream_t stream);
// dx = dy * gelu'(x + bias), the sum rounded to `dtype` first (as add_bias would store it);
// rows of C values in whole aligned 16-byte packets only (bias_gelu_packets_ok).
bool bias_gelu_packets_ok(DType dtype, int64_t rows, int C, const void* dx, const void* dy,
                          const void* x, const void* bias);
Status bias_gelu_backward(DType dtype, void* dx, const void* dy, const void* x, const void* bias,
                          int64_t rows, int C, GeluKind kind, cudaStream_t stream);
Status silu_forward(DType dtype, void* y, const void* x, int64_t n, cudaStream_t stream);
Status silu_backward(DType dtype, void* dx, const void* dy, const void* x, int64_t n,
                     cudaStream_t stream);
Status swiglu_forward(DType dtype, void* y, const void* gate, const void* up, int64_t n,
                      cudaStream_t stream);
Status swiglu_backward(DType dtype, void* dgate, void* dup, const void* dy, const void* gate,
                       const void* up, int64_t n, cudaStream_t stream);
Status tanh_forward(DType dtype, void* y, const void* x, int64_t n, cudaStream_t stream);
Status tanh_backward(DType dtype, void* dx, const void* dy, const void* y, int64_t n,
                     cudaStream_t stream);
Status add(DType dtype, void* y, const void* a, const void* b, int64_t n, cudaStream_t stream);
Status scale(DType dtype, void* x, int64_t n, float s, cudaStream_t stream);
// out[0] (f32, device memory) = sum of squares of x. Accumulates when `accumulate`
// (so a global norm over many tensors needs one read-back at the end).
Status sum_squares(DType dtype, float* out, const void* x, int64_t n, bool accumulate,
                   cudaStream_t stream);
// [B, X, Y, D] -> [B, Y, X, D] (split / merge attention heads).
Status transpose12(DType dtype, void* y, const void* x, int B, int X, int Y, int D,
                   cudaStream_t stream);
// Storage conversion between any two of f32, bf16, f16 (round to nearest even).
Status cast(DType to, void* y, DType from, const void* x, int64_t n, cudaStream_t stream);

// ---- normalisation -------------------------------------------------------------------
// mean/rstd [rows] are f32. dw/db (dtype) accumulate; dx is overwritten.
Status layernorm_forward(DType dtype, void* y, float* mean, float* rstd, const void* x,
                         const void* w, const void* b, int64_t rows, int C, float eps,
                         cudaStream_t stream);
// Backward needs f32 scratch (block partials of dw/db, so the sums are deterministic
// without atomics): norm_backward_scratch_bytes(rows, C), from the caller's allocator.
size_t norm_backward_scratch_bytes(int64_t rows, int C);
Status layernorm_backward(DType dtype, void* dx, void* dw, void* db, const void* dy,
                          const void* x, const void* w, const float* mean, const float* rstd,
                          int64_t rows, int C, float* scratch, size_t scratch_bytes,
                          cudaStream_t stream);
Status residual_layernorm_forward(DType dtype, void* sum, void* y, float* mean, float* rstd,
                                  const void* x, const void* residual, const void* w,
                                  const void* b, int64_t rows, int C, float eps,
                                  cudaStream_t stream);
Status rmsnorm_forward(DType dtype, void* y, float* rstd, const void* x, const void* w,
                       int64_t rows, int C, float eps, cudaStream_t stream);
Status rmsnorm_backward(DType dtype, void* dx, void* dw, const void* dy, const void* x,
                        const void* w, const float* rstd, int64_t rows, int C, float* scratch,
                        size_t scratch_bytes, cudaStream_t stream);

// ---- softmax / cross-entropy ---------------------------------------------------------
Status softmax_forward(DType dtype, void* y, const void* x, int64_t rows, int cols,
                       cudaStream_t stream);
Status softmax_backward(DType dtype, void* dx, const void* dy, const void* y, int64_t rows,
                        int cols, cudaStream_t stream);
// losses/lse [N] are f32; logits/dlogits have storage type `dtype`.
Status cross_entropy_forward(DType dtype, float* losses, float* lse, const void* logits,
                             const int32_t* targets, int64_t N, int V, int ignore_index,
                             float label_smoothing, cudaStream_t stream);
Status cross_entropy_backward(DType dtype, void* dlogits, const void* logits, const float* lse,
                              const int32_t* targets, int64_t N, int V, int ignore_index,
                              float label_smoothing, float grad_scale, cudaStream_t stream);
// grad_scale read from device memory (e.g. 1/count computed on the GPU), for graphs.
Status cross_entropy_backward_dev_scale(DType dtype, void* dlogits, const void* logits,
                                        const float* lse, const int32_t* targets, int64_t N,
                                        int V, int ignore_index, float label_smoothing,
                                        const float* grad_scale, cudaStream_t stream);

// ---- embedding / rope / dropout -----------------------------------------------------
Status embedding_forward(DType dtype, void* y, const void* table, const int32_t* ids, int64_t n,
                         int C, cudaStream_t stream);
// dtable (dtype) += scattered dy. f32 uses atomics; bf16/f16 accumulate through a
// deterministic per-column pass over the ids (same result every run).
Status embedding_backward(DType dtype, void* dtable, const void* dy, const int32_t* ids,
                          int64_t n, int C, int V, cudaStream_t stream);
Status rope_forward(DType dtype, void* x, int B, int H, int T, int D, const int32_t* positions,
                    float theta, cudaStream_t stream);
Status rope_backward(DType dtype, void* dx, int B, int H, int T, int D,
                     const int32_t* positions, float theta, cudaStream_t stream);
Status dropout_forward(DType dtype, void* y, const void* x, int64_t n, float p, uint64_t seed,
                       uint64_t offset, cudaStream_t stream);
Status dropout_backward(DType dtype, void* dx, const void* dy, int64_t n, float p, uint64_t seed,
                        uint64_t offset, cudaStream_t stream);

// ---- attention -----------------------------------------------------------------------
// As lw::cpu::attention_forward (including AttentionShape::Tk for decode). lse [B,NH,T] is f32; probs [B,NH,T,T] has storage
// `dtype` and is written only when non-null. bf16/f16 with D in {64, 128} and no probs
// take the fused flash path (tensor cores, no T×T matrix in memory); everything else
// (f32, other head sizes, probability capture) takes the reference path.
Status attention_forward(DType dtype, void* out, float* lse, void* probs, const void* q,
                         const void* k, const void* v, const int32_t* key_mask,
                         const AttentionShape& s, cudaStream_t stream);
// Bytes of scratch attention_backward needs (the rows' dO·O, f32 [B,NH,T]).
size_t attention_backward_workspace_bytes(const AttentionShape& s);
Status attention_backward(DType dtype, void* dq, void* dk, void* dv, const void* dout,
                          const void* q, const void* k, const void* v, const void* out,
                          const float* lse, const int32_t* key_mask, const AttentionShape& s,
                          void* workspace, size_t workspace_bytes, cudaStream_t stream);
// True when (dtype, shape, probs wanted) runs on the fused tensor-core path.
bool attention_uses_flash(DType dtype, const AttentionShape& s, bool want_probs);

// ---- optimizer -----------------------------------------------------------------------
// AdamW on f32 master weights `param` (+ f32 m, v) with gradient `grad` of storage type
// `grad_dtype`. When param_copy is non-null the updated weights are also written there
// in `copy_dtype` (the bf16 working copy used by forward/backward).
// grad_scale_dev, when non-null, is a device f32 multiplied into grad_scale (clipping
// factor computed on the GPU, so the step stays capturable).
struct AdamWArgs {
  float lr, beta1, beta2, eps, weight_decay;
  int t;             // 1-based step
  float grad_scale;  // host factor
  const float* grad_scale_dev = nullptr;
  // When non-null, device f32 {lr, lr / (1 - beta1^t), sqrt(1 - beta2^t)} replace lr and t
  // (adamw_device_hyper writes them), so a captured step takes a new t and lr each replay.
  const float* hyper_dev = nullptr;
};
Status adamw_step(float* param, DType grad_dtype, const void* grad, float* m, float* v,
                  int64_t n, const AdamWArgs& a, DType copy_dtype, void* param_copy,
                  cudaStream_t stream);
// Many tensors in one launch (the descriptors travel as kernel parameters, so no host-device
// copy): the same update per element as adamw_step, each tensor with its own weight decay.
// All grads share grad_dtype and all copies copy_dtype; a.weight_decay is ignored.
struct AdamWTensor {
  float* param;
  const void* grad;
  float* m;
  float* v;
  void* copy;  // null: no low-precision copy
  int64_t n;
  float weight_decay;
};
Status adamw_step_multi(const AdamWTensor* tensors, int count, DType grad_dtype, DType copy_dtype,
                        const AdamWArgs& a, cudaStream_t stream);

// ---- deferred input validation (engine/ops/device_errors.h) --------------------------
// Kernels that read ids or targets report a bad one here instead of reading out of bounds:
// `site` (set once, by atomicCAS from 0) names the op and limit in a host-side table, `key`
// = position << 32 | (uint32) value, the smallest position wins. Reset: site 0, key ~0.
struct DeviceErrorRecord {
  unsigned int site;
  unsigned int pad;
  unsigned long long key;
};
// embedding_forward that also checks ids against V: a bad id leaves its row zero and goes
// to `rec` under `site` (rec null: no report).
Status embedding_forward_checked(DType dtype, void* y, const void* table, const int32_t* ids,
                                 int64_t n, int C, int V, DeviceErrorRecord* rec,
                                 unsigned site, cudaStream_t stream);
// embedding_backward that reports a bad id (skipped) the same way.
Status embedding_backward_checked(DType dtype, void* dtable, const void* dy, const int32_t* ids,
                                  int64_t n, int C, int V, DeviceErrorRecord* rec, unsigned site,
                                  cudaStream_t stream);
// cross_entropy_forward that reports a target outside [0, V) (not ignore_index) to `rec`
// under `site` and gives its row loss 0 (NaN when rec is null, as cross_entropy_forward).
Status cross_entropy_forward_checked(DType dtype, float* losses, float* lse, const void* logits,
                                     const int32_t* targets, int64_t N, int V, int ignore_index,
                                     float label_smoothing, DeviceErrorRecord* rec,
                                     unsigned site, cudaStream_t stream);
// stats[3] = {mean row loss over the counted rows, their count, 1/count} (0s when none);
// counted: target != ignore_index and in [0, V). The first row with a non-finite loss goes
// to `rec` under nan_site (value = the loss's float bits). One block: deterministic.
Status cross_entropy_reduce(float* stats, const float* losses, const int32_t* targets, int64_t N,
                            int V, int ignore_index, DeviceErrorRecord* rec, unsigned nan_site,
                            cudaStream_t stream);
// y[i] = start + step * (period > 0 ? i % period : i) (position ids, row starts).
Status iota_i32(int32_t* y, int64_t n, int32_t start, int32_t step, int64_t period,
                cudaStream_t stream);
// y[b, t] = x[b, t + 1] for t + 1 < T, else fill (causal-LM labels shifted left).
Status shift_left_i32(int32_t* y, const int32_t* x, int64_t B, int64_t T, int32_t fill,
                      cudaStream_t stream);
// x *= s[0], s in device memory (a clip factor computed on the GPU).
Status scale_by_device(DType dtype, void* x, int64_t n, const float* s, cudaStream_t stream);
// Over `count` tensors of one dtype in a launch per 128 (pointers as kernel parameters):
// out[0] += sum of squares of all of them; x *= s[0] for each.
Status sum_squares_multi(DType dtype, float* out, void* const* ptrs, const int64_t* ns, int count,
                         cudaStream_t stream);
Status scale_by_device_multi(DType dtype, void* const* ptrs, const int64_t* ns, int count,
                             const float* s, cudaStream_t stream);
// out[2] = {norm = sqrt(sumsq[0]), min(1, max_norm / (norm + 1e-6))}; the factor is 1 when
// the norm is not finite (grads left as they are, as the host clip does).
Status clip_norm_coef(float* out, const float* sumsq, float max_norm, cudaStream_t stream);

// ---- device facts --------------------------------------------------------------------
struct DeviceInfo {
  int index = 0;
  char name[256] = {};
  int sm_count = 0, major = 0, minor = 0;
  size_t total_memory = 0, l2_bytes = 0;
  int clock_khz = 0, memory_clock_khz = 0, memory_bus_bits = 0;
  int driver_version = 0, runtime_version = 0;
};
Status device_info(int index, DeviceInfo* info);
int device_count();  // 0 when no driver or no device

}  // namespace lw::cuda
