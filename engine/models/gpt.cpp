// GPT-2: config, the one tensor table, forward and backward with ops:: calls.
// Block (pre-norm): x += attn(ln_1(x)); x += mlp(ln_2(x)); logits = ln_f(x) @ wte^T (tied).
// Dimension letters: B batch, T sequence, C channels, NH heads, V vocabulary, P positions,
// F MLP width.
#include "engine/models/gpt.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/models/blocks.h"
#include "engine/models/tensor_table.h"

namespace lw::models {
namespace {

enum Dim { kV, kP, kC, kC3, kF, kNumDims };

// clang-format off
constexpr TableRow kTensors[] = {
  // ours            shape      role               Hugging Face name                       alt transposed
  {"wte",            kV, kC,   Role::kEmbedding,  "transformer.wte.weight",               "", false},
  {"wpe",            kP, kC,   Role::kEmbedding,  "transformer.wpe.weight",               "", false},
  {"h.{L}.ln1.w",    kC, -1,   Role::kNormWeight, "transformer.h.{L}.ln_1.weight",        "", false},
  {"h.{L}.ln1.b",    kC, -1,   Role::kNormBias,   "transformer.h.{L}.ln_1.bias",          "", false},
  {"h.{L}.qkv.w",    kC3, kC,  Role::kWeight,     "transformer.h.{L}.attn.c_attn.weight", "", true},
  {"h.{L}.qkv.b",    kC3, -1,  Role::kBias,       "transformer.h.{L}.attn.c_attn.bias",   "", false},
  {"h.{L}.proj.w",   kC, kC,   Role::kWeight,     "transformer.h.{L}.attn.c_proj.weight", "", true},
  {"h.{L}.proj.b",   kC, -1,   Role::kBias,       "transformer.h.{L}.attn.c_proj.bias",   "", false},
  {"h.{L}.ln2.w",    kC, -1,   Role::kNormWeight, "transformer.h.{L}.ln_2.weight",        "", false},
  {"h.{L}.ln2.b",    kC, -1,   Role::kNormBias,   "transformer.h.{L}.ln_2.bias",          "", false},
  {"h.{L}.fc.w",     kF, kC,   Role::kWeight,     "transformer.h.{L}.mlp.c_fc.weight",    "", true},
  {"h.{L}.fc.b",     kF, -1,   Role::kBias,       "transformer.h.{L}.mlp.c_fc.bias",      "", false},
  {"h.{L}.fcproj.w", kC, kF,   Role::kWeight,     "transformer.h.{L}.mlp.c_proj.weight",  "", true},
  {"h.{L}.fcproj.b", kC, -1,   Role::kBias,       "transformer.h.{L}.mlp.c_proj.bias",    "", false},
  {"ln_f.w",         kC, -1,   Role::kNormWeight, "transformer.ln_f.weight",              "", false},
  {"ln_f.b",         kC, -1,   Role::kNormBias,   "transformer.ln_f.bias",                "", false},
  {"lm_head.w",      kV, kC,   Role::kWeight,     "lm_head.weight",                       "", false},  // untied only
};
// clang-format on

struct LayerParams {
  size_t ln1w, ln1b, qkvw, qkvb, projw, projb, ln2w, ln2b, fcw, fcb, fcpw, fcpb;
};

struct LayerActs {
  Tensor x_in;          // [B,T,C] residual stream entering the block
  ops::NormOut ln1;
  AttnSaved attn;
  Tensor x_mid;         // x_in + attention
  ops::NormOut ln2;
  MlpSaved mlp;
};

class GptModel final : public Model {
 public:
  GptModel(GptConfig cfg, Head head) : cfg_(std::move(cfg)), head_(head) {}
  Status init(Device device, DType dtype);

  std::string family() const override { return "gpt2"; }
  std::string architecture() const override {
    return head_ == Head::kCausalLm ? "GPT2LMHeadModel" : "GPT2Model";
  }
  Head head() const override { return head_; }
  std::string config_json() const override { return cfg_.to_json(architecture()); }
  Result<ForwardResult> forward(const Batch& batch, const ForwardOptions& opts) override;
  Status backward() override;
  Result<KvLayout> kv_layout() const override {
    return KvLayout{cfg_.n_layer, cfg_.n_head, cfg_.n_embd / cfg_.n_head, cfg_.n_positions};
  }
  Result<Tensor> forward_cached(const Tensor& ids, int64_t past, std::vector<KvLayer>& cache) override;
  Result<Tensor> backward_inputs() override;
  Result<Tensor> forward_cached_embeds(const Tensor& embeds, int64_t past,
                                       std::vector<KvLayer>& cache) override;

