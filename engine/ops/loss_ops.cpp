// Cross-entropy loss: target validation (ids named with their row), the per-row
// kernel, the mean over non-ignored rows, and the NaN/Inf guard (kNumerical).
#include <cmath>

#include "engine/backend/cpu/cpu_kernels.h"
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
                        const CrossEntropyOptions& opts, int64_t* count) {
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
  Tensor host = targets;
  if (!targets.device().is_cpu()) {
    LW_ASSIGN_OR_RETURN(host, targets.to(Device::cpu()));
  }
  const int32_t* t = host.data<int32_t>();
  *count = 0;
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (t[i] == opts.ignore_index) continue;
    if (t[i] < 0 || t[i] >= V)
      return invalid_argument(std::string(op) + ": target " + std::to_string(t[i]) + " in row " +
                              std::to_string(i) + " is out of range for a vocabulary of " +
                              std::to_string(V) + " (ignore_index is " +
                              std::to_string(opts.ignore_index) + ")");
    ++*count;
  }
  return CeDims{host.numel(), V};
}

}  // namespace

Result<CrossEntropyOut> cross_entropy(const Tensor& logits, const Tensor& targets,
                                      const CrossEntropyOptions& opts) {
  const char* op = "cross_entropy";
  CrossEntropyOut out;
  LW_ASSIGN_OR_RETURN(CeDims d, check_ce(op, logits, targets, opts, &out.count));
  LW_ASSIGN_OR_RETURN(out.losses, Tensor::empty({d.N}, DType::kF32, logits.device()));
  LW_ASSIGN_OR_RETURN(out.lse, Tensor::empty({d.N}, DType::kF32, logits.device()));
  bool done = false;
#if LW_WITH_CUDA
  if (logits.device().is_cuda()) {
    LW_TRY(cuda::cross_entropy_forward(logits.dtype(), out.losses.data<float>(),
                                       out.lse.data<float>(), logits.data_ptr(),
                                       targets.data<int32_t>(), d.N, d.V, opts.ignore_index,
                                       opts.label_smoothing, stream()));
    done = true;
  }
#endif
  if (!done) {
    if (!logits.device().is_cpu()) return no_backend(op, logits);
    LW_ASSIGN_OR_RETURN(Tensor l32, as_f32(logits));
    cpu::cross_entropy_forward(out.losses.data<float>(), out.lse.data<float>(),
                               l32.data<float>(), targets.data<int32_t>(), d.N, d.V,
                               opts.ignore_index, opts.label_smoothing);
  }
  LW_ASSIGN_OR_RETURN(std::vector<float> losses, out.losses.to_float_vector());
  double sum = 0.0;
  for (int64_t i = 0; i < d.N; ++i) {
    if (!std::isfinite(losses[i]))
      return Status(StatusCode::kNumerical, std::string(op) + ": loss of row " +
                                                std::to_string(i) + " is " +
                                                std::to_string(losses[i]) +
                                                " (NaN or Inf in the logits)");
    sum += losses[i];
  }
  out.loss = out.count > 0 ? static_cast<float>(sum / static_cast<double>(out.count)) : 0.0f;
  return out;
}

Result<Tensor> cross_entropy_backward(const Tensor& logits, const Tensor& targets,
                                      const CrossEntropyOut& saved,
                                      const CrossEntropyOptions& opts,
                                      std::optional<float> grad_scale) {
  const char* op = "cross_entropy_backward";
  int64_t count = 0;
  LW_ASSIGN_OR_RETURN(CeDims d, check_ce(op, logits, targets, opts, &count));
  LW_TRY(check_tensor(op, "lse", saved.lse));
  LW_CHECK(saved.lse.dtype() == DType::kF32, std::string(op) + ": lse must be f32");
  LW_TRY(check_shape(op, "lse", saved.lse, {d.N}));
  LW_TRY(check_same_device(op, "lse", saved.lse, logits));
  float scale = grad_scale ? *grad_scale
                : count > 0  ? static_cast<float>(1.0 / static_cast<double>(count))
                             : 0.0f;
  LW_ASSIGN_OR_RETURN(Tensor dlogits, Tensor::empty(logits.shape(), logits.dtype(), logits.device()));
#if LW_WITH_CUDA
  if (logits.device().is_cuda()) {
    LW_TRY(cuda::cross_entropy_backward(logits.dtype(), dlogits.data_ptr(), logits.data_ptr(),
                                        saved.lse.data<float>(), targets.data<int32_t>(), d.N,
                                        d.V, opts.ignore_index, opts.label_smoothing, scale,
                                        stream()));
    return dlogits;
  }
#endif
  if (!logits.device().is_cpu()) return no_backend(op, logits);
  LW_ASSIGN_OR_RETURN(Tensor l32, as_f32(logits));
  LW_ASSIGN_OR_RETURN(Tensor d32, Tensor::empty(logits.shape(), DType::kF32));
  cpu::cross_entropy_backward(d32.data<float>(), l32.data<float>(), saved.lse.data<float>(),
                              targets.data<int32_t>(), d.N, d.V, opts.ignore_index,
                              opts.label_smoothing, scale);
  return from_f32(d32, logits.dtype());
}

}  // namespace lw::ops
