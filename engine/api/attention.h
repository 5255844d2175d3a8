// The attention facade (Attention page and `llmwb attention`): load a model folder once, then
// for a text (or token ids) check the capture memory, run one forward that materializes the
// attention probabilities of the chosen layers only, keep the chosen heads, and derive the views
// (rollout, per-head entropy, distance, special-token share). Plain structs out, no Qt, no
// exception. Dimension letters: L captured layers, H selected heads, T tokens.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/analysis/attention_views.h"
#include "engine/api/generate.h"
#include "engine/core/status.h"

namespace lw::api {

// Capture memory allowed when a request names none: generous for hundreds of tokens on a
// 12-layer model (256 tokens x 12 layers x 12 heads is 36 MiB), refusing only the absurd.
constexpr uint64_t kDefaultAttentionBudget = 2ull << 30;

// A loaded folder plus the shape facts the capture needs before it runs.
struct AttentionModel {
  std::unique_ptr<PlaygroundModel> pm;
  std::string architecture;                 // "GPT2LMHeadModel", "BertForMaskedLM", ...
  int64_t n_layer = 0;                      // all layers of the model
  int64_t n_head = 0;                       // query heads per layer
  int64_t max_positions = 0;                // longest input the model takes
  bool causal = false;                      // decoder: a query sees only keys at or before it
  std::vector<int32_t> config_special_ids;  // bos/eos/cls/sep ids of config.json (no tokenizer)
};

Result<std::unique_ptr<AttentionModel>> load_attention_model(
    const std::string& dir, const PlaygroundLoadOptions& opts = {});

struct AttentionRequest {
  std::string text;                     // encoded with the folder's tokenizer when ids is empty
  std::vector<int32_t> ids;             // [T] token ids; used instead of text when not empty
  std::vector<uint8_t> key_valid;       // [T] with ids: 1 = token, 0 = padding; empty = all real
  std::vector<int32_t> token_type_ids;  // [T] with ids (BERT segments); empty = all 0
  std::vector<int64_t> layers;          // layers to capture, ascending; empty = all
  std::vector<int64_t> heads;           // heads to keep, ascending; empty = all
  // Ids counted as special (labels, special share); empty = the tokenizer's special tokens,
  // or config.json's bos/eos/cls/sep ids when the folder has no tokenizer.
  std::vector<int32_t> special_ids;
  uint64_t memory_budget_bytes = 0;  // 0 = kDefaultAttentionBudget
};

struct AttentionCapture {
  std::string architecture;
  bool causal = false;
  int64_t model_layers = 0, model_heads = 0;  // the model's full shape
  std::vector<int64_t> layers;                // [L] model layer index of each captured slice
  std::vector<int64_t> heads;                 // [H] model head index of each kept head
  int64_t n_tok = 0;                          // T
  std::vector<int32_t> ids;                   // [T]
  std::vector<std::string>
      tokens;  // [T] labels: "Ġhello" shown as " hello"; "#17" without a tokenizer
  std::vector<uint8_t> special;    // [T] 1 = special token
  std::vector<uint8_t> key_valid;  // [T] 1 = real token, 0 = padding
  std::vector<float> probs;        // [L, H, T, T] rows = queries, columns = keys

  // Derived over the captured layers (in order) and kept heads.
  AttentionRollout rollout;  // [L, T, T]
  HeadMetric entropy;        // [L, H] nats
  HeadMetric distance;       // [L, H] tokens
  HeadMetric special_share;  // [L, H]

  uint64_t capture_bytes = 0;  // what the memory check counted
  double encode_ms = 0, capture_ms = 0, views_ms = 0;

  int64_t n_layer() const { return int64_t(layers.size()); }
  int64_t n_head() const { return int64_t(heads.size()); }
  // Probability of query q on key k in captured layer slice li and kept head slice hi.
  float at(int64_t li, int64_t hi, int64_t q, int64_t k) const {
    return probs[size_t(((li * n_head() + hi) * n_tok + q) * n_tok + k)];
  }
  // True where the model cannot attend: padding keys, and keys after the query when causal.
  bool masked(int64_t q, int64_t k) const { return !key_valid[size_t(k)] || (causal && k > q); }
  // Mean over kept heads of one captured layer, [T, T].
  std::vector<float> head_average(int64_t li) const;
};

// Tokenizes (or takes ids), checks sizes, layer and head indices and memory, captures and
// derives. Errors name the field: "layer 7 is out of range: the model has 2 layers (0-1)",
// "a 4096-token input needs 9.0 GiB ...; the largest that fits in 2.0 GiB is 1930 tokens".
Result<AttentionCapture> capture_attention(AttentionModel& m, const AttentionRequest& req);

// Parses "0,3-5" into ascending unique indices; `what` names the list in errors ("--layers").
Result<std::vector<int64_t>> parse_index_list(const std::string& text, const std::string& what);

}  // namespace lw::api
