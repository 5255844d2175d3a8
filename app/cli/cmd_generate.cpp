// `llmwb generate` and `llmwb fill-mask`: the playground on the command line, through the
// engine/api/generate.h facade. Generation streams to stdout (--stream), stops on Ctrl-C
// with what was generated so far, and --json reports ids, text, per-token
// log-probabilities with alternatives, and timing (time to first token, tokens/s).
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/command.h"
#include "engine/api/generate.h"
#include "engine/api/prompt_tune.h"
#include "engine/generate/utf8_stream.h"

namespace {

using Json = nlohmann::ordered_json;

const char* kGenerateUsage =
    "Usage: llmwb generate --model DIR (--prompt TEXT | --prompt-file F | --ids 1,2,3)\n"
    "         [--max-new-tokens N] [--greedy | --temperature T --top-k K --top-p P --min-p M\n"
    "         --seed S] [--repetition-penalty R] [--stop STR]... [--ignore-eos]\n"
    "         [--top-logprobs N] [--no-cache] [--device cpu|cuda:0] [--dtype f32|bf16|f16]\n"
    "         [--stream] [--json]\n"
    "       llmwb generate --model DIR --prompt-table FILE|PEFT_DIR --task NAME\n"
    "         [--field NAME=VALUE]... [the sampling options above]\n"
    "\n"
    "Continues a prompt with a causal language model (a Hugging Face folder).\n"
    "\n"
    "  --model DIR            model folder (config.json, safetensors; tokenizer files for text)\n"
    "  --prompt TEXT          prompt text (needs the folder's tokenizer)\n"
    "  --prompt-file F        prompt text from a UTF-8 file\n"
    "  --ids LIST             prompt token ids, comma-separated (no tokenizer needed)\n"
    "  --max-new-tokens N     tokens to generate (default 64)\n"
    "  --greedy               always the most likely token (default: sample, temperature 1)\n"
    "  --temperature T        [0, inf), 0 = greedy\n"
    "  --top-k K, --top-p P, --min-p M   sampling filters (0 / 1 / 0 = off)\n"
    "  --seed S               random seed (same seed and settings give the same text)\n"
    "  --repetition-penalty R (0, inf), 1 = off\n"
    "  --stop STR             stop string, repeatable (trimmed from the output)\n"
    "  --ignore-eos           keep going past the end-of-sequence token\n"
    "  --top-logprobs N       alternatives per token in --json (default 5, at most 100)\n"
    "  --no-cache             re-run the whole sequence every step (reference path, slow)\n"
    "  --stream               print text as it is generated (to stderr with --json)\n"
    "  --prompt-table FILE    a tuned prompt table (llmwb train prompt) or a PEFT prompt-tuning\n"
    "                         adapter folder; --task NAME picks the task (a PEFT folder's is\n"
    "                         'peft', template <|VIRTUAL_PROMPT_0|>{text}) and --field\n"
    "                         NAME=VALUE fills its template up to the answer field\n"
    "  --json                 one JSON document: ids, text, per-token log-probabilities\n"
    "                         with alternatives, finish reason and timing\n"
    "\n"
    "Ctrl-C stops generation and reports what was generated (finish reason 'cancelled').\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

const char* kFillMaskUsage =
    "Usage: llmwb fill-mask --model DIR --text \"... [MASK] ...\" [--top-k K]\n"
    "         [--device cpu|cuda:0] [--dtype f32|bf16|f16] [--json]\n"
    "\n"
    "Predicts every [MASK] in the text with a BertForMaskedLM folder: the top K candidates\n"
    "(default 5) with probabilities, as transformers' fill-mask pipeline ranks them.\n"
    "\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

bool read_file(const std::string& path, std::string* text, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open the prompt file";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  *text = ss.str();
  return true;
}

// Sampling options into params; false with a usage message on a bad value.
bool sampling_params(const lwcli::Args& args, lw::SamplingParams* p, std::string* error) {
  const bool sampling = args.has("temperature") || args.has("top-k") || args.has("top-p") ||
                        args.has("min-p") || args.has("seed");
  if (args.has("greedy") && sampling) {
    *error = "--greedy cannot be combined with --temperature, --top-k, --top-p, --min-p or --seed";
    return false;
  }
  long long n = 0, k = 0, seed = 0, top = 0;
  double t = 1, tp = 1, mp = 0, rp = 1;
  if (!args.get_int("max-new-tokens", 64, &n, error) || !args.get_int("top-k", 0, &k, error) ||
      !args.get_int("seed", 0, &seed, error) || !args.get_int("top-logprobs", 5, &top, error) ||
      !args.get_double("temperature", 1, &t, error) || !args.get_double("top-p", 1, &tp, error) ||
      !args.get_double("min-p", 0, &mp, error) ||
      !args.get_double("repetition-penalty", 1, &rp, error))
    return false;
  if (k < 0 || k > INT32_MAX || n > (1LL << 40) || top < 0 || top > 1000 || seed < 0) {
    *error = "--top-k, --max-new-tokens, --top-logprobs and --seed must be non-negative integers";
    return false;
  }
  p->greedy = args.has("greedy");
  p->max_new_tokens = n;
  p->temperature = float(t);
  p->top_k = int32_t(k);
  p->top_p = float(tp);
  p->min_p = float(mp);
  p->repetition_penalty = float(rp);
  p->seed = uint64_t(seed);
  p->top_logprobs = int32_t(top);
  p->stop = args.values("stop");
  p->ignore_eos = args.has("ignore-eos");
  lw::Status st = p->validate();
  if (!st.is_ok()) *error = st.message();
  return st.is_ok();
}

// A token's own text (null without a tokenizer).
Json token_text(const lw::api::PlaygroundModel& m, int32_t id) {
  if (!m.tokenizer) return Json();
  auto t = m.tokenizer->decode({id}, false);
  return t.is_ok() ? Json(*t) : Json();
}

Json result_json(const lw::api::PlaygroundModel& m, const lwcli::Args& args,
                 const lw::GenerateResult& r) {
  const auto& s = r.sequences[0];
  Json tokens = Json::array();
  for (const auto& t : s.tokens) {
    Json top = Json::array();
    for (const auto& a : t.top)
      top.push_back({{"id", a.id}, {"token", token_text(m, a.id)}, {"logprob", a.logprob},
                     {"raw_logprob", a.raw_logprob}});
    tokens.push_back({{"id", t.id}, {"token", token_text(m, t.id)}, {"text", t.text},
                      {"logprob", t.logprob}, {"raw_logprob", t.raw_logprob}, {"top", top}});
  }
  const auto& tm = r.timing;
  return {{"model", args.get("model")},
          {"architecture", m.model->architecture()},
          {"device", args.get("device", "cpu")},
          {"dtype", lw::dtype_name(m.model->dtype())},
          {"prompt_ids", s.prompt},
          {"generated_ids", s.ids},
          {"text", m.tokenizer ? Json(s.text) : Json()},
          {"finish_reason", lw::finish_reason_name(s.finish)},
          {"stop", s.matched_stop.empty() ? Json() : Json(s.matched_stop)},
          {"tokens", tokens},
          {"timing", {{"time_to_first_token_s", tm.time_to_first_token_s},
                      {"prefill_s", tm.prefill_s},
                      {"prefill_tokens", tm.prefill_tokens},
                      {"prefill_tokens_per_s", tm.prefill_tokens_per_s()},
                      {"decode_s", tm.decode_s},
                      {"decode_tokens", tm.decode_tokens},
                      {"decode_tokens_per_s", tm.decode_tokens_per_s()}}},
          {"kv_cache_bytes", r.kv_cache_bytes}};
}

int run_generate(const std::vector<std::string>& argv) {
  const char* cmd = "generate";
  const std::vector<std::string> flags = {"greedy", "stream", "json", "ignore-eos", "no-cache"};
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, flags, &error)) return lwcli::usage_error(cmd, error);
  std::vector<std::string> known = {"model", "prompt", "prompt-file", "ids", "max-new-tokens",
                                    "temperature", "top-k", "top-p", "min-p", "seed",
                                    "repetition-penalty", "stop", "top-logprobs", "device", "dtype",
                                    "prompt-table", "task", "field"};
  known.insert(known.end(), flags.begin(), flags.end());
  if (auto bad = args.unknown(known); !bad.empty())
    return lwcli::usage_error(cmd, "unknown option --" + bad.front());
  if (!args.positional().empty())
    return lwcli::usage_error(cmd, "unexpected argument '" + args.positional().front() + "'");
  if (!args.has("model")) return lwcli::usage_error(cmd, "--model DIR is required");
  const bool table = args.has("prompt-table");
  const int sources = int(args.has("prompt")) + int(args.has("prompt-file")) + int(args.has("ids"));
  if (table && (sources != 0 || !args.has("task")))
    return lwcli::usage_error(cmd, "--prompt-table takes --task NAME and --field NAME=VALUE instead of "
                                   "--prompt, --prompt-file or --ids");
  if (!table && (args.has("task") || args.has("field")))
    return lwcli::usage_error(cmd, "--task and --field need --prompt-table");
  if (!table && sources != 1)
    return lwcli::usage_error(cmd, "give exactly one of --prompt, --prompt-file and --ids");
  std::map<std::string, std::string> fields;
  for (const auto& f : args.values("field")) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0)
      return lwcli::usage_error(cmd, "--field expects NAME=VALUE, got '" + f + "'");
    fields[f.substr(0, eq)] = f.substr(eq + 1);
  }
  lw::GenerateRequest req;
  if (!sampling_params(args, &req.params, &error)) return lwcli::usage_error(cmd, error);
  req.use_kv_cache = !args.has("no-cache");
  std::vector<int32_t> ids;
  if (args.has("ids") && !lwcli::parse_id_list(args.get("ids"), "--ids", &ids, &error))
    return lwcli::usage_error(cmd, error);
  std::string text = args.get("prompt");
  if (args.has("prompt-file")) {
    if (!read_file(args.get("prompt-file"), &text, &error)) return lwcli::fail(cmd, error);
    if (auto st = lw::check_utf8(text, args.get("prompt-file")); !st.is_ok())
      return lwcli::fail(cmd, st.message());
  }
  auto device = lw::parse_device(args.get("device", "cpu"));
  if (!device.is_ok()) return lwcli::usage_error(cmd, device.status().message());
  auto dtype = lw::parse_dtype(args.get("dtype", "f32"));
  if (!dtype.is_ok()) return lwcli::usage_error(cmd, dtype.status().message());

  auto m = lw::api::load_playground_model(args.get("model"), {*device, *dtype});
  if (!m.is_ok()) return lwcli::fail(cmd, m.status().message());
  std::optional<lw::train::PromptTable> prompt_table;
  if (table) {
    auto t = lw::api::load_table_for(**m, args.get("prompt-table"));
    if (!t.is_ok()) return lwcli::fail(cmd, t.status().message());
    prompt_table = std::move(*t);
  } else if (!args.has("ids")) {
    auto enc = lw::api::encode_prompt(**m, text);
    if (!enc.is_ok()) return lwcli::fail(cmd, enc.status().message());
    ids = std::move(*enc);
  }
  req.prompts = {ids};
  const bool json = args.has("json");
  std::FILE* stream_to = json ? stderr : stdout;
  lw::GenerateCallbacks cb;
  if (args.has("stream"))
    cb.on_token = [&](const lw::StreamEvent& e) {
      if ((*m)->tokenizer) {
        std::fputs(e.text.c_str(), stream_to);
      } else if (e.token) {
        std::fprintf(stream_to, "%s%d", e.index ? "," : "", e.token->id);
      }
      std::fflush(stream_to);
    };
  g_interrupted.store(false);
  cb.cancel = [] { return g_interrupted.load(); };
  auto old = std::signal(SIGINT, on_sigint);
  auto r = prompt_table ? lw::api::generate_with_table(**m, *prompt_table, args.get("task"), fields, req, cb)
                       : lw::api::generate(**m, req, cb);
  std::signal(SIGINT, old);
  if (!r.is_ok()) return lwcli::fail(cmd, r.status().message());
  if (json) {
    if (args.has("stream")) std::fputc('\n', stderr);
    std::printf("%s\n", result_json(**m, args, *r).dump(2, ' ', false, Json::error_handler_t::replace).c_str());
    return 0;
  }
  const auto& s = r->sequences[0];
  if (!args.has("stream")) {
    if ((*m)->tokenizer) {
      std::fputs(s.text.c_str(), stdout);
    } else {
      for (size_t i = 0; i < s.ids.size(); ++i) std::printf("%s%d", i ? "," : "", s.ids[i]);
    }
  }
  std::printf("\n");
  const auto& tm = r->timing;
  std::fprintf(stderr,
               "[%s] %lld prompt tokens, %zu generated; time to first token %.1f ms; prefill %.1f "
               "tok/s; decode %.1f tok/s\n",
               lw::finish_reason_name(s.finish), (long long)tm.prefill_tokens, s.ids.size(),
               tm.time_to_first_token_s * 1e3, tm.prefill_tokens_per_s(), tm.decode_tokens_per_s());
  return 0;
}

