// The stages of a Hugging Face style tokenizer, as plain configuration values:
// normalizer steps, pre-tokenizer steps, decoder steps and the post-processor
// template. tokenizer_json.cpp fills them from tokenizer.json; the vocab.txt and
// vocab.json+merges.txt loaders fill them the way transformers' converters do.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "engine/tokenize/normalized_string.h"

namespace lw::hf {

// ---- normalizers
struct BertNormalizer {
  bool clean_text = true, handle_chinese_chars = true, strip_accents = true, lowercase = true;
};
struct Lowercase {};
struct Nfd {};
struct StripAccents {};  // removes Mn code points (run after NFD)
struct Prepend {
  std::string prepend;
};
struct Replace {
  std::string pattern, content;  // literal string pattern
};
struct Strip {
  bool left = true, right = true;
};
using NormalizerStep = std::variant<BertNormalizer, Lowercase, Nfd, StripAccents, Prepend, Replace, Strip>;
void normalize(const std::vector<NormalizerStep>& steps, NormalizedString* s);

// ---- pre-tokenizers
struct BertPreTokenizer {};  // split on white space, isolate punctuation
struct ByteLevel {
  bool add_prefix_space = false;
  bool use_regex = true;  // GPT-2's split pattern
};
struct Metaspace {
  std::string replacement = "\xE2\x96\x81";  // U+2581
  enum class Prepend { kAlways, kFirst, kNever } prepend_scheme = Prepend::kAlways;
  bool split = true;
};
struct WhitespaceSplit {};
using PreTokenizerStep = std::variant<BertPreTokenizer, ByteLevel, Metaspace, WhitespaceSplit>;
// Splits one normalized chunk into the words the model sees, handing each to sink.
using WordSink = std::function<void(NormalizedString&&)>;
void pre_tokenize(const std::vector<PreTokenizerStep>& steps, NormalizedString chunk, const WordSink& sink);
// GPT-2's split pattern on a UTF-8 string: [begin, end) byte ranges of the matches.
std::vector<std::pair<size_t, size_t>> gpt2_split(std::string_view text);
// GPT-2's byte <-> printable code point table.
const std::string& byte_to_unicode(uint8_t byte);  // UTF-8 of the mapped code point
int unicode_to_byte(char32_t cp);                  // -1 when cp is not a mapped byte

// ---- decoders
struct ByteLevelDecoder {};
struct WordPieceDecoder {
  std::string prefix = "##";
  bool cleanup = true;
};
struct ReplaceDecoder {
  std::string pattern, content;
};
struct ByteFallbackDecoder {};
struct FuseDecoder {};
struct StripDecoder {
  std::string content = " ";  // one code point
  size_t start = 0, stop = 0;
};
struct MetaspaceDecoder {
  std::string replacement = "\xE2\x96\x81";
  bool prepend = true;  // prepend_scheme != never: drop the first token's leading space
};
using DecoderStep = std::variant<ByteLevelDecoder, WordPieceDecoder, ReplaceDecoder,
                                 ByteFallbackDecoder, FuseDecoder, StripDecoder, MetaspaceDecoder>;
// Applies the chain to the token strings and joins the result (decode_chain + join).
std::string decode_tokens(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens);

// ---- post-processor
struct TemplatePiece {
  int sequence = -1;             // 0 = A, 1 = B, -1 = special tokens
  std::vector<int32_t> ids;      // the special token's ids
  int32_t type_id = 0;
};
struct PostProcessor {
  std::vector<TemplatePiece> single = {{0, {}, 0}};
  std::vector<TemplatePiece> pair = {{0, {}, 0}, {1, {}, 1}};
  bool byte_level_trim_offsets = false;  // ByteLevel processor with trim_offsets
  bool byte_level_add_prefix_space = false;
};

}  // namespace lw::hf
