// The fine-tuning facade's data, model and evaluation parts (see finetune_internal.h).
// Dimension letters: B batch, T tokens, NL labels.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>

#include "engine/api/finetune_internal.h"
#include "engine/core/rng.h"
#include "engine/io/checkpoint.h"
#include "engine/io/hf_config.h"
#include "engine/models/bert.h"

namespace lw::api::detail {

Result<Device> device_of(const std::string& text) {
  if (text == "cuda") return parse_device("cuda:0");
  return parse_device(text.empty() ? "cpu" : text);
}

Result<DType> dtype_of(const std::string& text, Device device) {
  if (text.empty() || text == "auto") return device.is_cuda() ? DType::kBF16 : DType::kF32;
  LW_ASSIGN_OR_RETURN(DType t, parse_dtype(text));
  LW_CHECK(t == DType::kF32 || t == DType::kBF16, "fine-tuning runs in f32 or bf16, not " + text);
  LW_CHECK(t == DType::kF32 || device.is_cuda(), "bf16 training needs a CUDA device (the CPU computes in f32)");
  return t;
}

Result<FinetuneData> load_data(const FinetuneConfig& c, const train::LabelMap* fixed) {
  FinetuneData d;
  d.tokenizer_dir = c.model_dir.empty() ? c.random_init.vocab_dir : c.model_dir;
  LW_CHECK(!d.tokenizer_dir.empty(), "name a model folder, or a vocabulary folder for a random init");
  LW_CHECK(!c.files.train.empty(), "name a training file");
  LW_ASSIGN_OR_RETURN(d.tokenizer, load_tokenizer(d.tokenizer_dir));
  d.dataset_description = c.files.train;
  if (!c.files.validation.empty()) d.dataset_description += " | " + c.files.validation;
  if (!c.files.test.empty()) d.dataset_description += " | " + c.files.test;
  if (c.task == FinetuneTask::kClassify) {
    LW_ASSIGN_OR_RETURN(train::ClassifySplits s, train::load_classify_splits(c.files, c.classify, c.split, fixed));
    LW_CHECK(!s.train.examples.empty(), c.files.train + ": no training examples");
    d.labels = s.labels;
    LW_ASSIGN_OR_RETURN(d.train, train::encode_classify(*d.tokenizer, s.train, c.max_len));
    LW_ASSIGN_OR_RETURN(d.validation, train::encode_classify(*d.tokenizer, s.validation, c.max_len));
    LW_ASSIGN_OR_RETURN(d.test, train::encode_classify(*d.tokenizer, s.test, c.max_len));
  } else {
    LW_ASSIGN_OR_RETURN(train::NerSplits s, train::load_ner_splits(c.files, c.ner, c.split, fixed));
    LW_CHECK(!s.train.sentences.empty(), c.files.train + ": no training sentences");
    d.labels = s.tags;
    d.scheme = s.train.scheme;
    LW_ASSIGN_OR_RETURN(d.train, train::encode_ner(*d.tokenizer, s.train, c.max_len));
    LW_ASSIGN_OR_RETURN(d.validation, train::encode_ner(*d.tokenizer, s.validation, c.max_len));
    LW_ASSIGN_OR_RETURN(d.test, train::encode_ner(*d.tokenizer, s.test, c.max_len));
  }
  LW_CHECK(d.labels.size() >= 2 || c.task == FinetuneTask::kNer,
           c.files.train + ": classification needs at least two labels, found " + d.labels.describe());
  return d;
}

namespace {

Result<models::BertConfig> bert_config(const FinetuneConfig& c, const FinetuneData& d) {
  models::BertConfig b;
  if (!c.model_dir.empty() || !c.random_init.config_json.empty()) {
    std::string path = !c.model_dir.empty() ? c.model_dir + "/config.json" : c.random_init.config_json;
    LW_ASSIGN_OR_RETURN(io::HfConfig hf, io::HfConfig::read(path));
    LW_CHECK(hf.model_type() == "bert" || hf.architecture().rfind("Bert", 0) == 0,
             path + ": fine-tuning needs a BERT model (model_type 'bert'), got '" + hf.model_type() + "'");
    LW_ASSIGN_OR_RETURN(b, models::BertConfig::from_hf(hf));
  } else {
    const auto& r = c.random_init;
    LW_CHECK(r.n_layer >= 1 && r.hidden >= 64 && r.hidden % 64 == 0,
             "random init needs layers >= 1 and a hidden size that is a multiple of 64, got " +
                 std::to_string(r.n_layer) + " x " + std::to_string(r.hidden));
    b.num_hidden_layers = r.n_layer;
    b.hidden_size = r.hidden;
    b.num_attention_heads = r.hidden / 64;
    b.intermediate_size = 4 * r.hidden;
    b.max_position_embeddings = r.max_positions;
  }
  if (c.model_dir.empty()) b.vocab_size = d.tokenizer->vocab_size();
  LW_CHECK(b.vocab_size >= d.tokenizer->vocab_size(),
           d.tokenizer_dir + ": the tokenizer has " + std::to_string(d.tokenizer->vocab_size()) +
               " tokens, the model only " + std::to_string(b.vocab_size));
  LW_CHECK(c.max_len <= b.max_position_embeddings,
           "max_len " + std::to_string(c.max_len) + " exceeds the model's max_position_embeddings " +
               std::to_string(b.max_position_embeddings));
  b.num_labels = std::max(1, d.labels.size());
  b.id2label = d.labels.labels();
  return b;
}

// transformers' BertPreTrainedModel._init_weights: N(0, range) for Linear/Embedding weights
// (the padding row zero), zero biases, LayerNorm 1 / 0.
Status init_param(models::Param& prm, PhiloxStream& rng, double range, int64_t pad_row) {
  std::vector<float> h(size_t(shape_numel(prm.spec.shape)));
  switch (prm.spec.role) {
    case models::Role::kNormWeight: std::fill(h.begin(), h.end(), 1.0f); break;
    case models::Role::kBias:
    case models::Role::kNormBias: break;
    default:
      for (auto& x : h) x = float(range) * rng.normal();
      if (prm.spec.name == "emb.word" && pad_row >= 0 && pad_row < prm.spec.shape[0])
        std::fill_n(h.begin() + pad_row * prm.spec.shape[1], prm.spec.shape[1], 0.0f);
  }
  LW_ASSIGN_OR_RETURN(Tensor t, Tensor::from_floats(h, prm.spec.shape, DType::kF32, prm.value.device()));
  return prm.weights().copy_from(t);
}

const io::CheckpointTensor* find_tensor(const io::Checkpoint& ck, const std::string& hf) {
  std::vector<std::string> names = {hf};
  if (hf.rfind("bert.", 0) == 0) names.push_back(hf.substr(5));
  for (size_t i = 0, n = names.size(); i < n; ++i) {
    const std::string s = names[i];
    auto ends = [&](const std::string& suf) { return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0; };
    if (ends("LayerNorm.weight")) names.push_back(s.substr(0, s.size() - 6) + "gamma");
    if (ends("LayerNorm.bias")) names.push_back(s.substr(0, s.size() - 4) + "beta");
  }
  for (const auto& n : names)
    if (auto* t = ck.find(n)) return t;
  return nullptr;
}

Result<std::vector<std::string>> folder_labels(const std::string& dir) {
  LW_ASSIGN_OR_RETURN(io::HfConfig hf, io::HfConfig::read(dir + "/config.json"));
  LW_ASSIGN_OR_RETURN(models::BertConfig b, models::BertConfig::from_hf(hf));
  return b.id2label;
}

}  // namespace

Result<std::unique_ptr<models::Model>> build_model(const FinetuneConfig& c, const FinetuneData& d,
                                                   Device device, DType dtype) {
  LW_ASSIGN_OR_RETURN(models::BertConfig b, bert_config(c, d));
  const models::Head head = c.task == FinetuneTask::kClassify ? models::Head::kSequenceClassification
                                                              : models::Head::kTokenClassification;
  LW_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, models::make_bert(b, head, device, dtype));
  PhiloxStream rng(c.seed * 0x2545F4914F6CDD1Dull + 17);
  for (auto& prm : model->params()) LW_TRY(init_param(prm, rng, b.initializer_range, b.pad_token_id));
  if (!c.model_dir.empty()) {
    LW_ASSIGN_OR_RETURN(io::Checkpoint ck, io::Checkpoint::open(c.model_dir));
    LW_ASSIGN_OR_RETURN(std::vector<std::string> saved_labels, folder_labels(c.model_dir));
    const bool same_labels = saved_labels == d.labels.labels();
    for (auto& prm : model->params()) {
      const bool head_param = prm.spec.name.rfind("cls.", 0) == 0;
      const bool pooler = prm.spec.name.rfind("pool.", 0) == 0;
      const io::CheckpointTensor* t = find_tensor(ck, prm.spec.hf_names[0]);
      if (head_param && !same_labels) continue;  // a new label set: fresh head
      if (!t || t->info->shape != prm.spec.shape) {
        if (head_param || pooler) continue;
        return invalid_argument(c.model_dir + ": tensor '" + prm.spec.hf_names[0] + "' is " +
                                (t ? "of shape " + shape_to_string(t->info->shape) + ", expected " +
                                         shape_to_string(prm.spec.shape)
                                   : std::string("missing")));
      }
      std::vector<float> host(size_t(t->info->numel));
      LW_TRY(io::copy_as_f32(c.model_dir + ": '" + prm.spec.hf_names[0] + "'", t->info->dtype, t->data(),
                             t->info->numel, host.data()));
      LW_ASSIGN_OR_RETURN(Tensor f, Tensor::from_floats(host, prm.spec.shape, DType::kF32, device));
      LW_TRY(prm.weights().copy_from(f));
    }
  }
  LW_TRY(model->sync_values());
  return model;
}

