// `llmwb info`: version, build options, CPU, CUDA devices and library versions.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/api/system_info.h"

namespace {

nlohmann::json to_json(const lw::SystemReport& r) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : r.cuda_devices) {
    devices.push_back({{"index", d.index},
                       {"name", d.name},
                       {"total_memory_bytes", d.total_memory},
                       {"free_memory_bytes", d.free_memory},
                       {"compute_capability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor)},
                       {"multiprocessors", d.multiprocessors},
                       {"pci_bus_id", d.pci_bus_id}});
  }
  return {{"version", r.version},
          {"git_revision", r.git_revision},
          {"build", {{"type", r.build_type},
                     {"compiler", r.compiler},
                     {"cuda", r.with_cuda},
                     {"nccl", r.with_nccl},
                     {"cuda_architectures", r.cuda_architectures}}},
          {"host", r.host},
          {"cpu", {{"model", r.cpu_model}, {"threads", r.cpu_threads}, {"memory_bytes", r.host_memory}}},
          {"cuda", {{"status", r.cuda_status},
                    {"driver_version", r.cuda_driver_version},
                    {"runtime_version", r.cuda_runtime_version},
                    {"cublas_version", r.cublas_version},
                    {"nccl_version", r.nccl_version},
                    {"devices", devices}}}};
}

void print_text(const lw::SystemReport& r) {
  auto gib = [](int64_t b) { return b / double(1ull << 30); };
  std::printf("LLM Workbench %s (%s, %s, %s)\n", r.version.c_str(), r.git_revision.c_str(),
              r.build_type.c_str(), r.compiler.c_str());
  std::printf("Build options: CUDA %s (architectures %s), NCCL %s\n", r.with_cuda ? "on" : "off",
              r.with_cuda ? r.cuda_architectures.c_str() : "-", r.with_nccl ? "on" : "off");
  std::printf("Host:  %s\n", r.host.c_str());
  std::printf("CPU:   %s, %d threads, %.1f GiB memory\n", r.cpu_model.c_str(), r.cpu_threads,
              gib(r.host_memory));
  if (r.with_cuda)
    std::printf("CUDA:  driver %s, runtime %s, cuBLAS %s%s%s\n",
                r.cuda_driver_version.empty() ? "none" : r.cuda_driver_version.c_str(),
                r.cuda_runtime_version.c_str(), r.cublas_version.c_str(),
                r.nccl_version.empty() ? "" : ", NCCL ", r.nccl_version.c_str());
  if (r.cuda_devices.empty()) std::printf("GPU:   %s\n", r.cuda_status.c_str());
  for (const auto& d : r.cuda_devices)
    std::printf("GPU %d: %s, %.1f GiB (%.1f GiB free), compute capability %d.%d, %d SMs, %s\n",
                d.index, d.name.c_str(), gib(d.total_memory), gib(d.free_memory), d.cc_major,
                d.cc_minor, d.multiprocessors, d.pci_bus_id.c_str());
}

int run_info(const std::vector<std::string>& argv) {
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, {"json"}, &error)) return lwcli::usage_error("info", error);
  if (auto bad = args.unknown({"json"}); !bad.empty())
    return lwcli::usage_error("info", "unknown option --" + bad.front());
  if (!args.positional().empty())
    return lwcli::usage_error("info", "unexpected argument '" + args.positional().front() + "'");
  lw::SystemReport report = lw::query_system();
  if (args.has("json"))
    std::printf("%s\n", to_json(report).dump(2).c_str());
  else
    print_text(report);
  return 0;
}

const lwcli::CommandRegistration kInfo({
    "info",
    "version, build options, CPU and CUDA devices",
    "Usage: llmwb info [--json]\n\n"
    "Prints the version, build options (CUDA, NCCL), the CPU, the CUDA devices\n"
    "(name, memory, compute capability) or \"no CUDA device\", and the CUDA,\n"
    "cuBLAS and NCCL versions. --json prints one JSON document.",
    run_info});

}  // namespace
