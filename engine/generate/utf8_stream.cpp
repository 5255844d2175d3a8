// UTF-8 validation by the well-formed byte sequences of Unicode table 3-7: the lead byte
// fixes the length and the allowed range of the first continuation byte (which rules
// out overlong forms, surrogates and code points above U+10FFFF).
#include "engine/generate/utf8_stream.h"

#include <cstdio>

namespace lw {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

enum class Seq { kComplete, kInvalid, kIncomplete };

struct SeqInfo {
  Seq kind;
  size_t length;  // kComplete: the character; kInvalid: the maximal subpart (>= 1)
};

// Classifies the character that starts at p[0] (n >= 1 bytes available).
SeqInfo classify(const unsigned char* p, size_t n) {
  unsigned char b = p[0];
  if (b < 0x80) return {Seq::kComplete, 1};
  size_t need;                         // continuation bytes
  unsigned char lo = 0x80, hi = 0xBF;  // range of the first continuation byte
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;  // no overlong 3-byte forms
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;  // no overlong 4-byte forms
    if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {Seq::kInvalid, 1};  // 80..C1, F5..FF never start a character
  }
  for (size_t j = 1; j <= need; ++j) {
    if (j >= n) return {Seq::kIncomplete, n};
    unsigned char c = p[j];
    unsigned char l = j == 1 ? lo : 0x80, h = j == 1 ? hi : 0xBF;
    if (c < l || c > h) return {Seq::kInvalid, j};
  }
  return {Seq::kComplete, need + 1};
}

// Decodes in[0..n) into out; returns how many bytes were consumed. Unless `at_end`,
// an incomplete character at the end is left unconsumed.
size_t decode(const unsigned char* in, size_t n, bool at_end, std::string& out) {
  size_t i = 0;
  while (i < n) {
    // ASCII runs are the common case: copy them without classifying byte by byte.
    size_t run = i;
    while (run < n && in[run] < 0x80) ++run;
    if (run > i) {
      out.append(reinterpret_cast<const char*>(in + i), run - i);
      i = run;
      continue;
    }
    SeqInfo s = classify(in + i, n - i);
    if (s.kind == Seq::kComplete) {
      out.append(reinterpret_cast<const char*>(in + i), s.length);
    } else if (s.kind == Seq::kInvalid || at_end) {
      out.append(kReplacement);
    } else {
      return i;  // a valid prefix still waiting for bytes
    }
    i += s.length;
  }
  return i;
}

}  // namespace

std::string Utf8Stream::push(std::string_view bytes) {
  std::string out;
  if (pending_.empty()) {
    // The usual case: nothing held back, decode the token's bytes in place.
    auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    size_t used = decode(p, bytes.size(), false, out);
    pending_.assign(bytes.substr(used));
    return out;
  }
  pending_.append(bytes);
  auto* p = reinterpret_cast<const unsigned char*>(pending_.data());
  size_t used = decode(p, pending_.size(), false, out);
  pending_.erase(0, used);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out;
  auto* p = reinterpret_cast<const unsigned char*>(pending_.data());
  decode(p, pending_.size(), true, out);
  pending_.clear();
  return out;
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  decode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), true, out);
  return out;
}

Status check_utf8(std::string_view text, std::string_view what) {
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t line = 1;
  for (size_t i = 0; i < text.size();) {
    if (p[i] == '\n') ++line;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    SeqInfo s = classify(p + i, text.size() - i);
    if (s.kind != Seq::kComplete) {
      // The byte at fault: a bad lead byte, or the continuation byte that broke the
      // sequence (the maximal subpart before it was a valid start).
      bool good_lead = p[i] >= 0xC2 && p[i] <= 0xF4;
      size_t bad = (s.kind == Seq::kInvalid && good_lead) ? i + s.length : i;
      char detail[96];
      if (s.kind == Seq::kIncomplete) {
        std::snprintf(detail, sizeof detail, "character cut off at the end (byte 0x%02x)", p[i]);
      } else {
        std::snprintf(detail, sizeof detail, "byte 0x%02x", p[bad]);
      }
      return invalid_argument(std::string(what) + ": invalid UTF-8 at line " +
                              std::to_string(line) + " (byte offset " + std::to_string(bad) +
                              "): " + detail);
    }
    i += s.length;
  }
  return Status::ok();
}

}  // namespace lw
