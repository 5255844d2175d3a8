// What this machine and this build can do: reported by `llmwb info`, shown in
// the status bar and recorded with every run in the experiment store.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/api/experiment_store.h"

namespace lw {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;           // "NVIDIA H100 80GB HBM3"
  int64_t total_memory = 0;   // bytes
  int64_t free_memory = 0;    // bytes, at query time
  int cc_major = 0, cc_minor = 0;
  int multiprocessors = 0;
  std::string pci_bus_id;
};

struct SystemReport {
  std::string version, git_revision, build_type, compiler, cuda_architectures;
  bool with_cuda = false, with_nccl = false;
  std::string host;
  std::string cpu_model;
  int cpu_threads = 0;
  int64_t host_memory = 0;  // bytes
  std::vector<CudaDeviceInfo> cuda_devices;
  std::string cuda_driver_version;   // "13.0" (what the driver supports), empty without CUDA
  std::string cuda_runtime_version;  // "13.0"
  std::string cublas_version;        // "13.0.2"
  std::string nccl_version;          // "2.28.3"
  std::string cuda_status;           // why no device is listed ("no CUDA device", driver error ...)
};

// Never fails: what cannot be found is left empty and explained in cuda_status.
SystemReport query_system();

// The experiment store's system row for a run: host, CPU, GPUs, driver and build.
SystemInfo run_system_info(const SystemReport& report);

// One line for a status bar: "cuda:0 NVIDIA H100 80GB HBM3 (79.1 GiB)" or "cpu (2 threads)".
std::string describe_default_device(const SystemReport& report);

}  // namespace lw
