// Allocator: how tensor memory is obtained per device type. The CPU allocator
// hands out 64-byte aligned host memory; the CUDA backend registers a caching
// allocator (engine/backend/cuda) so no cudaMalloc happens inside a training or
// decode step. The registry is process-wide and keyed by DeviceType.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/core/device.h"
#include "engine/core/status.h"

namespace lw {

enum class CopyKind { kHostToDevice, kDeviceToHost, kDeviceToDevice };

struct AllocatorStats {
  size_t bytes_in_use = 0;     // handed out to live tensors
  size_t bytes_reserved = 0;   // held from the system (>= in use for a caching allocator)
  size_t peak_in_use = 0;
  int64_t num_allocs = 0;      // allocate() calls that succeeded
  int64_t num_system_allocs = 0;  // of which went to the system (malloc / cudaMalloc)
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual const char* name() const = 0;
  // kOutOfMemory on failure, with the size asked for (and the device) in the message.
  // nbytes == 0 returns a valid unique pointer or nullptr; both are fine to deallocate.
  virtual Result<void*> allocate(size_t nbytes, int device_index) = 0;
  virtual void deallocate(void* ptr, size_t nbytes, int device_index) = 0;
  // Byte copies between this allocator's device and the host (or within the device).
  // "Device" means this allocator's device type; for the CPU allocator all kinds are memcpy.
  virtual Status copy(void* dst, const void* src, size_t nbytes, CopyKind kind,
                      int device_index) = 0;
  virtual Status fill_zero(void* ptr, size_t nbytes, int device_index) = 0;
  virtual AllocatorStats stats(int device_index) const = 0;
  // Returns cached blocks to the system (caching allocators); a no-op otherwise.
  virtual void release_cached(int device_index) {}
};

// Registers (or replaces) the allocator for a device type. Not owned; must outlive all tensors.
void register_allocator(DeviceType type, Allocator* allocator);
// A backend that registers its allocator on first use (the CUDA backend's
// init_backend). The ops layer registers it at static-initialisation time, so
// nobody has to remember an explicit engine start-up call.
using BackendInitializer = Status (*)();
void register_backend_initializer(DeviceType type, BackendInitializer init);

// The allocator for a type, or nullptr when none is registered (e.g. built without CUDA).
Allocator* allocator_for(DeviceType type);
// The allocator for a device, or kUnsupported naming the device when none is registered.
Result<Allocator*> allocator_for_device(Device device);
// The default 64-byte aligned host allocator (always registered for kCpu at startup).
Allocator& cpu_allocator();

}  // namespace lw
