// Device facts for `llmwb bench --device-info`, the store's system table and the UI's
// status bar: name, SM count, memory, clocks and the driver/runtime versions.
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/cuda_kernels.h"

#include <cstdio>

namespace lw::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

Status device_info(int index, DeviceInfo* info) {
  cudaDeviceProp p{};
  LW_CUDA_TRY(cudaGetDeviceProperties(&p, index));
  *info = DeviceInfo{};
  info->index = index;
  std::snprintf(info->name, sizeof info->name, "%s", p.name);
  info->sm_count = p.multiProcessorCount;
  info->major = p.major;
  info->minor = p.minor;
  info->total_memory = p.totalGlobalMem;
  info->l2_bytes = p.l2CacheSize;
  LW_CUDA_TRY(cudaDeviceGetAttribute(&info->clock_khz, cudaDevAttrClockRate, index));
  LW_CUDA_TRY(cudaDeviceGetAttribute(&info->memory_clock_khz, cudaDevAttrMemoryClockRate, index));
  LW_CUDA_TRY(cudaDeviceGetAttribute(&info->memory_bus_bits, cudaDevAttrGlobalMemoryBusWidth, index));
  LW_CUDA_TRY(cudaDriverGetVersion(&info->driver_version));
  LW_CUDA_TRY(cudaRuntimeGetVersion(&info->runtime_version));
  return Status::ok();
}

}  // namespace lw::cuda
