// Status construction for CUDA and cuBLAS failures (see cuda_check.h).
#include "engine/backend/cuda/cuda_check.h"

#include <cublas_api.h>

#include <cstdio>

namespace lw::cuda {

namespace {
std::string where(const char* file, int line, const char* what) {
  return detail::format_location(file, line) + ": " + what;
}
}  // namespace

Status cuda_error(cudaError_t err, const char* file, int line, const char* what) {
  std::string msg = where(file, line, what) + ": " + cudaGetErrorName(err) + " (" +
                    cudaGetErrorString(err) + ")";
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the non-sticky error so the session can go on
    return {StatusCode::kOutOfMemory, "CUDA out of memory: " + msg};
  }
  return {StatusCode::kDeviceError, msg};
}

Status cublas_error(int status, const char* file, int line, const char* what) {
  std::string msg = where(file, line, what) + ": " +
                    cublasGetStatusName(static_cast<cublasStatus_t>(status)) + " (" +
                    cublasGetStatusString(static_cast<cublasStatus_t>(status)) + ")";
  if (status == CUBLAS_STATUS_ALLOC_FAILED) return {StatusCode::kOutOfMemory, msg};
  if (status == CUBLAS_STATUS_NOT_SUPPORTED) return {StatusCode::kUnsupported, msg};
  return {StatusCode::kDeviceError, msg};
}

Status out_of_memory(size_t bytes, int device, const char* what) {
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  cudaGetLastError();
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "CUDA out of memory on cuda:%d: %s asked for %zu bytes (%.2f MiB); "
                "%.2f MiB free of %.2f MiB",
                device, what, bytes, bytes / 1048576.0, free_b / 1048576.0,
                total_b / 1048576.0);
  return {StatusCode::kOutOfMemory, buf};
}

}  // namespace lw::cuda