 private:
  // The backward pass; `frozen` skips every weight gradient and returns d(input embeddings).
  Result<Tensor> run_backward(bool frozen);
  // The cached block stack on token embeddings tok_emb [1,T,C] at positions past..past+T-1.
  Result<Tensor> cached_stack(const Tensor& tok_emb, int64_t past, std::vector<KvLayer>& cache);
  Result<AttnWeights> attn_weights(const LayerParams& l, bool grads);
  Result<MlpWeights> mlp_weights(const LayerParams& l, bool grads);
  Tensor& w(size_t i) { return params_[i].value; }
  Tensor& g(size_t i) { return params_[i].grad; }

  GptConfig cfg_;
  Head head_;
  size_t wte_ = 0, wpe_ = 0, lnfw_ = 0, lnfb_ = 0, head_w_ = 0;
  std::vector<LayerParams> layers_;
  // Activations of the last forward with keep_activations.
  struct Acts {
    bool valid = false;
    Tensor ids, pos, mask, x_final, logits, targets;
    bool from_embeds = false;  // the batch gave inputs_embeds
    ops::NormOut lnf;
    ops::CrossEntropyOut ce;
    std::vector<LayerActs> layers;
  } acts_;
};

Status GptModel::init(Device device, DType dtype) {
  const int64_t dims[kNumDims] = {cfg_.vocab_size, cfg_.n_positions, cfg_.n_embd,
                                  3 * cfg_.n_embd, cfg_.ffn()};
  bool lm = head_ == Head::kCausalLm;
  auto specs = expand_table(kTensors, cfg_.n_layer, dims, [&](const TableRow& r) {
    return std::string(r.name) != "lm_head.w" || (lm && !cfg_.tie_word_embeddings);
  });
  LW_TRY(init_params(std::move(specs), device, dtype));
  LW_ASSIGN_OR_RETURN(wte_, param_index(params_, "wte"));
  LW_ASSIGN_OR_RETURN(wpe_, param_index(params_, "wpe"));
  LW_ASSIGN_OR_RETURN(lnfw_, param_index(params_, "ln_f.w"));
  LW_ASSIGN_OR_RETURN(lnfb_, param_index(params_, "ln_f.b"));
  head_w_ = wte_;
  if (lm && !cfg_.tie_word_embeddings) {
    LW_ASSIGN_OR_RETURN(head_w_, param_index(params_, "lm_head.w"));
  }
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    std::string pre = "h." + std::to_string(l) + ".";
    LayerParams lp;
    size_t* slots[] = {&lp.ln1w, &lp.ln1b, &lp.qkvw, &lp.qkvb, &lp.projw, &lp.projb,
                       &lp.ln2w, &lp.ln2b, &lp.fcw,  &lp.fcb,  &lp.fcpw,  &lp.fcpb};
    const char* names[] = {"ln1.w", "ln1.b", "qkv.w", "qkv.b", "proj.w", "proj.b",
                           "ln2.w", "ln2.b", "fc.w",  "fc.b",  "fcproj.w", "fcproj.b"};
    for (int i = 0; i < 12; ++i) {
      LW_ASSIGN_OR_RETURN(*slots[i], param_index(params_, pre + names[i]));
    }
    layers_.push_back(lp);
  }
  return Status::ok();
}

// q, k, v are row blocks of the fused [3C, C] matrix: contiguous views, no copies.
Result<AttnWeights> GptModel::attn_weights(const LayerParams& l, bool grads) {
  auto& qw = grads ? g(l.qkvw) : w(l.qkvw);
  auto& qb = grads ? g(l.qkvb) : w(l.qkvb);
  const int64_t C = cfg_.n_embd;
  AttnWeights a;
  LW_ASSIGN_OR_RETURN(a.wq, qw.slice(0, C));
  LW_ASSIGN_OR_RETURN(a.wk, qw.slice(C, C));
  LW_ASSIGN_OR_RETURN(a.wv, qw.slice(2 * C, C));
  LW_ASSIGN_OR_RETURN(a.bq, qb.slice(0, C));
  LW_ASSIGN_OR_RETURN(a.bk, qb.slice(C, C));
  LW_ASSIGN_OR_RETURN(a.bv, qb.slice(2 * C, C));
  a.wo = grads ? g(l.projw) : w(l.projw);
  a.bo = grads ? g(l.projb) : w(l.projb);
  return a;
}

Result<MlpWeights> GptModel::mlp_weights(const LayerParams& l, bool grads) {
  auto pick = [&](size_t i) { return grads ? g(i) : w(i); };
  return MlpWeights{pick(l.fcw), pick(l.fcb), pick(l.fcpw), pick(l.fcpb)};
}

Result<ForwardResult> GptModel::forward(const Batch& batch, const ForwardOptions& opts) {
  const Tensor& ids = batch.input_ids;
  const Tensor& embeds = batch.inputs_embeds;
  LW_ASSIGN_OR_RETURN(InputDims dims, decoder_input_dims(batch, cfg_.n_embd, dtype_));
  const int64_t B = dims.B, T = dims.T;
  LW_CHECK(T >= 1 && T <= cfg_.n_positions,
           "sequence length " + std::to_string(T) + " is outside [1, n_positions=" +
               std::to_string(cfg_.n_positions) + "]");
  double p_drop = opts.dropout >= 0 ? opts.dropout : std::max({cfg_.resid_pdrop, cfg_.embd_pdrop, cfg_.attn_pdrop});
  if (p_drop > 0 && opts.keep_activations)  // attention-probability dropout has no op yet
    return unsupported("GPT-2 training with the config's dropout (p=" + std::to_string(p_drop) +
                       ") is not available in this engine; use --no-dropout");
  acts_ = Acts{};
  ForwardResult res;
  LW_ASSIGN_OR_RETURN(Tensor pos, position_ids(B, T, device_));
  Tensor tok_emb = embeds;
  if (!embeds.defined()) {
    LW_ASSIGN_OR_RETURN(tok_emb, ops::embedding(ids, w(wte_)));
  }
  LW_ASSIGN_OR_RETURN(Tensor pos_emb, ops::embedding(pos, w(wpe_)));
  LW_ASSIGN_OR_RETURN(Tensor x, ops::add(tok_emb, pos_emb));
  AttnConfig ac{cfg_.n_head, /*causal=*/true, false};
  for (const auto& l : layers_) {
    ac.capture = opts.captures(int64_t(&l - layers_.data()));
    LayerActs a;
    a.x_in = x;
    LW_ASSIGN_OR_RETURN(a.ln1, ops::layernorm(x, w(l.ln1w), w(l.ln1b), float(cfg_.layer_norm_epsilon)));
    LW_ASSIGN_OR_RETURN(AttnWeights aw, attn_weights(l, false));
    LW_ASSIGN_OR_RETURN(Tensor att, attention_block(a.ln1.y, aw, batch.attention_mask, ac, &a.attn));
    if (opts.capture_attention) res.attn_probs.push_back(ac.capture ? a.attn.att.probs : Tensor());
    LW_ASSIGN_OR_RETURN(a.x_mid, ops::add(x, att));
    LW_ASSIGN_OR_RETURN(a.ln2, ops::layernorm(a.x_mid, w(l.ln2w), w(l.ln2b), float(cfg_.layer_norm_epsilon)));
    LW_ASSIGN_OR_RETURN(MlpWeights mw, mlp_weights(l, false));
    LW_ASSIGN_OR_RETURN(Tensor m, mlp_block(a.ln2.y, mw, cfg_.activation, &a.mlp));
    LW_ASSIGN_OR_RETURN(x, ops::add(a.x_mid, m));
    if (opts.keep_activations) acts_.layers.push_back(std::move(a));
  }
  LW_ASSIGN_OR_RETURN(acts_.lnf, ops::layernorm(x, w(lnfw_), w(lnfb_), float(cfg_.layer_norm_epsilon)));
  res.last_hidden = acts_.lnf.y;
  if (head_ == Head::kCausalLm) {
    LW_ASSIGN_OR_RETURN(res.logits, ops::linear(acts_.lnf.y, w(head_w_)));
    if (batch.labels.defined()) {
      LW_ASSIGN_OR_RETURN(CausalLmLoss lm, causal_lm_loss(res.logits, batch.labels, dims));
      acts_.targets = lm.targets;
      acts_.ce = lm.ce;
      res.loss = acts_.ce.loss;
      res.loss_stats = acts_.ce.stats;
      res.has_loss = true;
    }
  }
  if (opts.keep_activations) {
    LW_CHECK(res.has_loss, "training needs a causal-lm head and labels");
    acts_.valid = true;
    acts_.ids = ids;
    acts_.from_embeds = embeds.defined();
    acts_.pos = pos;
    acts_.mask = batch.attention_mask;
    acts_.x_final = x;
    acts_.logits = res.logits;
  } else {
    acts_ = Acts{};
  }
  return res;
}

Status GptModel::backward() { return run_backward(false).status(); }

Result<Tensor> GptModel::backward_inputs() { return run_backward(true); }

Result<Tensor> GptModel::run_backward(bool frozen) {
  LW_CHECK(acts_.valid, "backward() needs a forward with keep_activations and labels first");
  if (!frozen) LW_TRY(alloc_grads());
  // Frozen: null / undefined gradients make every op skip its weight-gradient work.
  auto gp = [&](size_t i) { return frozen ? nullptr : &g(i); };
  LW_ASSIGN_OR_RETURN(Tensor dlogits, ops::cross_entropy_backward(acts_.logits, acts_.targets, acts_.ce));
  LW_ASSIGN_OR_RETURN(Tensor dlnf, ops::linear_backward(dlogits, acts_.lnf.y, w(head_w_), gp(head_w_), nullptr));
  LW_ASSIGN_OR_RETURN(Tensor dx, ops::layernorm_backward(dlnf, acts_.x_final, w(lnfw_), acts_.lnf,
                                                         gp(lnfw_), gp(lnfb_)));
  AttnConfig ac{cfg_.n_head, /*causal=*/true, false};
  for (int64_t i = cfg_.n_layer - 1; i >= 0; --i) {
    const LayerParams& l = layers_[i];
    const LayerActs& a = acts_.layers[i];
    LW_ASSIGN_OR_RETURN(MlpWeights mw, mlp_weights(l, false));
    MlpWeights mg;
    if (!frozen) {
      LW_ASSIGN_OR_RETURN(mg, mlp_weights(l, true));
    }
    LW_ASSIGN_OR_RETURN(Tensor dln2, mlp_block_backward(dx, mw, mg, cfg_.activation, a.mlp));
    LW_ASSIGN_OR_RETURN(Tensor dmid, ops::layernorm_backward(dln2, a.x_mid, w(l.ln2w), a.ln2,
                                                             gp(l.ln2w), gp(l.ln2b)));
    LW_TRY(ops::add_(dmid, dx));  // the residual path
    LW_ASSIGN_OR_RETURN(AttnWeights aw, attn_weights(l, false));
    AttnWeights ag;
    if (!frozen) {
      LW_ASSIGN_OR_RETURN(ag, attn_weights(l, true));
    }
    LW_ASSIGN_OR_RETURN(Tensor dln1, attention_block_backward(dmid, aw, ag, acts_.mask, ac, a.attn));
    LW_ASSIGN_OR_RETURN(dx, ops::layernorm_backward(dln1, a.x_in, w(l.ln1w), a.ln1, gp(l.ln1w),
                                                    gp(l.ln1b)));
    LW_TRY(ops::add_(dx, dmid));
  }
  if (!frozen) {
    // With inputs_embeds the token table took no part in the forward.
    if (acts_.ids.defined() && !acts_.from_embeds) LW_TRY(ops::embedding_backward(dx, acts_.ids, g(wte_)));
    LW_TRY(ops::embedding_backward(dx, acts_.pos, g(wpe_)));
  }
  acts_ = Acts{};
  return dx;  // x = tok_emb + pos_emb: d tok_emb = dx
}

// The same block stack as forward() for one sequence, attention reading the cache; only the
// last position goes through ln_f and the head.
Result<Tensor> GptModel::forward_cached(const Tensor& ids, int64_t past, std::vector<KvLayer>& cache) {
  LW_CHECK(head_ == Head::kCausalLm, "incremental decoding needs GPT2LMHeadModel");
  LW_CHECK(ids.defined() && ids.dim() == 2 && ids.size(0) == 1 && ids.dtype() == DType::kI32,
           "forward_cached takes ids [1,T] int32, got " + (ids.defined() ? ids.to_string() : "none"));
  LW_ASSIGN_OR_RETURN(Tensor tok_emb, ops::embedding(ids, w(wte_)));
  return cached_stack(tok_emb, past, cache);
}

Result<Tensor> GptModel::forward_cached_embeds(const Tensor& embeds, int64_t past,
                                               std::vector<KvLayer>& cache) {
  LW_CHECK(head_ == Head::kCausalLm, "incremental decoding needs GPT2LMHeadModel");
  LW_CHECK(embeds.defined() && embeds.dim() == 3 && embeds.size(0) == 1 &&
               embeds.size(2) == cfg_.n_embd && embeds.dtype() == dtype_,
           "forward_cached_embeds takes embeds [1,T," + std::to_string(cfg_.n_embd) + "] " +
               dtype_name(dtype_) + ", got " + (embeds.defined() ? embeds.to_string() : "none"));
  return cached_stack(embeds, past, cache);
}

// Checks the cache and the positions once for both entry points above.
Result<Tensor> GptModel::cached_stack(const Tensor& tok_emb, int64_t past, std::vector<KvLayer>& cache) {
  LW_CHECK(static_cast<int64_t>(cache.size()) == cfg_.n_layer,
           "KV cache has " + std::to_string(cache.size()) + " layers, the model " +
               std::to_string(cfg_.n_layer));
  const int64_t T = tok_emb.size(1);
  LW_CHECK(past >= 0 && past + T <= cfg_.n_positions,
           "positions " + std::to_string(past) + ".." + std::to_string(past + T - 1) +
               " exceed n_positions=" + std::to_string(cfg_.n_positions));
  std::vector<int32_t> pos_host(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) pos_host[i] = static_cast<int32_t>(past + i);
  LW_ASSIGN_OR_RETURN(Tensor pos, Tensor::from_ints(pos_host, {1, T}, device_));
  LW_ASSIGN_OR_RETURN(Tensor pos_emb, ops::embedding(pos, w(wpe_)));
  LW_ASSIGN_OR_RETURN(Tensor x, ops::add(tok_emb, pos_emb));
  CachedAttnConfig ac{cfg_.n_head, cfg_.n_head, 0.0f};
  const float eps = float(cfg_.layer_norm_epsilon);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerParams& l = layers_[i];
    LW_ASSIGN_OR_RETURN(ops::NormOut ln1, ops::layernorm(x, w(l.ln1w), w(l.ln1b), eps));
    LW_ASSIGN_OR_RETURN(AttnWeights aw, attn_weights(l, false));
    LW_ASSIGN_OR_RETURN(Tensor att, attention_block_cached(ln1.y, aw, ac, cache[i], past));
    LW_ASSIGN_OR_RETURN(Tensor mid, ops::add(x, att));
    LW_ASSIGN_OR_RETURN(ops::NormOut ln2, ops::layernorm(mid, w(l.ln2w), w(l.ln2b), eps));
    LW_ASSIGN_OR_RETURN(MlpWeights mw, mlp_weights(l, false));
    LW_ASSIGN_OR_RETURN(Tensor m, mlp_block(ln2.y, mw, cfg_.activation, nullptr));
    LW_ASSIGN_OR_RETURN(x, ops::add(mid, m));
  }
  LW_ASSIGN_OR_RETURN(Tensor x2, x.reshape({T, cfg_.n_embd}));
  LW_ASSIGN_OR_RETURN(Tensor last, x2.slice(T - 1, 1));
  LW_ASSIGN_OR_RETURN(ops::NormOut lnf, ops::layernorm(last, w(lnfw_), w(lnfb_), eps));
  return ops::linear(lnf.y, w(head_w_));
}

}  // namespace

