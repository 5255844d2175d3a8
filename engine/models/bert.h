// The BERT family: BertModel, BertForSequenceClassification, BertForTokenClassification,
// BertForMaskedLM. A post-norm bidirectional encoder with
// learned positions, token types, erf GELU and a padding mask.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/io/hf_config.h"
#include "engine/models/model.h"
#include "engine/ops/ops.h"

namespace lw::models {

struct BertConfig {
  int64_t vocab_size = 30522;               // V
  int64_t max_position_embeddings = 512;    // P
  int64_t type_vocab_size = 2;              // TV
  int64_t hidden_size = 768;                // C
  int64_t num_hidden_layers = 12;           // L
  int64_t num_attention_heads = 12;         // NH; D = C / NH
  int64_t intermediate_size = 3072;         // F
  int64_t num_labels = 2;                   // NL (sequence / token classification)
  std::vector<std::string> id2label;        // [NL] label names; empty: LABEL_0 ...
  double layer_norm_eps = 1e-12;
  ops::Gelu activation = ops::Gelu::kErf;   // "gelu"
  double hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1;
  double initializer_range = 0.02;
  int64_t pad_token_id = 0;

  static Result<BertConfig> from_hf(const io::HfConfig& hf);
  std::string to_json(const std::string& architecture) const;
};

Result<std::unique_ptr<Model>> make_bert(const BertConfig& cfg, Head head, Device device,
                                         DType dtype);

}  // namespace lw::models
