// AdamW step, global gradient norm and clipping. The *_device forms keep every step input
// and result in device memory (clip factor, lr and bias corrections), so that a training
// step can be captured into a CUDA graph and replayed with a new t and lr.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
using namespace detail;

namespace {

Status check_adamw(const char* op, const Tensor& param, const Tensor& grad, const Tensor& m,
                   const Tensor& v, int t, const Tensor* low_precision) {
  LW_TRY(check_tensor(op, "param", param));
  LW_CHECK(param.dtype() == DType::kF32,
           std::string(op) + ": param (the master weights) must be f32, got " + describe(param));
  LW_TRY(check_float(op, "grad", grad));
  LW_TRY(check_same_device(op, "grad", grad, param));
  LW_TRY(check_shape(op, "grad", grad, param.shape()));
  for (auto [name, s] : {std::pair<const char*, const Tensor*>{"m", &m}, {"v", &v}}) {
    LW_TRY(check_like(op, name, *s, param, param.shape()));
  }
  LW_CHECK(t >= 1, std::string(op) + ": step t is 1-based, got " + std::to_string(t));
  if (low_precision) {
    LW_TRY(check_float(op, "low_precision", *low_precision));
    LW_TRY(check_same_device(op, "low_precision", *low_precision, param));
    LW_TRY(check_shape(op, "low_precision", *low_precision, param.shape()));
  }
  return Status::ok();
}

}  // namespace

