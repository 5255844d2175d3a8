// AdamW step, global gradient norm and clipping.
#include <algorithm>
#include <cmath>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
using namespace detail;

Status adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWConfig& cfg,
                  int t, float grad_scale, Tensor* low_precision) {
  const char* op = "adamw_step";
  LW_TRY(check_tensor(op, "param", param));
  LW_CHECK(param.dtype() == DType::kF32,
           std::string(op) + ": param (the master weights) must be f32, got " + describe(param));
  LW_TRY(check_float(op, "grad", grad));
  LW_TRY(check_same_device(op, "grad", grad, param));
  LW_TRY(check_shape(op, "grad", grad, param.shape()));
  for (auto [name, s] : {std::pair<const char*, Tensor*>{"m", &m}, {"v", &v}}) {
    LW_TRY(check_like(op, name, *s, param, param.shape()));
  }
  LW_CHECK(t >= 1, std::string(op) + ": step t is 1-based, got " + std::to_string(t));
  if (low_precision) {
    LW_TRY(check_float(op, "low_precision", *low_precision));
    LW_TRY(check_same_device(op, "low_precision", *low_precision, param));
    LW_TRY(check_shape(op, "low_precision", *low_precision, param.shape()));
  }
#if LW_WITH_CUDA
  if (param.device().is_cuda()) {
    cuda::AdamWArgs a{cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, t, grad_scale};
    return cuda::adamw_step(param.data<float>(), grad.dtype(), grad.data_ptr(), m.data<float>(),
                            v.data<float>(), param.numel(), a,
                            low_precision ? low_precision->dtype() : DType::kF32,
                            low_precision ? low_precision->data_ptr() : nullptr, stream());
  }
#endif
  if (!param.device().is_cpu()) return no_backend(op, param);
  LW_ASSIGN_OR_RETURN(Tensor g32, as_f32(grad));
  cpu::adamw_step(param.data<float>(), g32.data<float>(), m.data<float>(), v.data<float>(),
                  param.numel(), cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, t,
                  grad_scale);
  if (low_precision) return low_precision->copy_from(param);
  return Status::ok();
}

Result<double> global_norm(std::span<const Tensor> grads) {
  double total = 0.0;
#if LW_WITH_CUDA
  // One device accumulator per GPU, read back once: a read per tensor would stall the host
  // a few hundred times per optimizer step.
  std::vector<std::pair<Device, Tensor>> accumulators;
#endif
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    std::string name = "grads[" + std::to_string(i) + "]";
    LW_TRY(check_float("global_norm", name.c_str(), g));
#if LW_WITH_CUDA
    if (g.device().is_cuda()) {
      auto it = std::find_if(accumulators.begin(), accumulators.end(),
                             [&](const auto& a) { return a.first == g.device(); });
      if (it == accumulators.end()) {
        LW_ASSIGN_OR_RETURN(Tensor acc, Tensor::zeros({1}, DType::kF32, g.device()));
        accumulators.emplace_back(g.device(), acc);
        it = accumulators.end() - 1;
      }
      LW_TRY(cuda::sum_squares(g.dtype(), it->second.data<float>(), g.data_ptr(), g.numel(),
                               /*accumulate=*/true, stream()));
      continue;
    }
#endif
    if (!g.device().is_cpu()) return no_backend("global_norm", g);
    LW_ASSIGN_OR_RETURN(Tensor g32, as_f32(g));
    total += cpu::sum_squares(g32.data<float>(), g.numel());
  }
#if LW_WITH_CUDA
  for (const auto& a : accumulators) {
    LW_ASSIGN_OR_RETURN(float s, a.second.item());
    total += s;
  }
#endif
  return std::sqrt(total);
}

Result<double> clip_grad_norm(std::span<Tensor> grads, float max_norm) {
  std::vector<Tensor> view(grads.begin(), grads.end());
  LW_ASSIGN_OR_RETURN(double norm, global_norm(view));
  if (!std::isfinite(norm)) return norm;
  double coef = static_cast<double>(max_norm) / (norm + 1e-6);
  if (coef < 1.0) {
    for (Tensor& g : grads) LW_TRY(scale_(g, static_cast<float>(coef)));
  }
  return norm;
}

}  // namespace lw::ops
