// The Try-it box (load_predictor / predict), evaluation of a saved fine-tuned folder on a
// data file, and the dataset preview of the Fine-tune page (see finetune.h).
#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/api/finetune_internal.h"

namespace lw::api {
using nlohmann::json;

struct Predictor {
  std::unique_ptr<models::Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  FinetuneTask task = FinetuneTask::kClassify;
  train::LabelMap labels;
  train::TagScheme scheme = train::TagScheme::kIob2;
  int64_t max_len = 512;
};

void PredictorDeleter::operator()(Predictor* p) const { delete p; }

namespace {

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<train::LabelMap> folder_label_map(const std::string& dir) {
  LW_ASSIGN_OR_RETURN(std::string text, read_text(dir + "/config.json"));
  return train::LabelMap::from_json(dir + "/config.json", text);
}

train::TagScheme scheme_of(const train::LabelMap& tags) {
  for (const auto& t : tags.labels())
    if (t.rfind("E-", 0) == 0 || t.rfind("S-", 0) == 0) return train::TagScheme::kBioes;
  return train::TagScheme::kIob2;
}

std::vector<double> softmax_row(const float* x, int64_t n) {
  std::vector<double> p(static_cast<size_t>(n));
  double mx = *std::max_element(x, x + n), sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += p[size_t(i)] = std::exp(double(x[i]) - mx);
  for (auto& v : p) v /= sum;
  return p;
}

int64_t code_points(const std::string& s, int64_t bytes) {
  int64_t n = 0;
  for (int64_t i = 0; i < bytes && i < int64_t(s.size()); ++i) n += (static_cast<unsigned char>(s[size_t(i)]) & 0xC0) != 0x80;
  return n;
}

Result<Prediction> predict_ner(Predictor& p, const std::string& text) {
  Prediction out;
  out.task = FinetuneTask::kNer;
  std::vector<train::Span> words;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t b = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > b) {
      words.push_back({int64_t(b), int64_t(i)});
      out.words.push_back(text.substr(b, i - b));
    }
  }
  if (words.empty()) return out;
  LW_ASSIGN_OR_RETURN(Encoding enc, p.tokenizer->encode(text, true));
  std::vector<int32_t> ids = enc.ids;
  std::vector<train::Span> spans;
  for (const auto& o : enc.offsets) spans.push_back({int64_t(o.first), int64_t(o.second)});
  if (int64_t(ids.size()) > p.max_len) {
    out.truncated = true;
    int32_t last = ids.back();
    train::Span ls = spans.back();
    ids.resize(size_t(p.max_len - 1));
    spans.resize(size_t(p.max_len - 1));
    ids.push_back(last);
    spans.push_back(ls);
  }
  LW_ASSIGN_OR_RETURN(train::WordAlignment al, train::align_words(words, spans));
  const int64_t T = int64_t(ids.size()), NL = p.labels.size();
  models::Batch b;
  LW_ASSIGN_OR_RETURN(b.input_ids, Tensor::from_ints(ids, {1, T}, p.model->device()));
  LW_ASSIGN_OR_RETURN(models::ForwardResult res, p.model->forward(b, {}));
  LW_ASSIGN_OR_RETURN(std::vector<float> logits, res.logits.to_float_vector());
  std::vector<double> word_score(words.size(), 0);
  for (size_t w = 0; w < words.size(); ++w) {
    int ft = al.word_first_token[w];
    if (ft < 0) {
      out.word_tags.push_back("O");
      continue;
    }
    auto probs = softmax_row(logits.data() + int64_t(ft) * NL, NL);
    int best = int(std::max_element(probs.begin(), probs.end()) - probs.begin());
    out.word_tags.push_back(p.labels.label(best));
    word_score[w] = probs[size_t(best)];
  }
  LW_ASSIGN_OR_RETURN(std::vector<train::Entity> ents, train::extract_entities(out.word_tags, p.scheme));
  for (const auto& e : ents) {
    EntitySpan s;
    s.type = e.type;
    s.byte_begin = words[size_t(e.begin)].begin;
    s.byte_end = words[size_t(e.end - 1)].end;
    s.text = text.substr(size_t(s.byte_begin), size_t(s.byte_end - s.byte_begin));
    s.char_begin = code_points(text, s.byte_begin);
    s.char_end = code_points(text, s.byte_end);
    for (int w = e.begin; w < e.end; ++w) s.score += word_score[size_t(w)] / double(e.end - e.begin);
    out.entities.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<PredictorPtr> load_predictor(const std::string& model_dir, const std::string& device, int64_t max_len) {
  LW_ASSIGN_OR_RETURN(Device dev, detail::device_of(device));
  PredictorPtr p(new Predictor);
  LW_ASSIGN_OR_RETURN(p->model, models::load_model(model_dir, {dev, DType::kF32}));
  const models::Head h = p->model->head();
  LW_CHECK(h == models::Head::kSequenceClassification || h == models::Head::kTokenClassification,
           model_dir + ": " + p->model->architecture() +
               " is not a fine-tuned classifier (BertForSequenceClassification or BertForTokenClassification)");
  p->task = h == models::Head::kTokenClassification ? FinetuneTask::kNer : FinetuneTask::kClassify;
  LW_ASSIGN_OR_RETURN(p->tokenizer, load_tokenizer(model_dir));
  LW_ASSIGN_OR_RETURN(p->labels, folder_label_map(model_dir));
  p->scheme = scheme_of(p->labels);
  p->max_len = std::max<int64_t>(4, max_len);
  return p;
}

FinetuneTask predictor_task(const Predictor& p) { return p.task; }

Result<Prediction> predict(Predictor& p, const std::string& text, const std::string& pair_text) {
  if (p.task == FinetuneTask::kNer) return predict_ner(p, text);
  LW_ASSIGN_OR_RETURN(train::EncodedExample ex, train::encode_text(*p.tokenizer, text, pair_text, p.max_len));
  std::vector<train::EncodedExample> one = {std::move(ex)};
  LW_ASSIGN_OR_RETURN(models::Batch b, train::collate(one, {0}, 0, 1, false, false, p.model->device()));
  LW_ASSIGN_OR_RETURN(models::ForwardResult res, p.model->forward(b, {}));
  LW_ASSIGN_OR_RETURN(std::vector<float> logits, res.logits.to_float_vector());
  auto probs = softmax_row(logits.data(), int64_t(logits.size()));
  Prediction out;
  out.truncated = one[0].full_length > p.max_len;
  for (size_t i = 0; i < probs.size(); ++i) out.probabilities.push_back({p.labels.label(int(i)), probs[i]});
  size_t best = size_t(std::max_element(probs.begin(), probs.end()) - probs.begin());
  out.label = p.labels.label(int(best));
  out.score = probs[best];
  return out;
}

std::string Prediction::to_json() const {
  json j;
  j["task"] = finetune_task_name(task);
  j["truncated"] = truncated;
  if (task == FinetuneTask::kClassify) {
    j["label"] = label;
    j["score"] = score;
    j["probabilities"] = json::object();
    for (const auto& [k, v] : probabilities) j["probabilities"][k] = v;
  } else {
    j["words"] = words;
    j["tags"] = word_tags;
    j["entities"] = json::array();
    for (const auto& e : entities)
      j["entities"].push_back({{"type", e.type}, {"text", e.text}, {"start", e.char_begin}, {"end", e.char_end},
                               {"byte_start", e.byte_begin}, {"byte_end", e.byte_end}, {"score", e.score}});
  }
  return j.dump(2);
}

Result<EvalResult> evaluate_model(const EvalRequest& req, const FinetuneCallbacks& cb) {
  LW_ASSIGN_OR_RETURN(PredictorPtr p, load_predictor(req.model_dir, req.device, req.max_len));
  LW_CHECK(p->task == req.task, req.model_dir + ": the model is a " + finetune_task_name(p->task) +
                                    " model, not " + finetune_task_name(req.task));
  train::EncodedSplit split;
  const bool ner = req.task == FinetuneTask::kNer;
  if (!ner) {
    LW_ASSIGN_OR_RETURN(train::ClassifyDataset d, train::read_classify_file(req.data_file, req.classify));
    LW_TRY(train::apply_label_map(d, p->labels));
    LW_ASSIGN_OR_RETURN(split, train::encode_classify(*p->tokenizer, d, req.max_len));
  } else {
    LW_ASSIGN_OR_RETURN(train::NerDataset d, train::read_ner_file(req.data_file, req.ner));
    LW_TRY(train::apply_tag_map(d, p->labels));
    LW_ASSIGN_OR_RETURN(split, train::encode_ner(*p->tokenizer, d, req.max_len));
  }
  LW_ASSIGN_OR_RETURN(detail::SplitEval ev, detail::evaluate_split(*p->model, split, ner, p->labels, p->scheme,
                                                                   std::max(1, req.batch_size), cb.cancel));
  EvalResult r;
  r.metrics = detail::to_metrics(ev.eval, req.data_file, 0, 0);
  r.classify_report = ev.classify;
  r.entity_report = ev.entities;
  return r;
}

std::string EvalResult::to_json() const {
  json j = json::parse(detail::eval_metrics_json(metrics));
  if (classify_report) j["report"] = json::parse(classify_report->to_json());
  if (entity_report) j["report"] = json::parse(entity_report->to_json());
  return j.dump(2);
}

}  // namespace lw::api
