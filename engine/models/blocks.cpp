// Attention and MLP sub-blocks with explicit backward (see blocks.h).
#include "engine/models/blocks.h"

#include <vector>

namespace lw::models {
namespace {

// [B,T,C] -> [B,NH,T,D]
Result<Tensor> split_heads(const Tensor& x, int64_t NH) {
  LW_ASSIGN_OR_RETURN(Tensor r, x.reshape({x.size(0), x.size(1), NH, x.size(2) / NH}));
  return ops::transpose12(r);
}

// [B,NH,T,D] -> [B,T,C]
Result<Tensor> merge_heads(const Tensor& x) {
  LW_ASSIGN_OR_RETURN(Tensor t, ops::transpose12(x));
  return t.reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// [B,T,C] -> [B,T,NH,D] (a view): the token-major layout the attention op reads in place.
Result<Tensor> heads_view(const Tensor& x, int64_t NH) {
  return x.reshape({x.size(0), x.size(1), NH, x.size(2) / NH});
}
// [B,T,NH,D] -> [B,T,C] (a view)
Result<Tensor> merged_view(const Tensor& x) {
  return x.reshape({x.size(0), x.size(1), x.size(2) * x.size(3)});
}

Tensor* opt(Tensor& t) { return t.defined() ? &t : nullptr; }

}  // namespace

Result<Tensor> attention_block(const Tensor& x, const AttnWeights& w, const Tensor& key_mask,
                               const AttnConfig& cfg, AttnSaved* saved) {
  LW_CHECK(x.dim() == 3 && x.size(2) % cfg.n_head == 0,
           "attention block input must be [B,T,C] with C divisible by n_head, got " +
               x.to_string());
  LW_ASSIGN_OR_RETURN(Tensor q, ops::linear(x, w.wq, w.bq));
  LW_ASSIGN_OR_RETURN(Tensor k, ops::linear(x, w.wk, w.bk));
  LW_ASSIGN_OR_RETURN(Tensor v, ops::linear(x, w.wv, w.bv));
  AttnSaved s;
  s.x = x;
  LW_ASSIGN_OR_RETURN(s.qh, heads_view(q, cfg.n_head));
  LW_ASSIGN_OR_RETURN(s.kh, heads_view(k, cfg.n_head));
  LW_ASSIGN_OR_RETURN(s.vh, heads_view(v, cfg.n_head));
  ops::AttentionOptions ao;
  ao.causal = cfg.causal;
  ao.capture_probs = cfg.capture;
  ao.dropout = cfg.dropout;
  ao.dropout_seed = cfg.dropout_seed;
  ao.dropout_offset = cfg.dropout_offset;
  ao.tokens_major = true;
  LW_ASSIGN_OR_RETURN(s.att, ops::attention(s.qh, s.kh, s.vh, key_mask, ao));
  LW_ASSIGN_OR_RETURN(s.merged, merged_view(s.att.out));
  LW_ASSIGN_OR_RETURN(Tensor y, ops::linear(s.merged, w.wo, w.bo));
  if (saved) *saved = std::move(s);
  return y;
}

Result<Tensor> attention_block_backward(const Tensor& dy, const AttnWeights& w, AttnWeights& g,
                                        const Tensor& key_mask, const AttnConfig& cfg,
                                        const AttnSaved& s, Tensor* dx_acc) {
  LW_ASSIGN_OR_RETURN(Tensor dmerged,
                      ops::linear_backward(dy, s.merged, w.wo, opt(g.wo), opt(g.bo)));
  LW_ASSIGN_OR_RETURN(Tensor dout, heads_view(dmerged, cfg.n_head));
  ops::AttentionOptions ao;
  ao.causal = cfg.causal;
  ao.dropout = cfg.dropout;
  ao.dropout_seed = cfg.dropout_seed;
  ao.dropout_offset = cfg.dropout_offset;
  ao.tokens_major = true;
  LW_ASSIGN_OR_RETURN(ops::AttentionGrads ag,
                      ops::attention_backward(dout, s.qh, s.kh, s.vh, s.att, key_mask, ao));
  LW_ASSIGN_OR_RETURN(Tensor dq, merged_view(ag.dq));
  LW_ASSIGN_OR_RETURN(Tensor dk, merged_view(ag.dk));
  LW_ASSIGN_OR_RETURN(Tensor dv, merged_view(ag.dv));
  // The three input gradients meet in one tensor through the GEMMs' accumulation.
  Tensor dx;
  if (dx_acc) {
    LW_TRY(ops::linear_backward_accumulate(dq, s.x, w.wq, opt(g.wq), opt(g.bq), *dx_acc));
    dx = *dx_acc;
  } else {
    LW_ASSIGN_OR_RETURN(dx, ops::linear_backward(dq, s.x, w.wq, opt(g.wq), opt(g.bq)));
  }
  LW_TRY(ops::linear_backward_accumulate(dk, s.x, w.wk, opt(g.wk), opt(g.bk), dx));
  LW_TRY(ops::linear_backward_accumulate(dv, s.x, w.wv, opt(g.wv), opt(g.bv), dx));
  return dx;
}

Result<Tensor> attention_block_cached(const Tensor& x, const AttnWeights& w,
                                      const CachedAttnConfig& cfg, KvLayer& cache, int64_t past) {
  LW_CHECK(x.dim() == 3 && x.size(0) == 1, "cached attention takes one sequence [1,T,C], got " +
                                               x.to_string());
  const int64_t T = x.size(1), Tk = past + T, P = cache.k.size(0);
  LW_CHECK(past >= 0 && Tk <= P, "KV cache holds " + std::to_string(P) + " positions; " +
                                     std::to_string(past) + " cached + " + std::to_string(T) +
                                     " new do not fit");
  LW_ASSIGN_OR_RETURN(Tensor q, ops::linear(x, w.wq, w.bq));
  LW_ASSIGN_OR_RETURN(Tensor k, ops::linear(x, w.wk, w.bk));
  LW_ASSIGN_OR_RETURN(Tensor v, ops::linear(x, w.wv, w.bv));
  LW_ASSIGN_OR_RETURN(Tensor qh, split_heads(q, cfg.n_head));
  if (cfg.rope_theta > 0) {
    std::vector<int32_t> pos(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i) pos[i] = static_cast<int32_t>(past + i);
    LW_ASSIGN_OR_RETURN(Tensor positions, Tensor::from_ints(pos, {1, T}, x.device()));
    LW_ASSIGN_OR_RETURN(qh, ops::rope(qh, positions, cfg.rope_theta));
    LW_ASSIGN_OR_RETURN(Tensor kh, split_heads(k, cfg.n_kv_head));
    LW_ASSIGN_OR_RETURN(kh, ops::rope(kh, positions, cfg.rope_theta));
    LW_ASSIGN_OR_RETURN(k, merge_heads(kh));
  }
  // Rows [past, Tk) of a [P, NKV*D] buffer are one contiguous block: plain copies.
  LW_ASSIGN_OR_RETURN(Tensor k_rows, cache.k.slice(past, T));
  LW_ASSIGN_OR_RETURN(Tensor v_rows, cache.v.slice(past, T));
  LW_ASSIGN_OR_RETURN(Tensor k2, k.reshape({T, k.size(2)}));
  LW_ASSIGN_OR_RETURN(Tensor v2, v.reshape({T, v.size(2)}));
  LW_TRY(ops::copy(k_rows, k2));
  LW_TRY(ops::copy(v_rows, v2));
  LW_ASSIGN_OR_RETURN(Tensor k_all, cache.k.slice(0, Tk));
  LW_ASSIGN_OR_RETURN(Tensor v_all, cache.v.slice(0, Tk));
  LW_ASSIGN_OR_RETURN(k_all, k_all.reshape({1, Tk, k_all.size(1)}));
  LW_ASSIGN_OR_RETURN(v_all, v_all.reshape({1, Tk, v_all.size(1)}));
  LW_ASSIGN_OR_RETURN(Tensor kh, split_heads(k_all, cfg.n_kv_head));
  LW_ASSIGN_OR_RETURN(Tensor vh, split_heads(v_all, cfg.n_kv_head));
  ops::AttentionOptions ao;
  ao.causal = true;  // query i sits at position Tk - T + i
  LW_ASSIGN_OR_RETURN(ops::AttentionOut att, ops::attention(qh, kh, vh, Tensor{}, ao));
  LW_ASSIGN_OR_RETURN(Tensor merged, merge_heads(att.out));
  return ops::linear(merged, w.wo, w.bo);
}

Result<Tensor> mlp_block(const Tensor& x, const MlpWeights& w, ops::Gelu kind, MlpSaved* saved) {
  MlpSaved s;
  s.x = x;
  LW_ASSIGN_OR_RETURN(s.pre, ops::linear(x, w.w1));
  LW_ASSIGN_OR_RETURN(s.act, ops::bias_gelu(s.pre, w.b1, kind));
  LW_ASSIGN_OR_RETURN(Tensor y, ops::linear(s.act, w.w2, w.b2));
  if (saved) *saved = std::move(s);
  return y;
}

Result<Tensor> mlp_block_backward(const Tensor& dy, const MlpWeights& w, MlpWeights& g,
                                  ops::Gelu kind, const MlpSaved& s, Tensor* dx_acc) {
  LW_ASSIGN_OR_RETURN(Tensor dact, ops::linear_backward(dy, s.act, w.w2, opt(g.w2), opt(g.b2)));
  LW_ASSIGN_OR_RETURN(Tensor dpre, ops::bias_gelu_backward(dact, s.pre, w.b1, kind, opt(g.b1)));
  if (!dx_acc) return ops::linear_backward(dpre, s.x, w.w1, opt(g.w1), nullptr);
  LW_TRY(ops::linear_backward_accumulate(dpre, s.x, w.w1, opt(g.w1), nullptr, *dx_acc));
  return *dx_acc;
}

Result<InputDims> decoder_input_dims(const Batch& batch, int64_t hidden, DType dtype) {
  const Tensor& ids = batch.input_ids;
  const Tensor& embeds = batch.inputs_embeds;
  if (!embeds.defined()) {
    LW_CHECK(ids.defined() && ids.dim() == 2 && ids.dtype() == DType::kI32,
             "input_ids must be [B,T] int32, got " + (ids.defined() ? ids.to_string() : "none"));
    return InputDims{ids.size(0), ids.size(1)};
  }
  LW_CHECK(embeds.dim() == 3 && embeds.size(2) == hidden && embeds.dtype() == dtype,
           "inputs_embeds must be [B,T," + std::to_string(hidden) + "] " + dtype_name(dtype) +
               ", got " + embeds.to_string());
  LW_CHECK(!ids.defined() || ids.shape() == (Shape{embeds.size(0), embeds.size(1)}),
           "input_ids " + (ids.defined() ? ids.to_string() : "") + " do not match inputs_embeds " +
               embeds.to_string());
  return InputDims{embeds.size(0), embeds.size(1)};
}

// Built on the device (no host copy), so a training step can be captured into a CUDA graph.
Result<Tensor> position_ids(int64_t B, int64_t T, Device device) {
  return ops::iota({B, T}, 0, 1, T, device);
}

Result<Tensor> shift_labels_left(const Tensor& labels) {
  LW_CHECK(labels.dim() == 2, "causal-lm labels must be [B,T], got " + labels.to_string());
  return ops::shift_left(labels, -100);
}

Result<CausalLmLoss> causal_lm_loss(const Tensor& logits, const Tensor& labels,
                                    const InputDims& dims) {
  LW_CHECK(labels.shape() == (Shape{dims.B, dims.T}),
           "causal-lm labels must be [B,T] = " + shape_to_string({dims.B, dims.T}) +
               " like the inputs, got " + shape_to_string(labels.shape()));
  CausalLmLoss out;
  LW_ASSIGN_OR_RETURN(out.targets, shift_labels_left(labels));
  LW_ASSIGN_OR_RETURN(out.ce, ops::cross_entropy(logits, out.targets));
  return out;
}

}  // namespace lw::models
