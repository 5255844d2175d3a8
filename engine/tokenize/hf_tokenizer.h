// HfTokenizer: the Hugging Face tokenizers pipeline (added tokens, normalizer,
// pre-tokenizer, BPE or WordPiece model, post-processor, decoder) behind the
// Tokenizer interface. tokenizer.json, vocab.txt and vocab.json+merges.txt all
// load into it, so the three sources share one tested implementation.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/tokenize/hf_pipeline.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/tokenize/vocab_model.h"

namespace lw {

struct HfTokenizerConfig {
  TokenizerKind kind = TokenizerKind::kBpe;
  std::string source;  // file the tokenizer came from, for describe() and errors
  std::unique_ptr<VocabModel> model;
  std::vector<AddedToken> added;
  std::vector<hf::NormalizerStep> normalizer;
  std::vector<hf::PreTokenizerStep> pre_tokenizer;
  bool has_decoder = true;  // without one, tokens are joined with spaces
  std::vector<hf::DecoderStep> decoder;
  hf::PostProcessor post;
  SpecialTokens special;
};

class HfTokenizer : public Tokenizer {
 public:
  static Result<std::unique_ptr<HfTokenizer>> create(HfTokenizerConfig config);

  TokenizerKind kind() const override { return c_.kind; }
  std::string describe() const override;
  Result<Encoding> encode(std::string_view text, bool add_special_tokens) const override;
  Result<Encoding> encode_pair(std::string_view a, std::string_view b,
                               bool add_special_tokens) const override;
  Result<std::string> decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;

 private:
  struct Match {
    int added;  // index into added_, or -1 for plain text
    size_t begin, end;
  };
  explicit HfTokenizer(HfTokenizerConfig c) : c_(std::move(c)) {}
  // Leftmost-longest matches of the added tokens with normalized == want_normalized.
  std::vector<Match> find_added(std::string_view text, bool want_normalized) const;
  Status encode_one(std::string_view text, int8_t sequence, Encoding* out) const;
  void encode_chunk(NormalizedString chunk, Encoding* out) const;
  void push_added(const AddedToken& t, size_t begin, size_t end, Encoding* out) const;
  void post_process(const Encoding* a, const Encoding* b, bool add_special, Encoding* out) const;
  void trim_byte_level_offsets(Encoding* e) const;

  HfTokenizerConfig c_;
  int32_t vocab_size_ = 0;
  bool any_normalized_added_ = false;
  std::array<std::vector<int>, 256> added_by_first_byte_;  // longest first
  std::unordered_map<int32_t, int> added_by_id_;            // id -> index into added_
  std::unordered_map<std::string, int> added_by_content_;
};

}  // namespace lw
