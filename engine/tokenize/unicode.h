// Unicode helpers for the tokenizers: UTF-8 decoding/encoding and validation,
// general categories, White_Space, canonical decomposition (NFD) and lower-casing.
// Tables come from unicode_tables.cpp (generated from Python's unicodedata), so the
// tokenizers need no ICU and no regex library.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lw::unicode {

enum class Category : uint8_t {
  Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe,
  Pi, Pf, Po, Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co, Cn
};

Category category(char32_t cp);
inline bool is_letter(char32_t cp) { return category(cp) <= Category::Lo; }
inline bool is_number(char32_t cp) {
  Category c = category(cp);
  return c >= Category::Nd && c <= Category::No;
}
inline bool is_punctuation(char32_t cp) {
  Category c = category(cp);
  return c >= Category::Pc && c <= Category::Po;
}
inline bool is_nonspacing_mark(char32_t cp) { return category(cp) == Category::Mn; }
// Cc, Cf, Cs, Co, Cn: what Rust's unicode_categories calls "other".
inline bool is_other(char32_t cp) { return category(cp) >= Category::Cc; }
// The White_Space property (what Rust's char::is_whitespace and regex \s use).
bool is_white_space(char32_t cp);

// Appends the full canonical decomposition of cp (cp itself when none).
void append_nfd(char32_t cp, std::u32string* out);
// Appends the full lower-case mapping of cp, one or two code points.
void append_lower(char32_t cp, std::u32string* out);

// Decodes one code point at text[pos]; returns it and its byte length. Invalid
// bytes decode as U+FFFD with length 1 (callers validate first where it matters).
std::pair<char32_t, int> decode_utf8(std::string_view text, size_t pos);
void append_utf8(char32_t cp, std::string* out);
std::string to_utf8(char32_t cp);
// Byte offset of the first invalid UTF-8 sequence, or npos when the text is valid.
size_t find_invalid_utf8(std::string_view text);
// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Converts UTF-8 byte offsets into `text` to code point (character) offsets,
// as Python string indices count them. Offsets must lie on or inside characters;
// an offset inside a character counts that character as started.
std::vector<std::pair<size_t, size_t>> byte_to_char_offsets(
    std::string_view text, const std::vector<std::pair<size_t, size_t>>& byte_offsets);

}  // namespace lw::unicode
