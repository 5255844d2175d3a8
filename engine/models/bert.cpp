// BERT: config, the one tensor table, forward and backward with ops:: calls.
// Embeddings: LN(word + position + token_type). Layer (post-norm):
//   h = LN(x + attn(x)); x' = LN(h + mlp(h)).
// Heads: classify = classifier(drop(tanh(pooler(x'[:, 0])))); token classify = classifier(drop(x'));
// mlm = LN(gelu(dense(x'))) @ word^T + bias. Training dropout (as transformers places it):
// after the embedding LN, on the attention probabilities, on the attention and MLP outputs
// before their residual LN, and on the classifier input; each site draws its own Philox
// stream range (site k starts at k << 36), so the backward recomputes the same masks.
// Dimension letters: B batch, T sequence, C channels, NH heads, V vocabulary, P positions,
// TV token types, F MLP width, NL labels.
#include "engine/models/bert.h"

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "engine/models/blocks.h"
#include "engine/models/tensor_table.h"

namespace lw::models {
namespace {

enum Dim { kV, kP, kTV, kC, kF, kNL, kNumDims };

// clang-format off
#define LAYER "bert.encoder.layer.{L}."
constexpr TableRow kTensors[] = {
  // ours             shape     role               Hugging Face name                                alt
  {"emb.word",        kV, kC,  Role::kEmbedding,  "bert.embeddings.word_embeddings.weight",       "", false},
  {"emb.pos",         kP, kC,  Role::kEmbedding,  "bert.embeddings.position_embeddings.weight",   "", false},
  {"emb.type",        kTV, kC, Role::kEmbedding,  "bert.embeddings.token_type_embeddings.weight", "", false},
  {"emb.ln.w",        kC, -1,  Role::kNormWeight, "bert.embeddings.LayerNorm.weight",             "", false},
  {"emb.ln.b",        kC, -1,  Role::kNormBias,   "bert.embeddings.LayerNorm.bias",               "", false},
  {"l{L}.q.w",        kC, kC,  Role::kWeight,     LAYER "attention.self.query.weight",            "", false},
  {"l{L}.q.b",        kC, -1,  Role::kBias,       LAYER "attention.self.query.bias",              "", false},
  {"l{L}.k.w",        kC, kC,  Role::kWeight,     LAYER "attention.self.key.weight",              "", false},
  {"l{L}.k.b",        kC, -1,  Role::kBias,       LAYER "attention.self.key.bias",                "", false},
  {"l{L}.v.w",        kC, kC,  Role::kWeight,     LAYER "attention.self.value.weight",            "", false},
  {"l{L}.v.b",        kC, -1,  Role::kBias,       LAYER "attention.self.value.bias",              "", false},
  {"l{L}.o.w",        kC, kC,  Role::kWeight,     LAYER "attention.output.dense.weight",          "", false},
  {"l{L}.o.b",        kC, -1,  Role::kBias,       LAYER "attention.output.dense.bias",            "", false},
  {"l{L}.ln1.w",      kC, -1,  Role::kNormWeight, LAYER "attention.output.LayerNorm.weight",      "", false},
  {"l{L}.ln1.b",      kC, -1,  Role::kNormBias,   LAYER "attention.output.LayerNorm.bias",        "", false},
  {"l{L}.fc.w",       kF, kC,  Role::kWeight,     LAYER "intermediate.dense.weight",              "", false},
  {"l{L}.fc.b",       kF, -1,  Role::kBias,       LAYER "intermediate.dense.bias",                "", false},
  {"l{L}.fcproj.w",   kC, kF,  Role::kWeight,     LAYER "output.dense.weight",                    "", false},
  {"l{L}.fcproj.b",   kC, -1,  Role::kBias,       LAYER "output.dense.bias",                      "", false},
  {"l{L}.ln2.w",      kC, -1,  Role::kNormWeight, LAYER "output.LayerNorm.weight",                "", false},
  {"l{L}.ln2.b",      kC, -1,  Role::kNormBias,   LAYER "output.LayerNorm.bias",                  "", false},
  // pooler (BertModel, sequence classification)
  {"pool.w",          kC, kC,  Role::kWeight,     "bert.pooler.dense.weight",                     "", false},
  {"pool.b",          kC, -1,  Role::kBias,       "bert.pooler.dense.bias",                       "", false},
  // sequence / token classification head
  {"cls.w",           kNL, kC, Role::kWeight,     "classifier.weight",                            "", false},
  {"cls.b",           kNL, -1, Role::kBias,       "classifier.bias",                              "", false},
  // masked-LM head (its decoder weight is tied to emb.word)
  {"mlm.dense.w",     kC, kC,  Role::kWeight,     "cls.predictions.transform.dense.weight",       "", false},
  {"mlm.dense.b",     kC, -1,  Role::kBias,       "cls.predictions.transform.dense.bias",         "", false},
  {"mlm.ln.w",        kC, -1,  Role::kNormWeight, "cls.predictions.transform.LayerNorm.weight",   "", false},
  {"mlm.ln.b",        kC, -1,  Role::kNormBias,   "cls.predictions.transform.LayerNorm.bias",     "", false},
  {"mlm.bias",        kV, -1,  Role::kBias,       "cls.predictions.bias", "cls.predictions.decoder.bias", false},
};
#undef LAYER
// clang-format on

struct LayerParams {
  size_t q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, ln1w, ln1b, fcw, fcb, fcpw, fcpb, ln2w, ln2b;
};

struct LayerActs {
  AttnSaved attn;
  ops::ResidualNormOut r1;  // sum = x + attn, norm.y = h
  MlpSaved mlp;
  ops::ResidualNormOut r2;  // sum = h + mlp, norm.y = layer output
};

class BertModel final : public Model {
 public:
  BertModel(BertConfig cfg, Head head) : cfg_(std::move(cfg)), head_(head) {}
  Status init(Device device, DType dtype);

