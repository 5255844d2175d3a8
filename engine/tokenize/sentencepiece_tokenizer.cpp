// SentencePiece .model files through the SentencePiece library itself, so ids
// are the library's by construction. The library reports byte spans for each
// piece; bos/eos are added the way transformers' LlamaTokenizer adds them
// (add_bos_token / add_eos_token from tokenizer_config.json, default bos only).
#include <sentencepiece_processor.h>

#include "engine/tokenize/loaders.h"

namespace lw {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(std::string source, bool add_bos, bool add_eos)
      : source_(std::move(source)), add_bos_(add_bos), add_eos_(add_eos) {}

  Status load(const std::string& bytes) {
    auto st = sp_.LoadFromSerializedProto(bytes);
    if (!st.ok())
      return invalid_argument(source_ + ": not a valid SentencePiece model (" + st.ToString() + ")");
    LW_CHECK(sp_.GetPieceSize() > 0, source_ + ": SentencePiece model has no pieces");
    special_.bos = sp_.bos_id();
    special_.eos = sp_.eos_id();
    special_.unk = sp_.unk_id();
    special_.pad = sp_.pad_id();
    for (int32_t id : {special_.bos, special_.eos, special_.unk}) {
      if (id < 0) continue;
      AddedToken t;
      t.content = sp_.IdToPiece(id);
      t.id = id;
      t.special = true;
      added_.push_back(t);  // listed for callers; the library never matches them in text
    }
    add_bos_ = add_bos_ && special_.bos >= 0;
    add_eos_ = add_eos_ && special_.eos >= 0;
    return Status::ok();
  }

  TokenizerKind kind() const override { return TokenizerKind::kSentencePiece; }
  std::string describe() const override {
    return std::string("sentencepiece from ") + source_ + ", " + std::to_string(vocab_size()) + " tokens";
  }

  Result<Encoding> encode(std::string_view text, bool add_special_tokens) const override {
    Encoding e;
    LW_TRY(encode_into(text, 0, add_special_tokens, &e));
    return e;
  }

  Result<Encoding> encode_pair(std::string_view a, std::string_view b, bool add_special_tokens) const override {
    Encoding e;
    LW_TRY(encode_into(a, 0, add_special_tokens, &e));
    LW_TRY(encode_into(b, 1, add_special_tokens, &e));
    return e;
  }

  Result<std::string> decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override {
    std::vector<int> kept;
    kept.reserve(ids.size());
    for (int32_t id : ids) {
      LW_CHECK(id >= 0 && id < vocab_size(), "cannot decode id " + std::to_string(id) +
                                                 ": not in the vocabulary of " + std::to_string(vocab_size()) +
                                                 " tokens");
      if (skip_special_tokens && (sp_.IsControl(id) || sp_.IsUnknown(id))) continue;
      kept.push_back(id);
    }
    std::string out;
    auto st = sp_.Decode(kept, &out);
    if (!st.ok()) return internal_error(source_ + ": decode failed (" + st.ToString() + ")");
    return out;
  }

  int32_t vocab_size() const override { return sp_.GetPieceSize(); }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    int id = sp_.PieceToId(token);
    // PieceToId answers unk for unknown pieces; only the unk piece itself maps to it.
    if (id == sp_.unk_id() && sp_.IdToPiece(id) != token) return std::nullopt;
    return id;
  }
  std::optional<std::string> id_to_token(int32_t id) const override {
    if (id < 0 || id >= vocab_size()) return std::nullopt;
    return sp_.IdToPiece(id);
  }

 private:
  Status encode_into(std::string_view text, int8_t sequence, bool add_special, Encoding* e) const {
    size_t bad = unicode::find_invalid_utf8(text);
    LW_CHECK(bad == std::string_view::npos, "text is not valid UTF-8 at byte " + std::to_string(bad));
    int32_t type_id = sequence;
    auto push_special = [&](int32_t id) {
      e->ids.push_back(id);
      e->offsets.emplace_back(0, 0);
      e->type_ids.push_back(type_id);
      e->sequence_ids.push_back(-1);
      e->special_mask.push_back(1);
    };
    if (add_special && add_bos_) push_special(special_.bos);
    sentencepiece::ImmutableSentencePieceText spt;
    auto st = sp_.Encode(text, spt.mutable_proto());
    if (!st.ok()) return internal_error(source_ + ": encode failed (" + st.ToString() + ")");
    for (const auto& p : spt.pieces()) {
      e->ids.push_back(int32_t(p.id()));
      e->offsets.emplace_back(p.begin(), p.end());
      e->type_ids.push_back(type_id);
      e->sequence_ids.push_back(sequence);
      e->special_mask.push_back(0);
    }
    if (add_special && add_eos_) push_special(special_.eos);
    return Status::ok();
  }

  std::string source_;
  bool add_bos_, add_eos_;
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

namespace tokenize_io {
Result<std::unique_ptr<Tokenizer>> load_sentencepiece(const std::string& path, const TokenizerConfigFile& cfg) {
  LW_ASSIGN_OR_RETURN(std::string bytes, read_file(path, size_t(1) << 30));
  auto t = std::make_unique<SentencePieceTokenizer>(path, cfg.add_bos_token.value_or(true),
                                                    cfg.add_eos_token.value_or(false));
  LW_TRY(t->load(bytes));
  return std::unique_ptr<Tokenizer>(std::move(t));
}
}  // namespace tokenize_io

}  // namespace lw