Result<GptConfig> GptConfig::from_hf(const io::HfConfig& hf) {
  GptConfig c;
  LW_ASSIGN_OR_RETURN(c.vocab_size, hf.get_int({"vocab_size"}, 1, 1 << 24));
  LW_ASSIGN_OR_RETURN(c.n_positions, hf.get_int({"n_positions", "max_position_embeddings", "n_ctx"}, 1, 1 << 20));
  LW_ASSIGN_OR_RETURN(c.n_embd, hf.get_int({"n_embd", "hidden_size"}, 1, 1 << 16));
  LW_ASSIGN_OR_RETURN(c.n_layer, hf.get_int({"n_layer", "num_hidden_layers"}, 1, 1024));
  LW_ASSIGN_OR_RETURN(c.n_head, hf.get_int({"n_head", "num_attention_heads"}, 1, 1024));
  LW_ASSIGN_OR_RETURN(c.n_inner, hf.get_int({"n_inner", "intermediate_size"}, 1, 1 << 20, 0));
  LW_CHECK(c.n_embd % c.n_head == 0,
           hf.source() + ": n_embd " + std::to_string(c.n_embd) + " is not divisible by n_head " +
               std::to_string(c.n_head));
  LW_ASSIGN_OR_RETURN(c.layer_norm_epsilon, hf.get_double({"layer_norm_epsilon", "layer_norm_eps"}, 0, 1, 1e-5));
  LW_ASSIGN_OR_RETURN(std::string act, hf.get_string({"activation_function", "hidden_act"}, "gelu_new"));
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") {
    c.activation = ops::Gelu::kTanh;
  } else if (act == "gelu") {
    c.activation = ops::Gelu::kErf;
  } else {
    return unsupported(hf.source() + ": activation_function '" + act + "' is not supported (gelu_new, gelu)");
  }
  LW_ASSIGN_OR_RETURN(c.resid_pdrop, hf.get_double({"resid_pdrop"}, 0, 0.999, 0.1));
  LW_ASSIGN_OR_RETURN(c.embd_pdrop, hf.get_double({"embd_pdrop"}, 0, 0.999, 0.1));
  LW_ASSIGN_OR_RETURN(c.attn_pdrop, hf.get_double({"attn_pdrop"}, 0, 0.999, 0.1));
  LW_ASSIGN_OR_RETURN(c.tie_word_embeddings, hf.get_bool({"tie_word_embeddings"}, true));
  LW_ASSIGN_OR_RETURN(c.initializer_range, hf.get_double({"initializer_range"}, 0, 10, 0.02));
  LW_ASSIGN_OR_RETURN(bool scale, hf.get_bool({"scale_attn_weights"}, true));
  LW_ASSIGN_OR_RETURN(bool inv, hf.get_bool({"scale_attn_by_inverse_layer_idx"}, false));
  if (!scale || inv)
    return unsupported(hf.source() + ": only the standard 1/sqrt(D) attention scale is supported "
                       "(scale_attn_weights=true, scale_attn_by_inverse_layer_idx=false)");
  return c;
}

