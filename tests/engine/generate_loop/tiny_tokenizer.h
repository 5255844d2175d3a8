// A byte-level BPE tokenizer written by the tests: the 256 bytes plus 256 merges of two
// letters a..p, 512 tokens in all (the golden GPT-2's vocabulary size), so every id the
// random-weight model picks decodes, including lone bytes of multi-byte characters.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/tokenize/hf_pipeline.h"

namespace tiny_tokenizer {

// with_eos adds <|endoftext|> as id 512 (for corpora joined with it).
inline void write(const std::string& dir, bool with_eos = false) {
  nlohmann::ordered_json vocab;
  for (int b = 0; b < 256; ++b) vocab[lw::hf::byte_to_unicode(static_cast<uint8_t>(b))] = b;
  std::ofstream merges(dir + "/merges.txt");
  merges << "#version: 0.2\n";
  const std::string letters = "abcdefghijklmnop";
  for (int i = 0; i < 256; ++i) {
    std::string a(1, letters[i / 16]), b(1, letters[i % 16]);
    merges << a << " " << b << "\n";
    vocab[a + b] = 256 + i;
  }
  if (with_eos) vocab["<|endoftext|>"] = 512;
  std::ofstream(dir + "/vocab.json") << vocab.dump();
}

// The model files of `model_dir` plus the tokenizer, in `dir`.
inline bool make_gpt2_folder(const std::string& model_dir, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors"}) {
    fs::copy_file(fs::path(model_dir) / f, fs::path(dir) / f, ec);
    if (ec) return false;
  }
  write(dir);
  return true;
}

}  // namespace tiny_tokenizer
