// Derived attention views computed from captured probabilities of one sequence:
// attention rollout (Abnar & Zuidema 2020) and per-head statistics (entropy,
// average attention distance, share of attention on special tokens). Plain
// functions on plain arrays, so the CLI, the GUI and the golden checks share them.
// Dimension letters: L layers, H heads, T tokens (query rows, key columns).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/status.h"

namespace lw {

// Borrowed view of one sequence's attention probabilities.
struct AttentionProbs {
  std::span<const float> probs;      // [L, H, T, T] row-major; rows (query) sum to 1
  int64_t n_layer = 0;               // L
  int64_t n_head = 0;                // H
  int64_t n_tok = 0;                 // T
  std::span<const uint8_t> key_valid;  // [T] 1 = real token, 0 = padding; empty = all real
  std::span<const uint8_t> special;    // [T] 1 = special token ([CLS], [SEP], <|endoftext|>); may be empty
};

// Rollout after each layer: entry l is A_l' · … · A_1' where A' is the head
// average plus the identity, rows renormalised over real keys. Padding
// positions keep an identity row so they never leak into real tokens.
struct AttentionRollout {
  int64_t n_layer = 0;        // L
  int64_t n_tok = 0;          // T
  std::vector<float> values;  // [L, T, T]; the last layer's slice is the full rollout
  // The full rollout through all layers, [T, T].
  std::span<const float> final_rollout() const {
    return std::span<const float>(values).subspan(static_cast<size_t>((n_layer - 1) * n_tok * n_tok));
  }
};

// One number per head.
struct HeadMetric {
  int64_t n_layer = 0;        // L
  int64_t n_head = 0;         // H
  std::vector<double> values;  // [L, H]
  double at(int64_t layer, int64_t head) const { return values[static_cast<size_t>(layer * n_head + head)]; }
};

// Checks sizes, finiteness, range, that every real query row sums to 1 within
// 1e-3 and puts at most 1e-3 on padding keys. Every function below calls it.
Status validate_attention_probs(const AttentionProbs& in);

Result<AttentionRollout> attention_rollout(const AttentionProbs& in);
// Mean over real query rows of -sum_j p_ij ln p_ij (nats).
Result<HeadMetric> head_entropy(const AttentionProbs& in);
// Mean over real query rows of sum_j p_ij |i - j| (in tokens).
Result<HeadMetric> head_attention_distance(const AttentionProbs& in);
// Mean over real query rows of the probability on special keys; needs `special`.
Result<HeadMetric> head_special_share(const AttentionProbs& in);

}  // namespace lw
