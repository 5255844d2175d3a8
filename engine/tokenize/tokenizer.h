// The tokenizer interface the engine, the trainer and the CLI use, and the
// factory that loads one from a model folder or a file. Kinds: WordPiece (BERT),
// byte-level BPE (GPT-2), BPE with byte fallback (LLaMA tokenizer.json), and
// SentencePiece .model files through the SentencePiece library. Ids are equal to
// Hugging Face tokenizers / sentencepiece id for id (tests/golden/tokenizers).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/status.h"

namespace lw {

// [begin, end) in UTF-8 BYTES of the text that was encoded. Special tokens added
// by the post-processor get {0, 0}. Use unicode::byte_to_char_offsets (or
// Encoding::char_offsets) for character spans as Python strings count them.
using TokenOffset = std::pair<size_t, size_t>;

struct Encoding {
  std::vector<int32_t> ids;           // [T]
  std::vector<int32_t> type_ids;      // [T] 0 for the first text, 1 for the second (pairs)
  std::vector<TokenOffset> offsets;   // [T] byte spans into the text given by sequence_ids
  std::vector<int8_t> sequence_ids;   // [T] 0 or 1: which input text; -1: added special token
  std::vector<uint8_t> special_mask;  // [T] 1 for special tokens (added or matched in the text)
  size_t size() const { return ids.size(); }
  // Character (code point) offsets of every token, given the texts that were encoded.
  std::vector<TokenOffset> char_offsets(std::string_view text,
                                        std::string_view pair_text = {}) const;
};

// Ids of the well-known special tokens; -1 when the tokenizer has none.
struct SpecialTokens {
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, cls = -1, sep = -1, mask = -1;
};

// A token matched in the raw text before the model runs (as Hugging Face does).
struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;      // dropped by decode(skip_special_tokens)
  bool single_word = false;  // only matches as a whole word
  bool lstrip = false;       // swallows whitespace on its left
  bool rstrip = false;       // swallows whitespace on its right
  bool normalized = false;   // matched in the normalized text instead of the raw text
};

enum class TokenizerKind { kWordPiece, kByteLevelBpe, kBpe, kSentencePiece };
const char* tokenizer_kind_name(TokenizerKind kind);  // "wordpiece", "byte-level-bpe", ...

// All methods are const and safe to call from several threads at once (the BPE
// word cache is guarded by a mutex), so a data loader can share one tokenizer.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual TokenizerKind kind() const = 0;
  // One line for `llmwb model inspect`: kind, source file, vocabulary size.
  virtual std::string describe() const = 0;

  // Tokenizes text (UTF-8; invalid bytes are an error naming the byte offset).
  // add_special_tokens adds what the model's post-processor adds ([CLS]/[SEP], <s>).
  virtual Result<Encoding> encode(std::string_view text, bool add_special_tokens = true) const = 0;
  // A pair of texts (BERT: [CLS] a [SEP] b [SEP] with type ids 0 then 1).
  virtual Result<Encoding> encode_pair(std::string_view a, std::string_view b,
                                       bool add_special_tokens = true) const = 0;
  // Text for ids, as the reference library decodes them; an unknown id is an error.
  virtual Result<std::string> decode(const std::vector<int32_t>& ids,
                                     bool skip_special_tokens = true) const = 0;

  // Vocabulary size including added tokens (the embedding rows a model needs).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;

  const SpecialTokens& special_tokens() const { return special_; }
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  bool is_special(int32_t id) const;

 protected:
  SpecialTokens special_;
  std::vector<AddedToken> added_;
};

// Loads a tokenizer from a model folder or a file:
//   tokenizer.json              BPE (GPT-2 byte-level or LLaMA byte-fallback) or WordPiece
//   vocab.json + merges.txt     GPT-2 byte-level BPE
//   vocab.txt                   BERT WordPiece (casing from tokenizer_config.json / folder name)
//   tokenizer.model             SentencePiece (LLaMA-2 and friends)
// A folder prefers tokenizer.json, then vocab.json+merges.txt, vocab.txt, tokenizer.model.
// tokenizer_config.json beside the file supplies special tokens and casing.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path);

}  // namespace lw
