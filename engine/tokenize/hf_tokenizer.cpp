// The Hugging Face pipeline run end to end. Added tokens are found first in the
// raw text (and, for normalized ones, in each normalized chunk) with leftmost-
// longest matching; the rest is normalized, pre-tokenized and given to the model.
// Offsets come from the NormalizedString alignment, so they are byte spans of
// the caller's text whatever the normalizer did.
#include "engine/tokenize/hf_tokenizer.h"

#include <algorithm>
#include <cstring>

namespace lw {

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::create(HfTokenizerConfig config) {
  LW_CHECK(config.model != nullptr, config.source + ": no model");
  std::unique_ptr<HfTokenizer> t(new HfTokenizer(std::move(config)));
  t->added_ = t->c_.added;
  t->special_ = t->c_.special;
  t->vocab_size_ = int32_t(t->c_.model->vocab().to_token.size());
  for (size_t i = 0; i < t->added_.size(); ++i) {
    const AddedToken& a = t->added_[i];
    LW_CHECK(!a.content.empty(), t->c_.source + ": added token " + std::to_string(a.id) + " is empty");
    LW_CHECK(a.id >= 0 && a.id < (1 << 24),
             t->c_.source + ": added token '" + a.content + "' has id " + std::to_string(a.id));
    LW_CHECK(unicode::find_invalid_utf8(a.content) == std::string::npos,
             t->c_.source + ": added token " + std::to_string(a.id) + " is not valid UTF-8");
    t->vocab_size_ = std::max(t->vocab_size_, a.id + 1);
    t->any_normalized_added_ |= a.normalized;
    t->added_by_first_byte_[uint8_t(a.content[0])].push_back(int(i));
    t->added_by_id_.emplace(a.id, int(i));
    t->added_by_content_.emplace(a.content, int(i));
  }
  for (auto& list : t->added_by_first_byte_)
    std::stable_sort(list.begin(), list.end(), [&](int x, int y) {
      return t->added_[x].content.size() > t->added_[y].content.size();
    });
  return t;
}

std::string HfTokenizer::describe() const {
  return std::string(tokenizer_kind_name(c_.kind)) + " from " + c_.source + ", " +
         std::to_string(vocab_size_) + " tokens (" + std::to_string(added_.size()) + " added)";
}

namespace {
bool is_word_char(char32_t c) { return c == '_' || unicode::is_letter(c) || unicode::is_number(c); }
char32_t last_char(std::string_view s) {
  size_t p = s.size() - 1;
  while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
  return unicode::decode_utf8(s, p).first;
}
}  // namespace

std::vector<HfTokenizer::Match> HfTokenizer::find_added(std::string_view text, bool want_normalized) const {
  std::vector<Match> out;
  size_t start_offset = 0;
  for (size_t i = 0; i < text.size();) {
    int hit = -1;
    for (int idx : added_by_first_byte_[uint8_t(text[i])]) {
      const AddedToken& a = added_[idx];
      if (a.normalized != want_normalized) continue;
      if (text.compare(i, a.content.size(), a.content) == 0) {
        hit = idx;
        break;  // longest first
      }
    }
    if (hit < 0) {
      ++i;
      continue;
    }
    const AddedToken& a = added_[hit];
    size_t b = i, e = i + a.content.size();
    if (a.single_word) {
      bool left_ok = b == 0 || !is_word_char(last_char(text.substr(0, b)));
      bool right_ok = e == text.size() || !is_word_char(unicode::decode_utf8(text, e).first);
      if (!left_ok || !right_ok) {
        ++i;
        continue;
      }
    }
    if (a.lstrip) {
      while (b > start_offset) {
        size_t p = b - 1;
        while (p > start_offset && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
        if (!unicode::is_white_space(unicode::decode_utf8(text, p).first)) break;
        b = p;
      }
    }
    if (a.rstrip) {
      while (e < text.size()) {
        auto [c, n] = unicode::decode_utf8(text, e);
        if (!unicode::is_white_space(c)) break;
        e += n;
      }
    }
    if (start_offset < b) out.push_back({-1, start_offset, b});
    out.push_back({hit, b, e});
    start_offset = i = e;
  }
  if (start_offset < text.size() || text.empty()) out.push_back({-1, start_offset, text.size()});
  return out;
}

void HfTokenizer::push_added(const AddedToken& t, size_t begin, size_t end, Encoding* out) const {
  out->ids.push_back(t.id);
  out->offsets.emplace_back(begin, end);
  out->special_mask.push_back(t.special ? 1 : 0);
}

void HfTokenizer::encode_chunk(NormalizedString chunk, Encoding* out) const {
  hf::normalize(c_.normalizer, &chunk);
  std::vector<ModelToken> tokens;
  const hf::WordSink run_model = [&](NormalizedString&& word) {
    tokens.clear();
    c_.model->tokenize(word.str(), &tokens);
    for (const ModelToken& t : tokens) {
      ByteSpan span = word.original_span(t.begin, t.end);
      out->ids.push_back(t.id);
      out->offsets.emplace_back(span.begin, span.end);
      out->special_mask.push_back(0);
    }
  };
  if (!any_normalized_added_) {
    hf::pre_tokenize(c_.pre_tokenizer, std::move(chunk), run_model);
    return;
  }
  for (const Match& m : find_added(chunk.str(), true)) {
    if (m.added >= 0) {
      ByteSpan span = chunk.original_span(m.begin, m.end);
      push_added(added_[m.added], span.begin, span.end, out);
    } else if (m.end > m.begin) {
      hf::pre_tokenize(c_.pre_tokenizer, chunk.slice(m.begin, m.end), run_model);
    }
  }
}

Status HfTokenizer::encode_one(std::string_view text, int8_t sequence, Encoding* out) const {
  LW_CHECK(text.size() < (size_t(1) << 31), "text of " + std::to_string(text.size()) +
                                                " bytes is too long to tokenize at once (2 GiB max)");
  size_t bad = unicode::find_invalid_utf8(text);
  LW_CHECK(bad == std::string_view::npos,
           "text is not valid UTF-8 at byte " + std::to_string(bad));
  for (const Match& m : find_added(text, false)) {
    if (m.added >= 0) {
      push_added(added_[m.added], m.begin, m.end, out);
    } else if (m.end > m.begin) {
      encode_chunk(NormalizedString(text.substr(m.begin, m.end - m.begin), m.begin), out);
    }
  }
  out->type_ids.assign(out->ids.size(), 0);
  out->sequence_ids.assign(out->ids.size(), sequence);
  return Status::ok();
}

void HfTokenizer::post_process(const Encoding* a, const Encoding* b, bool add_special,
                               Encoding* out) const {
  auto append = [&](const Encoding& e, int32_t type_id) {
    out->ids.insert(out->ids.end(), e.ids.begin(), e.ids.end());
    out->offsets.insert(out->offsets.end(), e.offsets.begin(), e.offsets.end());
    out->sequence_ids.insert(out->sequence_ids.end(), e.sequence_ids.begin(), e.sequence_ids.end());
    out->special_mask.insert(out->special_mask.end(), e.special_mask.begin(), e.special_mask.end());
    out->type_ids.insert(out->type_ids.end(), e.ids.size(), type_id);
  };
  if (!add_special) {
    append(*a, 0);
    if (b) append(*b, 0);
    return;
  }
  for (const hf::TemplatePiece& p : b ? c_.post.pair : c_.post.single) {
    if (p.sequence >= 0) {
      append(p.sequence == 0 ? *a : *b, p.type_id);
      continue;
    }
    for (int32_t id : p.ids) {
      out->ids.push_back(id);
      out->offsets.emplace_back(0, 0);
      out->sequence_ids.push_back(-1);
      out->special_mask.push_back(1);
      out->type_ids.push_back(p.type_id);
    }
  }
}

// The ByteLevel post-processor with trim_offsets: offsets stop covering the
// leading and trailing spaces ('Ġ' or white space) of each token.
void HfTokenizer::trim_byte_level_offsets(Encoding* e) const {
  static const std::string kSpace = hf::byte_to_unicode(' ');
  for (size_t i = 0; i < e->ids.size(); ++i) {
    auto tok = id_to_token(e->ids[i]);
    if (!tok || e->sequence_ids[i] < 0) continue;
    std::vector<char32_t> chars;
    for (size_t p = 0; p < tok->size();) {
      auto [c, n] = unicode::decode_utf8(*tok, p);
      chars.push_back(c);
      p += n;
    }
    auto is_space = [](char32_t c) { return c == 0x120 || unicode::is_white_space(c); };
    size_t lead = 0, trail = 0;
    while (lead < chars.size() && is_space(chars[lead])) ++lead;
    while (trail < chars.size() && is_space(chars[chars.size() - 1 - trail])) ++trail;
    auto& [b, en] = e->offsets[i];
    if (lead > 0) {
      bool first = i == 0 || b == 0;
      if (first && c_.post.byte_level_add_prefix_space && lead == 1) lead = 0;
      b = std::min(b + lead, en);
    }
    if (trail > 0 && en >= trail) en = std::max(en - trail, b);
  }
}

Result<Encoding> HfTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  Encoding a, out;
  LW_TRY(encode_one(text, 0, &a));
  post_process(&a, nullptr, add_special_tokens, &out);
  if (c_.post.byte_level_trim_offsets) trim_byte_level_offsets(&out);
  return out;
}

Result<Encoding> HfTokenizer::encode_pair(std::string_view text_a, std::string_view text_b,
                                          bool add_special_tokens) const {
  Encoding a, b, out;
  LW_TRY(encode_one(text_a, 0, &a));
  LW_TRY(encode_one(text_b, 1, &b));
  post_process(&a, &b, add_special_tokens, &out);
  if (c_.post.byte_level_trim_offsets) trim_byte_level_offsets(&out);
  return out;
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  auto it = added_by_content_.find(std::string(token));
  if (it != added_by_content_.end()) return added_[it->second].id;
  return c_.model->vocab().find(token);
}

std::optional<std::string> HfTokenizer::id_to_token(int32_t id) const {
  auto it = added_by_id_.find(id);
  if (it != added_by_id_.end()) return added_[it->second].content;
  const auto& v = c_.model->vocab().to_token;
  if (id < 0 || size_t(id) >= v.size() || v[id].empty()) return std::nullopt;
  return v[id];
}

Result<std::string> HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    auto it = added_by_id_.find(id);
    bool special = it != added_by_id_.end() && added_[it->second].special;
    if (skip_special_tokens && special) continue;
    auto tok = id_to_token(id);
    LW_CHECK(tok.has_value(), "cannot decode id " + std::to_string(id) + ": not in the vocabulary of " +
                                  std::to_string(vocab_size_) + " tokens");
    tokens.push_back(std::move(*tok));
  }
  if (!c_.has_decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  return hf::decode_tokens(c_.decoder, std::move(tokens));
}

}  // namespace lw
