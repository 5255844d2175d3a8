// Internal to engine/tokenize: the readers behind load_tokenizer(). Each turns
// one file format into an HfTokenizerConfig (or a SentencePiece tokenizer), with
// errors that name the file and the field or line at fault.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/tokenize/hf_tokenizer.h"

namespace lw::tokenize_io {

// What tokenizer_config.json (beside the vocabulary) says, when present.
struct TokenizerConfigFile {
  std::optional<bool> do_lower_case, strip_accents, tokenize_chinese_chars, add_prefix_space;
  std::optional<bool> add_bos_token, add_eos_token;
  std::optional<std::string> bos, eos, unk, pad, cls, sep, mask;
};

// Reads a whole file, refusing more than max_bytes (bounded memory on bad input).
Result<std::string> read_file(const std::string& path, size_t max_bytes);
// Missing file: an empty config. Present but broken: an error naming it.
Result<TokenizerConfigFile> read_tokenizer_config(const std::string& folder);

Result<HfTokenizerConfig> parse_tokenizer_json(const std::string& path);
Result<HfTokenizerConfig> bert_from_vocab_txt(const std::string& path, const TokenizerConfigFile& cfg);
Result<HfTokenizerConfig> gpt2_from_vocab_merges(const std::string& vocab_path,
                                                 const std::string& merges_path,
                                                 const TokenizerConfigFile& cfg);
Result<std::unique_ptr<Tokenizer>> load_sentencepiece(const std::string& path,
                                                      const TokenizerConfigFile& cfg);

// Fills the well-known special ids from the config's names, else from common names.
SpecialTokens resolve_special_tokens(const TokenizerConfigFile& cfg,
                                     const std::function<std::optional<int32_t>(const std::string&)>& find);

}  // namespace lw::tokenize_io
