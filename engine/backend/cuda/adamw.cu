// AdamW with torch.optim.AdamW's arithmetic (decoupled decay param *= 1 - lr*wd,
// bias-corrected moments, eps after the square root) on f32 master weights, reading
// the gradient in its storage type and optionally writing the bf16/f16 working copy
// in the same pass: one read of param, grad, m, v and one write of each, fused.
// Also the global-norm clip factor, computed on the device so a step needs no read-back.
#include <type_traits>

#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

// The per-element arithmetic, shared by every kernel below (scalars hoisted by the caller).
struct AdamWMath {
  float gs, w1, w2, beta2, eps, decay, step, bc2_sqrt;
  __device__ __forceinline__ float update(float p, float g_raw, float& m, float& v) const {
    const float g = g_raw * gs;
    const float pd = p * decay;
    m = m + w1 * (g - m);  // torch's lerp_ (weight < 0.5 form), as the CPU kernel
    v = v * beta2 + w2 * g * g;
    return pd - step * (m / (sqrtf(v) / bc2_sqrt + eps));
  }
};

// wd: the tensor's weight decay, for the decay factor when lr comes from hyper_dev (computed
// as the host does: 1 - lr * wd in double, rounded to f32).
__device__ __forceinline__ AdamWMath adamw_math(const AdamWArgs& a, float decay, float step,
                                                float bc2_sqrt, float wd) {
  const float gs = a.grad_scale_dev ? a.grad_scale * *a.grad_scale_dev : a.grad_scale;
  if (a.hyper_dev) {
    decay = static_cast<float>(1.0 - static_cast<double>(a.hyper_dev[0]) * wd);
    step = a.hyper_dev[1];
    bc2_sqrt = a.hyper_dev[2];
  }
  return {gs, 1.f - a.beta1, 1.f - a.beta2, a.beta2, a.eps, decay, step, bc2_sqrt};
}

// Element i.
template <typename G, typename P>
__device__ __forceinline__ void adamw_one(const AdamWMath& k, float* param, const G* grad, float* m,
                                          float* v, P* copy, int64_t i) {
  float mi = m[i], vi = v[i];
  const float p = k.update(param[i], to_f(grad[i]), mi, vi);
  m[i] = mi;
  v[i] = vi;
  param[i] = p;
  if (copy) copy[i] = from_f<P>(p);
}

// Elements 4q..4q+3 from 16-byte loads of param, m and v and 8 or 16 bytes of gradient: the
// step is pure bandwidth, and one element per access issued four times the instructions.
template <typename G, typename P>
__device__ __forceinline__ void adamw_four(const AdamWMath& k, float* param, const G* grad, float* m,
                                           float* v, P* copy, int64_t q) {
  float4 pv = reinterpret_cast<const float4*>(param)[q];
  float4 mv = reinterpret_cast<const float4*>(m)[q];
  float4 vv = reinterpret_cast<const float4*>(v)[q];
  float *pp = &pv.x, *mp = &mv.x, *vp = &vv.x;
  G gv[4];
  if constexpr (sizeof(G) == 2) *reinterpret_cast<uint2*>(gv) = reinterpret_cast<const uint2*>(grad)[q];
  else *reinterpret_cast<float4*>(gv) = reinterpret_cast<const float4*>(grad)[q];
  P out[4];
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    pp[e] = k.update(pp[e], to_f(gv[e]), mp[e], vp[e]);
    out[e] = from_f<P>(pp[e]);
  }
  reinterpret_cast<float4*>(param)[q] = pv;
  reinterpret_cast<float4*>(m)[q] = mv;
  reinterpret_cast<float4*>(v)[q] = vv;
  if (copy) {
    if constexpr (sizeof(P) == 2) reinterpret_cast<uint2*>(copy)[q] = *reinterpret_cast<const uint2*>(out);
    else reinterpret_cast<float4*>(copy)[q] = *reinterpret_cast<const float4*>(out);
  }
}

// One tensor: FOUR elements per thread (n counts quads then) or one.
template <typename G, typename P, bool FOUR>
__global__ void adamw_kernel(float* param, const G* grad, float* m, float* v, int64_t n,
                             AdamWArgs a, float decay, float step, float bc2_sqrt, P* copy) {
  const AdamWMath k = adamw_math(a, decay, step, bc2_sqrt, a.weight_decay);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if constexpr (FOUR) adamw_four<G, P>(k, param, grad, m, v, copy, i);
    else adamw_one<G, P>(k, param, grad, m, v, copy, i);
  }
}

// The multi-tensor form: block b updates chunk b of the concatenated tensors (a tensor has
// ceil(n / kChunk) chunks; chunk_first is their prefix sum). Four elements per thread where
// the tensor allows it (flags), else one.
constexpr int kMultiTensors = 192;
constexpr int64_t kChunk = 65536;
struct MultiArgs {
  AdamWTensor t[kMultiTensors];
  float decay[kMultiTensors];
  int32_t chunk_first[kMultiTensors + 1];
  uint8_t four[kMultiTensors];
  int count;
};

