// Layer modules shared by the families, each an explicit forward and backward written with
// ops:: calls (llm.c style): the multi-head attention sub-block and the two-layer MLP.
// Weights and gradients are passed as tensors (often views into a family's parameters, e.g.
// GPT-2's fused qkv matrix sliced into q, k and v), so a family only wires them up.
// Dimension letters: B batch, T sequence, C channels, NH heads, D = C / NH, F MLP width.
#pragma once
#include "engine/models/model.h"
#include "engine/ops/ops.h"

namespace lw::models {

// nn.Linear layout: w [out, in], b [out] (b may be undefined).
struct AttnWeights {
  Tensor wq, bq, wk, bk, wv, bv;  // [C, C], [C]
  Tensor wo, bo;                  // [C, C], [C]
};

struct AttnSaved {
  Tensor x;                 // [B,T,C] block input
  Tensor qh, kh, vh;        // [B,T,NH,D] views of the projections (token-major)
  ops::AttentionOut att;    // out [B,T,NH,D], lse [B,NH,T], probs [B,NH,T,T] when captured
  Tensor merged;            // [B,T,C] heads merged, input of the output projection
};

struct AttnConfig {
  int64_t n_head = 1;
  bool causal = false;
  bool capture = false;  // keep att.probs (the "attn_probs" capture point)
  // Attention-probability dropout (training); see ops::AttentionOptions.
  float dropout = 0.0f;
  uint64_t dropout_seed = 0, dropout_offset = 0;
};

// y [B,T,C] = out_proj(attention(q(x), k(x), v(x))). key_mask [B,T] i32 or undefined.
Result<Tensor> attention_block(const Tensor& x, const AttnWeights& w, const Tensor& key_mask,
                               const AttnConfig& cfg, AttnSaved* saved);
// Returns dx; gradients accumulate into g (same layout as the weights; undefined = skip).
// With dx_acc (e.g. the residual's gradient, [B,T,C]), dx is added into it by the input
// GEMMs and dx_acc is returned (no separate add).
Result<Tensor> attention_block_backward(const Tensor& dy, const AttnWeights& w, AttnWeights& g,
                                        const Tensor& key_mask, const AttnConfig& cfg,
                                        const AttnSaved& saved, Tensor* dx_acc = nullptr);

// Incremental attention for ONE sequence with a KV cache (engine/generate). x [1,T,C] holds
// the tokens at positions past..past+T-1; their keys/values are written into rows
// [past, past+T) of cache.k/v ([P, NKV*D]), and the queries attend causally to rows
// [0, past+T). n_kv_head < n_head is grouped-query (w.wk/wv are then [NKV*D, C]);
// rope_theta > 0 rotates q and k at their absolute positions (LLaMA).
struct CachedAttnConfig {
  int64_t n_head = 1;
  int64_t n_kv_head = 1;
  float rope_theta = 0.0f;
};
Result<Tensor> attention_block_cached(const Tensor& x, const AttnWeights& w,
                                      const CachedAttnConfig& cfg, KvLayer& cache, int64_t past);

struct MlpWeights {
  Tensor w1, b1;  // [F, C], [F]
  Tensor w2, b2;  // [C, F], [C]
};

struct MlpSaved {
  Tensor x;    // [B,T,C]
  Tensor pre;  // [B,T,F] before bias and GELU
  Tensor act;  // [B,T,F] after GELU
};

// y = w2 @ gelu(w1 @ x + b1) + b2.
Result<Tensor> mlp_block(const Tensor& x, const MlpWeights& w, ops::Gelu kind, MlpSaved* saved);
// dx_acc as in attention_block_backward.
Result<Tensor> mlp_block_backward(const Tensor& dy, const MlpWeights& w, MlpWeights& g,
                                  ops::Gelu kind, const MlpSaved& saved, Tensor* dx_acc = nullptr);

// A decoder batch's [B, T]: from input_ids [B,T] i32, or from inputs_embeds [B,T,hidden] in the
// model's dtype (input_ids, when also given, must match it).
struct InputDims {
  int64_t B = 0, T = 0;
};
Result<InputDims> decoder_input_dims(const Batch& batch, int64_t hidden, DType dtype);

// Host-built helper inputs: positions [B,T] = 0..T-1 (i32, on `device`).
Result<Tensor> position_ids(int64_t B, int64_t T, Device device);
// Causal-LM targets: targets[b,t] = labels[b,t+1], the last position ignored (-100).
Result<Tensor> shift_labels_left(const Tensor& labels);

// The causal-LM loss shared by every decoder: checks labels against the inputs' [B,T],
// shifts them left and applies cross-entropy (mean over non-ignored positions).
struct CausalLmLoss {
  Tensor targets;           // [B,T] i32, shifted labels (kept for backward)
  ops::CrossEntropyOut ce;  // loss and what cross_entropy_backward needs
};
Result<CausalLmLoss> causal_lm_loss(const Tensor& logits, const Tensor& labels,
                                    const InputDims& dims);

}  // namespace lw::models
