// Deferred validation of device-resident inputs. On CUDA the kernels that read token ids and
// targets check them themselves and write the first bad one into a small error record per
// device and stream (never reading out of bounds), so a step needs no host read of its inputs
// and can be captured into a CUDA graph. The host turns the record into the same Status text
// as the eager CPU checks where it synchronises anyway: the loss read, check_device_errors().
#pragma once
#include <cstdint>

#include "engine/core/status.h"
#include "engine/core/tensor.h"

namespace lw::ops {

// Reads and clears the error record of `device` and this thread's stream: the Status of the first bad input a kernel saw
// since the last check ("embedding: token id 50300 at position 17 is out of range for a
// vocabulary of 50257"; a non-finite loss is kNumerical). A sync on CUDA; OK on CPU (whose
// ops check eagerly) and while the current stream is being captured (nothing can be read).
Status check_device_errors(Device device);

// While one of these lives on a thread, CUDA ops of that thread do not synchronise to check
// their inputs or read the loss back: embedding ids and cross-entropy targets are checked on
// the device, CrossEntropyOut::loss/count are left unread (NaN / -1; read stats with
// read_loss), and the caller calls check_device_errors() or read_loss() at the end of its
// step. Capturing the current stream into a CUDA graph implies it. Nests. CPU ops are eager
// either way.
class DeferredChecks {
 public:
  DeferredChecks();
  ~DeferredChecks();
  DeferredChecks(const DeferredChecks&) = delete;
  DeferredChecks& operator=(const DeferredChecks&) = delete;
};
// True inside a DeferredChecks scope or while this thread's CUDA stream is capturing.
bool checks_deferred();

// The mean loss from CrossEntropyOut::stats (element 0), after check_device_errors() on its
// device: out-of-range ids/targets and non-finite losses come back as their Status. A sync.
Result<float> read_loss(const Tensor& stats);

// Allocates the error record of `device` and this thread's stream now (it is allocated on first use otherwise, which a
// stream capture does not allow). Call before capturing a step. OK on CPU.
Status prepare_device_errors(Device device);

namespace detail {
// What a recorded error means; the host keeps the text, the kernel gets a small id.
enum class ErrorKind { kTokenId, kTarget, kNonFiniteLoss };
// The id of (op, kind, limit V, ignore_index) in the host table (deduplicated, never 0).
uint32_t error_site(const char* op, ErrorKind kind, int64_t limit, int64_t ignore_index = 0);
// The record of (device, this thread's stream) (a cuda::DeviceErrorRecord*), allocated on
// first use.
Result<void*> device_error_record(Device device);
}  // namespace detail

}  // namespace lw::ops
