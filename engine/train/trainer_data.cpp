// Tokenization, truncation, label alignment and padding for fine-tuning (see trainer_data.h).
#include "engine/train/trainer_data.h"

#include <algorithm>

namespace lw::train {
namespace {

// transformers' longest_first: drop one token at a time from the longer sequence.
void truncate_pair(std::vector<int32_t>& a, std::vector<int32_t>& b, size_t budget) {
  while (a.size() + b.size() > budget) {
    if (a.size() > b.size()) a.pop_back();
    else b.pop_back();
  }
}

Result<EncodedExample> encode_one(const Tokenizer& tok, std::string_view text,
                                  std::string_view pair, bool has_pair, int64_t max_len) {
  EncodedExample ex;
  if (!has_pair) {
    LW_ASSIGN_OR_RETURN(Encoding e, tok.encode(text, true));
    ex.full_length = int64_t(e.ids.size());
    ex.ids = e.ids;
    if (int64_t(ex.ids.size()) > max_len) {  // keep [CLS] + content, then the closing [SEP]
      int32_t last = ex.ids.back();
      ex.ids.resize(size_t(max_len - 1));
      ex.ids.push_back(last);
    }
    ex.type_ids.assign(ex.ids.size(), 0);
    return ex;
  }
  LW_ASSIGN_OR_RETURN(Encoding e, tok.encode_pair(text, pair, true));
  ex.full_length = int64_t(e.ids.size());
  if (int64_t(e.ids.size()) <= max_len) {
    ex.ids = e.ids;
    ex.type_ids = e.type_ids;
    return ex;
  }
  const int32_t cls = tok.special_tokens().cls, sep = tok.special_tokens().sep;
  LW_CHECK(cls >= 0 && sep >= 0, "truncating a text pair needs a tokenizer with [CLS] and [SEP]");
  LW_ASSIGN_OR_RETURN(Encoding ea, tok.encode(text, false));
  LW_ASSIGN_OR_RETURN(Encoding eb, tok.encode(pair, false));
  truncate_pair(ea.ids, eb.ids, size_t(std::max<int64_t>(0, max_len - 3)));
  ex.ids.push_back(cls);
  ex.ids.insert(ex.ids.end(), ea.ids.begin(), ea.ids.end());
  ex.ids.push_back(sep);
  ex.type_ids.assign(ex.ids.size(), 0);
  ex.ids.insert(ex.ids.end(), eb.ids.begin(), eb.ids.end());
  ex.ids.push_back(sep);
  ex.type_ids.resize(ex.ids.size(), 1);
  return ex;
}

}  // namespace

Result<EncodedExample> encode_text(const Tokenizer& tok, std::string_view text,
                                   std::string_view pair_text, int64_t max_len) {
  LW_CHECK(max_len >= 4, "max_len must be at least 4, got " + std::to_string(max_len));
  return encode_one(tok, text, pair_text, !pair_text.empty(), max_len);
}

Result<EncodedSplit> encode_classify(const Tokenizer& tok, const ClassifyDataset& data,
                                     int64_t max_len) {
  LW_CHECK(max_len >= 4, "max_len must be at least 4, got " + std::to_string(max_len));
  EncodedSplit out;
  std::vector<int64_t> lengths;
  for (const auto& x : data.examples) {
    auto ex = encode_one(tok, x.text, x.text_pair, data.has_text_pair, max_len);
    if (!ex.is_ok())
      return ex.status().with_context(data.source + ":" + std::to_string(x.line));
    ex->label = x.label_id;
    lengths.push_back(ex->full_length);
    out.examples.push_back(std::move(*ex));
  }
  out.truncation = count_truncation(lengths, max_len);
  return out;
}

Result<EncodedSplit> encode_ner(const Tokenizer& tok, const NerDataset& data, int64_t max_len) {
  LW_CHECK(max_len >= 3, "max_len must be at least 3, got " + std::to_string(max_len));
  EncodedSplit out;
  std::vector<int64_t> lengths;
  for (const auto& s : data.sentences) {
    const std::string where = data.source + ":" + std::to_string(s.line);
    JoinedWords jw = join_words(s.tokens);
    auto enc = tok.encode(jw.text, true);
    if (!enc.is_ok()) return enc.status().with_context(where);
    EncodedExample ex;
    ex.full_length = int64_t(enc->ids.size());
    size_t n = enc->ids.size();
    std::vector<Span> spans;
    for (size_t i = 0; i < n; ++i) spans.push_back({int64_t(enc->offsets[i].first), int64_t(enc->offsets[i].second)});
    ex.ids = enc->ids;
    if (int64_t(n) > max_len) {  // [CLS] + the first max_len - 2 tokens + [SEP]
      int32_t last = ex.ids.back();
      Span last_span = spans.back();
      ex.ids.resize(size_t(max_len - 1));
      spans.resize(size_t(max_len - 1));
      ex.ids.push_back(last);
      spans.push_back(last_span);
    }
    ex.type_ids.assign(ex.ids.size(), 0);
    auto al = align_words(jw.spans, spans);
    if (!al.is_ok()) return al.status().with_context(where);
    LW_CHECK(s.tag_ids.size() == s.tokens.size(), where + ": tags are not mapped to ids");
    auto labels = token_labels(*al, s.tag_ids);
    if (!labels.is_ok()) return labels.status().with_context(where);
    ex.token_labels = std::move(*labels);
    ex.word_first_token = al->word_first_token;
    ex.word_tags = s.tag_ids;
    lengths.push_back(ex.full_length);
    out.examples.push_back(std::move(ex));
  }
  out.truncation = count_truncation(lengths, max_len);
  return out;
}

Result<models::Batch> collate(const std::vector<EncodedExample>& examples,
                              const std::vector<int64_t>& order, size_t begin, size_t end,
                              bool ner, bool with_labels, Device device) {
  LW_CHECK(begin < end && end <= order.size(), "collate: empty or out-of-range batch");
  const int64_t B = int64_t(end - begin);
  int64_t T = 1;
  for (size_t i = begin; i < end; ++i) T = std::max<int64_t>(T, int64_t(examples[size_t(order[i])].ids.size()));
  std::vector<int32_t> ids(size_t(B * T), 0), mask(size_t(B * T), 0), types(size_t(B * T), 0);
  std::vector<int32_t> labels(size_t(ner ? B * T : B), kIgnoreIndex);
  for (int64_t b = 0; b < B; ++b) {
    const EncodedExample& ex = examples[size_t(order[begin + size_t(b)])];
    for (size_t t = 0; t < ex.ids.size(); ++t) {
      ids[size_t(b * T) + t] = ex.ids[t];
      mask[size_t(b * T) + t] = 1;
      types[size_t(b * T) + t] = ex.type_ids[t];
      if (ner) labels[size_t(b * T) + t] = ex.token_labels[t];
    }
    if (!ner) labels[size_t(b)] = ex.label;
  }
  models::Batch batch;
  LW_ASSIGN_OR_RETURN(batch.input_ids, Tensor::from_ints(ids, {B, T}, device));
  LW_ASSIGN_OR_RETURN(batch.attention_mask, Tensor::from_ints(mask, {B, T}, device));
  LW_ASSIGN_OR_RETURN(batch.token_type_ids, Tensor::from_ints(types, {B, T}, device));
  if (with_labels) {
    if (ner) {
      LW_ASSIGN_OR_RETURN(batch.labels, Tensor::from_ints(labels, {B, T}, device));
    } else {
      LW_ASSIGN_OR_RETURN(batch.labels, Tensor::from_ints(labels, {B}, device));
    }
  }
  return batch;
}

}  // namespace lw::train
