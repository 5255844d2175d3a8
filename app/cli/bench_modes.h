// `llmwb bench <workload>` modes that live in their own cmd_bench_<workload>.cpp (decode, ...),
// registered like the train modes: cmd_bench.cpp hands the command line to a registered
// workload before parsing its own options (`ops` stays in cmd_bench.cpp).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lwcli {

struct BenchMode {
  std::string workload;  // "decode"
  std::string usage;     // appended to `llmwb bench --help`
  std::function<int(const std::vector<std::string>& args)> run;  // args include the workload
};

inline std::map<std::string, BenchMode>& bench_mode_registry() {
  static std::map<std::string, BenchMode> registry;
  return registry;
}

struct BenchModeRegistration {
  explicit BenchModeRegistration(BenchMode mode) {
    std::string w = mode.workload;
    bench_mode_registry().emplace(std::move(w), std::move(mode));
  }
};

}  // namespace lwcli