Status adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWConfig& cfg,
                  int t, float grad_scale, Tensor* low_precision) {
  const char* op = "adamw_step";
  LW_TRY(check_adamw(op, param, grad, m, v, t, low_precision));
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

Status adamw_step_multi(std::span<const AdamWSlot> slots, const AdamWConfig& cfg, int t,
                        float grad_scale) {
  return adamw_step_multi(slots, cfg, t, grad_scale, AdamWDeviceInputs{});
}

namespace {

Status check_device_inputs(const char* op, const AdamWDeviceInputs& dev, const Tensor& ref) {
  for (auto [name, p, n] : {std::tuple<const char*, const Tensor*, int64_t>{"grad_scale", dev.grad_scale, 1},
                            {"hyper", dev.hyper, 3}}) {
    if (!p) continue;
    LW_TRY(check_tensor(op, name, *p));
    LW_CHECK(p->dtype() == DType::kF32 && p->numel() == n,
             std::string(op) + ": " + name + " must be f32 with " + std::to_string(n) +
                 " element(s), got " + describe(*p));
    LW_CHECK(p->device().is_cuda() && p->device() == ref.device(),
             std::string(op) + ": " + name + " must be on the parameters' CUDA device " +
                 ref.device().to_string() + ", got " + describe(*p));
  }
  return Status::ok();
}

}  // namespace

Status adamw_step_multi(std::span<const AdamWSlot> slots, const AdamWConfig& cfg, int t,
                        float grad_scale, const AdamWDeviceInputs& dev) {
  const char* op = "adamw_step_multi";
  const bool has_dev = dev.grad_scale || dev.hyper;
  for (const AdamWSlot& sl : slots) {
    LW_CHECK(sl.param && sl.grad && sl.m && sl.v, std::string(op) + ": a slot lacks a tensor");
    Status st = check_adamw(op, *sl.param, *sl.grad, *sl.m, *sl.v, t, sl.low_precision);
    if (!st.is_ok() && sl.name) return st.with_context("AdamW step on '" + *sl.name + "'");
    LW_TRY(st);
  }
#if LW_WITH_CUDA
  // One launch for the lot when every slot is on CUDA with one gradient dtype and one copy
  // dtype (or none); anything else takes the per-tensor path.
  bool fused = !slots.empty();
  for (const AdamWSlot& sl : slots) {
    const AdamWSlot& f = slots.front();
    fused = fused && sl.param->device().is_cuda() && sl.param->device() == f.param->device() &&
            sl.grad->dtype() == f.grad->dtype() && (sl.low_precision != nullptr) == (f.low_precision != nullptr) &&
            (!sl.low_precision || sl.low_precision->dtype() == f.low_precision->dtype());
  }
  if (has_dev && !slots.empty()) LW_TRY(check_device_inputs(op, dev, *slots.front().param));
  if (has_dev) LW_CHECK(fused || slots.empty(),
                        std::string(op) + ": device step inputs need every slot on one CUDA device "
                                          "with one gradient dtype and one copy dtype");
  if (fused) {
    std::vector<cuda::AdamWTensor> ts;
    ts.reserve(slots.size());
    for (const AdamWSlot& sl : slots)
      ts.push_back({sl.param->data<float>(), sl.grad->data_ptr(), sl.m->data<float>(), sl.v->data<float>(),
                    sl.low_precision ? sl.low_precision->data_ptr() : nullptr, sl.param->numel(),
                    sl.weight_decay});
    const AdamWSlot& f = slots.front();
    cuda::AdamWArgs a{cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, 0.0f, t, grad_scale};
    if (dev.grad_scale) a.grad_scale_dev = dev.grad_scale->data<float>();
    if (dev.hyper) a.hyper_dev = dev.hyper->data<float>();
    return cuda::adamw_step_multi(ts.data(), static_cast<int>(ts.size()), f.grad->dtype(),
                                  f.low_precision ? f.low_precision->dtype() : DType::kF32, a, stream());
  }
#endif
  if (has_dev && !slots.empty())
    return invalid_argument(std::string(op) + ": device step inputs are for CUDA parameters, got " +
                            describe(*slots.front().param));
  for (const AdamWSlot& sl : slots) {
    AdamWConfig c = cfg;
    c.weight_decay = sl.weight_decay;
    Status st = adamw_step(*sl.param, *sl.grad, *sl.m, *sl.v, c, t, grad_scale, sl.low_precision);
    if (!st.is_ok() && sl.name) return st.with_context("AdamW step on '" + *sl.name + "'");
    LW_TRY(st);
  }
  return Status::ok();
}

Status adamw_write_hyper(Tensor& hyper, const AdamWConfig& cfg, int t) {
  const char* op = "adamw_write_hyper";
  LW_TRY(check_tensor(op, "hyper", hyper));
  LW_CHECK(hyper.dtype() == DType::kF32 && hyper.numel() == 3,
           std::string(op) + ": hyper must be f32 [3], got " + describe(hyper));
  LW_CHECK(t >= 1, std::string(op) + ": step t is 1-based, got " + std::to_string(t));
  // As the CUDA launcher computes them on the host: double, then f32.
  const double bc1 = 1.0 - std::pow(static_cast<double>(cfg.beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(cfg.beta2), t);
  std::vector<float> v{cfg.lr, static_cast<float>(cfg.lr / bc1), static_cast<float>(std::sqrt(bc2))};
  LW_ASSIGN_OR_RETURN(Tensor host, Tensor::from_floats(v, {3}));
  return hyper.copy_from(host);
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

Result<Tensor> clip_grad_norm_device(std::span<Tensor> grads, float max_norm, bool scale_grads) {
  const char* op = "clip_grad_norm_device";
  LW_CHECK(!grads.empty(), std::string(op) + ": no gradients");
  LW_CHECK(max_norm > 0.0f, std::string(op) + ": max_norm must be > 0, got " + std::to_string(max_norm));
  const Device device = grads.front().device();
  for (size_t i = 0; i < grads.size(); ++i) {
    std::string name = "grads[" + std::to_string(i) + "]";
    LW_TRY(check_float(op, name.c_str(), grads[i]));
    LW_TRY(check_same_device(op, name.c_str(), grads[i], grads.front()));
  }
#if LW_WITH_CUDA
  if (device.is_cuda()) {
    // One launch per dtype group and 128 tensors, not one per tensor: the step is host-bound.
    std::vector<void*> ptrs;
    std::vector<int64_t> ns;
    for (Tensor& g : grads) {
      ptrs.push_back(g.data_ptr());
      ns.push_back(g.numel());
    }
    const DType dt = grads.front().dtype();
    bool one_dtype = true;
    for (const Tensor& g : grads) one_dtype = one_dtype && g.dtype() == dt;
    LW_ASSIGN_OR_RETURN(Tensor sumsq, Tensor::zeros({1}, DType::kF32, device));
    if (one_dtype) {
      LW_TRY(cuda::sum_squares_multi(dt, sumsq.data<float>(), ptrs.data(), ns.data(),
                                     static_cast<int>(ptrs.size()), stream()));
    } else {
      for (const Tensor& g : grads)
        LW_TRY(cuda::sum_squares(g.dtype(), sumsq.data<float>(), g.data_ptr(), g.numel(),
                                 /*accumulate=*/true, stream()));
    }
    LW_ASSIGN_OR_RETURN(Tensor out, Tensor::empty({2}, DType::kF32, device));
    LW_TRY(cuda::clip_norm_coef(out.data<float>(), sumsq.data<float>(), max_norm, stream()));
    if (!scale_grads) return out;
    if (one_dtype) {
      LW_TRY(cuda::scale_by_device_multi(dt, ptrs.data(), ns.data(), static_cast<int>(ptrs.size()),
                                         out.data<float>() + 1, stream()));
    } else {
      for (Tensor& g : grads)
        LW_TRY(cuda::scale_by_device(g.dtype(), g.data_ptr(), g.numel(), out.data<float>() + 1,
                                     stream()));
    }
    return out;
  }
#endif
  if (!device.is_cpu()) return no_backend(op, grads.front());
  std::vector<Tensor> view(grads.begin(), grads.end());
  LW_ASSIGN_OR_RETURN(double norm, global_norm(view));
  const double coef = static_cast<double>(max_norm) / (norm + 1e-6);
  const float factor = std::isfinite(norm) && coef < 1.0 ? static_cast<float>(coef) : 1.0f;
  if (scale_grads && factor != 1.0f)
    for (Tensor& g : grads) LW_TRY(scale_(g, factor));
  return Tensor::from_floats(std::vector<float>{static_cast<float>(norm), factor}, {2});
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
