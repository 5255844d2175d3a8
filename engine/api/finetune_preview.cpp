// The dataset preview of the Fine-tune page (preview_dataset): the data layer's preview,
// the header's column names, and the truncation report at max_len with the model's tokenizer.
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/api/finetune_internal.h"

namespace lw::api {
using nlohmann::json;

namespace {

// Column names from the first line: a CSV/TSV header (quotes stripped) or a JSONL object's keys.
std::vector<std::string> header_columns(const std::string& file, train::TableFormat fmt) {
  std::ifstream in(file, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> out;
  if (fmt == train::TableFormat::kJsonl) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object())
      for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
    return out;
  }
  const char sep = fmt == train::TableFormat::kCsv ? ',' : '\t';
  std::string cur;
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"' && fmt == train::TableFormat::kCsv) quoted = !quoted;
    else if (ch == sep && !quoted) out.push_back(std::exchange(cur, {}));
    else cur += ch;
  }
  out.push_back(cur);
  return out;
}

}  // namespace

Result<DatasetPreview> preview_dataset(FinetuneTask task, const std::string& file,
                                       const train::ClassifyOptions& classify,
                                       const train::NerOptions& ner, const std::string& tokenizer_dir,
                                       int64_t max_len, int n_rows) {
  DatasetPreview p;
  p.task = task;
  p.file = file;
  std::unique_ptr<Tokenizer> tok;
  if (!tokenizer_dir.empty()) {
    LW_ASSIGN_OR_RETURN(tok, load_tokenizer(tokenizer_dir));
  }
  if (task == FinetuneTask::kClassify) {
    LW_ASSIGN_OR_RETURN(train::ClassifyDataset d, train::read_classify_file(file, classify));
    p.classify = train::preview_classify(d, n_rows);
    train::TableFormat fmt = classify.format;
    if (fmt == train::TableFormat::kAuto) {
      LW_ASSIGN_OR_RETURN(fmt, train::detect_table_format(file));
    }
    if (fmt == train::TableFormat::kJsonl || classify.header != train::HeaderMode::kNo)
      p.columns = header_columns(file, fmt);
    if (tok) {
      LW_ASSIGN_OR_RETURN(train::EncodedSplit e, train::encode_classify(*tok, d, max_len));
      p.truncation = e.truncation;
    }
  } else {
    LW_ASSIGN_OR_RETURN(train::NerDataset d, train::read_ner_file(file, ner));
    p.ner = train::preview_ner(d, n_rows);
    if (tok) {
      train::LabelMap tags = train::build_tag_map(d);
      LW_TRY(train::apply_tag_map(d, tags));
      LW_ASSIGN_OR_RETURN(train::EncodedSplit e, train::encode_ner(*tok, d, max_len));
      p.truncation = e.truncation;
    }
  }
  return p;
}

std::string DatasetPreview::to_json() const {
  json j;
  j["task"] = finetune_task_name(task);
  j["file"] = file;
  j["columns"] = columns;
  auto hist = [](const train::LengthHistogram& h) {
    return json{{"count", h.count}, {"min", h.min}, {"max", h.max}, {"mean", h.mean}, {"p50", h.p50},
                {"p95", h.p95}, {"bin_width", h.bin_width}, {"bins", h.bins}};
  };
  if (classify) {
    j["examples"] = classify->n_examples;
    j["rows"] = json::array();
    for (const auto& r : classify->first_rows)
      j["rows"].push_back({{"text", r.text}, {"text_pair", r.text_pair}, {"label", r.label}, {"line", r.line}});
    j["labels"] = json::object();
    for (const auto& [k, v] : classify->label_counts) j["labels"][k] = v;
    j["word_lengths"] = hist(classify->word_lengths);
  }
  if (ner) {
    j["sentences"] = ner->n_sentences;
    j["tokens"] = ner->n_tokens;
    j["entities"] = ner->n_entities;
    j["entity_types"] = json::object();
    for (const auto& [k, v] : ner->entity_counts) j["entity_types"][k] = v;
    j["tags"] = json::object();
    for (const auto& [k, v] : ner->tag_counts) j["tags"][k] = v;
    j["sentence_lengths"] = hist(ner->sentence_lengths);
    j["first_sentences"] = json::array();
    for (const auto& s : ner->first_sentences) j["first_sentences"].push_back({{"tokens", s.tokens}, {"tags", s.tags}});
  }
  j["truncation"] = {{"examples", truncation.n_examples}, {"max_length", truncation.max_length},
                     {"truncated", truncation.n_truncated}, {"longest", truncation.longest}};
  return j.dump(2);
}

}  // namespace lw::api
