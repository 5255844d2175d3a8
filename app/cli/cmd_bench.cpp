// `llmwb bench ops`: times every CUDA op forward and backward at GPT-2 124M training
// shapes (B=16, T=1024, C=768, NH=12, V=50257) and BERT-base (B=32, T=128, C=768,
// V=30522) in bf16, with CUDA events, warm-up and the median of N runs, and reports
// time, TFLOP/s (GEMMs, attention) or GB/s (memory-bound ops). Rows that measure the
// same workload as ../shared/bench/hf_anchor.py carry its key, and --anchor FILE
// (that script's JSON) adds the ratio, so one device call gives the comparison table.
// Dimension letters: B batch, T sequence, C channels, NH heads, V vocabulary, N = B*T rows.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli/bench_modes.h"
#include "app/cli/command.h"

#if LW_WITH_CUDA
#include "app/cli/bench_ops.h"
#endif

namespace {

const char* kUsage =
    "Usage: llmwb bench ops [--json] [--iters N] [--warmup N] [--only SUBSTRING]\n"
    "                       [--anchor hf_anchor.json] [--device-info]\n\n"
    "Times each CUDA op (bf16) at GPT-2 124M and BERT-base training shapes: GEMMs with\n"
    "fused epilogues, layernorm, residual+layernorm, GELU, softmax, cross-entropy,\n"
    "embedding, dropout, AdamW and fused attention, forward and backward.\n"
    "  --json           one JSON document on stdout instead of the table\n"
    "  --iters N        timed runs per op, median reported (default 20)\n"
    "  --warmup N       untimed runs first (default 3)\n"
    "  --only S         only ops whose name contains S\n"
    "  --anchor FILE    hf_anchor.py's JSON: adds torch's figure and our ratio per row\n"
    "  --device-info    print the device line only\n";

int run_bench(const std::vector<std::string>& argv) {
  if (!argv.empty()) {  // workloads with their own file (llmwb bench decode ...)
    auto mode = lwcli::bench_mode_registry().find(argv[0]);
    if (mode != lwcli::bench_mode_registry().end()) return mode->second.run(argv);
  }
  lwcli::Args args;
  std::string err;
  if (!args.parse(argv, {"json", "device-info", "help"}, &err)) return lwcli::usage_error("bench", err);
  if (args.has("help")) {
    std::printf("%s", kUsage);
    for (const auto& [name, mode] : lwcli::bench_mode_registry()) std::printf("\n%s", mode.usage.c_str());
    return 0;
  }
  auto unknown = args.unknown({"json", "device-info", "help", "iters", "warmup", "only", "anchor"});
  if (!unknown.empty()) return lwcli::usage_error("bench", "unknown option --" + unknown[0]);
  if (args.positional().empty() || args.positional()[0] != "ops") {
    std::string known = "ops";
    for (const auto& [name, mode] : lwcli::bench_mode_registry()) known += ", " + name;
    return lwcli::usage_error("bench", "expected a workload: " + known);
  }
  long long iters = 20, warmup = 3;
  if (!args.get_int("iters", 20, &iters, &err) || !args.get_int("warmup", 3, &warmup, &err))
    return lwcli::usage_error("bench", err);
  if (iters < 1 || warmup < 0) return lwcli::usage_error("bench", "--iters must be >= 1, --warmup >= 0");
  nlohmann::json anchor;
  if (args.has("anchor")) {
    std::ifstream f(args.get("anchor"));
    if (!f) return lwcli::fail("bench", "cannot open --anchor file " + args.get("anchor"));
    anchor = nlohmann::json::parse(f, nullptr, false);
    if (anchor.is_discarded() || !anchor.is_object())
      return lwcli::fail("bench", args.get("anchor") + " is not a JSON object (hf_anchor.py output)");
  }
#if LW_WITH_CUDA
  lwbench::Options opt;
  opt.iters = static_cast<int>(iters);
  opt.warmup = static_cast<int>(warmup);
  opt.only = args.get("only");
  opt.device_info_only = args.has("device-info");
  opt.json = args.has("json");
  return lwbench::run_ops(opt, anchor);
#else
  return lwcli::fail("bench", "this llmwb was built without CUDA (LW_CUDA=OFF); bench ops needs a GPU build");
#endif
}

lwcli::CommandRegistration reg({"bench", "time CUDA ops (bench ops) and generation (bench decode)", kUsage,
                                run_bench});

}  // namespace
