// `llmwb predict --model DIR (--text T | --file F)`: the Try-it box's twin. Classification
// prints the label and every label's probability; NER prints the entities with their types
// and character offsets. --file runs every non-empty line.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/api/finetune.h"

namespace {

const char* kUsage =
    "Usage: llmwb predict --model DIR (--text T | --file F) [--pair T2] [--max-len T]\n"
    "           [--device cpu|cuda:N] [--json]\n\n"
    "Runs a fine-tuned BERT folder on text: a classifier prints the label and the\n"
    "probabilities, a token classifier the entities (type, text, character offsets).\n"
    "--file F predicts every non-empty line of F (--json: one JSON array).\n";

void print(const lw::api::Prediction& p, const std::string& text) {
  if (p.task == lw::api::FinetuneTask::kClassify) {
    std::printf("%s\t%.4f\t%s\n", p.label.c_str(), p.score, text.c_str());
    return;
  }
  std::printf("%s\n", text.c_str());
  for (const auto& e : p.entities)
    std::printf("  %-12s [%lld, %lld) %s (%.3f)\n", e.type.c_str(), (long long)e.char_begin, (long long)e.char_end,
                e.text.c_str(), e.score);
  if (p.entities.empty()) std::printf("  (no entities)\n");
}

int run_predict(const std::vector<std::string>& argv) {
  const std::string cmd = "predict";
  lwcli::Args a;
  std::string err;
  if (!a.parse(argv, {"json"}, &err)) return lwcli::usage_error(cmd, err);
  auto unknown = a.unknown({"model", "text", "file", "pair", "max-len", "device", "json"});
  if (!unknown.empty()) return lwcli::usage_error(cmd, "unknown option --" + unknown[0]);
  if (!a.has("model") || a.has("text") == a.has("file"))
    return lwcli::usage_error(cmd, "--model DIR and one of --text T or --file F are required");
  long long max_len;
  if (!a.get_int("max-len", 512, &max_len, &err)) return lwcli::usage_error(cmd, err);
  auto p = lw::api::load_predictor(a.get("model"), a.get("device", "cpu"), max_len);
  if (!p.is_ok()) return lwcli::fail(cmd, p.status().to_string());
  std::vector<std::string> texts;
  if (a.has("text")) {
    texts.push_back(a.get("text"));
  } else {
    std::ifstream in(a.get("file"), std::ios::binary);
    if (!in) return lwcli::fail(cmd, a.get("file") + ": cannot open");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) texts.push_back(line);
    }
  }
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < texts.size(); ++i) {
    auto r = lw::api::predict(**p, texts[i], a.get("pair"));
    if (!r.is_ok())
      return lwcli::fail(cmd, (a.has("file") ? a.get("file") + ": line " + std::to_string(i + 1) + ": " : "") +
                                  r.status().to_string());
    if (a.has("json")) {
      auto j = nlohmann::json::parse(r->to_json());
      j["text"] = texts[i];
      all.push_back(j);
    } else {
      print(*r, texts[i]);
    }
  }
  if (a.has("json")) std::printf("%s\n", (a.has("text") ? all[0] : all).dump(2).c_str());
  return 0;
}

const lwcli::CommandRegistration kRegistration({"predict", "run a fine-tuned classifier or NER model on text",
                                                kUsage, run_predict});

}  // namespace
