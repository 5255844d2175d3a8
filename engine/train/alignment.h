// Word <-> sub-word alignment for token classification, independent of any tokenizer: the
// caller passes byte spans of the words in a text and the byte offsets each token covers
// (what a tokenizer's offset mapping gives). The first sub-token of a word carries the
// word's label, the rest get ignore_index (-100, as transformers does), and predictions
// go back from the first sub-tokens to the words. Also the truncation report.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw::train {

inline constexpr int kIgnoreIndex = -100;

// Byte span [begin, end) in a text. Special tokens ([CLS], padding) have begin == end.
struct Span {
  int64_t begin = 0, end = 0;
  bool empty() const { return end <= begin; }
  bool operator==(const Span&) const = default;
};

// Words joined by single spaces, and each word's span in the result: how a CoNLL sentence
// becomes text for a tokenizer that returns offsets.
struct JoinedWords {
  std::string text;
  std::vector<Span> spans;
};
JoinedWords join_words(const std::vector<std::string>& words);

struct WordAlignment {
  std::vector<int> token_word;        // [n_tokens] word index of each token, -1: none (special)
  std::vector<int> word_first_token;  // [n_words] first token of each word, -1: none (truncated)
  int words_without_token = 0;        // words that lost every token (truncation)
};

// Assigns every token to the first word it overlaps by at least one byte. Word spans must
// be non-empty, sorted and disjoint; token spans must not go backwards (special tokens
// aside). Errors say which word or token is at fault.
Result<WordAlignment> align_words(const std::vector<Span>& words, const std::vector<Span>& tokens);

// [n_tokens] label ids: word_labels[w] on the first token of word w, ignore_index on the
// other tokens and on special tokens.
Result<std::vector<int>> token_labels(const WordAlignment& a, const std::vector<int>& word_labels,
                                      int ignore_index = kIgnoreIndex);

// [n_words] the prediction of each word's first token; `missing` for words without a token.
Result<std::vector<int>> word_predictions(const WordAlignment& a,
                                          const std::vector<int>& token_preds, int missing);

// How many examples a max length cuts, from each example's token count (with special tokens).
struct TruncationReport {
  int64_t n_examples = 0;
  int64_t max_length = 0;
  int64_t n_truncated = 0;     // examples with more than max_length tokens
  int64_t tokens_dropped = 0;  // sum over examples of (count - max_length) where positive
  int64_t longest = 0;
  std::vector<int64_t>
      first_truncated;  // indexes of the first (up to 20) cut examples, to show them
  double fraction_truncated() const {
    return n_examples ? double(n_truncated) / double(n_examples) : 0.0;
  }
  std::string describe() const;  // "12 of 700 examples (1.7%) are longer than 128 tokens ..."
};
TruncationReport count_truncation(const std::vector<int64_t>& token_counts, int64_t max_length);

}  // namespace lw::train