  std::string family() const override { return "bert"; }
  std::string architecture() const override {
    switch (head_) {
      case Head::kSequenceClassification: return "BertForSequenceClassification";
      case Head::kTokenClassification: return "BertForTokenClassification";
      case Head::kMaskedLm: return "BertForMaskedLM";
      default: return "BertModel";
    }
  }
  Head head() const override { return head_; }
  std::string config_json() const override { return cfg_.to_json(architecture()); }
  Result<ForwardResult> forward(const Batch& batch, const ForwardOptions& opts) override;
  Status backward() override;

 private:
  float eps() const { return static_cast<float>(cfg_.layer_norm_eps); }
  uint64_t head_site() const { return 1 + 3 * uint64_t(cfg_.num_hidden_layers); }
  Tensor& w(size_t i) { return params_[i].value; }
  Tensor& g(size_t i) { return params_[i].grad; }
  size_t at(const std::string& name) const {
    return *param_index(params_, name);  // names come from our own table (checked in init)
  }
  AttnWeights attn_weights(const LayerParams& l, bool grads);
  MlpWeights mlp_weights(const LayerParams& l, bool grads);
  Result<Tensor> head_forward(const Tensor& x, const Batch& batch, ForwardResult* res);
  Result<Tensor> head_backward();
  // Training dropout at site k (see the file comment); identity when p is 0.
  Result<Tensor> drop(const Tensor& x, float p, uint64_t site) const;
  Result<Tensor> drop_backward(const Tensor& dy, float p, uint64_t site) const;

