// Device side of the deferred input checks (engine/ops/device_errors.h): a kernel that finds
// a bad id or target reports it into the per-device DeviceErrorRecord instead of reading out
// of bounds; the host reads the record where it synchronises anyway.
#pragma once
#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda {

// The first site to claim the record owns it; within that site the smallest position wins.
__device__ __forceinline__ void record_device_error(DeviceErrorRecord* rec, unsigned site,
                                                    int64_t pos, int32_t value) {
  if (!rec || site == 0) return;
  const unsigned old = atomicCAS(&rec->site, 0u, site);
  if (old == 0u || old == site)
    atomicMin(&rec->key, (static_cast<unsigned long long>(pos) << 32) |
                             static_cast<unsigned long long>(static_cast<uint32_t>(value)));
}

}  // namespace lw::cuda
