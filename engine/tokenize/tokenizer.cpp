// Shared pieces of the Tokenizer interface: kind names, character offsets and
// the special-token test every implementation uses.
#include "engine/tokenize/tokenizer.h"

#include "engine/tokenize/unicode.h"

namespace lw {

const char* tokenizer_kind_name(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::kWordPiece: return "wordpiece";
    case TokenizerKind::kByteLevelBpe: return "byte-level-bpe";
    case TokenizerKind::kBpe: return "bpe";
    case TokenizerKind::kSentencePiece: return "sentencepiece";
  }
  return "unknown";
}

std::vector<TokenOffset> Encoding::char_offsets(std::string_view text, std::string_view pair_text) const {
  std::vector<TokenOffset> first, second;
  std::vector<size_t> where_first, where_second;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (i < sequence_ids.size() && sequence_ids[i] == 1) {
      second.push_back(offsets[i]);
      where_second.push_back(i);
    } else {
      first.push_back(offsets[i]);
      where_first.push_back(i);
    }
  }
  std::vector<TokenOffset> out(offsets.size());
  auto a = unicode::byte_to_char_offsets(text, first);
  for (size_t k = 0; k < a.size(); ++k) out[where_first[k]] = a[k];
  auto b = unicode::byte_to_char_offsets(pair_text, second);
  for (size_t k = 0; k < b.size(); ++k) out[where_second[k]] = b[k];
  return out;
}

bool Tokenizer::is_special(int32_t id) const {
  for (const AddedToken& a : added_)
    if (a.id == id && a.special) return true;
  const SpecialTokens& s = special_;
  return id >= 0 && (id == s.bos || id == s.eos || id == s.unk || id == s.pad || id == s.cls ||
                     id == s.sep || id == s.mask);
}

}  // namespace lw
