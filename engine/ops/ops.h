// Every tensor op of the engine, declared once. Each op validates its inputs
// (shape, dtype, device, contiguity, token ids) and returns a Status naming the
// argument at fault, then dispatches to the backend of its tensors' device: the
// CPU reference (engine/backend/cpu, f32 compute; bf16/f16 inputs are converted)
// or CUDA. Forward functions return what backward needs; backward functions
// return input gradients and ACCUMULATE parameter gradients into the given
// tensors (so micro-batches add up); a null / undefined parameter gradient skips it.
//
// Dimension letters: B batch, T sequence (Tq queries, Tk keys), C channels,
// NH query heads, NKV key/value heads, D head size, V vocabulary, N rows, K/M/N GEMM sizes.
// "[..., C]" means any leading dims, flattened to rows.
#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "engine/core/status.h"
#include "engine/core/tensor.h"

namespace lw::ops {

// The cudaStream_t (passed as void*) that CUDA ops issued from this thread run on;
// nullptr (the default) is the legacy default stream. One stream per job. Same as
// cuda::set_current_stream (the allocator orders its blocks on that stream too).
void set_cuda_stream(void* stream);

// ---------------- GEMM ----------------
// a [..., M, K] ([..., K, M] when trans_a), b [..., K, N] ([..., N, K] when trans_b)
// -> [..., M, N] = alpha * op(a) @ op(b). Leading (batch) dims must match, or b may be 2-D
// (shared by every batch). Float dtypes, same dtype for a and b.
Result<Tensor> matmul(const Tensor& a, const Tensor& b, bool trans_a = false,
                      bool trans_b = false, float alpha = 1.0f);
// c = alpha * op(a) @ op(b) + beta * c, in place (beta = 1 accumulates a gradient).
Status matmul_into(Tensor& c, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b,
                   float alpha = 1.0f, float beta = 0.0f);

// x [..., K], w [N, K] (PyTorch nn.Linear layout; [K, N] when w_kn, GPT-2's Conv1D),
// bias [N] or undefined -> y [..., N].
Result<Tensor> linear(const Tensor& x, const Tensor& w, const Tensor& bias = {},
                      bool w_kn = false);
// Returns dx [..., K] (undefined when need_dx is false); dw += dy^T x, db += sum dy.
Result<Tensor> linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dw,
                               Tensor* db, bool w_kn = false, bool need_dx = true);
// The same, with the input gradient added into dx_acc [..., K] (dx_acc += dy @ w) by the
// GEMM itself: where several branches meet (q/k/v projections, a residual), no separate
// add kernel and no temporary.
Status linear_backward_accumulate(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dw,
                                  Tensor* db, Tensor& dx_acc, bool w_kn = false);

// ---------------- embedding ----------------
// ids [...] i32 (each in [0, V)), table [V, C] -> [..., C]. CPU ids are validated on the
// host; CUDA ids by the kernel (a bad id gives a zero row), reported at once (a sync) or,
// under ops::DeferredChecks / graph capture, at the next check (engine/ops/device_errors.h).
Result<Tensor> embedding(const Tensor& ids, const Tensor& table);
// dtable [V, C] += scatter of dy [..., C] by ids.
Status embedding_backward(const Tensor& dy, const Tensor& ids, Tensor& dtable);

// ---------------- normalization ----------------
struct NormOut {
  Tensor y;     // [..., C], x's dtype
  Tensor mean;  // [rows] f32 (layernorm only)
  Tensor rstd;  // [rows] f32
};
// y = (x - mean) / sqrt(var + eps) * w + b, over the last dim C; w, b [C].
Result<NormOut> layernorm(const Tensor& x, const Tensor& w, const Tensor& b, float eps);
// Returns dx; dw, db accumulated.
Result<Tensor> layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                                  const NormOut& saved, Tensor* dw, Tensor* db);

struct ResidualNormOut {
  Tensor sum;   // [..., C] = x + residual (the residual stream carried on)
  NormOut norm; // layernorm(sum)
};
// Fused pre-norm step: sum = x + residual; y = layernorm(sum).
Result<ResidualNormOut> residual_layernorm(const Tensor& x, const Tensor& residual,
                                           const Tensor& w, const Tensor& b, float eps);
// dy: gradient of y; dsum: gradient reaching `sum` from its other uses (may be undefined).
// Returns d(sum) = dx = dresidual; dw, db accumulated.
Result<Tensor> residual_layernorm_backward(const Tensor& dy, const Tensor& dsum, const Tensor& w,
                                           const ResidualNormOut& saved, Tensor* dw, Tensor* db);

// y = x / sqrt(mean(x^2) + eps) * w; w [C]. (mean unused.)
Result<NormOut> rmsnorm(const Tensor& x, const Tensor& w, float eps);
Result<Tensor> rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                                const NormOut& saved, Tensor* dw);

