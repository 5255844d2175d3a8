// `llmwb bench decode`: greedy generation speed (prefill tokens/s, time to first token,
// decode tokens/s, end-to-end tokens/s) on a model folder or a random-weight preset of the
// shapes ../shared/bench/hf_anchor.py decode-gpt2 / decode-llama1b use, beside the memory
// roofline; --anchor adds that script's figure and our ratio (same device call).
#include <cctype>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli/bench_modes.h"
#include "app/cli/command.h"
#include "engine/api/decode_bench.h"

namespace {

const char* kUsage =
    "Usage: llmwb bench decode (--model DIR | --preset gpt2-124m|llama-1b1) [--dtype bf16]\n"
    "                          [--prompt-tokens 128] [--gen-tokens 256] [--batch B]\n"
    "                          [--device cuda:0|cpu] [--iters N] [--warmup N]\n"
    "                          [--anchor hf_anchor.json] [--json]\n\n"
    "Times greedy generation (the playground's path: the CUDA decode graph where the model\n"
    "has one) and reports prefill tokens/s, time to first token, decode tokens/s, the\n"
    "end-to-end figure hf_anchor.py prints (batch x new tokens / wall time), the weight\n"
    "bytes and the memory roofline (measured bandwidth / weight bytes).\n"
    "  --preset NAME    random weights of GPT-2 124M or the TinyLlama 1.1B shape\n"
    "  --device D       default cuda:0 in a CUDA build, else cpu\n"
    "  --iters N        timed runs, median reported (default 3); --warmup N (default 1)\n"
    "  --anchor FILE    hf_anchor.py's JSON: adds torch's tokens/s and our ratio\n";

std::string anchor_key(const lw::api::DecodeBenchOptions& o) {
  std::string key = o.preset == "gpt2-124m" ? "gpt2_124m" : o.preset == "llama-1b1" ? "llama_1b1" : "";
  if (key.empty() || o.batch != 1) return "";
  std::string dt = lw::dtype_name(o.dtype);  // "BF16"; hf_anchor.py's keys say "bf16"
  for (char& c : dt) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key + "_decode_b1_p" + std::to_string(o.prompt_tokens) + "_g" +
         std::to_string(o.gen_tokens) + "_" + dt + "_tok_s";
}

int run(const std::vector<std::string>& argv) {
  const std::string cmd = "bench decode";
  lwcli::Args args;
  std::string err;
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (!args.parse(rest, {"json", "help"}, &err)) return lwcli::usage_error(cmd, err);
  if (args.has("help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  auto bad = args.unknown({"json", "help", "model", "preset", "dtype", "prompt-tokens",
                           "gen-tokens", "batch", "device", "iters", "warmup", "anchor"});
  if (!bad.empty()) return lwcli::usage_error(cmd, "unknown option --" + bad[0]);
  if (!args.positional().empty()) return lwcli::usage_error(cmd, "unexpected argument " + args.positional()[0]);
  if (args.has("model") == args.has("preset"))
    return lwcli::usage_error(cmd, "give either --model DIR or --preset gpt2-124m|llama-1b1");
  lw::api::DecodeBenchOptions o;
  o.model_dir = args.get("model");
  o.preset = args.get("preset");
  long long p = 128, g = 256, b = 1, iters = 3, warmup = 1;
  if (!args.get_int("prompt-tokens", 128, &p, &err) || !args.get_int("gen-tokens", 256, &g, &err) ||
      !args.get_int("batch", 1, &b, &err) || !args.get_int("iters", 3, &iters, &err) ||
      !args.get_int("warmup", 1, &warmup, &err))
    return lwcli::usage_error(cmd, err);
  if (p < 1 || g < 1 || b < 1 || iters < 1 || warmup < 0)
    return lwcli::usage_error(cmd, "--prompt-tokens, --gen-tokens, --batch, --iters must be >= 1");
  o.prompt_tokens = p, o.gen_tokens = g, o.batch = b, o.iters = int(iters), o.warmup = int(warmup);
  auto dtype = lw::parse_dtype(args.get("dtype", "bf16"));
  if (!dtype.is_ok()) return lwcli::usage_error(cmd, "--dtype: " + dtype.status().message());
  o.dtype = *dtype;
  auto device = lw::parse_device(args.get("device", LW_WITH_CUDA ? "cuda:0" : "cpu"));
  if (!device.is_ok()) return lwcli::usage_error(cmd, "--device: " + device.status().message());
  o.device = *device;
  nlohmann::json anchor;
  if (args.has("anchor")) {
    std::ifstream f(args.get("anchor"));
    if (!f) return lwcli::fail(cmd, "cannot open --anchor file " + args.get("anchor"));
    anchor = nlohmann::json::parse(f, nullptr, false);
    if (anchor.is_discarded() || !anchor.is_object())
      return lwcli::fail(cmd, args.get("anchor") + " is not a JSON object (hf_anchor.py output)");
  }
  auto r = lw::api::bench_decode(o);
  if (!r.is_ok()) return lwcli::fail(cmd, r.status().message());
  nlohmann::json j = {
      {"model", r->model}, {"device", r->device_name}, {"dtype", lw::dtype_name(o.dtype)},
      {"decode_engine", r->decode_engine}, {"batch", r->batch},
      {"prompt_tokens", r->prompt_tokens}, {"gen_tokens", r->gen_tokens},
      {"num_parameters", r->num_parameters}, {"weight_bytes", r->weight_bytes},
      {"kv_cache_bytes", r->kv_cache_bytes}, {"ttft_s", r->ttft_s},
      {"prefill_tok_s", r->prefill_tok_s}, {"decode_tok_s", r->decode_tok_s},
      {"total_s", r->total_s}, {"e2e_tok_s", r->e2e_tok_s},
      {"mem_bandwidth_gbs", r->mem_bandwidth_gbs}, {"roofline_tok_s", r->roofline_tok_s},
      {"roofline_fraction", r->roofline_fraction}};
  const std::string key = anchor_key(o);
  if (!key.empty() && anchor.contains(key) && anchor[key].is_number()) {
    j["anchor_key"] = key;
    j["anchor_tok_s"] = anchor[key];
    j["ratio_vs_anchor"] = r->e2e_tok_s / anchor[key].get<double>();
  }
  if (args.has("json")) {
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  for (auto it = j.begin(); it != j.end(); ++it)
    std::printf("%-20s %s\n", it.key().c_str(),
                it->is_string() ? it->get<std::string>().c_str() : it->dump().c_str());
  return 0;
}

lwcli::BenchModeRegistration reg({"decode", kUsage, run});

}  // namespace
