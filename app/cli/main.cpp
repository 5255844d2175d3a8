// llmwb: the workbench's command line. Every GUI action has a twin here so it
// can be scripted, tested and benchmarked headless. Commands live in cmd_*.cpp.
#include <cstdio>
#include <string>
#include <vector>

#include "app/cli/bench_modes.h"
#include "app/cli/command.h"
#include "engine/core/build_info.h"

namespace {

void print_help() {
  std::printf(
      "llmwb %s - LLM Workbench command line\n\n"
      "Usage: llmwb <command> [options]\n"
      "       llmwb <command> --help\n\n"
      "Commands:\n",
      lw::build::kVersion);
  for (const auto& [name, cmd] : lwcli::command_registry())
    std::printf("  %-12s %s\n", name.c_str(), cmd.summary.c_str());
  std::printf("\nGlobal options:\n  --help       this text\n  --version    print the version\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::printf("llmwb %s (%s)\n", lw::build::kVersion, lw::build::kGitRevision);
    return 0;
  }
  auto& registry = lwcli::command_registry();
  auto it = registry.find(args[0]);
  if (it == registry.end()) {
    std::fprintf(stderr, "llmwb: unknown command '%s'. Run 'llmwb --help' for the list.\n",
                 args[0].c_str());
    return 2;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& a : rest) {
    if (a == "--help" || a == "-h") {
      std::string usage = it->second.usage;
      // Modes registered by cmd_train_<task>.cpp / cmd_bench_<workload>.cpp: the named one's
      // usage, or all of them after the command's own.
      auto with_modes = [&](const auto& modes) {
        auto mode = rest.empty() ? modes.end() : modes.find(rest[0]);
        if (mode != modes.end()) usage = mode->second.usage;
        else
          for (const auto& [name, m] : modes) usage += "\n" + m.usage;
      };
      if (it->first == "train") with_modes(lwcli::train_mode_registry());
      if (it->first == "bench") with_modes(lwcli::bench_mode_registry());
      std::printf("%s\n", usage.c_str());
      return 0;
    }
  }
  return it->second.run(rest);
}