// ---------------- activations (element-wise, any shape) ----------------
enum class Gelu { kErf, kTanh };  // BERT: erf; GPT-2 "gelu_new": tanh
Result<Tensor> gelu(const Tensor& x, Gelu kind);
Result<Tensor> gelu_backward(const Tensor& dy, const Tensor& x, Gelu kind);
// y = gelu(x + bias), x [..., C], bias [C]: the fused MLP epilogue. Save x (pre-bias).
Result<Tensor> bias_gelu(const Tensor& x, const Tensor& bias, Gelu kind);
// Returns dx; dbias accumulated.
Result<Tensor> bias_gelu_backward(const Tensor& dy, const Tensor& x, const Tensor& bias,
                                  Gelu kind, Tensor* dbias);
Result<Tensor> silu(const Tensor& x);
Result<Tensor> silu_backward(const Tensor& dy, const Tensor& x);
// y = silu(gate) * up (same shapes).
Result<Tensor> swiglu(const Tensor& gate, const Tensor& up);
struct SwigluGrads {
  Tensor dgate, dup;
};
Result<SwigluGrads> swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up);
Result<Tensor> tanh(const Tensor& x);
Result<Tensor> tanh_backward(const Tensor& dy, const Tensor& y);  // uses the output y

// ---------------- element-wise arithmetic ----------------
Result<Tensor> add(const Tensor& a, const Tensor& b);  // same shape and dtype
Status add_(Tensor& a, const Tensor& b);               // a += b (gradient accumulation)
Status scale_(Tensor& x, float s);                     // x *= s
Status fill_(Tensor& x, float value);

// ---------------- softmax ----------------
// Over the last dim.
Result<Tensor> softmax(const Tensor& x);
Result<Tensor> softmax_backward(const Tensor& dy, const Tensor& y);

// ---------------- attention ----------------
struct AttentionOptions {
  bool causal = false;         // query i (at position Tk - Tq + i) sees keys j <= its position
  float scale = 0.0f;          // 0: 1/sqrt(D)
  bool capture_probs = false;  // materialize probs [B,NH,Tq,Tk]
  // Dropout on the probabilities (BERT's attention_probs_dropout_prob): element i of
  // probs [B,NH,Tq,Tk] is kept iff philox_uniform(dropout_seed, dropout_offset + i) >= p,
  // as ops::dropout, so CPU and CUDA draw one mask. p > 0 takes the materialized path
  // (probs are then always returned, undropped: backward needs them); needs NKV == NH.
  float dropout = 0.0f;
  uint64_t dropout_seed = 0;
  uint64_t dropout_offset = 0;
  // Token-major tensors: q, out, dq, dout [B,Tq,NH,D] and k, v, dk, dv [B,Tk,NKV,D] (the
  // projections' own layout, so splitting heads is a reshape). The fused CUDA kernels read
  // and write them in place; the other paths transpose around the head-major computation.
  bool tokens_major = false;
};
struct AttentionOut {
  Tensor out;    // [B,NH,Tq,D], q's dtype
  Tensor lse;    // [B,NH,Tq] f32, log-sum-exp of the scaled masked scores
  Tensor probs;  // [B,NH,Tq,Tk] f32 when capture_probs, else undefined; masked entries are 0
};
// q [B,NH,Tq,D], k/v [B,NKV,Tk,D] (NH % NKV == 0: grouped-query), key_mask [B,Tk] i32
// (1 attend, 0 padding) or undefined. A query whose keys are all masked outputs zeros.
Result<AttentionOut> attention(const Tensor& q, const Tensor& k, const Tensor& v,
                               const Tensor& key_mask, const AttentionOptions& opts = {});
struct AttentionGrads {
  Tensor dq;  // [B,NH,Tq,D]
  Tensor dk;  // [B,NKV,Tk,D]
  Tensor dv;  // [B,NKV,Tk,D]
};
Result<AttentionGrads> attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k,
                                          const Tensor& v, const AttentionOut& saved,
                                          const Tensor& key_mask,
                                          const AttentionOptions& opts = {});

// [B, X, Y, D] -> [B, Y, X, D] (split heads: [B,T,NH,D] -> [B,NH,T,D], and back).
// Its own backward.
Result<Tensor> transpose12(const Tensor& x);

// Rotary embedding (Hugging Face rotate_half layout) on x [B,H,T,D], D even;
// positions [B,T] i32 or undefined (0..T-1).
Result<Tensor> rope(const Tensor& x, const Tensor& positions, float theta = 10000.0f);
Result<Tensor> rope_backward(const Tensor& dy, const Tensor& positions, float theta = 10000.0f);

// ---------------- dropout ----------------
// Inverted dropout: element i kept iff philox_uniform(seed, offset + i) >= p, scaled 1/(1-p).
// p in [0, 1); p == 0 copies. Advance offset by numel between calls.
Result<Tensor> dropout(const Tensor& x, float p, uint64_t seed, uint64_t offset);
Result<Tensor> dropout_backward(const Tensor& dy, float p, uint64_t seed, uint64_t offset);