int run_fill_mask(const std::vector<std::string>& argv) {
  const char* cmd = "fill-mask";
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, {"json"}, &error)) return lwcli::usage_error(cmd, error);
  if (auto bad = args.unknown({"model", "text", "top-k", "device", "dtype", "json"}); !bad.empty())
    return lwcli::usage_error(cmd, "unknown option --" + bad.front());
  if (!args.positional().empty())
    return lwcli::usage_error(cmd, "unexpected argument '" + args.positional().front() + "'");
  if (!args.has("model") || !args.has("text"))
    return lwcli::usage_error(cmd, "--model DIR and --text TEXT are required");
  long long k = 5;
  if (!args.get_int("top-k", 5, &k, &error)) return lwcli::usage_error(cmd, error);
  if (k < 1 || k > INT32_MAX) return lwcli::usage_error(cmd, "--top-k must be at least 1");
  auto device = lw::parse_device(args.get("device", "cpu"));
  if (!device.is_ok()) return lwcli::usage_error(cmd, device.status().message());
  auto dtype = lw::parse_dtype(args.get("dtype", "f32"));
  if (!dtype.is_ok()) return lwcli::usage_error(cmd, dtype.status().message());
  auto m = lw::api::load_playground_model(args.get("model"), {*device, *dtype});
  if (!m.is_ok()) return lwcli::fail(cmd, m.status().message());
  auto preds = lw::api::fill_mask(**m, args.get("text"), int32_t(k));
  if (!preds.is_ok()) return lwcli::fail(cmd, preds.status().message());
  Json masks = Json::array();
  for (const auto& p : *preds) {
    Json cands = Json::array();
    for (const auto& c : p.candidates)
      cands.push_back({{"id", c.id}, {"token", c.token}, {"score", c.prob}, {"sequence", c.sequence}});
    masks.push_back({{"position", p.position}, {"candidates", cands}});
    if (!args.has("json")) {
      std::printf("[MASK] at token %lld\n", (long long)p.position);
      for (const auto& c : p.candidates)
        std::printf("  %8.5f  %-16s %s\n", c.prob, c.token.c_str(), c.sequence.c_str());
    }
  }
  if (args.has("json")) {
    Json doc = {{"model", args.get("model")}, {"text", args.get("text")}, {"top_k", k},
                {"masks", masks}};
    std::printf("%s\n", doc.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
  }
  return 0;
}

const lwcli::CommandRegistration kGenerate({"generate", "continue a prompt with a causal LM",
                                            kGenerateUsage, run_generate});
const lwcli::CommandRegistration kFillMask({"fill-mask", "predict [MASK] tokens with a BERT MLM",
                                            kFillMaskUsage, run_fill_mask});

}  // namespace
