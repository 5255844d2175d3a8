// Normalizer steps of the Hugging Face pipeline. BertNormalizer follows the
// tokenizers crate: clean text (drop NUL, U+FFFD and "other" controls except
// \t\n\r; white space becomes ' '), space out CJK ideographs, strip accents
// (NFD then drop Mn), lower-case, in that order.
#include <variant>

#include "engine/tokenize/hf_pipeline.h"

namespace lw::hf {
namespace {

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return unicode::is_other(c);
}

bool is_bert_whitespace(char32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || unicode::is_white_space(c);
}

// All four BERT steps are per code point, so one pass does them in order.
void apply(const BertNormalizer& n, NormalizedString* s) {
  s->map_chars([&n](char32_t c, std::u32string* out) {
    if (c < 0x80) {  // ASCII: no CJK, no accents
      if (n.clean_text && (c == 0 || is_bert_control(c))) return;
      if (n.clean_text && is_bert_whitespace(c)) c = U' ';
      out->push_back(n.lowercase && c >= 'A' && c <= 'Z' ? c + 32 : c);
      return;
    }
    if (n.clean_text) {
      if (c == 0xFFFD || is_bert_control(c)) return;
      if (is_bert_whitespace(c)) c = U' ';
    }
    std::u32string chars(1, c);
    if (n.handle_chinese_chars && is_chinese_char(c)) chars = {U' ', c, U' '};
    if (n.strip_accents) {
      std::u32string d;
      for (char32_t x : chars) unicode::append_nfd(x, &d);
      chars.clear();
      for (char32_t x : d)
        if (!unicode::is_nonspacing_mark(x)) chars.push_back(x);
    }
    if (!n.lowercase) {
      out->append(chars);
      return;
    }
    for (char32_t x : chars) unicode::append_lower(x, out);
  });
}

struct Apply {
  NormalizedString* s;
  void operator()(const BertNormalizer& n) const { apply(n, s); }
  void operator()(const Lowercase&) const {
    s->map_chars([](char32_t c, std::u32string* out) { unicode::append_lower(c, out); });
  }
  void operator()(const Nfd&) const {
    s->map_chars([](char32_t c, std::u32string* out) { unicode::append_nfd(c, out); });
  }
  void operator()(const StripAccents&) const {
    s->map_chars([](char32_t c, std::u32string* out) {
      if (!unicode::is_nonspacing_mark(c)) out->push_back(c);
    });
  }
  void operator()(const Prepend& p) const { s->prepend(p.prepend); }
  void operator()(const Replace& r) const { s->replace_all(r.pattern, r.content); }
  void operator()(const Strip& st) const {
    const std::string& t = s->str();
    size_t b = 0, e = t.size();
    while (st.left && b < e) {
      auto [c, n] = unicode::decode_utf8(t, b);
      if (!unicode::is_white_space(c)) break;
      b += n;
    }
    while (st.right && e > b) {
      size_t p = e - 1;
      while (p > b && (static_cast<unsigned char>(t[p]) & 0xC0) == 0x80) --p;
      if (!unicode::is_white_space(unicode::decode_utf8(t, p).first)) break;
      e = p;
    }
    if (b != 0 || e != t.size()) *s = s->slice(b, e);
  }
};

}  // namespace

void normalize(const std::vector<NormalizerStep>& steps, NormalizedString* s) {
  for (const auto& step : steps) std::visit(Apply{s}, step);
}

}  // namespace lw::hf