template <typename G, typename P>
__global__ void __launch_bounds__(256) adamw_multi_kernel(const __grid_constant__ MultiArgs ma,
                                                          AdamWArgs a, float step, float bc2_sqrt) {
  int lo = 0, hi = ma.count - 1;  // the tensor holding chunk blockIdx.x
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (ma.chunk_first[mid] <= static_cast<int>(blockIdx.x)) lo = mid; else hi = mid - 1;
  }
  const AdamWTensor& t = ma.t[lo];
  const int64_t begin = (static_cast<int64_t>(blockIdx.x) - ma.chunk_first[lo]) * kChunk;
  const int64_t end = min(t.n, begin + kChunk);
  const AdamWMath k = adamw_math(a, ma.decay[lo], step, bc2_sqrt, t.weight_decay);
  const G* grad = static_cast<const G*>(t.grad);
  P* copy = static_cast<P*>(t.copy);
  if (ma.four[lo]) {
    for (int64_t q = begin / 4 + threadIdx.x; q < end / 4; q += blockDim.x)
      adamw_four<G, P>(k, t.param, grad, t.m, t.v, copy, q);
  } else {
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x)
      adamw_one<G, P>(k, t.param, grad, t.m, t.v, copy, i);
  }
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
  auto run = [&](auto* typed_copy) {
    using P = std::remove_pointer_t<decltype(typed_copy)>;
    if (four)
      adamw_kernel<G, P, true><<<grid, 256, 0, stream>>>(param, grad, m, v, n / 4, a, decay, step, f2, typed_copy);
    else
      adamw_kernel<G, P, false><<<grid, 256, 0, stream>>>(param, grad, m, v, n, a, decay, step, f2, typed_copy);
  };
  if (!copy) {
    run(static_cast<float*>(nullptr));
  } else {
    LW_DISPATCH_FLOAT(copy_dtype, "adamw_step (parameter copy)", run(static_cast<T*>(copy)));
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

Status adamw_step_multi(const AdamWTensor* tensors, int count, DType grad_dtype, DType copy_dtype,
                        const AdamWArgs& a, cudaStream_t stream) {
  LW_CHECK(a.t >= 1, "adamw_step_multi: step t = " + std::to_string(a.t) + " must be >= 1");
  const double bc1 = 1.0 - std::pow(static_cast<double>(a.beta1), a.t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(a.beta2), a.t);
  const auto step = static_cast<float>(a.lr / bc1);
  const auto f2 = static_cast<float>(std::sqrt(bc2));
  int next = 0;
  while (next < count) {
    MultiArgs ma{};
    ma.count = 0;
    int chunks = 0;
    for (; next < count && ma.count < kMultiTensors; ++next) {
      const int i = next;
      const AdamWTensor& t = tensors[i];
      if (t.n <= 0) continue;
      const int k = ma.count++;
      ma.t[k] = t;
      ma.decay[k] = static_cast<float>(1.0 - static_cast<double>(a.lr) * t.weight_decay);
      ma.chunk_first[k] = chunks;
      const size_t gsz = dtype_size(grad_dtype), csz = dtype_size(copy_dtype);
      ma.four[k] = t.n % 4 == 0 && aligned16(t.param) && aligned16(t.m) && aligned16(t.v) &&
                   reinterpret_cast<uintptr_t>(t.grad) % (4 * gsz) == 0 &&
                   (!t.copy || reinterpret_cast<uintptr_t>(t.copy) % (4 * csz) == 0);
      chunks += static_cast<int>((t.n + kChunk - 1) / kChunk);
    }
    if (ma.count == 0) continue;
    ma.chunk_first[ma.count] = chunks;
    const bool copies = ma.t[0].copy != nullptr;
    for (int k = 0; k < ma.count; ++k)
      LW_CHECK((ma.t[k].copy != nullptr) == copies,
               "adamw_step_multi: either every tensor has a low-precision copy or none has");
    LW_DISPATCH_FLOAT(grad_dtype, "adamw_step_multi (gradient)", {
      using G = T;
      if (!copies) {
        adamw_multi_kernel<G, float><<<chunks, 256, 0, stream>>>(ma, a, step, f2);
      } else {
        LW_DISPATCH_FLOAT(copy_dtype, "adamw_step_multi (parameter copy)",
                          adamw_multi_kernel<G, T><<<chunks, 256, 0, stream>>>(ma, a, step, f2));
      }
    });
    LW_CUDA_LAUNCH_CHECK();
  }
  return Status::ok();
}

}  // namespace lw::cuda
