// AdamW with torch.optim.AdamW's arithmetic (decoupled decay param *= 1 - lr*wd,
// bias-corrected moments, eps after the square root) on f32 master weights, reading
// the gradient in its storage type and optionally writing the bf16/f16 working copy
// in the same pass: one read of param, grad, m, v and one write of each, fused.
// Also the global-norm clip factor, computed on the device so a step needs no read-back.
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

template <typename G, typename P>
__global__ void adamw_kernel(float* param, const G* grad, float* m, float* v, int64_t n,
                             AdamWArgs a, float decay, float step, float bc2_sqrt, P* copy) {
  const float gs = a.grad_scale_dev ? a.grad_scale * *a.grad_scale_dev : a.grad_scale;
  const float w1 = 1.f - a.beta1, w2 = 1.f - a.beta2;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = to_f(grad[i]) * gs;
    const float pd = param[i] * decay;
    float mi = m[i];
    mi = mi + w1 * (g - mi);  // torch's lerp_ (weight < 0.5 form), as the CPU kernel
    const float vi = v[i] * a.beta2 + w2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) / bc2_sqrt + a.eps;
    const float p = pd - step * (mi / denom);
    param[i] = p;
    if (copy) copy[i] = from_f<P>(p);
  }
}

__global__ void clip_factor_kernel(float* out, const float* sumsq, float max_norm) {
  const float norm = sqrtf(*sumsq);
  *out = fminf(1.f, max_norm / (norm + 1e-6f));
}

template <typename G>
Status adamw_for_grad(float* param, const G* grad, float* m, float* v, int64_t n,
                      const AdamWArgs& a, DType copy_dtype, void* copy, cudaStream_t stream) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(a.beta1), a.t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(a.beta2), a.t);
  // Host-side constants computed exactly as lw::cpu::adamw_step does (double, then f32).
  const auto decay = static_cast<float>(1.0 - static_cast<double>(a.lr) * a.weight_decay);
  const auto step = static_cast<float>(a.lr / bc1);
  const auto f2 = static_cast<float>(std::sqrt(bc2));
  const unsigned grid = grid_for(n, 256);
  if (!copy) {
    adamw_kernel<G, float><<<grid, 256, 0, stream>>>(param, grad, m, v, n, a, decay, step, f2, nullptr);
  } else {
    LW_DISPATCH_FLOAT(copy_dtype, "adamw_step (parameter copy)",
      adamw_kernel<G, T><<<grid, 256, 0, stream>>>(param, grad, m, v, n, a, decay, step, f2,
                                                   static_cast<T*>(copy)));
  }
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace

// ============================== launchers ============================================
Status adamw_step(float* param, DType grad_dtype, const void* grad, float* m, float* v,
                  int64_t n, const AdamWArgs& a, DType copy_dtype, void* param_copy,
                  cudaStream_t stream) {
  LW_CHECK(a.t >= 1, "adamw_step: step t = " + std::to_string(a.t) + " must be >= 1");
  if (n <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(grad_dtype, "adamw_step (gradient)",
    return adamw_for_grad<T>(param, static_cast<const T*>(grad), m, v, n, a, copy_dtype,
                             param_copy, stream));
  return Status::ok();
}

Status clip_factor(float* out, const float* sumsq, float max_norm, cudaStream_t stream) {
  clip_factor_kernel<<<1, 1, 0, stream>>>(out, sumsq, max_norm);
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace lw::cuda
