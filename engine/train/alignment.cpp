// Word/sub-word alignment and truncation accounting (see alignment.h). One merge-like sweep
// over words and tokens, both ordered by offset, so a sentence costs O(words + tokens).
#include "engine/train/alignment.h"

#include <algorithm>
#include <cstdio>

namespace lw::train {

JoinedWords join_words(const std::vector<std::string>& words) {
  JoinedWords j;
  for (const auto& w : words) {
    if (!j.text.empty()) j.text.push_back(' ');
    int64_t begin = int64_t(j.text.size());
    j.text += w;
    j.spans.push_back({begin, int64_t(j.text.size())});
  }
  return j;
}

Result<WordAlignment> align_words(const std::vector<Span>& words, const std::vector<Span>& tokens) {
  for (size_t w = 0; w < words.size(); ++w) {
    LW_CHECK(!words[w].empty() && words[w].begin >= 0,
             "alignment: word " + std::to_string(w) + " has an empty span");
    LW_CHECK(w == 0 || words[w].begin >= words[w - 1].end, "alignment: word " + std::to_string(w) +
                                                               " starts before word " +
                                                               std::to_string(w - 1) + " ends");
  }
  WordAlignment a;
  a.token_word.assign(tokens.size(), -1);
  a.word_first_token.assign(words.size(), -1);
  size_t w = 0;
  int64_t last_begin = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const Span& s = tokens[t];
    if (s.empty()) continue;  // special token
    LW_CHECK(s.begin >= last_begin, "alignment: token " + std::to_string(t) + " starts at byte " +
                                        std::to_string(s.begin) + ", before the previous token");
    last_begin = s.begin;
    while (w < words.size() && words[w].end <= s.begin) ++w;     // words entirely before the token
    if (w == words.size() || words[w].begin >= s.end) continue;  // the token covers only spaces
    a.token_word[t] = int(w);
    if (a.word_first_token[w] < 0) a.word_first_token[w] = int(t);
  }
  a.words_without_token = int(std::count(a.word_first_token.begin(), a.word_first_token.end(), -1));
  return a;
}

Result<std::vector<int>> token_labels(const WordAlignment& a, const std::vector<int>& word_labels,
                                      int ignore_index) {
  LW_CHECK(word_labels.size() == a.word_first_token.size(),
           "alignment: " + std::to_string(word_labels.size()) + " word labels for " +
               std::to_string(a.word_first_token.size()) + " words");
  std::vector<int> out(a.token_word.size(), ignore_index);
  for (size_t w = 0; w < word_labels.size(); ++w)
    if (a.word_first_token[w] >= 0) out[size_t(a.word_first_token[w])] = word_labels[w];
  return out;
}

Result<std::vector<int>> word_predictions(const WordAlignment& a,
                                          const std::vector<int>& token_preds, int missing) {
  LW_CHECK(token_preds.size() <= a.token_word.size(),
           "alignment: " + std::to_string(token_preds.size()) + " token predictions for " +
               std::to_string(a.token_word.size()) + " tokens");
  // Predictions may cover fewer tokens than the alignment (the model saw a truncated input).
  std::vector<int> out(a.word_first_token.size(), missing);
  for (size_t w = 0; w < out.size(); ++w) {
    int t = a.word_first_token[w];
    if (t >= 0 && size_t(t) < token_preds.size()) out[w] = token_preds[size_t(t)];
  }
  return out;
}

TruncationReport count_truncation(const std::vector<int64_t>& token_counts, int64_t max_length) {
  TruncationReport r;
  r.n_examples = int64_t(token_counts.size());
  r.max_length = max_length;
  for (size_t i = 0; i < token_counts.size(); ++i) {
    int64_t n = token_counts[i];
    r.longest = std::max(r.longest, n);
    if (n > max_length) {
      if (r.first_truncated.size() < 20) r.first_truncated.push_back(int64_t(i));
      r.n_truncated++;
      r.tokens_dropped += n - max_length;
    }
  }
  return r;
}

std::string TruncationReport::describe() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%lld of %lld examples (%.1f%%) are longer than %lld tokens and will be cut "
                "(%lld tokens dropped; the longest has %lld)",
                (long long)n_truncated, (long long)n_examples, 100.0 * fraction_truncated(),
                (long long)max_length, (long long)tokens_dropped, (long long)longest);
  return buf;
}

}  // namespace lw::train
