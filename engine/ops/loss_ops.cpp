// Cross-entropy loss: target validation (ids named with their row), the per-row kernel, the
// mean over non-ignored rows, and the NaN/Inf guard (kNumerical). The CPU checks eagerly; on
// CUDA the kernels check targets and losses into the device error record and the mean stays
// on the device (stats), read back with the record in one sync, or later under
// DeferredChecks so that a step can be captured into a CUDA graph.
#include <cmath>
#include <limits>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/device_errors.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
namespace {
using namespace detail;

struct CeDims {
  int64_t N;
  int V;
};

Result<CeDims> check_ce(const char* op, const Tensor& logits, const Tensor& targets,
                        const CrossEntropyOptions& opts) {
  LW_TRY(check_float(op, "logits", logits));
  LW_ASSIGN_OR_RETURN(int V, last_dim(op, "logits", logits));
  LW_CHECK(V > 0, std::string(op) + ": logits have an empty vocabulary dim: " + describe(logits));
  LW_TRY(check_i32(op, "targets", targets));
  LW_TRY(check_same_device(op, "targets", targets, logits));
  Shape want(logits.shape().begin(), logits.shape().end() - 1);
  LW_TRY(check_shape(op, "targets", targets, want));
  LW_CHECK(opts.label_smoothing >= 0.0f && opts.label_smoothing <= 1.0f,
           std::string(op) + ": label_smoothing must be in [0, 1], got " +
               std::to_string(opts.label_smoothing));
  return CeDims{targets.numel(), V};
}

// Host targets: every one in [0, V) or ignore_index; returns the counted rows.
Result<int64_t> count_host_targets(const char* op, const Tensor& targets, int V,
                                   const CrossEntropyOptions& opts) {
  const int32_t* t = targets.data<int32_t>();
  int64_t count = 0;
  for (int64_t i = 0; i < targets.numel(); ++i) {
    if (t[i] == opts.ignore_index) continue;
    if (t[i] < 0 || t[i] >= V)
      return invalid_argument(std::string(op) + ": target " + std::to_string(t[i]) + " in row " +
                              std::to_string(i) + " is out of range for a vocabulary of " +
                              std::to_string(V) + " (ignore_index is " +
                              std::to_string(opts.ignore_index) + ")");
    ++count;
  }
  return count;
}

// CPU: the row losses are on the host already; the first non-finite one is named.
Status cpu_loss_stats(const char* op, CrossEntropyOut& out, int64_t N) {
  const float* losses = out.losses.data<float>();
  double sum = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    if (!std::isfinite(losses[i]))
      return Status(StatusCode::kNumerical, std::string(op) + ": loss of row " +
                                                std::to_string(i) + " is " +
                                                std::to_string(losses[i]) +
                                                " (NaN or Inf in the logits)");
    sum += losses[i];
  }
  out.loss = out.count > 0 ? static_cast<float>(sum / static_cast<double>(out.count)) : 0.0f;
  const float c = static_cast<float>(out.count);
  const float inv = out.count > 0 ? static_cast<float>(1.0 / static_cast<double>(out.count)) : 0.0f;
  LW_ASSIGN_OR_RETURN(out.stats, Tensor::from_floats(std::vector<float>{out.loss, c, inv}, {3}));
  return Status::ok();
}

#if LW_WITH_CUDA
Status cuda_cross_entropy(const char* op, const Tensor& logits, const Tensor& targets,
                          const CrossEntropyOptions& opts, const CeDims& d, CrossEntropyOut& out) {
  LW_ASSIGN_OR_RETURN(void* p, device_error_record(logits.device()));
  auto* rec = static_cast<cuda::DeviceErrorRecord*>(p);
  const uint32_t site = error_site(op, ErrorKind::kTarget, d.V, opts.ignore_index);
  const uint32_t nan_site = error_site(op, ErrorKind::kNonFiniteLoss, 0);
  LW_TRY(cuda::cross_entropy_forward_checked(logits.dtype(), out.losses.data<float>(),
                                             out.lse.data<float>(), logits.data_ptr(),
                                             targets.data<int32_t>(), d.N, d.V, opts.ignore_index,
                                             opts.label_smoothing, rec, site, stream()));
  LW_ASSIGN_OR_RETURN(out.stats, Tensor::empty({3}, DType::kF32, logits.device()));
  LW_TRY(cuda::cross_entropy_reduce(out.stats.data<float>(), out.losses.data<float>(),
                                    targets.data<int32_t>(), d.N, d.V, opts.ignore_index, rec,
                                    nan_site, stream()));
  if (checks_deferred()) {
    out.loss = std::numeric_limits<float>::quiet_NaN();
    out.count = -1;
    return Status::ok();
  }
  LW_TRY(check_device_errors(logits.device()));
  LW_ASSIGN_OR_RETURN(std::vector<float> s, out.stats.to_float_vector());
  out.loss = s[0];
  out.count = static_cast<int64_t>(s[1]);
  return Status::ok();
}
#endif

}  // namespace

