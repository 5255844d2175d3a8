// Helpers shared by the tokenizer tests: paths to the real vocabularies and
// the golden corpus, and a loader that fails the test with the engine's message.
#pragma once
#include <QtTest/QtTest>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"

namespace tokenize_test {

inline std::string shared_tok(const std::string& rel) {
  return std::string(LW_SHARED_DATA) + "/tokenizers/" + rel;
}
// LW_TOKENIZER_GOLDEN overrides the folder (to try a fresh run of the script before committing it).
inline std::string golden_dir() {
  const char* env = std::getenv("LW_TOKENIZER_GOLDEN");
  return env && *env ? env : std::string(LW_SOURCE_DIR) + "/tests/golden/tokenizers";
}

inline std::unique_ptr<lw::Tokenizer> load(const std::string& path) {
  auto r = lw::load_tokenizer(path);
  if (!r.is_ok()) qFatal("loading %s: %s", path.c_str(), r.status().to_string().c_str());
  return std::move(r).value();
}

// tests/golden/tokenizers/corpus.txt: '#' comments, '"' lines are JSON strings.
inline std::vector<std::string> read_corpus() {
  std::ifstream in(golden_dir() + "/corpus.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    std::string line = all.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line[0] == '#') continue;
    out.push_back(!line.empty() && line[0] == '"' ? nlohmann::json::parse(line).get<std::string>() : line);
  }
  return out;
}

inline QString ids_str(const std::vector<int32_t>& ids) {
  QStringList l;
  for (int32_t i : ids) l << QString::number(i);
  return l.join(',');
}

}  // namespace tokenize_test
