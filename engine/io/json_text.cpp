// JSON guards shared by the safetensors reader and the Hugging Face config/index readers.
#include "engine/io/json_text.h"

#include <cstdio>

namespace lw::io {

Status check_json_depth(const std::string& source, const char* text, size_t len, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // skip the escaped character
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return invalid_argument(source + ": JSON nests deeper than " + std::to_string(max_depth) +
                                " levels (at byte " + std::to_string(i) + ")");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::ok();
}

Result<nlohmann::json> parse_json_text(const std::string& source, const char* text, size_t len,
                                       int max_depth) {
  LW_TRY(check_json_depth(source, text, len, max_depth));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, text + len);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based; the message already says what was expected.
    std::string what = e.what();
    auto pos = what.find("parse error");
    return invalid_argument(source + ": not valid JSON (" +
                            (pos == std::string::npos ? what : what.substr(pos)) + ")");
  }
  return j;
}

Result<std::string> read_text_file(const std::string& path, size_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return not_found(path + ": cannot open (does it exist?)");
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (text.size() + n > max_bytes) {
      std::fclose(f);
      return invalid_argument(path + ": larger than " + std::to_string(max_bytes) +
                              " bytes, too large for a JSON file of this kind");
    }
    text.append(buf, n);
  }
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) return io_error(path + ": read error");
  return text;
}

}  // namespace lw::io
