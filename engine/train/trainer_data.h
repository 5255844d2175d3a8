// Fine-tuning data as the model sees it: classification examples and CoNLL sentences
// tokenized (with truncation to max_len, counted), NER labels aligned to the first
// sub-token of each word, and padded batches. Shared by training, evaluation and the
// golden parity check, so all three see the same tokenized batches.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/train/alignment.h"
#include "engine/train/dataset_classify.h"
#include "engine/train/dataset_ner.h"

namespace lw::train {

struct EncodedExample {
  std::vector<int32_t> ids;       // [T] with [CLS]/[SEP], T <= max_len
  std::vector<int32_t> type_ids;  // [T]
  int32_t label = -1;             // classify: label id
  std::vector<int32_t> token_labels;   // ner: [T] tag id on first sub-tokens, -100 elsewhere
  std::vector<int> word_first_token;   // ner: [words] first token of each word, -1 truncated
  std::vector<int> word_tags;          // ner: [words] gold tag ids
  int64_t full_length = 0;             // tokens before truncation
};

struct EncodedSplit {
  std::vector<EncodedExample> examples;
  TruncationReport truncation;
};

// Single texts: [CLS] a [SEP]; pairs: [CLS] a [SEP] b [SEP] (types 0 then 1), longer
// inputs cut as transformers' truncation=True (longest_first) does.
Result<EncodedSplit> encode_classify(const Tokenizer& tok, const ClassifyDataset& data,
                                     int64_t max_len);
// Words joined by spaces, tokenized with offsets, labels on each word's first sub-token.
Result<EncodedSplit> encode_ner(const Tokenizer& tok, const NerDataset& data, int64_t max_len);
// One text for prediction (classify: pair_text may be empty).
Result<EncodedExample> encode_text(const Tokenizer& tok, std::string_view text,
                                   std::string_view pair_text, int64_t max_len);

// Pads examples[order[begin..end)] to the longest (pad id 0, mask 0, label -100) on `device`;
// `with_labels` adds [B] (classify) or [B,T] (ner) labels.
Result<models::Batch> collate(const std::vector<EncodedExample>& examples,
                              const std::vector<int64_t>& order, size_t begin, size_t end,
                              bool ner, bool with_labels, Device device);

}  // namespace lw::train