std::string GptConfig::to_json(const std::string& architecture) const {
  nlohmann::ordered_json j;
  j["architectures"] = {architecture};
  j["model_type"] = "gpt2";
  j["vocab_size"] = vocab_size;
  j["n_positions"] = n_positions;
  j["n_embd"] = n_embd;
  j["n_layer"] = n_layer;
  j["n_head"] = n_head;
  j["n_inner"] = n_inner > 0 ? nlohmann::ordered_json(n_inner) : nlohmann::ordered_json();
  j["activation_function"] = activation == ops::Gelu::kTanh ? "gelu_new" : "gelu";
  j["layer_norm_epsilon"] = layer_norm_epsilon;
  j["resid_pdrop"] = resid_pdrop;
  j["embd_pdrop"] = embd_pdrop;
  j["attn_pdrop"] = attn_pdrop;
  j["initializer_range"] = initializer_range;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["scale_attn_weights"] = true;
  j["dtype"] = "float32";
  return j.dump(2);
}

Result<std::unique_ptr<Model>> make_gpt(const GptConfig& cfg, Head head, Device device,
                                        DType dtype) {
  LW_CHECK(head == Head::kCausalLm || head == Head::kNone,
           std::string("GPT-2 has no '") + head_name(head) + "' head");
  auto m = std::make_unique<GptModel>(cfg, head);
  LW_TRY(m->init(device, dtype));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace lw::models
