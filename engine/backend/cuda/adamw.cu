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

// The same update, four elements per thread from 16-byte loads of param, m and v (and
// 8 or 16 bytes of gradient): the optimizer step is pure bandwidth, and the scalar loop
// issued four times as many memory instructions.
template <typename G, typename P>
__global__ void adamw_kernel4(float* param, const G* grad, float* m, float* v, int64_t n4,
                              AdamWArgs a, float decay, float step, float bc2_sqrt, P* copy) {
  const float gs = a.grad_scale_dev ? a.grad_scale * *a.grad_scale_dev : a.grad_scale;
  const float w1 = 1.f - a.beta1, w2 = 1.f - a.beta2;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n4;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float4 pv = reinterpret_cast<const float4*>(param)[i];
    float4 mv = reinterpret_cast<const float4*>(m)[i];
    float4 vv = reinterpret_cast<const float4*>(v)[i];
    float* pp = &pv.x;
    float* mp = &mv.x;
    float* vp = &vv.x;
    G gv[4];
    if constexpr (sizeof(G) == 2) {
      const uint2 raw = reinterpret_cast<const uint2*>(grad)[i];
      *reinterpret_cast<uint2*>(gv) = raw;
    } else {
      *reinterpret_cast<float4*>(gv) = reinterpret_cast<const float4*>(grad)[i];
    }
    P out[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float g = to_f(gv[e]) * gs;
      const float pd = pp[e] * decay;
      const float mi = mp[e] + w1 * (g - mp[e]);
      const float vi = vp[e] * a.beta2 + w2 * g * g;
      mp[e] = mi;
      vp[e] = vi;
      const float denom = sqrtf(vi) / bc2_sqrt + a.eps;
      pp[e] = pd - step * (mi / denom);
      out[e] = from_f<P>(pp[e]);
    }
    reinterpret_cast<float4*>(param)[i] = pv;
    reinterpret_cast<float4*>(m)[i] = mv;
    reinterpret_cast<float4*>(v)[i] = vv;
    if (copy) {
      if constexpr (sizeof(P) == 2) {
        reinterpret_cast<uint2*>(copy)[i] = *reinterpret_cast<const uint2*>(out);
      } else {
        reinterpret_cast<float4*>(copy)[i] = *reinterpret_cast<const float4*>(out);
      }
    }
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
  // Four at a time when n allows it and every pointer is aligned to its 4-element access.
  const bool four = n % 4 == 0 && aligned16(param) && aligned16(m) && aligned16(v) &&
                    (reinterpret_cast<uintptr_t>(grad) % (4 * sizeof(G))) == 0 &&
                    (!copy || (reinterpret_cast<uintptr_t>(copy) % (4 * dtype_size(copy_dtype))) == 0);
  const unsigned grid = grid_for(four ? n / 4 : n, 256);
  if (!copy) {
    if (four)
      adamw_kernel4<G, float><<<grid, 256, 0, stream>>>(param, grad, m, v, n / 4, a, decay, step, f2, nullptr);
    else
      adamw_kernel<G, float><<<grid, 256, 0, stream>>>(param, grad, m, v, n, a, decay, step, f2, nullptr);
  } else {
    LW_DISPATCH_FLOAT(copy_dtype, "adamw_step (parameter copy)", {
      if (four)
        adamw_kernel4<G, T><<<grid, 256, 0, stream>>>(param, grad, m, v, n / 4, a, decay, step, f2,
                                                      static_cast<T*>(copy));
      else
        adamw_kernel<G, T><<<grid, 256, 0, stream>>>(param, grad, m, v, n, a, decay, step, f2,
                                                     static_cast<T*>(copy));
    });
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