// ---------------- loss ----------------
struct CrossEntropyOptions {
  int ignore_index = -100;
  float label_smoothing = 0.0f;
};
struct CrossEntropyOut {
  float loss = 0.0f;   // mean over the non-ignored rows (0 when all are ignored)
  int64_t count = 0;   // non-ignored rows
  Tensor losses;       // [N] f32, 0 for ignored rows
  Tensor lse;          // [N] f32
  // [3] f32 on the logits' device: {loss, count, 1/count}, always filled. Under
  // ops::DeferredChecks (or CUDA-graph capture) nothing is read back: loss is NaN and count
  // -1 until the caller reads stats (ops::read_loss), and backward takes 1/count from here.
  Tensor stats;
};
// logits [..., V] (float), targets [...] i32 with N = rows. A target outside [0, V) that is
// not ignore_index is InvalidArgument naming the row, the id and V; a non-finite loss is
// kNumerical naming the row. On CUDA both are found by the kernels and read with the loss
// (one sync), or later under ops::DeferredChecks (engine/ops/device_errors.h).
Result<CrossEntropyOut> cross_entropy(const Tensor& logits, const Tensor& targets,
                                      const CrossEntropyOptions& opts = {});
// dlogits [..., V] (logits' dtype) for loss = grad_scale * sum of row losses;
// no grad_scale means 1/count (the gradient of the mean loss).
Result<Tensor> cross_entropy_backward(const Tensor& logits, const Tensor& targets,
                                      const CrossEntropyOut& saved,
                                      const CrossEntropyOptions& opts = {},
                                      std::optional<float> grad_scale = std::nullopt);

// ---------------- optimizer ----------------
struct AdamWConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;
};
// One torch.optim.AdamW step on f32 param/m/v (the master weights) with grad of any float
// dtype; t is the 1-based step; grad_scale multiplies grad first (clipping). When
// low_precision is given (bf16/f16, same shape), the updated param is cast into it.
Status adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                  const AdamWConfig& cfg, int t, float grad_scale = 1.0f,
                  Tensor* low_precision = nullptr);

// Many parameters at once: slot i is adamw_step(*param, *grad, *m, *v, cfg with its own
// weight_decay, t, grad_scale, low_precision). On CUDA one launch covers ~190 tensors (a
// model's optimizer step is a few launches, not one per tensor); results equal adamw_step's.
struct AdamWSlot {
  Tensor* param = nullptr;
  const Tensor* grad = nullptr;
  Tensor* m = nullptr;
  Tensor* v = nullptr;
  Tensor* low_precision = nullptr;
  float weight_decay = 0.0f;
  const std::string* name = nullptr;  // named in errors ("AdamW step on 'name'")
};
Status adamw_step_multi(std::span<const AdamWSlot> slots, const AdamWConfig& cfg, int t,
                        float grad_scale = 1.0f);

// Step inputs in device memory, so that a step captured into a CUDA graph reads new values
// on every replay: grad_scale [1] f32 multiplies every gradient (clip_grad_norm_device's
// factor, element 1 of its result); hyper [3] f32, written by adamw_write_hyper for the
// step, replaces cfg.lr and t. CUDA tensors only.
struct AdamWDeviceInputs {
  const Tensor* grad_scale = nullptr;
  const Tensor* hyper = nullptr;
};
Status adamw_step_multi(std::span<const AdamWSlot> slots, const AdamWConfig& cfg, int t,
                        float grad_scale, const AdamWDeviceInputs& dev);
// hyper ([3] f32, any device) = {lr, lr / (1 - beta1^t), sqrt(1 - beta2^t)}, computed as
// adamw_step does on the host. A copy to the device: call it between graph replays.
Status adamw_write_hyper(Tensor& hyper, const AdamWConfig& cfg, int t);

// sqrt(sum of squares over all tensors), computed in double.
Result<double> global_norm(std::span<const Tensor> grads);
// torch.nn.utils.clip_grad_norm_: scales every grad by min(1, max_norm / (norm + 1e-6)).
// Returns the norm before clipping (non-finite norms are returned, grads left as they are).
Result<double> clip_grad_norm(std::span<Tensor> grads, float max_norm);
// The same with nothing read back: returns {norm, factor} ([2] f32 on the grads' device),
// factor = min(1, max_norm / (norm + 1e-6)), or 1 when the norm is not finite. With
// scale_grads the grads are scaled by it on the device; without, pass element 1 to AdamW
// (AdamWDeviceInputs::grad_scale) and save a pass over the gradients. All grads on one device.
Result<Tensor> clip_grad_norm_device(std::span<Tensor> grads, float max_norm,
                                     bool scale_grads = true);

// ---------------- index tensors built where they are used ----------------
// y[i] = start + step * (period > 0 ? i % period : i), i32 of `shape` on `device` (position
// ids: period T; the flat index of each row's first token: step T). No host copy on CUDA.
Result<Tensor> iota(const Shape& shape, int32_t start, int32_t step, int64_t period,
                    Device device);
// labels [B,T] i32 -> [B,T] with y[b,t] = labels[b,t+1] and `fill` in the last column (the
// causal-LM target shift), on labels' device without a host copy.
Result<Tensor> shift_left(const Tensor& labels, int32_t fill);

// ---------------- casts and copies ----------------
Result<Tensor> cast(const Tensor& x, DType dtype);  // round-to-nearest-even
Status copy(Tensor& dst, const Tensor& src);        // same shape, dtype converted

}  // namespace lw::ops