namespace {

// Index of the largest value in each row of a [rows, NL] host matrix.
std::vector<int> argmax_rows(const std::vector<float>& x, int64_t rows, int64_t nl) {
  std::vector<int> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    out[size_t(r)] = int(std::max_element(x.begin() + r * nl, x.begin() + (r + 1) * nl) - (x.begin() + r * nl));
  return out;
}

}  // namespace

Result<SplitEval> evaluate_split(models::Model& model, const train::EncodedSplit& split, bool ner,
                                 const train::LabelMap& labels, train::TagScheme scheme, int batch,
                                 const std::function<bool()>& cancel) {
  const auto& ex = split.examples;
  LW_CHECK(!ex.empty(), "the evaluation split is empty");
  std::vector<int64_t> order(ex.size());
  for (size_t i = 0; i < ex.size(); ++i) order[i] = int64_t(i);
  std::vector<int> y_true, y_pred;
  std::vector<std::vector<std::string>> t_tags, p_tags;
  double loss_sum = 0, loss_weight = 0;
  const int64_t NL = labels.size();
  models::ForwardOptions fo;
  for (size_t b0 = 0; b0 < ex.size(); b0 += size_t(batch)) {
    if (cancel && cancel()) return cancelled("evaluation cancelled");
    size_t b1 = std::min(ex.size(), b0 + size_t(batch));
    LW_ASSIGN_OR_RETURN(models::Batch bt, train::collate(ex, order, b0, b1, ner, true, model.device()));
    LW_ASSIGN_OR_RETURN(models::ForwardResult res, model.forward(bt, fo));
    LW_ASSIGN_OR_RETURN(std::vector<float> logits, res.logits.to_float_vector());
    if (!ner) {
      auto pred = argmax_rows(logits, int64_t(b1 - b0), NL);
      for (size_t i = b0; i < b1; ++i) {
        y_true.push_back(ex[i].label);
        y_pred.push_back(pred[i - b0]);
      }
      loss_sum += res.loss * double(b1 - b0);
      loss_weight += double(b1 - b0);
      continue;
    }
    const int64_t T = bt.input_ids.size(1);
    auto pred = argmax_rows(logits, int64_t(b1 - b0) * T, NL);
    double counted = 0;
    for (size_t i = b0; i < b1; ++i) {
      const auto& e = ex[i];
      std::vector<std::string> tt, pt;
      for (size_t w = 0; w < e.word_tags.size(); ++w) {
        tt.push_back(labels.label(e.word_tags[w]));
        int ft = e.word_first_token[w];
        pt.push_back(ft < 0 ? "O" : labels.label(pred[(i - b0) * size_t(T) + size_t(ft)]));
      }
      for (int32_t l : e.token_labels) counted += l != train::kIgnoreIndex;
      t_tags.push_back(std::move(tt));
      p_tags.push_back(std::move(pt));
    }
    loss_sum += res.loss * counted;
    loss_weight += counted;
  }
  SplitEval out;
  out.eval.loss = loss_weight > 0 ? loss_sum / loss_weight : 0;
  if (!ner) {
    LW_ASSIGN_OR_RETURN(train::ClassificationReport r, train::classification_report(y_true, y_pred, labels));
    out.eval.values = {{"accuracy", r.accuracy},   {"macro_f1", r.macro_f1},
                       {"micro_f1", r.micro_f1},   {"weighted_f1", r.weighted_f1},
                       {"macro_precision", r.macro_precision}, {"macro_recall", r.macro_recall}};
    out.classify = std::move(r);
  } else {
    LW_ASSIGN_OR_RETURN(train::EntityReport r, train::entity_report(t_tags, p_tags, scheme));
    out.eval.values = {{"f1", r.f1}, {"precision", r.precision}, {"recall", r.recall},
                       {"macro_f1", r.macro_f1}, {"token_accuracy", r.token_accuracy}};
    out.entities = std::move(r);
  }
  return out;
}

}  // namespace lw::api::detail
