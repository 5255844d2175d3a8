// The CPU reference kernels: readable, f32, multithreaded where it pays. They
// are the oracle every other backend is tested against, so clarity beats speed
// here (GEMM excepted: it calls BLAS). The CUDA backend mirrors these
// signatures in engine/backend/cuda/cuda_kernels.h (plus a dtype and a stream).
//
// Conventions: row-major, contiguous. "rows" = number of vectors of length C.
// Backward kernels overwrite input gradients (dx) and ACCUMULATE parameter
// gradients (dw, db, dtable), so gradient accumulation over micro-batches works.
// Dimension letters: B batch, T sequence, C channels, NH query heads,
// NKV key/value heads, D head size, V vocabulary, N rows.
#pragma once
#include <cstdint>

namespace lw::cpu {

// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b], for b in [0, batch).
// op(A) is [M,K] (A stored [K,M] when trans_a), op(B) is [K,N] (B stored [N,K] when trans_b).
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
          const float* A, int lda, int64_t stride_a, const float* B, int ldb, int64_t stride_b,
          float beta, float* C, int ldc, int64_t stride_c, int batch);

void add_bias(float* y, const float* bias, int64_t rows, int C);        // y[r,c] += bias[c]
void bias_backward(float* dbias, const float* dy, int64_t rows, int C);  // dbias[c] += sum_r dy[r,c]

// y = (x - mean) * rstd * w + b; mean/rstd [rows] saved for backward.
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t rows, int C, float eps);
void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t rows, int C);
// Fused pre-norm step: sum = x + residual; y = layernorm(sum).
void residual_layernorm_forward(float* sum, float* y, float* mean, float* rstd, const float* x,
                                const float* residual, const float* w, const float* b,
                                int64_t rows, int C, float eps);

// y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps) (LLaMA's RMSNorm).
void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int C,
                     float eps);
void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t rows, int C);

enum class GeluKind { kErf, kTanh };  // BERT uses erf; GPT-2 "gelu_new" uses tanh
void gelu_forward(float* y, const float* x, int64_t n, GeluKind kind);
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind);
// y = gelu(x + bias[c]) over [rows, C]; the fused epilogue of the MLP's first linear.
void bias_gelu_forward(float* y, const float* x, const float* bias, int64_t rows, int C,
                       GeluKind kind);
void silu_forward(float* y, const float* x, int64_t n);
void silu_backward(float* dx, const float* dy, const float* x, int64_t n);
// y = silu(gate) * up (LLaMA's MLP).
void swiglu_forward(float* y, const float* gate, const float* up, int64_t n);
void swiglu_backward(float* dgate, float* dup, const float* dy, const float* gate,
                     const float* up, int64_t n);
void tanh_forward(float* y, const float* x, int64_t n);
void tanh_backward(float* dx, const float* dy, const float* y, int64_t n);  // uses the output y

void add(float* y, const float* a, const float* b, int64_t n);  // residual add; y may alias a or b
void scale(float* x, int64_t n, float s);
double sum_squares(const float* x, int64_t n);  // for global-norm clipping

// Row softmax over the last dimension.
void softmax_forward(float* y, const float* x, int64_t rows, int cols);
void softmax_backward(float* dx, const float* dy, const float* y, int64_t rows, int cols);

// y[n,:] = table[ids[n],:]; ids are checked by the op layer, not here.
void embedding_forward(float* y, const float* table, const int32_t* ids, int64_t n, int C);
void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t n, int C);

// Scaled dot-product attention.
// q [B,NH,T,D], k/v [B,NKV,T,D] (NH % NKV == 0: grouped-query), out [B,NH,T,D].
// key_mask [B,T]: 1 = attend, 0 = padding (null: all keys valid); causal masks j > i.
// lse [B,NH,T]: log-sum-exp of the scaled masked scores (saved for backward).
// probs [B,NH,T,T]: written only when non-null (attention capture); masked entries are 0.
// A query row whose keys are all masked produces zeros (and lse = -inf).
struct AttentionShape {
  int B, NH, NKV, T, D;
  bool causal;
  float scale;  // usually 1/sqrt(D)
  // Added for KV-cache decode: key length when it differs from T (0 means T). Queries are
  // the LAST T positions of the Tk keys: causal query i sees keys j <= Tk - T + i;
  // key_mask is then [B,Tk], k/v/dk/dv [B,NKV,Tk,D], probs [B,NH,T,Tk].
  int Tk = 0;
  // Dropout on the probabilities, on the fused CUDA path only (the op layer composes it from
  // ops elsewhere): element (b,h,i,j) of [B,NH,T,Tk] is kept iff philox_uniform(dropout_seed,
  // dropout_offset + its flat index) >= dropout, and kept values are scaled 1/(1-dropout).
  float dropout = 0.0f;
  uint64_t dropout_seed = 0;
  uint64_t dropout_offset = 0;
  // Token-major q/out [B,T,NH,D] and k/v [B,Tk,NKV,D]: the fused CUDA path only (the op
  // layer transposes for every other path; the CPU kernels take head-major tensors).
  bool tokens_major = false;
};
void attention_forward(float* out, float* lse, float* probs, const float* q, const float* k,
                       const float* v, const int32_t* key_mask, const AttentionShape& s);
// dq [B,NH,T,D], dk/dv [B,NKV,T,D] are overwritten.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const int32_t* key_mask, const AttentionShape& s);

// [B, X, Y, D] -> [B, Y, X, D] (split / merge attention heads). Added alongside attention.
void transpose12(float* y, const float* x, int B, int X, int Y, int D);

// Rotary position embedding, Hugging Face "rotate_half" layout, in place on x [B,H,T,D]:
// for i < D/2: (x_i, x_{i+D/2}) rotated by angle pos * theta^(-2i/D).
// positions [B,T] (null: 0..T-1). backward = rotation by the negative angle.
void rope_forward(float* x, int B, int H, int T, int D, const int32_t* positions, float theta);
void rope_backward(float* dx, int B, int H, int T, int D, const int32_t* positions, float theta);

// Inverted dropout with a counter-based RNG: element i is kept iff
// philox_uniform(seed, offset + i) >= p; kept values are scaled by 1/(1-p).
// Same (seed, offset) => same mask on every backend. Backward regenerates the mask.
void dropout_forward(float* y, const float* x, int64_t n, float p, uint64_t seed, uint64_t offset);
void dropout_backward(float* dx, const float* dy, int64_t n, float p, uint64_t seed,
                      uint64_t offset);

// Cross-entropy over logits [N,V] with integer targets [N]; targets == ignore_index are skipped.
// With label smoothing eps: loss = (1-eps) * nll + eps * mean_v(-log p_v) (PyTorch's definition).
// losses [N] (0 for ignored rows), lse [N] saved for backward.
void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                           int64_t N, int V, int ignore_index, float label_smoothing);
// dlogits = grad_scale * d(loss_row)/d(logits) for non-ignored rows, 0 for ignored rows.
// For a mean over the non-ignored rows, grad_scale = 1 / count.
void cross_entropy_backward(float* dlogits, const float* logits, const float* lse,
                            const int32_t* targets, int64_t N, int V, int ignore_index,
                            float label_smoothing, float grad_scale);

// One AdamW step (torch.optim.AdamW semantics: decoupled decay param *= 1 - lr*wd,
// bias-corrected moments, eps added after the square root). t is the 1-based step.
// grad_scale multiplies the gradient first (gradient clipping / loss scaling).
void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                float beta1, float beta2, float eps, float weight_decay, int t, float grad_scale);

}  // namespace lw::cpu
