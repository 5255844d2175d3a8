// Caching device allocator (see caching_allocator.h). One mutex per process keeps it
// simple: allocation is off the hot path of kernels, and the free-list lookup is a
// map search. A cudaMalloc that fails first returns every cached block to the driver
// and retries once; if it still fails the Status names the bytes asked for.
#include "engine/backend/cuda/caching_allocator.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "engine/backend/cuda/cuda_check.h"

namespace lw::cuda {

namespace {

thread_local cudaStream_t t_stream = nullptr;

struct BlockInfo {
  size_t cls;         // size class actually reserved
  size_t requested;   // bytes asked for (stats)
  cudaStream_t stream;
};

struct FreeKey {
  cudaStream_t stream;
  size_t cls;
  bool operator<(const FreeKey& o) const { return std::tie(stream, cls) < std::tie(o.stream, o.cls); }
};

struct DevicePool {
  std::map<FreeKey, std::vector<void*>> free_lists;
  std::unordered_map<void*, BlockInfo> live;
  AllocatorStats stats;
};

// Runs with `device` current, restoring the caller's device afterwards.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    cudaGetDevice(&prev_);
    if (prev_ != device) cudaSetDevice(device);
  }
  ~DeviceGuard() { cudaSetDevice(prev_); }

 private:
  int prev_ = 0;
};

class CachingAllocator final : public Allocator {
 public:
  const char* name() const override { return "cuda-caching"; }

  Result<void*> allocate(size_t nbytes, int device) override {
    if (nbytes == 0) return static_cast<void*>(nullptr);
    const size_t cls = size_class(nbytes);
    const cudaStream_t stream = t_stream;
    std::lock_guard<std::mutex> lock(mu_);
    DevicePool& pool = pools_[device];
    void* ptr = nullptr;
    auto it = pool.free_lists.find(FreeKey{stream, cls});
    if (it != pool.free_lists.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
    } else {
      DeviceGuard guard(device);
      cudaError_t err = cudaMalloc(&ptr, cls);
      if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        release_locked(device, pool);
        err = cudaMalloc(&ptr, cls);
      }
      if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return out_of_memory(nbytes, device, "a tensor");
      }
      if (err != cudaSuccess) return cuda_error(err, __FILE__, __LINE__, "cudaMalloc");
      pool.stats.bytes_reserved += cls;
      ++pool.stats.num_system_allocs;
    }
    pool.live[ptr] = BlockInfo{cls, nbytes, stream};
    pool.stats.bytes_in_use += nbytes;
    pool.stats.peak_in_use = std::max(pool.stats.peak_in_use, pool.stats.bytes_in_use);
    ++pool.stats.num_allocs;
    return ptr;
  }

  void deallocate(void* ptr, size_t, int device) override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    DevicePool& pool = pools_[device];
    auto it = pool.live.find(ptr);
    if (it == pool.live.end()) return;  // not ours: ignoring beats corrupting the cache
    pool.stats.bytes_in_use -= it->second.requested;
    pool.free_lists[FreeKey{it->second.stream, it->second.cls}].push_back(ptr);
    pool.live.erase(it);
  }

  Status copy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device) override {
    if (nbytes == 0) return Status::ok();
    DeviceGuard guard(device);
    const cudaMemcpyKind k = kind == CopyKind::kHostToDevice   ? cudaMemcpyHostToDevice
                             : kind == CopyKind::kDeviceToHost ? cudaMemcpyDeviceToHost
                                                               : cudaMemcpyDeviceToDevice;
    LW_CUDA_TRY(cudaMemcpyAsync(dst, src, nbytes, k, t_stream));
    // Host buffers may be reused as soon as we return: wait for transfers touching them.
    if (kind != CopyKind::kDeviceToDevice) LW_CUDA_TRY(cudaStreamSynchronize(t_stream));
    return Status::ok();
  }

  Status fill_zero(void* ptr, size_t nbytes, int device) override {
    if (nbytes == 0) return Status::ok();
    DeviceGuard guard(device);
    LW_CUDA_TRY(cudaMemsetAsync(ptr, 0, nbytes, t_stream));
    return Status::ok();
  }

  AllocatorStats stats(int device) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(device);
    return it == pools_.end() ? AllocatorStats{} : it->second.stats;
  }

  void release_cached(int device) override {
    std::lock_guard<std::mutex> lock(mu_);
    release_locked(device, pools_[device]);
  }

 private:
  // Frees every cached (not live) block; waits for the device first, since a cached
  // block may still be read by queued work of its stream.
  void release_locked(int device, DevicePool& pool) {
    DeviceGuard guard(device);
    cudaDeviceSynchronize();
    for (auto& [key, blocks] : pool.free_lists) {
      for (void* p : blocks) {
        cudaFree(p);
        pool.stats.bytes_reserved -= key.cls;
      }
      blocks.clear();
    }
    cudaGetLastError();
  }

  mutable std::mutex mu_;
  std::map<int, DevicePool> pools_;
};

}  // namespace

size_t size_class(size_t nbytes) {
  constexpr size_t kSmall = 512, kLarge = 2u << 20, kSmallLimit = 1u << 20;
  if (nbytes < kSmallLimit) return (std::max<size_t>(nbytes, 1) + kSmall - 1) / kSmall * kSmall;
  return (nbytes + kLarge - 1) / kLarge * kLarge;
}

Allocator& caching_allocator() {
  static CachingAllocator* instance = new CachingAllocator();  // outlives every tensor
  return *instance;
}

Status init_backend() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess || n == 0) {
    cudaGetLastError();
    return unsupported(std::string("no CUDA device: ") +
                       (err != cudaSuccess ? cudaGetErrorString(err) : "device count is 0"));
  }
  register_allocator(DeviceType::kCuda, &caching_allocator());
  return Status::ok();
}

void set_current_stream(cudaStream_t stream) { t_stream = stream; }
cudaStream_t current_stream() { return t_stream; }

}  // namespace lw::cuda
