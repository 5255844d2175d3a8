// Turning CUDA / cuBLAS errors into lw::Status. Every runtime or library call in the
// CUDA backend goes through LW_CUDA_TRY / LW_CUBLAS_TRY, so a failure comes back
// with file:line, the call and the library's own error text, never as a crash.
// Plain C++: usable from g++ code (gemm, allocator) and from .cu files alike.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

#include "engine/core/status.h"

namespace lw::cuda {

// cudaErrorMemoryAllocation -> kOutOfMemory, everything else -> kDeviceError.
Status cuda_error(cudaError_t err, const char* file, int line, const char* what);
Status cublas_error(int status, const char* file, int line, const char* what);
// Out-of-memory status naming the bytes asked for and what the device has free.
Status out_of_memory(size_t bytes, int device, const char* what);

}  // namespace lw::cuda

#define LW_CUDA_TRY(expr)                                                             \
  do {                                                                                \
    cudaError_t _lw_ce = (expr);                                                      \
    if (_lw_ce != cudaSuccess) return ::lw::cuda::cuda_error(_lw_ce, __FILE__, __LINE__, #expr); \
  } while (0)

// After a kernel launch: reports a bad launch configuration (never synchronises).
#define LW_CUDA_LAUNCH_CHECK() LW_CUDA_TRY(cudaGetLastError())

#define LW_CUBLAS_TRY(expr)                                                           \
  do {                                                                                \
    int _lw_bs = static_cast<int>(expr);                                              \
    if (_lw_bs != 0) return ::lw::cuda::cublas_error(_lw_bs, __FILE__, __LINE__, #expr); \
  } while (0)
