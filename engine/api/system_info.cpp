// Probes the host (/proc) and, when built with CUDA, the devices through the
// CUDA runtime. A machine without a GPU or driver is a normal case, not an error.
#include "engine/api/system_info.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "engine/core/build_info.h"

#if LW_WITH_CUDA
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <library_types.h>
#endif
#if LW_WITH_NCCL
#include <nccl.h>
#endif

namespace lw {
namespace {

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown CPU";
}

int64_t read_host_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

std::string version_string(int v, int major_div, int minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div);
}

#if LW_WITH_CUDA
void query_cuda(SystemReport& r) {
  int driver = 0, runtime = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0)
    r.cuda_driver_version = version_string(driver, 1000, 10);
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess)
    r.cuda_runtime_version = version_string(runtime, 1000, 10);
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
    r.cublas_version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);

  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    if (err == cudaSuccess || err == cudaErrorNoDevice)
      r.cuda_status = "no CUDA device";
    else if (err == cudaErrorInsufficientDriver && driver == 0)
      r.cuda_status = "no CUDA device (no NVIDIA driver loaded)";
    else
      r.cuda_status = std::string("no CUDA device (") + cudaGetErrorString(err) + ")";
    cudaGetLastError();  // clear the non-sticky error so later probes start clean
    return;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.total_memory = static_cast<int64_t>(prop.totalGlobalMem);
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.multiprocessors = prop.multiProcessorCount;
    char bus[32] = {0};
    if (cudaDeviceGetPCIBusId(bus, sizeof(bus), i) == cudaSuccess) d.pci_bus_id = bus;
    size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
      d.free_memory = static_cast<int64_t>(free_b);
    r.cuda_devices.push_back(d);
  }
  r.cuda_status = std::to_string(r.cuda_devices.size()) + " CUDA device(s)";
}
#endif

}  // namespace

SystemReport query_system() {
  SystemReport r;
  r.version = build::kVersion;
  r.git_revision = build::kGitRevision;
  r.build_type = build::kBuildType;
  r.compiler = build::kCompiler;
  r.cuda_architectures = build::kCudaArchitectures;
  r.with_cuda = build::kWithCuda;
  r.with_nccl = build::kWithNccl;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) r.host = host;
  r.cpu_model = read_cpu_model();
  r.cpu_threads = static_cast<int>(std::thread::hardware_concurrency());
  r.host_memory = read_host_memory();
#if LW_WITH_CUDA
  query_cuda(r);
#else
  r.cuda_status = "no CUDA device (built without CUDA)";
#endif
#if LW_WITH_NCCL
  int nccl = 0;
  if (ncclGetVersion(&nccl) == ncclSuccess)
    r.nccl_version = std::to_string(nccl / 10000) + "." + std::to_string((nccl % 10000) / 100) +
                     "." + std::to_string(nccl % 100);
#endif
  return r;
}

std::string describe_default_device(const SystemReport& report) {
  std::ostringstream s;
  if (!report.cuda_devices.empty()) {
    const auto& d = report.cuda_devices.front();
    s.setf(std::ios::fixed);
    s.precision(1);
    s << "cuda:" << d.index << " " << d.name << " (" << d.total_memory / double(1 << 30) << " GiB)";
  } else {
    s << "cpu (" << report.cpu_threads << " threads)";
  }
  return s.str();
}

SystemInfo run_system_info(const SystemReport& r) {
  SystemInfo s;
  s.host = r.host;
  s.cpu = r.cpu_model + " (" + std::to_string(r.cpu_threads) + " threads)";
  for (const auto& d : r.cuda_devices) s.gpu += (s.gpu.empty() ? "" : "; ") + d.name;
  s.driver = r.cuda_driver_version;
  s.build = r.version + " " + r.git_revision + " " + r.build_type;
  return s;
}

}  // namespace lw
