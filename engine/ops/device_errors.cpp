// Deferred input validation (see device_errors.h): the host table of error sites, the
// per-(device, stream) records the CUDA kernels write, and their translation into Status text that
// matches the eager CPU checks word for word.
#include "engine/ops/device_errors.h"

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/ops/op_common.h"

#if LW_WITH_CUDA
#include <cuda_runtime.h>

#include "engine/backend/cuda/cuda_check.h"
#endif

namespace lw::ops {
namespace {

thread_local int t_deferred = 0;

struct Site {
  std::string op;
  detail::ErrorKind kind;
  int64_t limit, ignore_index;
};

// Sites live for the process: a captured graph keeps their ids. Deduplicated, so a training
// loop registers a handful.
struct SiteTable {
  std::mutex mu;
  std::vector<Site> sites;  // id = index + 1
  std::map<std::tuple<std::string, int, int64_t, int64_t>, uint32_t> ids;
};
SiteTable& site_table() {
  static SiteTable* t = new SiteTable();
  return *t;
}

[[maybe_unused]] Result<Site> site_of(uint32_t id) {
  SiteTable& t = site_table();
  std::lock_guard<std::mutex> lock(t.mu);
  LW_ASSERT(id >= 1 && id <= t.sites.size());
  return t.sites[id - 1];
}

[[maybe_unused]] Status site_status(const Site& s, int64_t pos, int32_t value) {
  using detail::ErrorKind;
  switch (s.kind) {
    case ErrorKind::kTokenId:
      return invalid_argument(s.op + ": token id " + std::to_string(value) + " at position " +
                              std::to_string(pos) + " is out of range for a vocabulary of " +
                              std::to_string(s.limit));
    case ErrorKind::kTarget:
      return invalid_argument(s.op + ": target " + std::to_string(value) + " in row " +
                              std::to_string(pos) + " is out of range for a vocabulary of " +
                              std::to_string(s.limit) + " (ignore_index is " +
                              std::to_string(s.ignore_index) + ")");
    case ErrorKind::kNonFiniteLoss: {
      float f;
      std::memcpy(&f, &value, sizeof f);
      // "nan" whatever its sign bit, as the CPU check prints a NaN it computed.
      const std::string v = std::isnan(f) ? "nan" : std::to_string(f);
      return Status(StatusCode::kNumerical, s.op + ": loss of row " + std::to_string(pos) +
                                                " is " + v +
                                                " (NaN or Inf in the logits)");
    }
  }
  return internal_error("unknown device error kind");
}

#if LW_WITH_CUDA
// One record per (device, stream): a job's checks never see another job's errors. Allocated
// once with cudaMalloc (outside the caching allocator: it lives for the process and must
// exist before a capture starts).
struct Records {
  std::mutex mu;
  std::map<std::pair<int, cudaStream_t>, cuda::DeviceErrorRecord*> by_key;
};
Records& records() {
  static Records* r = new Records();
  return *r;
}

bool capturing() {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(detail::stream(), &st) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return st != cudaStreamCaptureStatusNone;
}

Status reset_record(cuda::DeviceErrorRecord* rec) {
  LW_CUDA_TRY(cudaMemsetAsync(&rec->site, 0, sizeof rec->site, detail::stream()));
  LW_CUDA_TRY(cudaMemsetAsync(&rec->key, 0xff, sizeof rec->key, detail::stream()));
  return Status::ok();
}
#endif

}  // namespace

DeferredChecks::DeferredChecks() { ++t_deferred; }
DeferredChecks::~DeferredChecks() { --t_deferred; }

bool checks_deferred() {
  if (t_deferred > 0) return true;
#if LW_WITH_CUDA
  return capturing();
#else
  return false;
#endif
}

namespace detail {

uint32_t error_site(const char* op, ErrorKind kind, int64_t limit, int64_t ignore_index) {
  SiteTable& t = site_table();
  std::lock_guard<std::mutex> lock(t.mu);
  auto key = std::make_tuple(std::string(op), static_cast<int>(kind), limit, ignore_index);
  auto it = t.ids.find(key);
  if (it != t.ids.end()) return it->second;
  t.sites.push_back(Site{op, kind, limit, ignore_index});
  const auto id = static_cast<uint32_t>(t.sites.size());
  t.ids.emplace(std::move(key), id);
  return id;
}

Result<void*> device_error_record(Device device) {
#if LW_WITH_CUDA
  LW_CHECK(device.is_cuda(), "device error records exist for CUDA devices only, not " +
                                 device.to_string());
  Records& r = records();
  std::lock_guard<std::mutex> lock(r.mu);
  const auto key = std::make_pair(device.index, stream());
  auto it = r.by_key.find(key);
  if (it != r.by_key.end()) return static_cast<void*>(it->second);
  if (capturing())
    return Status(StatusCode::kUnsupported,
                  "the device error record of " + device.to_string() +
                      " must exist before a CUDA-graph capture: run one step eagerly first, or "
                      "call ops::prepare_device_errors");
  int prev = 0;
  cudaGetDevice(&prev);
  if (prev != device.index) LW_CUDA_TRY(cudaSetDevice(device.index));
  cuda::DeviceErrorRecord* rec = nullptr;
  cudaError_t err = cudaMalloc(&rec, sizeof *rec);
  if (prev != device.index) cudaSetDevice(prev);
  if (err != cudaSuccess) return cuda::cuda_error(err, __FILE__, __LINE__, "cudaMalloc");
  LW_TRY(reset_record(rec));
  r.by_key[key] = rec;
  return static_cast<void*>(rec);
#else
  return unsupported("device error records need a CUDA build (" + device.to_string() + ")");
#endif
}

}  // namespace detail

Status prepare_device_errors(Device device) {
  if (!device.is_cuda()) return Status::ok();
  return detail::device_error_record(device).status();
}

Status check_device_errors(Device device) {
  if (!device.is_cuda()) return Status::ok();
#if LW_WITH_CUDA
  if (capturing()) return Status::ok();
  LW_ASSIGN_OR_RETURN(void* p, detail::device_error_record(device));
  auto* rec = static_cast<cuda::DeviceErrorRecord*>(p);
  cuda::DeviceErrorRecord host{};
  LW_CUDA_TRY(cudaMemcpyAsync(&host, rec, sizeof host, cudaMemcpyDeviceToHost, detail::stream()));
  LW_CUDA_TRY(cudaStreamSynchronize(detail::stream()));
  if (host.site == 0) return Status::ok();
  LW_TRY(reset_record(rec));
  LW_ASSIGN_OR_RETURN(Site s, site_of(host.site));
  const auto pos = static_cast<int64_t>(host.key >> 32);
  const auto value = static_cast<int32_t>(static_cast<uint32_t>(host.key & 0xffffffffull));
  return site_status(s, pos, value);
#else
  return Status::ok();
#endif
}

Result<float> read_loss(const Tensor& stats) {
  LW_CHECK(stats.defined() && stats.dtype() == DType::kF32 && stats.numel() >= 1,
           "read_loss: stats must be the f32 [3] CrossEntropyOut::stats, got " +
               detail::describe(stats));
  LW_TRY(check_device_errors(stats.device()));
  return stats.item(0);
}

}  // namespace lw::ops
