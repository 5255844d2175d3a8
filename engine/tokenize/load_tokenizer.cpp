// load_tokenizer(): picks the format from a folder's files or a file's name and
// hands it to the matching reader. tokenizer_config.json beside the files adds
// special-token names and casing, as transformers reads it.
#include <filesystem>

#include "engine/tokenize/loaders.h"

namespace lw {
namespace fs = std::filesystem;
using namespace tokenize_io;

namespace {
Result<std::unique_ptr<Tokenizer>> finish(Result<HfTokenizerConfig> config, const TokenizerConfigFile& cfg,
                                          bool resolve_special) {
  if (!config.is_ok()) return config.status();
  HfTokenizerConfig c = std::move(config).value();
  if (resolve_special) {
    const Vocab& v = c.model->vocab();
    const auto& added = c.added;
    c.special = resolve_special_tokens(cfg, [&](const std::string& name) -> std::optional<int32_t> {
      for (const auto& a : added)
        if (a.content == name) return a.id;
      return v.find(name);
    });
  }
  LW_ASSIGN_OR_RETURN(auto t, HfTokenizer::create(std::move(c)));
  return std::unique_ptr<Tokenizer>(std::move(t));
}
}  // namespace

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path + ": no such file or folder");
  const bool is_dir = fs::is_directory(path, ec);
  const fs::path folder = is_dir ? fs::path(path) : fs::path(path).parent_path();
  auto in = [&](const char* name) { return (folder / name).string(); };
  LW_ASSIGN_OR_RETURN(TokenizerConfigFile cfg, read_tokenizer_config(folder.empty() ? "." : folder.string()));

  std::string file = is_dir ? "" : fs::path(path).filename().string();
  auto ends_with = [&](const char* suffix) {
    std::string s(suffix);
    return file.size() >= s.size() && file.compare(file.size() - s.size(), s.size(), s) == 0;
  };
  if (is_dir) {
    if (fs::exists(in("tokenizer.json"))) file = "tokenizer.json";
    else if (fs::exists(in("vocab.json")) && fs::exists(in("merges.txt"))) file = "vocab.json";
    else if (fs::exists(in("vocab.txt"))) file = "vocab.txt";
    else if (fs::exists(in("tokenizer.model"))) file = "tokenizer.model";
    else
      return not_found(path + ": no tokenizer.json, vocab.json+merges.txt, vocab.txt or tokenizer.model");
  }
  const std::string full = is_dir ? in(file.c_str()) : path;
  if (ends_with(".model")) return load_sentencepiece(full, cfg);
  if (ends_with("merges.txt") || file == "vocab.json") {
    if (!fs::exists(in("vocab.json")) || !fs::exists(in("merges.txt")))
      return not_found(full + ": byte-level BPE needs vocab.json and merges.txt side by side");
    return finish(gpt2_from_vocab_merges(in("vocab.json"), in("merges.txt"), cfg), cfg, false);
  }
  if (ends_with(".txt")) return finish(bert_from_vocab_txt(full, cfg), cfg, false);
  if (ends_with(".json")) return finish(parse_tokenizer_json(full), cfg, true);
  return invalid_argument(full + ": unknown tokenizer file (expected tokenizer.json, vocab.json, merges.txt, "
                                 "vocab.txt or a .model file)");
}

}  // namespace lw
