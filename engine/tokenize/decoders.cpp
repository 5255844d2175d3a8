// Decoder steps of the Hugging Face pipeline, each a decode_chain over token
// strings, written to produce the same text as the tokenizers crate (including
// its U+FFFD policy for broken byte sequences).
#include <cstdio>
#include <variant>

#include "engine/tokenize/hf_pipeline.h"

namespace lw::hf {
namespace {

void replace_all(std::string* s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t i = 0;
  for (size_t p = s->find(from); p != std::string::npos; p = s->find(from, i)) {
    out.append(*s, i, p - i);
    out.append(to);
    i = p + from.size();
  }
  if (i == 0) return;
  out.append(*s, i, std::string::npos);
  *s = std::move(out);
}

// The WordPiece decoder's clean-up of tokenization spaces (per token, as in the crate).
void cleanup(std::string* s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (auto [from, to] : kRules) replace_all(s, from, to);
}

// "<0x41>" -> 0x41; -1 when the token is not a byte token.
int byte_token_value(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

using Tokens = std::vector<std::string>;

Tokens byte_level(Tokens tokens) {
  std::string bytes;
  for (const auto& t : tokens) {
    std::string mapped;
    bool ok = true;
    for (size_t i = 0; i < t.size() && ok;) {
      auto [c, n] = unicode::decode_utf8(t, i);
      int b = unicode_to_byte(c);
      if (b < 0) ok = false;
      else mapped.push_back(char(b));
      i += n;
    }
    bytes += ok ? mapped : t;  // a token outside the byte alphabet passes through
  }
  return {unicode::utf8_lossy(bytes)};
}

Tokens byte_fallback(Tokens tokens) {
  Tokens out;
  std::string pending;
  size_t pending_count = 0;
  auto flush = [&] {
    if (pending_count == 0) return;
    if (unicode::find_invalid_utf8(pending) == std::string::npos) {
      out.push_back(pending);
    } else {
      for (size_t i = 0; i < pending_count; ++i) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
    pending_count = 0;
  };
  for (auto& t : tokens) {
    int b = byte_token_value(t);
    if (b >= 0) {
      pending.push_back(char(b));
      ++pending_count;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  return out;
}

Tokens strip(const StripDecoder& d, Tokens tokens) {
  for (auto& t : tokens) {
    size_t b = 0, e = t.size();
    for (size_t k = 0; k < d.start && t.compare(b, d.content.size(), d.content) == 0; ++k)
      b += d.content.size();
    for (size_t k = 0; k < d.stop && e >= b + d.content.size() &&
                       t.compare(e - d.content.size(), d.content.size(), d.content) == 0;
         ++k)
      e -= d.content.size();
    t = t.substr(b, e - b);
  }
  return tokens;
}

struct Apply {
  Tokens operator()(const ByteLevelDecoder&, Tokens t) const { return byte_level(std::move(t)); }
  Tokens operator()(const WordPieceDecoder& d, Tokens t) const {
    for (size_t i = 0; i < t.size(); ++i) {
      if (i != 0) {
        if (t[i].compare(0, d.prefix.size(), d.prefix) == 0) t[i].erase(0, d.prefix.size());
        else t[i].insert(0, " ");
      }
      if (d.cleanup) cleanup(&t[i]);
    }
    return t;
  }
  Tokens operator()(const ReplaceDecoder& d, Tokens t) const {
    for (auto& s : t) replace_all(&s, d.pattern, d.content);
    return t;
  }
  Tokens operator()(const ByteFallbackDecoder&, Tokens t) const { return byte_fallback(std::move(t)); }
  Tokens operator()(const FuseDecoder&, Tokens t) const {
    std::string all;
    for (auto& s : t) all += s;
    return {all};
  }
  Tokens operator()(const StripDecoder& d, Tokens t) const { return strip(d, std::move(t)); }
  Tokens operator()(const MetaspaceDecoder& d, Tokens t) const {
    // As the crate does: every replacement in the first token is dropped when a
    // prefix was prepended, elsewhere each becomes a space.
    for (size_t i = 0; i < t.size(); ++i) replace_all(&t[i], d.replacement, i == 0 && d.prepend ? "" : " ");
    return t;
  }
};

}  // namespace

std::string decode_tokens(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens) {
  for (const auto& step : steps)
    tokens = std::visit([&](const auto& s) { return Apply{}(s, std::move(tokens)); }, step);
  std::string out;
  for (auto& t : tokens) out += t;
  return out;
}

}  // namespace lw::hf
