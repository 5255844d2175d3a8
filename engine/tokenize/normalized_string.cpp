// NormalizedString edits that keep the byte alignment to the original input.
#include "engine/tokenize/normalized_string.h"

namespace lw {

NormalizedString::NormalizedString(std::string_view original, size_t base)
    : s_(original), empty_at_(uint32_t(base)) {
  align_.resize(s_.size());
  for (size_t i = 0; i < s_.size();) {
    int n = unicode::decode_utf8(s_, i).second;
    ByteSpan span{uint32_t(base + i), uint32_t(base + i + n)};
    for (int k = 0; k < n; ++k) align_[i + k] = span;
    i += n;
  }
}

void NormalizedString::prepend(std::string_view s) {
  if (s_.empty()) return;
  ByteSpan first = align_.front();
  s_.insert(0, s);
  align_.insert(align_.begin(), s.size(), first);
}

void NormalizedString::replace_all(std::string_view pattern, std::string_view content) {
  if (pattern.empty() || s_.find(pattern) == std::string::npos) return;
  std::string s;
  std::vector<ByteSpan> a;
  s.reserve(s_.size());
  a.reserve(s_.size());
  size_t i = 0;
  while (i < s_.size()) {
    size_t hit = s_.find(pattern, i);
    if (hit == std::string::npos) hit = s_.size();
    s.append(s_, i, hit - i);
    a.insert(a.end(), align_.begin() + i, align_.begin() + hit);
    if (hit == s_.size()) break;
    ByteSpan span = original_span(hit, hit + pattern.size());
    s.append(content);
    a.insert(a.end(), content.size(), span);
    i = hit + pattern.size();
  }
  s_ = std::move(s);
  align_ = std::move(a);
}

NormalizedString NormalizedString::slice(size_t b, size_t e) const {
  NormalizedString out;
  out.s_ = s_.substr(b, e - b);
  out.align_.assign(align_.begin() + b, align_.begin() + e);
  out.empty_at_ = b < align_.size() ? align_[b].begin : (align_.empty() ? empty_at_ : align_.back().end);
  return out;
}

}  // namespace lw
