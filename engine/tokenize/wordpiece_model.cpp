// WordPiece as BERT runs it: a word longer than max_input_chars_per_word, or
// one with any piece missing from the vocabulary, becomes a single [UNK];
// otherwise greedy longest-match-first, later pieces carrying the "##" prefix.
#include "engine/tokenize/unicode.h"
#include "engine/tokenize/vocab_model.h"

namespace lw {

Result<std::unique_ptr<WordPieceModel>> WordPieceModel::create(Vocab vocab, std::string unk_token,
                                                               std::string prefix, size_t max_chars,
                                                               const std::string& source) {
  std::unique_ptr<WordPieceModel> m(new WordPieceModel());
  m->vocab_ = std::move(vocab);
  auto unk = m->vocab_.find(unk_token);
  LW_CHECK(unk.has_value(), source + ": unk_token '" + unk_token + "' is not in the vocabulary");
  m->unk_id_ = *unk;
  m->prefix_ = std::move(prefix);
  m->max_chars_ = max_chars;
  return m;
}

void WordPieceModel::tokenize(std::string_view word, std::vector<ModelToken>* out) const {
  if (word.empty()) return;
  // Code point boundaries, so pieces never split a character.
  std::vector<uint32_t> bounds;
  for (size_t i = 0; i < word.size(); i += unicode::decode_utf8(word, i).second) {
    bounds.push_back(uint32_t(i));
    if (bounds.size() > max_chars_) {
      out->push_back({unk_id_, 0, uint32_t(word.size())});
      return;
    }
  }
  bounds.push_back(uint32_t(word.size()));
  const size_t n = bounds.size() - 1;
  std::vector<ModelToken> pieces;
  std::string candidate;
  for (size_t start = 0; start < n;) {
    size_t end = n;
    std::optional<int32_t> found;
    for (; end > start; --end) {
      candidate.clear();
      if (start > 0) candidate = prefix_;
      candidate.append(word.substr(bounds[start], bounds[end] - bounds[start]));
      if ((found = vocab_.find(candidate))) break;
    }
    if (!found) {
      out->push_back({unk_id_, 0, uint32_t(word.size())});
      return;
    }
    pieces.push_back({*found, bounds[start], bounds[end]});
    start = end;
  }
  out->insert(out->end(), pieces.begin(), pieces.end());
}

}  // namespace lw
