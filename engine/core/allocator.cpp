// The allocator registry and the CPU allocator: 64-byte aligned host memory
// (a cache line, and the widest SIMD load), with simple usage statistics.
#include "engine/core/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace lw {
namespace {

class CpuAllocator final : public Allocator {
 public:
  const char* name() const override { return "cpu"; }
  Result<void*> allocate(size_t nbytes, int) override {
    size_t rounded = (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p)
      return Status(StatusCode::kOutOfMemory,
                    "host allocation of " + std::to_string(nbytes) + " bytes failed");
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_in_use += nbytes;
    stats_.bytes_reserved += nbytes;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.bytes_in_use);
    ++stats_.num_allocs;
    ++stats_.num_system_allocs;
    return p;
  }
  void deallocate(void* ptr, size_t nbytes, int) override {
    if (!ptr) return;
    std::free(ptr);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_in_use -= nbytes;
    stats_.bytes_reserved -= nbytes;
  }
  Status copy(void* dst, const void* src, size_t nbytes, CopyKind, int) override {
    if (nbytes) std::memcpy(dst, src, nbytes);
    return Status::ok();
  }
  Status fill_zero(void* ptr, size_t nbytes, int) override {
    if (nbytes) std::memset(ptr, 0, nbytes);
    return Status::ok();
  }
  AllocatorStats stats(int) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  mutable std::mutex mu_;
  AllocatorStats stats_;
};

std::atomic<Allocator*>& slot(DeviceType type) {
  static std::atomic<Allocator*> slots[kNumDeviceTypes] = {};
  return slots[static_cast<int>(type)];
}

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator instance;
  return instance;
}

void register_allocator(DeviceType type, Allocator* allocator) { slot(type).store(allocator); }

Allocator* allocator_for(DeviceType type) {
  if (type == DeviceType::kCpu) {
    Allocator* a = slot(type).load();
    return a ? a : &cpu_allocator();
  }
  return slot(type).load();
}

std::atomic<BackendInitializer>& initializer_slot(DeviceType type) {
  static std::atomic<BackendInitializer> slots[kNumDeviceTypes] = {};
  return slots[static_cast<int>(type)];
}

void register_backend_initializer(DeviceType type, BackendInitializer init) {
  initializer_slot(type).store(init);
}

Result<Allocator*> allocator_for_device(Device device) {
  Allocator* a = allocator_for(device.type);
  if (!a) {
    // First use of this device type: let its backend register itself (once; the
    // backend's init is idempotent and thread-safe), and report why it could not.
    if (BackendInitializer init = initializer_slot(device.type).load()) {
      Status st = init();
      if (!st.is_ok()) return st.with_context("starting the backend for " + device.to_string());
      a = allocator_for(device.type);
    }
  }
  if (!a)
    return unsupported("no allocator registered for " + device.to_string() +
                       " (engine built without CUDA, or lw::cuda::init_backend() was not called)");
  return a;
}

}  // namespace lw
