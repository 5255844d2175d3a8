// The caching CUDA device allocator behind lw::Allocator for DeviceType::kCuda.
// Freed blocks go to per-(device, stream, size class) free lists and are handed out
// again without cudaMalloc, so a training or decode step allocates from the cache
// once the first step has warmed it. Blocks are reused only on the stream that
// allocated them (set per thread with set_current_stream), which keeps work on one
// job's stream from racing another's. Plain C++: no device code.
#pragma once
#include <cuda_runtime_api.h>

#include "engine/core/allocator.h"

namespace lw::cuda {

// The process-wide caching allocator.
Allocator& caching_allocator();
// Registers caching_allocator() for DeviceType::kCuda (idempotent). Returns kUnsupported
// when no CUDA device is present. Call once at startup (engine init, tests, llmwb).
Status init_backend();

// The stream this thread's allocations, copies and fills are ordered on (default: the
// legacy default stream 0). A job sets its stream before running.
void set_current_stream(cudaStream_t stream);
cudaStream_t current_stream();

// Size class of a request: multiples of 512 bytes below 1 MiB, of 2 MiB above.
size_t size_class(size_t nbytes);

}  // namespace lw::cuda