  BertConfig cfg_;
  Head head_;
  std::vector<LayerParams> layers_;
  struct Acts {
    bool valid = false;
    Tensor ids, pos, types, mask, emb_sum, logits, targets;
    ops::NormOut emb_ln;
    std::vector<LayerActs> layers;
    Tensor x_out, cls_tok, pooled;  // classify
    Tensor head_in;                 // classifier input after dropout (classify, token classify)
    float p_hidden = 0, p_attn = 0;
    uint64_t seed = 0;
    Tensor t_pre, t_act;            // mlm
    ops::NormOut t_ln;
    ops::CrossEntropyOut ce;
  } acts_;
};

Status BertModel::init(Device device, DType dtype) {
  const int64_t dims[kNumDims] = {cfg_.vocab_size, cfg_.max_position_embeddings,
                                  cfg_.type_vocab_size, cfg_.hidden_size,
                                  cfg_.intermediate_size, cfg_.num_labels};
  auto specs = expand_table(kTensors, cfg_.num_hidden_layers, dims, [&](const TableRow& r) {
    std::string n = r.name;
    if (n.rfind("pool.", 0) == 0)
      return head_ == Head::kNone || head_ == Head::kSequenceClassification;
    if (n.rfind("cls.", 0) == 0)
      return head_ == Head::kSequenceClassification || head_ == Head::kTokenClassification;
    if (n.rfind("mlm.", 0) == 0) return head_ == Head::kMaskedLm;
    return true;
  });
  LW_TRY(init_params(std::move(specs), device, dtype));
  for (const auto& n : {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"})
    LW_TRY(param_index(params_, n).status());
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
    std::string pre = "l" + std::to_string(l) + ".";
    LayerParams lp;
    size_t* slots[] = {&lp.q_w, &lp.q_b, &lp.k_w, &lp.k_b, &lp.v_w, &lp.v_b, &lp.o_w, &lp.o_b,
                       &lp.ln1w, &lp.ln1b, &lp.fcw, &lp.fcb, &lp.fcpw, &lp.fcpb, &lp.ln2w, &lp.ln2b};
    const char* names[] = {"q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "o.w", "o.b",
                           "ln1.w", "ln1.b", "fc.w", "fc.b", "fcproj.w", "fcproj.b", "ln2.w", "ln2.b"};
    for (int i = 0; i < 16; ++i) {
      LW_ASSIGN_OR_RETURN(*slots[i], param_index(params_, pre + names[i]));
    }
    layers_.push_back(lp);
  }
  return Status::ok();
}

AttnWeights BertModel::attn_weights(const LayerParams& l, bool grads) {
  auto pick = [&](size_t i) { return grads ? g(i) : w(i); };
  return AttnWeights{pick(l.q_w), pick(l.q_b), pick(l.k_w), pick(l.k_b),
                     pick(l.v_w), pick(l.v_b), pick(l.o_w), pick(l.o_b)};
}

MlpWeights BertModel::mlp_weights(const LayerParams& l, bool grads) {
  auto pick = [&](size_t i) { return grads ? g(i) : w(i); };
  return MlpWeights{pick(l.fcw), pick(l.fcb), pick(l.fcpw), pick(l.fcpb)};
}

Result<ForwardResult> BertModel::forward(const Batch& batch, const ForwardOptions& opts) {
  const Tensor& ids = batch.input_ids;
  LW_CHECK(ids.defined() && ids.dim() == 2 && ids.dtype() == DType::kI32,
           "input_ids must be [B,T] int32, got " + (ids.defined() ? ids.to_string() : "none"));
  const int64_t B = ids.size(0), T = ids.size(1);
  LW_CHECK(T >= 1 && T <= cfg_.max_position_embeddings,
           "sequence length " + std::to_string(T) + " is outside [1, max_position_embeddings=" +
               std::to_string(cfg_.max_position_embeddings) + "]");
  acts_ = Acts{};
  Acts a;
  if (opts.keep_activations) {  // dropout only while training
    a.p_hidden = float(opts.dropout >= 0 ? opts.dropout : cfg_.hidden_dropout_prob);
    a.p_attn = float(opts.dropout >= 0 ? opts.dropout : cfg_.attention_probs_dropout_prob);
    a.seed = opts.dropout_seed;
  }
  acts_.p_hidden = a.p_hidden;  // drop() reads acts_ while `a` is being built
  acts_.seed = a.seed;
  ForwardResult res;
  LW_ASSIGN_OR_RETURN(a.pos, position_ids(B, T, ids.device()));
  a.types = batch.token_type_ids;
  if (!a.types.defined()) {
    LW_ASSIGN_OR_RETURN(a.types, Tensor::zeros({B, T}, DType::kI32, ids.device()));
  }
  LW_ASSIGN_OR_RETURN(Tensor e, ops::embedding(ids, w(at("emb.word"))));
  LW_ASSIGN_OR_RETURN(Tensor ep, ops::embedding(a.pos, w(at("emb.pos"))));
  LW_ASSIGN_OR_RETURN(Tensor et, ops::embedding(a.types, w(at("emb.type"))));
  LW_TRY(ops::add_(e, ep));
  LW_TRY(ops::add_(e, et));
  a.emb_sum = e;
  LW_ASSIGN_OR_RETURN(a.emb_ln, ops::layernorm(e, w(at("emb.ln.w")), w(at("emb.ln.b")), eps()));
  LW_ASSIGN_OR_RETURN(Tensor x, drop(a.emb_ln.y, a.p_hidden, 0));
  AttnConfig ac{cfg_.num_attention_heads, /*causal=*/false, false};
  ac.dropout = a.p_attn;
  ac.dropout_seed = a.seed;
  for (const auto& l : layers_) {
    const uint64_t li = uint64_t(&l - layers_.data());
    ac.capture = opts.captures(int64_t(li));
    ac.dropout_offset = (1 + 3 * li) << 36;
    LayerActs la;
    LW_ASSIGN_OR_RETURN(Tensor att, attention_block(x, attn_weights(l, false), batch.attention_mask,
                                                    ac, &la.attn));
    if (opts.capture_attention) res.attn_probs.push_back(ac.capture ? la.attn.att.probs : Tensor());
    LW_ASSIGN_OR_RETURN(att, drop(att, a.p_hidden, 2 + 3 * li));
    LW_ASSIGN_OR_RETURN(la.r1, ops::residual_layernorm(att, x, w(l.ln1w), w(l.ln1b), eps()));
    LW_ASSIGN_OR_RETURN(Tensor m, mlp_block(la.r1.norm.y, mlp_weights(l, false), cfg_.activation, &la.mlp));
    LW_ASSIGN_OR_RETURN(m, drop(m, a.p_hidden, 3 + 3 * li));
    LW_ASSIGN_OR_RETURN(la.r2, ops::residual_layernorm(m, la.r1.norm.y, w(l.ln2w), w(l.ln2b), eps()));
    x = la.r2.norm.y;
    if (opts.keep_activations) a.layers.push_back(std::move(la));
  }
  res.last_hidden = x;
  a.x_out = x;
  a.ids = ids;
  a.mask = batch.attention_mask;
  acts_ = std::move(a);
  LW_ASSIGN_OR_RETURN(res.logits, head_forward(x, batch, &res));
  if (opts.keep_activations) {
    LW_CHECK(res.has_loss, "training needs a classification or masked-LM head and labels");
    acts_.valid = true;
  } else {
    acts_ = Acts{};
  }
  return res;
}

Result<Tensor> BertModel::head_forward(const Tensor& x, const Batch& batch, ForwardResult* res) {
  Tensor logits;
  if (head_ == Head::kSequenceClassification) {
    // The first token of each sequence, gathered on the device (row b*T of [B*T, C]).
    LW_ASSIGN_OR_RETURN(Tensor rows, x.reshape({x.size(0) * x.size(1), x.size(2)}));
    LW_ASSIGN_OR_RETURN(Tensor first_ids, ops::iota({x.size(0)}, 0, int32_t(x.size(1)), 0, x.device()));
    LW_ASSIGN_OR_RETURN(acts_.cls_tok, ops::embedding(first_ids, rows));
    LW_ASSIGN_OR_RETURN(Tensor pre, ops::linear(acts_.cls_tok, w(at("pool.w")), w(at("pool.b"))));
    LW_ASSIGN_OR_RETURN(acts_.pooled, ops::tanh(pre));
    LW_ASSIGN_OR_RETURN(acts_.head_in, drop(acts_.pooled, acts_.p_hidden, head_site()));
    LW_ASSIGN_OR_RETURN(logits, ops::linear(acts_.head_in, w(at("cls.w")), w(at("cls.b"))));
    if (batch.labels.defined()) {
      LW_CHECK(batch.labels.dim() == 1 && batch.labels.size(0) == x.size(0),
               "classification labels must be [B] = [" + std::to_string(x.size(0)) + "], got " +
                   shape_to_string(batch.labels.shape()));
    }
  } else if (head_ == Head::kTokenClassification) {
    LW_ASSIGN_OR_RETURN(acts_.head_in, drop(x, acts_.p_hidden, head_site()));
    LW_ASSIGN_OR_RETURN(logits, ops::linear(acts_.head_in, w(at("cls.w")), w(at("cls.b"))));
    if (batch.labels.defined()) {
      LW_CHECK(batch.labels.shape() == batch.input_ids.shape(),
               "token-classification labels must have the shape of input_ids, got " +
                   shape_to_string(batch.labels.shape()));
    }
  } else if (head_ == Head::kMaskedLm) {
    LW_ASSIGN_OR_RETURN(acts_.t_pre, ops::linear(x, w(at("mlm.dense.w"))));
    LW_ASSIGN_OR_RETURN(acts_.t_act, ops::bias_gelu(acts_.t_pre, w(at("mlm.dense.b")), cfg_.activation));
    LW_ASSIGN_OR_RETURN(acts_.t_ln, ops::layernorm(acts_.t_act, w(at("mlm.ln.w")), w(at("mlm.ln.b")), eps()));
    LW_ASSIGN_OR_RETURN(logits, ops::linear(acts_.t_ln.y, w(at("emb.word")), w(at("mlm.bias"))));
    if (batch.labels.defined()) {
      LW_CHECK(batch.labels.shape() == batch.input_ids.shape(),
               "masked-LM labels must have the shape of input_ids, got " +
                   shape_to_string(batch.labels.shape()));
    }
  } else {
    return logits;
  }
  if (batch.labels.defined()) {
    acts_.targets = batch.labels;
    acts_.logits = logits;
    LW_ASSIGN_OR_RETURN(acts_.ce, ops::cross_entropy(logits, batch.labels));
    res->loss = acts_.ce.loss;
    res->loss_stats = acts_.ce.stats;
    res->has_loss = true;
  }
  return logits;
}

// Returns the gradient reaching the encoder output x [B,T,C].
Result<Tensor> BertModel::head_backward() {
  LW_ASSIGN_OR_RETURN(Tensor dlogits, ops::cross_entropy_backward(acts_.logits, acts_.targets, acts_.ce));
  if (head_ == Head::kMaskedLm) {
    LW_ASSIGN_OR_RETURN(Tensor dln, ops::linear_backward(dlogits, acts_.t_ln.y, w(at("emb.word")),
                                                         &g(at("emb.word")), &g(at("mlm.bias"))));
    LW_ASSIGN_OR_RETURN(Tensor dact, ops::layernorm_backward(dln, acts_.t_act, w(at("mlm.ln.w")), acts_.t_ln,
                                                             &g(at("mlm.ln.w")), &g(at("mlm.ln.b"))));
    LW_ASSIGN_OR_RETURN(Tensor dpre, ops::bias_gelu_backward(dact, acts_.t_pre, w(at("mlm.dense.b")),
                                                             cfg_.activation, &g(at("mlm.dense.b"))));
    return ops::linear_backward(dpre, acts_.x_out, w(at("mlm.dense.w")), &g(at("mlm.dense.w")), nullptr);
  }
  LW_ASSIGN_OR_RETURN(Tensor dhead, ops::linear_backward(dlogits, acts_.head_in, w(at("cls.w")),
                                                         &g(at("cls.w")), &g(at("cls.b"))));
  LW_ASSIGN_OR_RETURN(Tensor dpooled, drop_backward(dhead, acts_.p_hidden, head_site()));
  if (head_ == Head::kTokenClassification) return dpooled;  // it is d x [B,T,C]
  LW_ASSIGN_OR_RETURN(Tensor dpre, ops::tanh_backward(dpooled, acts_.pooled));
  LW_ASSIGN_OR_RETURN(Tensor dcls, ops::linear_backward(dpre, acts_.cls_tok, w(at("pool.w")),
                                                        &g(at("pool.w")), &g(at("pool.b"))));
  // Only the first token feeds the pooler: scatter its gradient into a zero [B,T,C].
  const Shape& xs = acts_.x_out.shape();
  LW_ASSIGN_OR_RETURN(Tensor dx, Tensor::zeros(xs, dcls.dtype(), dcls.device()));
  LW_ASSIGN_OR_RETURN(Tensor rows, dx.reshape({xs[0] * xs[1], xs[2]}));
  LW_ASSIGN_OR_RETURN(Tensor first_ids, ops::iota({xs[0]}, 0, int32_t(xs[1]), 0, dx.device()));
  LW_TRY(ops::embedding_backward(dcls, first_ids, rows));
  return dx;
}

Result<Tensor> BertModel::drop(const Tensor& x, float p, uint64_t site) const {
  if (p <= 0.0f) return x;
  return ops::dropout(x, p, acts_.seed, site << 36);
}

Result<Tensor> BertModel::drop_backward(const Tensor& dy, float p, uint64_t site) const {
  if (p <= 0.0f) return dy;
  return ops::dropout_backward(dy, p, acts_.seed, site << 36);
}

Status BertModel::backward() {
  LW_CHECK(acts_.valid, "backward() needs a forward with keep_activations and labels first");
  LW_TRY(alloc_grads());
  LW_ASSIGN_OR_RETURN(Tensor dx, head_backward());
  AttnConfig ac{cfg_.num_attention_heads, /*causal=*/false, false};
  ac.dropout = acts_.p_attn;
  ac.dropout_seed = acts_.seed;
  for (int64_t i = cfg_.num_hidden_layers - 1; i >= 0; --i) {
    ac.dropout_offset = (1 + 3 * uint64_t(i)) << 36;
    const LayerParams& l = layers_[i];
    const LayerActs& la = acts_.layers[i];
    LW_ASSIGN_OR_RETURN(Tensor dsum2, ops::residual_layernorm_backward(dx, Tensor(), w(l.ln2w), la.r2,
                                                                       &g(l.ln2w), &g(l.ln2b)));
    MlpWeights mg = mlp_weights(l, true);
    LW_ASSIGN_OR_RETURN(Tensor dm, drop_backward(dsum2, acts_.p_hidden, 3 + 3 * uint64_t(i)));
    // dh = dsum2 + the MLP's input gradient, added by its last GEMM (dm may alias dsum2 when
    // dropout is off; the MLP reads dm before that GEMM writes).
    LW_ASSIGN_OR_RETURN(Tensor dh, mlp_block_backward(dm, mlp_weights(l, false), mg, cfg_.activation,
                                                      la.mlp, &dsum2));
    LW_ASSIGN_OR_RETURN(Tensor dsum1, ops::residual_layernorm_backward(dh, Tensor(), w(l.ln1w), la.r1,
                                                                       &g(l.ln1w), &g(l.ln1b)));
    AttnWeights ag = attn_weights(l, true);
    LW_ASSIGN_OR_RETURN(Tensor datt, drop_backward(dsum1, acts_.p_hidden, 2 + 3 * uint64_t(i)));
    LW_ASSIGN_OR_RETURN(dx, attention_block_backward(datt, attn_weights(l, false), ag, acts_.mask, ac,
                                                     la.attn, &dsum1));
  }
  LW_ASSIGN_OR_RETURN(dx, drop_backward(dx, acts_.p_hidden, 0));
  LW_ASSIGN_OR_RETURN(Tensor de, ops::layernorm_backward(dx, acts_.emb_sum, w(at("emb.ln.w")), acts_.emb_ln,
                                                         &g(at("emb.ln.w")), &g(at("emb.ln.b"))));
  LW_TRY(ops::embedding_backward(de, acts_.ids, g(at("emb.word"))));
  LW_TRY(ops::embedding_backward(de, acts_.pos, g(at("emb.pos"))));
  LW_TRY(ops::embedding_backward(de, acts_.types, g(at("emb.type"))));
  acts_ = Acts{};
  return Status::ok();
}

// id2label names in id order; LABEL_i names (transformers' defaults) count as none.
Result<std::vector<std::string>> read_id2label(const io::HfConfig& hf, int64_t num_labels) {
  std::vector<std::string> names;
  if (hf.count({"id2label"}) <= 0) return names;
  nlohmann::json j = nlohmann::json::parse(hf.dump(), nullptr, false);
  const auto& m = j["id2label"];
  LW_CHECK(m.is_object() && int64_t(m.size()) == num_labels,
           hf.source() + ": id2label must be an object with num_labels (" +
               std::to_string(num_labels) + ") entries");
  names.resize(size_t(num_labels));
  for (auto it = m.begin(); it != m.end(); ++it) {
    char* end = nullptr;
    long id = std::strtol(it.key().c_str(), &end, 10);
    LW_CHECK(!it.key().empty() && *end == 0 && id >= 0 && id < num_labels && it->is_string(),
             hf.source() + ": id2label entry '" + it.key() + "' is not an id in [0, " +
                 std::to_string(num_labels) + ") with a string name");
    names[size_t(id)] = it->get<std::string>();
  }
  bool defaults = true;
  for (size_t i = 0; i < names.size(); ++i) defaults &= names[i] == "LABEL_" + std::to_string(i);
  if (defaults) names.clear();
  return names;
}

}  // namespace

Result<BertConfig> BertConfig::from_hf(const io::HfConfig& hf) {
  BertConfig c;
  LW_ASSIGN_OR_RETURN(c.vocab_size, hf.get_int({"vocab_size"}, 1, 1 << 24));
  LW_ASSIGN_OR_RETURN(c.max_position_embeddings, hf.get_int({"max_position_embeddings", "n_positions"}, 1, 1 << 20));
  LW_ASSIGN_OR_RETURN(c.type_vocab_size, hf.get_int({"type_vocab_size"}, 1, 1024, 2));
  LW_ASSIGN_OR_RETURN(c.hidden_size, hf.get_int({"hidden_size", "n_embd"}, 1, 1 << 16));
  LW_ASSIGN_OR_RETURN(c.num_hidden_layers, hf.get_int({"num_hidden_layers", "n_layer"}, 1, 1024));
  LW_ASSIGN_OR_RETURN(c.num_attention_heads, hf.get_int({"num_attention_heads", "n_head"}, 1, 1024));
  LW_ASSIGN_OR_RETURN(c.intermediate_size, hf.get_int({"intermediate_size", "n_inner"}, 1, 1 << 20));
  LW_CHECK(c.hidden_size % c.num_attention_heads == 0,
           hf.source() + ": hidden_size " + std::to_string(c.hidden_size) +
               " is not divisible by num_attention_heads " + std::to_string(c.num_attention_heads));
  // num_labels is implied by id2label when not written out (transformers drops it on save).
  int64_t labels = hf.count({"id2label"}) > 0 ? hf.count({"id2label"}) : 2;
  LW_ASSIGN_OR_RETURN(c.num_labels, hf.get_int({"num_labels"}, 1, 1 << 20, labels));
  LW_ASSIGN_OR_RETURN(c.id2label, read_id2label(hf, c.num_labels));
  LW_ASSIGN_OR_RETURN(c.layer_norm_eps, hf.get_double({"layer_norm_eps", "layer_norm_epsilon"}, 0, 1, 1e-12));
  LW_ASSIGN_OR_RETURN(std::string act, hf.get_string({"hidden_act"}, "gelu"));
  if (act == "gelu") {
    c.activation = ops::Gelu::kErf;
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh") {
    c.activation = ops::Gelu::kTanh;
  } else {
    return unsupported(hf.source() + ": hidden_act '" + act + "' is not supported (gelu, gelu_new)");
  }
  LW_ASSIGN_OR_RETURN(std::string pos_type, hf.get_string({"position_embedding_type"}, "absolute"));
  if (pos_type != "absolute")
    return unsupported(hf.source() + ": position_embedding_type '" + pos_type + "' is not supported (absolute)");
  LW_ASSIGN_OR_RETURN(c.hidden_dropout_prob, hf.get_double({"hidden_dropout_prob"}, 0, 0.999, 0.1));
  LW_ASSIGN_OR_RETURN(c.attention_probs_dropout_prob, hf.get_double({"attention_probs_dropout_prob"}, 0, 0.999, 0.1));
  LW_ASSIGN_OR_RETURN(c.initializer_range, hf.get_double({"initializer_range"}, 0, 10, 0.02));
  LW_ASSIGN_OR_RETURN(c.pad_token_id, hf.get_int({"pad_token_id"}, 0, 1 << 24, 0));
  return c;
}

std::string BertConfig::to_json(const std::string& architecture) const {
  nlohmann::ordered_json j;
  j["architectures"] = {architecture};
  j["model_type"] = "bert";
  j["vocab_size"] = vocab_size;
  j["max_position_embeddings"] = max_position_embeddings;
  j["type_vocab_size"] = type_vocab_size;
  j["hidden_size"] = hidden_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["intermediate_size"] = intermediate_size;
  j["hidden_act"] = activation == ops::Gelu::kErf ? "gelu" : "gelu_new";
  j["layer_norm_eps"] = layer_norm_eps;
  j["hidden_dropout_prob"] = hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  j["initializer_range"] = initializer_range;
  j["pad_token_id"] = pad_token_id;
  j["position_embedding_type"] = "absolute";
  nlohmann::ordered_json j_id2label, label2id;
  for (int64_t i = 0; i < num_labels; ++i) {
    std::string name = size_t(i) < id2label.size() ? this->id2label[size_t(i)] : "LABEL_" + std::to_string(i);
    j_id2label[std::to_string(i)] = name;
    label2id[name] = i;
  }
  j["id2label"] = j_id2label;
  j["label2id"] = label2id;
  j["tie_word_embeddings"] = true;
  j["dtype"] = "float32";
  return j.dump(2);
}

Result<std::unique_ptr<Model>> make_bert(const BertConfig& cfg, Head head, Device device,
                                         DType dtype) {
  LW_CHECK(head != Head::kCausalLm, "BERT has no causal-lm head");
  auto m = std::make_unique<BertModel>(cfg, head);
  LW_TRY(m->init(device, dtype));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace lw::models
