// The CUDA half of `llmwb bench ops` (built only with LW_CUDA): the workload table,
// event timing and the report. cmd_bench.cpp parses the command line.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace lwbench {

struct Options {
  int iters = 20, warmup = 3;
  std::string only;
  bool device_info_only = false;
  bool json = false;
};

// Runs the op benchmarks on cuda:0; `anchor` is hf_anchor.py's JSON (may be null).
int run_ops(const Options& opt, const nlohmann::json& anchor);

}  // namespace lwbench
