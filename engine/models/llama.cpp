// The LLaMA family (see llama.h): the one tensor table, forward and backward with ops:: calls.
// Block (pre-norm): x += o(attn(rope(q(n1)), rope(k(n1)), v(n1))) with n1 = rmsnorm(x);
// x += down(silu(gate(n2)) * up(n2)) with n2 = rmsnorm(x); logits = rmsnorm(x) @ head^T.
// Positions are 0..T-1 in every row (transformers does not shift them for padding).
// Dimension letters: B batch, T sequence, C channels, NH query heads, NKV key/value heads,
// D head size, Q = NH*D, KV = NKV*D, V vocabulary, F MLP width.
#include "engine/models/llama.h"

#include <nlohmann/json.hpp>

#include "engine/models/blocks.h"
#include "engine/models/tensor_table.h"
#include "engine/ops/ops.h"

namespace lw::models {
namespace {

enum Dim { kV, kC, kQ, kKV, kF, kNumDims };

// clang-format off
constexpr TableRow kTensors[] = {
  // ours                 shape     role               Hugging Face name                              alt transposed
  {"embed",               kV, kC,  Role::kEmbedding,  "model.embed_tokens.weight",                   "", false},
  {"l.{L}.attn_norm.w",   kC, -1,  Role::kNormWeight, "model.layers.{L}.input_layernorm.weight",     "", false},
  {"l.{L}.q.w",           kQ, kC,  Role::kWeight,     "model.layers.{L}.self_attn.q_proj.weight",    "", false},
  {"l.{L}.q.b",           kQ, -1,  Role::kBias,       "model.layers.{L}.self_attn.q_proj.bias",      "", false},
  {"l.{L}.k.w",           kKV, kC, Role::kWeight,     "model.layers.{L}.self_attn.k_proj.weight",    "", false},
  {"l.{L}.k.b",           kKV, -1, Role::kBias,       "model.layers.{L}.self_attn.k_proj.bias",      "", false},
  {"l.{L}.v.w",           kKV, kC, Role::kWeight,     "model.layers.{L}.self_attn.v_proj.weight",    "", false},
  {"l.{L}.v.b",           kKV, -1, Role::kBias,       "model.layers.{L}.self_attn.v_proj.bias",      "", false},
  {"l.{L}.o.w",           kC, kQ,  Role::kWeight,     "model.layers.{L}.self_attn.o_proj.weight",    "", false},
  {"l.{L}.o.b",           kC, -1,  Role::kBias,       "model.layers.{L}.self_attn.o_proj.bias",      "", false},
  {"l.{L}.mlp_norm.w",    kC, -1,  Role::kNormWeight, "model.layers.{L}.post_attention_layernorm.weight", "", false},
  {"l.{L}.gate.w",        kF, kC,  Role::kWeight,     "model.layers.{L}.mlp.gate_proj.weight",       "", false},
  {"l.{L}.gate.b",        kF, -1,  Role::kBias,       "model.layers.{L}.mlp.gate_proj.bias",         "", false},
  {"l.{L}.up.w",          kF, kC,  Role::kWeight,     "model.layers.{L}.mlp.up_proj.weight",         "", false},
  {"l.{L}.up.b",          kF, -1,  Role::kBias,       "model.layers.{L}.mlp.up_proj.bias",           "", false},
  {"l.{L}.down.w",        kC, kF,  Role::kWeight,     "model.layers.{L}.mlp.down_proj.weight",       "", false},
  {"l.{L}.down.b",        kC, -1,  Role::kBias,       "model.layers.{L}.mlp.down_proj.bias",         "", false},
  {"norm.w",              kC, -1,  Role::kNormWeight, "model.norm.weight",                           "", false},
  {"lm_head.w",           kV, kC,  Role::kWeight,     "lm_head.weight",                              "", false},  // untied only
};
// clang-format on

constexpr const char* kLayerNames[] = {
    "attn_norm.w", "q.w",        "q.b",    "k.w",    "k.b",  "v.w",  "v.b",    "o.w",
    "o.b",         "mlp_norm.w", "gate.w", "gate.b", "up.w", "up.b", "down.w", "down.b"};
constexpr int kPerLayer = 16;
enum Slot {
  kAttnNorm,
  kQw,
  kQb,
  kKw,
  kKb,
  kVw,
  kVb,
  kOw,
  kOb,
  kMlpNorm,
  kGw,
  kGb,
  kUw,
  kUb,
  kDw,
  kDb
};
constexpr size_t kAbsent = size_t(-1);

bool ends_with(const std::string& s, const char* suffix) {
  std::string suf = suffix;
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// [B,T,H*D] -> [B,H,T,D]
Result<Tensor> split_heads(const Tensor& x, int64_t H) {
  LW_ASSIGN_OR_RETURN(Tensor r, x.reshape({x.size(0), x.size(1), H, x.size(2) / H}));
  return ops::transpose12(r);
}

// [B,H,T,D] -> [B,T,H*D]
Result<Tensor> merge_heads(const Tensor& x) {
  LW_ASSIGN_OR_RETURN(Tensor t, ops::transpose12(x));
  return t.reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

struct LayerActs {
  Tensor x_in;  // [B,T,C] residual stream entering the block
  ops::NormOut n1;
  Tensor qh, kh, vh;  // [B,NH,T,D] and [B,NKV,T,D], q and k rotated
  ops::AttentionOut att;
  Tensor merged;  // [B,T,Q]
  Tensor x_mid;   // x_in + attention
  ops::NormOut n2;
  Tensor gate, up, act;  // [B,T,F]
};

class LlamaModel final : public Model {
 public:
  explicit LlamaModel(LlamaConfig cfg) : cfg_(std::move(cfg)) {}
  Status init(Device device, DType dtype);

  std::string family() const override { return cfg_.model_type(); }
  std::string architecture() const override { return cfg_.architecture(); }
  Head head() const override { return Head::kCausalLm; }
  std::string config_json() const override { return cfg_.to_json(); }
  Result<ForwardResult> forward(const Batch& batch, const ForwardOptions& opts) override;
  Status backward() override;
  Result<KvLayout> kv_layout() const override {
    return KvLayout{cfg_.num_hidden_layers, cfg_.num_key_value_heads, cfg_.head_dim,
                    cfg_.max_position_embeddings};
  }
  Result<Tensor> forward_cached(const Tensor& ids, int64_t past,
                                std::vector<KvLayer>& cache) override;
  Result<Tensor> backward_inputs() override;
  Result<Tensor> forward_cached_embeds(const Tensor& embeds, int64_t past,
                                       std::vector<KvLayer>& cache) override;

 private:
  // The backward pass; with frozen_ set no weight gradient is touched (g() gives null).
  Result<Tensor> run_backward();
  // The cached block stack on input embeddings x [1,T,C] at positions past..past+T-1.
  Result<Tensor> cached_stack(Tensor x, int64_t past, std::vector<KvLayer>& cache);
  Result<Tensor> attention(const Tensor& x, const std::vector<size_t>& l, const Tensor& mask,
                           bool capture, LayerActs& a);
  Result<Tensor> attention_backward(const Tensor& dy, const std::vector<size_t>& l,
                                    const Tensor& mask, const LayerActs& a);
  Result<Tensor> mlp_backward(const Tensor& dy, const std::vector<size_t>& l, const LayerActs& a);
  // Parameter `slot` of a layer: its value, or undefined when the config has no such tensor.
  Tensor w(const std::vector<size_t>& l, int slot) {
    return l[slot] == kAbsent ? Tensor{} : params_[l[slot]].value;
  }
  Tensor* g(const std::vector<size_t>& l, int slot) {
    return l[slot] == kAbsent || frozen_ ? nullptr : &params_[l[slot]].grad;
  }
  Tensor* g(size_t i) { return frozen_ ? nullptr : &params_[i].grad; }
  bool frozen_ = false;  // inside backward_inputs()
  float eps() const { return float(cfg_.rms_norm_eps); }
  float theta() const { return float(cfg_.rope_theta); }

  LlamaConfig cfg_;
  size_t embed_ = 0, norm_ = 0, head_w_ = 0;
  std::vector<std::vector<size_t>> layers_;  // kPerLayer indices into params_ (kAbsent)
  struct Acts {
    bool valid = false;
    Tensor ids, mask, x_final, logits, targets;
    bool from_embeds = false;  // the batch gave inputs_embeds
    ops::NormOut nf;
    ops::CrossEntropyOut ce;
    std::vector<LayerActs> layers;
  } acts_;
};

Status LlamaModel::init(Device device, DType dtype) {
  const int64_t D = cfg_.head_dim;
  const int64_t dims[kNumDims] = {cfg_.vocab_size, cfg_.hidden_size, cfg_.num_attention_heads * D,
                                  cfg_.num_key_value_heads * D, cfg_.intermediate_size};
  auto specs = expand_table(kTensors, cfg_.num_hidden_layers, dims, [&](const TableRow& r) {
    std::string n = r.name;
    if (n == "lm_head.w") return !cfg_.tie_word_embeddings;
    if (ends_with(n, ".q.b") || ends_with(n, ".k.b") || ends_with(n, ".v.b")) return cfg_.qkv_bias;
    if (ends_with(n, ".o.b")) return cfg_.o_bias;
    if (ends_with(n, "gate.b") || ends_with(n, "up.b") || ends_with(n, "down.b"))
      return cfg_.mlp_bias;
    return true;
  });
  LW_TRY(init_params(std::move(specs), device, dtype));
  LW_ASSIGN_OR_RETURN(embed_, param_index(params_, "embed"));
  LW_ASSIGN_OR_RETURN(norm_, param_index(params_, "norm.w"));
  head_w_ = embed_;
  if (!cfg_.tie_word_embeddings) {
    LW_ASSIGN_OR_RETURN(head_w_, param_index(params_, "lm_head.w"));
  }
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
    std::vector<size_t> idx(kPerLayer, kAbsent);
    std::string pre = "l." + std::to_string(l) + ".";
    for (int s = 0; s < kPerLayer; ++s) {
      auto r = param_index(params_, pre + kLayerNames[s]);
      if (r.is_ok()) idx[s] = *r;
    }
    layers_.push_back(std::move(idx));
  }
  return Status::ok();
}

Result<Tensor> LlamaModel::attention(const Tensor& x, const std::vector<size_t>& l,
                                     const Tensor& mask, bool capture, LayerActs& a) {
  LW_ASSIGN_OR_RETURN(Tensor q, ops::linear(x, w(l, kQw), w(l, kQb)));
  LW_ASSIGN_OR_RETURN(Tensor k, ops::linear(x, w(l, kKw), w(l, kKb)));
  LW_ASSIGN_OR_RETURN(Tensor v, ops::linear(x, w(l, kVw), w(l, kVb)));
  LW_ASSIGN_OR_RETURN(Tensor qh, split_heads(q, cfg_.num_attention_heads));
  LW_ASSIGN_OR_RETURN(Tensor kh, split_heads(k, cfg_.num_key_value_heads));
  LW_ASSIGN_OR_RETURN(a.vh, split_heads(v, cfg_.num_key_value_heads));
  LW_ASSIGN_OR_RETURN(a.qh, ops::rope(qh, Tensor{}, theta()));
  LW_ASSIGN_OR_RETURN(a.kh, ops::rope(kh, Tensor{}, theta()));
  ops::AttentionOptions ao;
  ao.causal = true;
  ao.capture_probs = capture;
  LW_ASSIGN_OR_RETURN(a.att, ops::attention(a.qh, a.kh, a.vh, mask, ao));
  LW_ASSIGN_OR_RETURN(a.merged, merge_heads(a.att.out));
  return ops::linear(a.merged, w(l, kOw), w(l, kOb));
}

Result<ForwardResult> LlamaModel::forward(const Batch& batch, const ForwardOptions& opts) {
  const Tensor& ids = batch.input_ids;
  const Tensor& embeds = batch.inputs_embeds;
  LW_ASSIGN_OR_RETURN(InputDims dims, decoder_input_dims(batch, cfg_.hidden_size, dtype_));
  const int64_t T = dims.T;
  LW_CHECK(T >= 1 && T <= cfg_.max_position_embeddings,
           "sequence length " + std::to_string(T) + " is outside [1, max_position_embeddings=" +
               std::to_string(cfg_.max_position_embeddings) + "]");
  if (cfg_.sliding_window > 0 && T > cfg_.sliding_window)
    return unsupported("sequence length " + std::to_string(T) + " exceeds the sliding window (" +
                       std::to_string(cfg_.sliding_window) +
                       "); windowed attention is not available");
  double p_drop = opts.dropout >= 0 ? opts.dropout : cfg_.attention_dropout;
  if (p_drop > 0 && opts.keep_activations)
    return unsupported(architecture() +
                       " training with attention dropout (p=" + std::to_string(p_drop) +
                       ") is not available in this engine; use --no-dropout");
  acts_ = Acts{};
  ForwardResult res;
  Tensor x = embeds;
  if (!embeds.defined()) {
    LW_ASSIGN_OR_RETURN(x, ops::embedding(ids, params_[embed_].value));
  }
  for (const auto& l : layers_) {
    const bool capture = opts.captures(int64_t(&l - layers_.data()));
    LayerActs a;
    a.x_in = x;
    LW_ASSIGN_OR_RETURN(a.n1, ops::rmsnorm(x, w(l, kAttnNorm), eps()));
    LW_ASSIGN_OR_RETURN(Tensor att, attention(a.n1.y, l, batch.attention_mask, capture, a));
    if (opts.capture_attention) res.attn_probs.push_back(capture ? a.att.probs : Tensor());
    LW_ASSIGN_OR_RETURN(a.x_mid, ops::add(x, att));
    LW_ASSIGN_OR_RETURN(a.n2, ops::rmsnorm(a.x_mid, w(l, kMlpNorm), eps()));
    LW_ASSIGN_OR_RETURN(a.gate, ops::linear(a.n2.y, w(l, kGw), w(l, kGb)));
    LW_ASSIGN_OR_RETURN(a.up, ops::linear(a.n2.y, w(l, kUw), w(l, kUb)));
    LW_ASSIGN_OR_RETURN(a.act, ops::swiglu(a.gate, a.up));
    LW_ASSIGN_OR_RETURN(Tensor m, ops::linear(a.act, w(l, kDw), w(l, kDb)));
    LW_ASSIGN_OR_RETURN(x, ops::add(a.x_mid, m));
    if (opts.keep_activations) acts_.layers.push_back(std::move(a));
  }
  LW_ASSIGN_OR_RETURN(acts_.nf, ops::rmsnorm(x, params_[norm_].value, eps()));
  res.last_hidden = acts_.nf.y;
  LW_ASSIGN_OR_RETURN(res.logits, ops::linear(acts_.nf.y, params_[head_w_].value));
  if (batch.labels.defined()) {
    LW_ASSIGN_OR_RETURN(CausalLmLoss lm, causal_lm_loss(res.logits, batch.labels, dims));
    acts_.targets = lm.targets;
    acts_.ce = lm.ce;
    res.loss = acts_.ce.loss;
    res.loss_stats = acts_.ce.stats;
    res.has_loss = true;
  }
  if (opts.keep_activations) {
    LW_CHECK(res.has_loss, "training needs labels");
    acts_.valid = true;
    acts_.ids = ids;
    acts_.from_embeds = embeds.defined();
    acts_.mask = batch.attention_mask;
    acts_.x_final = x;
    acts_.logits = res.logits;
  } else {
    acts_ = Acts{};
  }
  return res;
}

Result<Tensor> LlamaModel::mlp_backward(const Tensor& dy, const std::vector<size_t>& l,
                                        const LayerActs& a) {
  LW_ASSIGN_OR_RETURN(Tensor dact,
                      ops::linear_backward(dy, a.act, w(l, kDw), g(l, kDw), g(l, kDb)));
  LW_ASSIGN_OR_RETURN(ops::SwigluGrads sg, ops::swiglu_backward(dact, a.gate, a.up));
  LW_ASSIGN_OR_RETURN(Tensor dn2,
                      ops::linear_backward(sg.dgate, a.n2.y, w(l, kGw), g(l, kGw), g(l, kGb)));
  LW_ASSIGN_OR_RETURN(Tensor dn2u,
                      ops::linear_backward(sg.dup, a.n2.y, w(l, kUw), g(l, kUw), g(l, kUb)));
  LW_TRY(ops::add_(dn2, dn2u));
  return dn2;
}

Result<Tensor> LlamaModel::attention_backward(const Tensor& dy, const std::vector<size_t>& l,
                                              const Tensor& mask, const LayerActs& a) {
  LW_ASSIGN_OR_RETURN(Tensor dmerged,
                      ops::linear_backward(dy, a.merged, w(l, kOw), g(l, kOw), g(l, kOb)));
  LW_ASSIGN_OR_RETURN(Tensor dout, split_heads(dmerged, cfg_.num_attention_heads));
  ops::AttentionOptions ao;
  ao.causal = true;
  LW_ASSIGN_OR_RETURN(ops::AttentionGrads ag,
                      ops::attention_backward(dout, a.qh, a.kh, a.vh, a.att, mask, ao));
  LW_ASSIGN_OR_RETURN(Tensor dqh, ops::rope_backward(ag.dq, Tensor{}, theta()));
  LW_ASSIGN_OR_RETURN(Tensor dkh, ops::rope_backward(ag.dk, Tensor{}, theta()));
  LW_ASSIGN_OR_RETURN(Tensor dq, merge_heads(dqh));
  LW_ASSIGN_OR_RETURN(Tensor dk, merge_heads(dkh));
  LW_ASSIGN_OR_RETURN(Tensor dv, merge_heads(ag.dv));
  LW_ASSIGN_OR_RETURN(Tensor dx, ops::linear_backward(dq, a.n1.y, w(l, kQw), g(l, kQw), g(l, kQb)));
  LW_ASSIGN_OR_RETURN(Tensor dxk,
                      ops::linear_backward(dk, a.n1.y, w(l, kKw), g(l, kKw), g(l, kKb)));
  LW_ASSIGN_OR_RETURN(Tensor dxv,
                      ops::linear_backward(dv, a.n1.y, w(l, kVw), g(l, kVw), g(l, kVb)));
  LW_TRY(ops::add_(dx, dxk));
  LW_TRY(ops::add_(dx, dxv));
  return dx;
}

Status LlamaModel::backward() {
  frozen_ = false;
  return run_backward().status();
}

Result<Tensor> LlamaModel::backward_inputs() {
  frozen_ = true;
  auto r = run_backward();
  frozen_ = false;
  return r;
}

Result<Tensor> LlamaModel::run_backward() {
  LW_CHECK(acts_.valid, "backward() needs a forward with keep_activations and labels first");
  if (!frozen_) LW_TRY(alloc_grads());
  LW_ASSIGN_OR_RETURN(Tensor dlogits,
                      ops::cross_entropy_backward(acts_.logits, acts_.targets, acts_.ce));
  LW_ASSIGN_OR_RETURN(Tensor dnf, ops::linear_backward(dlogits, acts_.nf.y, params_[head_w_].value,
                                                       g(head_w_), nullptr));
  LW_ASSIGN_OR_RETURN(Tensor dx, ops::rmsnorm_backward(dnf, acts_.x_final, params_[norm_].value,
                                                       acts_.nf, g(norm_)));
  for (int64_t i = cfg_.num_hidden_layers - 1; i >= 0; --i) {
    const auto& l = layers_[i];
    const LayerActs& a = acts_.layers[i];
    LW_ASSIGN_OR_RETURN(Tensor dn2, mlp_backward(dx, l, a));
    LW_ASSIGN_OR_RETURN(Tensor dmid,
                        ops::rmsnorm_backward(dn2, a.x_mid, w(l, kMlpNorm), a.n2, g(l, kMlpNorm)));
    LW_TRY(ops::add_(dmid, dx));  // the residual path
    LW_ASSIGN_OR_RETURN(Tensor dn1, attention_backward(dmid, l, acts_.mask, a));
    LW_ASSIGN_OR_RETURN(dx,
                        ops::rmsnorm_backward(dn1, a.x_in, w(l, kAttnNorm), a.n1, g(l, kAttnNorm)));
    LW_TRY(ops::add_(dx, dmid));
  }
  // With inputs_embeds the token table took no part in the forward.
  if (!frozen_ && !acts_.from_embeds)
    LW_TRY(ops::embedding_backward(dx, acts_.ids, params_[embed_].grad));
  acts_ = Acts{};
  return dx;
}

// The same block stack as forward() for one sequence, attention reading the cache (keys are
// stored rotated at their absolute positions); only the last position reaches the head.
Result<Tensor> LlamaModel::forward_cached(const Tensor& ids, int64_t past,
                                          std::vector<KvLayer>& cache) {
  LW_CHECK(
      ids.defined() && ids.dim() == 2 && ids.size(0) == 1 && ids.dtype() == DType::kI32,
      "forward_cached takes ids [1,T] int32, got " + (ids.defined() ? ids.to_string() : "none"));
  LW_ASSIGN_OR_RETURN(Tensor x, ops::embedding(ids, params_[embed_].value));
  return cached_stack(std::move(x), past, cache);
}

Result<Tensor> LlamaModel::forward_cached_embeds(const Tensor& embeds, int64_t past,
                                                 std::vector<KvLayer>& cache) {
  LW_CHECK(embeds.defined() && embeds.dim() == 3 && embeds.size(0) == 1 &&
               embeds.size(2) == cfg_.hidden_size && embeds.dtype() == dtype_,
           "forward_cached_embeds takes embeds [1,T," + std::to_string(cfg_.hidden_size) + "] " +
               dtype_name(dtype_) + ", got " + (embeds.defined() ? embeds.to_string() : "none"));
  return cached_stack(embeds, past, cache);
}

// Checks the cache and the positions once for both entry points above.
Result<Tensor> LlamaModel::cached_stack(Tensor x, int64_t past, std::vector<KvLayer>& cache) {
  LW_CHECK(static_cast<int64_t>(cache.size()) == cfg_.num_hidden_layers,
           "KV cache has " + std::to_string(cache.size()) + " layers, the model " +
               std::to_string(cfg_.num_hidden_layers));
  const int64_t T = x.size(1);
  LW_CHECK(past >= 0 && past + T <= cfg_.max_position_embeddings,
           "positions " + std::to_string(past) + ".." + std::to_string(past + T - 1) +
               " exceed max_position_embeddings=" + std::to_string(cfg_.max_position_embeddings));
  if (cfg_.sliding_window > 0 && past + T > cfg_.sliding_window)
    return unsupported("position " + std::to_string(past + T - 1) +
                       " is beyond the sliding window (" + std::to_string(cfg_.sliding_window) +
                       "); windowed attention is not available");
  CachedAttnConfig ac{cfg_.num_attention_heads, cfg_.num_key_value_heads, theta()};
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    LW_ASSIGN_OR_RETURN(ops::NormOut n1, ops::rmsnorm(x, w(l, kAttnNorm), eps()));
    AttnWeights aw{w(l, kQw), w(l, kQb), w(l, kKw), w(l, kKb),
                   w(l, kVw), w(l, kVb), w(l, kOw), w(l, kOb)};
    LW_ASSIGN_OR_RETURN(Tensor att, attention_block_cached(n1.y, aw, ac, cache[i], past));
    LW_ASSIGN_OR_RETURN(Tensor mid, ops::add(x, att));
    LW_ASSIGN_OR_RETURN(ops::NormOut n2, ops::rmsnorm(mid, w(l, kMlpNorm), eps()));
    LW_ASSIGN_OR_RETURN(Tensor gate, ops::linear(n2.y, w(l, kGw), w(l, kGb)));
    LW_ASSIGN_OR_RETURN(Tensor up, ops::linear(n2.y, w(l, kUw), w(l, kUb)));
    LW_ASSIGN_OR_RETURN(Tensor act, ops::swiglu(gate, up));
    LW_ASSIGN_OR_RETURN(Tensor m, ops::linear(act, w(l, kDw), w(l, kDb)));
    LW_ASSIGN_OR_RETURN(x, ops::add(mid, m));
  }
  LW_ASSIGN_OR_RETURN(Tensor x2, x.reshape({T, cfg_.hidden_size}));
  LW_ASSIGN_OR_RETURN(Tensor last, x2.slice(T - 1, 1));
  LW_ASSIGN_OR_RETURN(ops::NormOut nf, ops::rmsnorm(last, params_[norm_].value, eps()));
  return ops::linear(nf.y, params_[head_w_].value);
}

}  // namespace

bool is_llama_family(const std::string& architecture, const std::string& model_type) {
  if (!architecture.empty())
    return architecture == "LlamaForCausalLM" || architecture == "MistralForCausalLM" ||
           architecture == "Qwen2ForCausalLM";
  return model_type == "llama" || model_type == "mistral" || model_type == "qwen2";
}

Result<std::unique_ptr<Model>> make_llama(const LlamaConfig& cfg, Device device, DType dtype) {
  auto m = std::make_unique<LlamaModel>(cfg);
  LW_TRY(m->init(device, dtype));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace lw::models
