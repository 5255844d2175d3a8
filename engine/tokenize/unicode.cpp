// Unicode lookups over the generated tables (binary searches over sorted arrays)
// and the UTF-8 codec the tokenizers share, including Rust's lossy decoding so
// byte-level decoders produce the same U+FFFD runs as the reference library.
#include "engine/tokenize/unicode.h"

#include <algorithm>

#include "engine/tokenize/unicode_tables.h"

namespace lw::unicode {
namespace t = lw::unicode_tables;

Category category(char32_t cp) {
  if (cp < 0x80) {
    // Fast path for ASCII, which dominates real text.
    static const Category* ascii = [] {
      static Category table[128];
      for (char32_t c = 0; c < 128; ++c) {
        const uint32_t* end = t::kCategoryRuns + t::kCategoryRunCount;
        const uint32_t* it = std::upper_bound(t::kCategoryRuns, end, (c << 5) | 31u);
        table[c] = static_cast<Category>(*(it - 1) & 31u);
      }
      return table;
    }();
    return ascii[cp];
  }
  if (cp > 0x10FFFF) return Category::Cn;
  const uint32_t* end = t::kCategoryRuns + t::kCategoryRunCount;
  const uint32_t* it = std::upper_bound(t::kCategoryRuns, end, (uint32_t(cp) << 5) | 31u);
  return static_cast<Category>(*(it - 1) & 31u);
}

bool is_white_space(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

void append_nfd(char32_t cp, std::u32string* out) {
  constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
  constexpr char32_t kTCount = 28, kNCount = 588, kSCount = 11172;
  if (cp >= kSBase && cp < kSBase + kSCount) {
    char32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out->push_back(kTBase + s % kTCount);
    return;
  }
  if (cp < 0xC0) {
    out->push_back(cp);
    return;
  }
  const t::Decomposition* end = t::kDecompositions + t::kDecompositionCount;
  const t::Decomposition* it = std::lower_bound(
      t::kDecompositions, end, cp, [](const t::Decomposition& d, char32_t c) { return d.cp < c; });
  if (it == end || it->cp != cp) {
    out->push_back(cp);
    return;
  }
  out->append(t::kDecompositionPool + it->first, it->length);
}

void append_lower(char32_t cp, std::u32string* out) {
  if (cp < 0x80) {
    out->push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    return;
  }
  const t::CaseMapping* end = t::kLowerSingle + t::kLowerSingleCount;
  const t::CaseMapping* it = std::lower_bound(
      t::kLowerSingle, end, cp, [](const t::CaseMapping& m, char32_t c) { return m.cp < c; });
  if (it != end && it->cp == cp) {
    out->push_back(it->lower);
    return;
  }
  for (size_t i = 0; i < t::kLowerDoubleCount; ++i) {
    if (t::kLowerDouble[i].cp == cp) {
      out->push_back(t::kLowerDouble[i].lower0);
      out->push_back(t::kLowerDouble[i].lower1);
      return;
    }
  }
  out->push_back(cp);
}

namespace {
// Length of the valid UTF-8 sequence at pos, or the negated length of its
// maximal invalid subpart (at least 1), as the Unicode standard defines it.
int utf8_sequence(std::string_view s, size_t pos) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(pos);
  if (c < 0x80) return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c == 0xE0) need = 2, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) need = 2;
  else if (c == 0xED) need = 2, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) need = 2;
  else if (c == 0xF0) need = 3, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) need = 3;
  else if (c == 0xF4) need = 3, hi = 0x8F;
  else return -1;
  for (int k = 1; k <= need; ++k) {
    if (pos + k >= s.size()) return -k;
    unsigned char x = b(pos + k);
    unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (x < l || x > h) return -k;
  }
  return need + 1;
}
}  // namespace

std::pair<char32_t, int> decode_utf8(std::string_view s, size_t pos) {
  int n = utf8_sequence(s, pos);
  if (n < 0) return {0xFFFD, 1};
  auto b = [&](size_t i) { return char32_t(static_cast<unsigned char>(s[i])); };
  switch (n) {
    case 1: return {b(pos), 1};
    case 2: return {((b(pos) & 0x1F) << 6) | (b(pos + 1) & 0x3F), 2};
    case 3: return {((b(pos) & 0x0F) << 12) | ((b(pos + 1) & 0x3F) << 6) | (b(pos + 2) & 0x3F), 3};
    default:
      return {((b(pos) & 0x07) << 18) | ((b(pos + 1) & 0x3F) << 12) | ((b(pos + 2) & 0x3F) << 6) |
                  (b(pos + 3) & 0x3F),
              4};
  }
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(char(cp));
  } else if (cp < 0x800) {
    out->push_back(char(0xC0 | (cp >> 6)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(char(0xE0 | (cp >> 12)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(char(0xF0 | (cp >> 18)));
    out->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  }
}

std::string to_utf8(char32_t cp) {
  std::string s;
  append_utf8(cp, &s);
  return s;
}

size_t find_invalid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    int n = utf8_sequence(text, i);
    if (n < 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    int n = utf8_sequence(bytes, i);
    if (n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += -n;
    }
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> byte_to_char_offsets(
    std::string_view text, const std::vector<std::pair<size_t, size_t>>& byte_offsets) {
  // char_at[b] = index of the character that contains byte b; one pass, then lookups.
  std::vector<size_t> char_at(text.size() + 1);
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    int n = decode_utf8(text, i).second;
    for (int k = 0; k < n; ++k) char_at[i + k] = chars;
    i += n;
    ++chars;
  }
  char_at[text.size()] = chars;
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(byte_offsets.size());
  for (auto [b, e] : byte_offsets) {
    b = std::min(b, text.size());
    e = std::min(e, text.size());
    size_t cb = char_at[b];
    // An end inside a character still covers that whole character.
    size_t ce = (e > 0 && char_at[e] == char_at[e - 1] && e < text.size()) ? char_at[e] + 1 : char_at[e];
    if (e <= b) ce = cb;
    out.emplace_back(cb, ce);
  }
  return out;
}

}  // namespace lw::unicode
