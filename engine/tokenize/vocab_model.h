// The subword models under the Hugging Face pipeline: BPE (merges by rank, with
// optional byte fallback, as GPT-2 and LLaMA use it) and WordPiece (greedy
// longest match first with a continuation prefix, as BERT uses it). A model
// turns one pre-tokenized word into ids with byte ranges inside that word.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/status.h"

namespace lw {

struct ModelToken {
  int32_t id;
  uint32_t begin, end;  // bytes of the word this token covers
};

// Token string <-> id, shared by both models. Ids may have gaps (checked on load).
struct Vocab {
  std::unordered_map<std::string, int32_t> to_id;
  std::vector<std::string> to_token;  // indexed by id; empty string for unused ids
  std::optional<int32_t> find(std::string_view token) const {
    auto it = to_id.find(std::string(token));
    if (it == to_id.end()) return std::nullopt;
    return it->second;
  }
  // Adds token with id, rejecting duplicate ids or tokens; `where` names the source.
  Status add(std::string token, int32_t id, const std::string& where);
};

class VocabModel {
 public:
  virtual ~VocabModel() = default;
  virtual void tokenize(std::string_view word, std::vector<ModelToken>* out) const = 0;
  const Vocab& vocab() const { return vocab_; }

 protected:
  Vocab vocab_;
};

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel : public VocabModel {
 public:
  // merges: pairs of token strings in rank order; `source` names the file for errors.
  static Result<std::unique_ptr<BpeModel>> create(
      Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
      BpeOptions options, const std::string& source);
  void tokenize(std::string_view word, std::vector<ModelToken>* out) const override;

 private:
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    uint32_t begin, len;
  };
  struct MergeTarget {
    int32_t rank, new_id;
  };
  void initial_symbols(std::string_view word, std::vector<Symbol>* symbols) const;
  void merge_all(std::vector<Symbol>* symbols) const;
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  BpeOptions opt_;
  std::optional<int32_t> unk_id_;
  std::unordered_map<uint64_t, MergeTarget> merges_;
  int32_t byte_ids_[256];  // <0xXX> tokens for byte fallback, -1 when absent
  // Word -> tokens cache for short words (GPT-2 style texts repeat words a lot).
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<ModelToken>> cache_;
};

class WordPieceModel : public VocabModel {
 public:
  static Result<std::unique_ptr<WordPieceModel>> create(Vocab vocab, std::string unk_token,
                                                        std::string prefix, size_t max_chars,
                                                        const std::string& source);
  void tokenize(std::string_view word, std::vector<ModelToken>* out) const override;

 private:
  int32_t unk_id_ = -1;
  std::string prefix_;
  size_t max_chars_ = 100;
};

}  // namespace lw
