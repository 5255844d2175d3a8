// NormalizedString: text being normalized, with the original byte span of every
// normalized byte, so token offsets always point into the caller's input even
// after lower-casing, accent stripping, prepending "▁" or byte-level mapping.
// This mirrors the alignment tracking of Hugging Face tokenizers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenize/unicode.h"

namespace lw {

struct ByteSpan {
  uint32_t begin = 0, end = 0;  // [begin, end) UTF-8 bytes of the original input
};

class NormalizedString {
 public:
  NormalizedString() = default;
  // `base` is where `original` starts inside the caller's full input.
  NormalizedString(std::string_view original, size_t base);

  const std::string& str() const { return s_; }
  bool empty() const { return s_.empty(); }
  size_t size() const { return s_.size(); }
  // Original span covered by normalized bytes [b, e); e > b.
  ByteSpan original_span(size_t b, size_t e) const {
    return {align_[b].begin, align_[e - 1].end};
  }
  // Where this piece starts in the original input (its first byte's span).
  uint32_t original_begin() const { return align_.empty() ? empty_at_ : align_.front().begin; }

  // Replaces each code point by what f appends (zero or more code points); the new
  // code points are aligned to the original span of the one they replace.
  template <typename F>
  void map_chars(F f) {
    std::string s;
    std::vector<ByteSpan> a;
    s.reserve(s_.size());
    a.reserve(s_.size());
    std::u32string tmp;
    for (size_t i = 0; i < s_.size();) {
      auto [cp, n] = unicode::decode_utf8(s_, i);
      tmp.clear();
      f(cp, &tmp);
      if (tmp.size() == 1 && tmp[0] == cp) {  // unchanged: copy the bytes as they are
        s.append(s_, i, n);
        a.insert(a.end(), n, align_[i]);
        i += n;
        continue;
      }
      for (char32_t c : tmp) {
        size_t before = s.size();
        unicode::append_utf8(c, &s);
        a.insert(a.end(), s.size() - before, align_[i]);
      }
      i += n;
    }
    if (s.empty() && !align_.empty()) empty_at_ = align_.front().begin;
    s_ = std::move(s);
    align_ = std::move(a);
  }
  // Byte-level variant: f maps one code point to replacement bytes (a std::string).
  template <typename F>
  void map_chars_to_bytes(F f) {
    std::string s;
    std::vector<ByteSpan> a;
    s.reserve(s_.size() * 2);
    a.reserve(s_.size() * 2);
    for (size_t i = 0; i < s_.size();) {
      int n = unicode::decode_utf8(s_, i).second;
      size_t before = s.size();
      f(std::string_view(s_).substr(i, n), &s);
      a.insert(a.end(), s.size() - before, align_[i]);
      i += n;
    }
    s_ = std::move(s);
    align_ = std::move(a);
  }

  // Prepends s, aligned to the first character's span (as HF's Prepend does).
  void prepend(std::string_view s);
  // Replaces every non-overlapping occurrence of pattern, left to right.
  void replace_all(std::string_view pattern, std::string_view content);
  // The normalized bytes [b, e) with their alignment.
  NormalizedString slice(size_t b, size_t e) const;

 private:
  std::string s_;
  std::vector<ByteSpan> align_;  // one entry per byte of s_
  uint32_t empty_at_ = 0;        // original position of an empty string
};

}  // namespace lw
