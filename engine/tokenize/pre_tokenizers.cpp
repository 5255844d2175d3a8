// Pre-tokenizer steps: BERT's white space / punctuation split, GPT-2's byte-level
// split (its regex written out by hand over our Unicode tables, since \p{L} and
// \p{N} need Unicode data no standard regex has), Metaspace and WhitespaceSplit.
#include <array>
#include <cctype>
#include <variant>

#include "engine/tokenize/hf_pipeline.h"

namespace lw::hf {
namespace {

enum class Cls : uint8_t { kSpace, kLetter, kNumber, kOther };

Cls classify(char32_t c) {
  if (unicode::is_white_space(c)) return Cls::kSpace;
  if (unicode::is_letter(c)) return Cls::kLetter;
  if (unicode::is_number(c)) return Cls::kNumber;
  return Cls::kOther;
}

// The contractions 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2).
size_t contraction_at(std::string_view t, size_t i) {
  if (t[i] != '\'' || i + 1 >= t.size()) return 0;
  char a = t[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < t.size()) {
    char b = t[i + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

std::array<std::string, 256> make_byte_table() {
  // Printable bytes map to themselves; the rest to 256, 257, ... in byte order.
  std::array<std::string, 256> table;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    table[b] = unicode::to_utf8(printable ? char32_t(b) : char32_t(256 + n++));
  }
  return table;
}
const std::array<std::string, 256>& byte_table() {
  static const std::array<std::string, 256> table = make_byte_table();
  return table;
}

void split_bert(const NormalizedString& s, const WordSink& out) {
  const std::string& t = s.str();
  size_t word = std::string::npos;
  for (size_t i = 0; i < t.size();) {
    auto [c, n] = unicode::decode_utf8(t, i);
    bool space = unicode::is_white_space(c);
    bool punct = (c < 0x80 && std::ispunct(int(c))) || unicode::is_punctuation(c);
    if (space || punct) {
      if (word != std::string::npos) out(s.slice(word, i));
      word = std::string::npos;
      if (punct) out(s.slice(i, i + n));
    } else if (word == std::string::npos) {
      word = i;
    }
    i += n;
  }
  if (word != std::string::npos) out(s.slice(word, t.size()));
}

void split_whitespace(const NormalizedString& s, const WordSink& out) {
  const std::string& t = s.str();
  size_t word = std::string::npos;
  for (size_t i = 0; i < t.size();) {
    auto [c, n] = unicode::decode_utf8(t, i);
    if (unicode::is_white_space(c)) {
      if (word != std::string::npos) out(s.slice(word, i));
      word = std::string::npos;
    } else if (word == std::string::npos) {
      word = i;
    }
    i += n;
  }
  if (word != std::string::npos) out(s.slice(word, t.size()));
}

void byte_level(const ByteLevel& bl, NormalizedString s, const WordSink& out) {
  if (bl.add_prefix_space && !s.empty() && s.str()[0] != ' ') s.prepend(" ");
  auto map_bytes = [](std::string_view ch, std::string* dst) {
    for (unsigned char b : ch) *dst += byte_table()[b];
  };
  if (!bl.use_regex) {
    s.map_chars_to_bytes(map_bytes);
    if (!s.empty()) out(std::move(s));
    return;
  }
  for (auto [b, e] : gpt2_split(s.str())) {
    NormalizedString w = s.slice(b, e);
    w.map_chars_to_bytes(map_bytes);
    out(std::move(w));
  }
}

void metaspace(const Metaspace& m, NormalizedString s, const WordSink& out) {
  s.replace_all(" ", m.replacement);
  bool starts = s.str().compare(0, m.replacement.size(), m.replacement) == 0;
  if (!starts && (m.prepend_scheme == Metaspace::Prepend::kAlways ||
                  (m.prepend_scheme == Metaspace::Prepend::kFirst && s.original_begin() == 0)))
    s.prepend(m.replacement);
  if (s.empty()) return;
  if (!m.split) {
    out(std::move(s));
    return;
  }
  // Split before every replacement character, which stays with the word it starts.
  const std::string& t = s.str();
  size_t start = 0;
  for (size_t p = t.find(m.replacement, 1); p != std::string::npos; p = t.find(m.replacement, p + 1)) {
    if (p > start) out(s.slice(start, p));
    start = p;
  }
  out(s.slice(start, t.size()));
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return byte_table()[byte]; }

int unicode_to_byte(char32_t cp) {
  static const std::array<int, 324> inverse = [] {
    std::array<int, 324> inv;
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) inv[unicode::decode_utf8(byte_table()[b], 0).first] = b;
    return inv;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Every code point falls in one class, so matches tile the text; each alternative
// is tried in order at the current position, as the regex engine does.
std::vector<std::pair<size_t, size_t>> gpt2_split(std::string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  // Classes decoded once so the scan stays linear.
  std::vector<size_t> pos;
  std::vector<Cls> cls;
  for (size_t i = 0; i < t.size();) {
    auto [c, n] = unicode::decode_utf8(t, i);
    pos.push_back(i);
    cls.push_back(classify(c));
    i += n;
  }
  pos.push_back(t.size());
  const size_t n = cls.size();
  auto run_end = [&](size_t k, Cls c) {
    while (k < n && cls[k] == c) ++k;
    return k;
  };
  for (size_t k = 0; k < n;) {
    size_t end;
    if (size_t len = contraction_at(t, pos[k])) {
      end = k + len;  // contractions are ASCII: one code point per byte
    } else if (cls[k] != Cls::kSpace) {
      end = run_end(k, cls[k]);
    } else if (t[pos[k]] == ' ' && k + 1 < n && cls[k + 1] != Cls::kSpace) {
      end = run_end(k + 1, cls[k + 1]);  // " ?" joins the space to the run after it
    } else {
      size_t r = run_end(k, Cls::kSpace);
      // \s+(?!\S): leave the last space for the next word unless at the end.
      end = (r < n && r - k > 1) ? r - 1 : r;
    }
    out.emplace_back(pos[k], pos[end]);
    k = end;
  }
  return out;
}

namespace {
struct Apply {
  const WordSink& out;
  void operator()(const BertPreTokenizer&, NormalizedString s) const { split_bert(s, out); }
  void operator()(const WhitespaceSplit&, NormalizedString s) const { split_whitespace(s, out); }
  void operator()(const ByteLevel& b, NormalizedString s) const { byte_level(b, std::move(s), out); }
  void operator()(const Metaspace& m, NormalizedString s) const { metaspace(m, std::move(s), out); }
};

// Runs steps[i..] on one piece; words stream to the sink (no list of all words is built).
void run_from(const std::vector<PreTokenizerStep>& steps, size_t i, NormalizedString piece,
              const WordSink& sink) {
  if (i == steps.size()) {
    if (!piece.empty()) sink(std::move(piece));
    return;
  }
  WordSink next = [&](NormalizedString&& w) { run_from(steps, i + 1, std::move(w), sink); };
  std::visit([&](const auto& s) { Apply{next}(s, std::move(piece)); }, steps[i]);
}
}  // namespace

void pre_tokenize(const std::vector<PreTokenizerStep>& steps, NormalizedString chunk, const WordSink& sink) {
  run_from(steps, 0, std::move(chunk), sink);
}

}  // namespace lw::hf