Result<CrossEntropyOut> cross_entropy(const Tensor& logits, const Tensor& targets,
                                      const CrossEntropyOptions& opts) {
  const char* op = "cross_entropy";
  CrossEntropyOut out;
  LW_ASSIGN_OR_RETURN(CeDims d, check_ce(op, logits, targets, opts));
  LW_ASSIGN_OR_RETURN(out.losses, Tensor::empty({d.N}, DType::kF32, logits.device()));
  LW_ASSIGN_OR_RETURN(out.lse, Tensor::empty({d.N}, DType::kF32, logits.device()));
#if LW_WITH_CUDA
  if (logits.device().is_cuda()) {
    LW_TRY(cuda_cross_entropy(op, logits, targets, opts, d, out));
    return out;
  }
#endif
  if (!logits.device().is_cpu()) return no_backend(op, logits);
  LW_ASSIGN_OR_RETURN(out.count, count_host_targets(op, targets, d.V, opts));
  LW_ASSIGN_OR_RETURN(Tensor l32, as_f32(logits));
  cpu::cross_entropy_forward(out.losses.data<float>(), out.lse.data<float>(), l32.data<float>(),
                             targets.data<int32_t>(), d.N, d.V, opts.ignore_index,
                             opts.label_smoothing);
  LW_TRY(cpu_loss_stats(op, out, d.N));
  return out;
}

Result<Tensor> cross_entropy_backward(const Tensor& logits, const Tensor& targets,
                                      const CrossEntropyOut& saved,
                                      const CrossEntropyOptions& opts,
                                      std::optional<float> grad_scale) {
  const char* op = "cross_entropy_backward";
  LW_ASSIGN_OR_RETURN(CeDims d, check_ce(op, logits, targets, opts));
  LW_TRY(check_tensor(op, "lse", saved.lse));
  LW_CHECK(saved.lse.dtype() == DType::kF32, std::string(op) + ": lse must be f32");
  LW_TRY(check_shape(op, "lse", saved.lse, {d.N}));
  LW_TRY(check_same_device(op, "lse", saved.lse, logits));
  LW_ASSIGN_OR_RETURN(Tensor dlogits, Tensor::empty(logits.shape(), logits.dtype(), logits.device()));
#if LW_WITH_CUDA
  if (logits.device().is_cuda()) {
    // Bad targets were reported by the forward; the kernel skips their rows.
    if (grad_scale || saved.count >= 0) {
      const float scale = grad_scale ? *grad_scale
                          : saved.count > 0 ? static_cast<float>(1.0 / static_cast<double>(saved.count))
                                            : 0.0f;
      LW_TRY(cuda::cross_entropy_backward(logits.dtype(), dlogits.data_ptr(), logits.data_ptr(),
                                          saved.lse.data<float>(), targets.data<int32_t>(), d.N,
                                          d.V, opts.ignore_index, opts.label_smoothing, scale,
                                          stream()));
      return dlogits;
    }
    // Deferred forward: 1/count stays on the device.
    LW_CHECK(saved.stats.defined() && saved.stats.numel() == 3 && saved.stats.device() == logits.device(),
             std::string(op) + ": the forward's stats are missing (count unknown), got " +
                 describe(saved.stats));
    LW_ASSIGN_OR_RETURN(Tensor inv, saved.stats.slice(2, 1));
    LW_TRY(cuda::cross_entropy_backward_dev_scale(
        logits.dtype(), dlogits.data_ptr(), logits.data_ptr(), saved.lse.data<float>(),
        targets.data<int32_t>(), d.N, d.V, opts.ignore_index, opts.label_smoothing,
        inv.data<float>(), stream()));
    return dlogits;
  }
#endif
  if (!logits.device().is_cpu()) return no_backend(op, logits);
  LW_ASSIGN_OR_RETURN(int64_t count, count_host_targets(op, targets, d.V, opts));
  float scale = grad_scale ? *grad_scale
                : count > 0  ? static_cast<float>(1.0 / static_cast<double>(count))
                             : 0.0f;
  LW_ASSIGN_OR_RETURN(Tensor l32, as_f32(logits));
  LW_ASSIGN_OR_RETURN(Tensor d32, Tensor::empty(logits.shape(), DType::kF32));
  cpu::cross_entropy_backward(d32.data<float>(), l32.data<float>(), saved.lse.data<float>(),
                              targets.data<int32_t>(), d.N, d.V, opts.ignore_index,
                              opts.label_smoothing, scale);
  return from_f32(d32, logits.dtype());
}

}  // namespace lw::ops
