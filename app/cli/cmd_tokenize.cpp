// `llmwb tokenize` and `llmwb detokenize`: the tokenizer on the command line,
// for scripting and for checking a tokenizer folder before training with it.
// Offsets are UTF-8 byte spans (and character spans in the JSON output).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/command.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/tokenize/unicode.h"

namespace {

using Json = nlohmann::json;

const char* kTokenizeUsage =
    "Usage: llmwb tokenize --tokenizer PATH [--no-special] (--text T | --file F) [--json]\n"
    "\n"
    "Tokenizes text with a tokenizer folder or file (tokenizer.json, vocab.json+merges.txt,\n"
    "vocab.txt or a SentencePiece .model).\n"
    "\n"
    "  --tokenizer PATH  model folder or tokenizer file\n"
    "  --text T          one text\n"
    "  --file F          a UTF-8 file, one text per line (a trailing \\r is dropped)\n"
    "  --no-special      do not add special tokens ([CLS]/[SEP], <s>)\n"
    "  --json            one JSON document: per text its ids, tokens, offsets (UTF-8 byte\n"
    "                    spans [begin, end)) and char_offsets (code point spans)\n"
    "\n"
    "Text output: one line of comma-separated ids per text.\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

const char* kDetokenizeUsage =
    "Usage: llmwb detokenize --tokenizer PATH --ids 1,2,3 [--skip-special] [--json]\n"
    "\n"
    "Decodes ids to text as the reference library decodes them.\n"
    "\n"
    "  --tokenizer PATH  model folder or tokenizer file\n"
    "  --ids LIST        comma-separated token ids\n"
    "  --skip-special    drop special tokens ([CLS], <s>, ...) before decoding\n"
    "  --json            print {\"ids\": [...], \"text\": \"...\"}\n"
    "\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

// Lines of a file; invalid UTF-8 is reported with its line number.
bool read_lines(const std::string& path, std::vector<std::string>* lines, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open";
    return false;
  }
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t bad = lw::unicode::find_invalid_utf8(line);
    if (bad != std::string::npos) {
      *error = path + ": line " + std::to_string(n) + ": not valid UTF-8 at byte " + std::to_string(bad);
      return false;
    }
    lines->push_back(std::move(line));
  }
  return true;
}

bool check_args(const char* cmd, const lwcli::Args& args, const std::vector<std::string>& known, int* rc) {
  if (auto bad = args.unknown(known); !bad.empty()) {
    *rc = lwcli::usage_error(cmd, "unknown option --" + bad.front());
    return false;
  }
  if (!args.positional().empty()) {
    *rc = lwcli::usage_error(cmd, "unexpected argument '" + args.positional().front() + "'");
    return false;
  }
  if (!args.has("tokenizer")) {
    *rc = lwcli::usage_error(cmd, "--tokenizer PATH is required");
    return false;
  }
  return true;
}

int run_tokenize(const std::vector<std::string>& argv) {
  lwcli::Args args;
  std::string error;
  int rc = 0;
  if (!args.parse(argv, {"json", "no-special"}, &error)) return lwcli::usage_error("tokenize", error);
  if (!check_args("tokenize", args, {"tokenizer", "text", "file", "json", "no-special"}, &rc)) return rc;
  if (args.has("text") == args.has("file"))
    return lwcli::usage_error("tokenize", "give exactly one of --text and --file");
  std::vector<std::string> texts;
  if (args.has("text")) texts.push_back(args.get("text"));
  else if (!read_lines(args.get("file"), &texts, &error)) return lwcli::fail("tokenize", error);

  auto tok = lw::load_tokenizer(args.get("tokenizer"));
  if (!tok.is_ok()) return lwcli::fail("tokenize", tok.status().message());
  const bool special = !args.has("no-special");
  Json out_texts = Json::array();
  for (size_t i = 0; i < texts.size(); ++i) {
    auto enc = (*tok)->encode(texts[i], special);
    if (!enc.is_ok()) {
      std::string where = args.has("file") ? args.get("file") + ": line " + std::to_string(i + 1) + ": " : "";
      return lwcli::fail("tokenize", where + enc.status().message());
    }
    if (!args.has("json")) {
      std::string line;
      for (size_t k = 0; k < enc->ids.size(); ++k) line += (k ? "," : "") + std::to_string(enc->ids[k]);
      std::printf("%s\n", line.c_str());
      continue;
    }
    Json tokens = Json::array(), offsets = Json::array(), chars = Json::array();
    for (int32_t id : enc->ids) tokens.push_back((*tok)->id_to_token(id).value_or(""));
    for (auto [b, e] : enc->offsets) offsets.push_back({b, e});
    for (auto [b, e] : enc->char_offsets(texts[i])) chars.push_back({b, e});
    out_texts.push_back({{"text", texts[i]}, {"ids", enc->ids}, {"tokens", tokens},
                         {"offsets", offsets}, {"char_offsets", chars}});
  }
  if (args.has("json")) {
    Json doc = {{"tokenizer", {{"path", args.get("tokenizer")},
                               {"kind", lw::tokenizer_kind_name((*tok)->kind())},
                               {"vocab_size", (*tok)->vocab_size()}}},
                {"add_special_tokens", special},
                {"offsets_unit", "utf8_bytes"},
                {"texts", out_texts}};
    std::printf("%s\n", doc.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
  }
  return 0;
}

int run_detokenize(const std::vector<std::string>& argv) {
  lwcli::Args args;
  std::string error;
  int rc = 0;
  if (!args.parse(argv, {"json", "skip-special"}, &error)) return lwcli::usage_error("detokenize", error);
  if (!check_args("detokenize", args, {"tokenizer", "ids", "json", "skip-special"}, &rc)) return rc;
  if (!args.has("ids")) return lwcli::usage_error("detokenize", "--ids LIST is required");
  std::vector<int32_t> ids;
  if (!lwcli::parse_id_list(args.get("ids"), "--ids", &ids, &error)) return lwcli::usage_error("detokenize", error);
  auto tok = lw::load_tokenizer(args.get("tokenizer"));
  if (!tok.is_ok()) return lwcli::fail("detokenize", tok.status().message());
  auto text = (*tok)->decode(ids, args.has("skip-special"));
  if (!text.is_ok()) return lwcli::fail("detokenize", text.status().message());
  if (args.has("json")) {
    Json doc = {{"ids", ids}, {"text", *text}};
    std::printf("%s\n", doc.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s\n", text->c_str());
  }
  return 0;
}

const lwcli::CommandRegistration kTokenize({"tokenize", "text to token ids (and offsets)", kTokenizeUsage,
                                            run_tokenize});
const lwcli::CommandRegistration kDetokenize({"detokenize", "token ids to text", kDetokenizeUsage,
                                              run_detokenize});

}  // namespace
