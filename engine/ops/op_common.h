// Shared plumbing of the op layer: argument checks that produce messages naming
// the op and the argument ("layernorm: w must have shape [768], got f32[512] cpu"),
// and the f32 staging used on the CPU (bf16/f16 inputs are converted, outputs are
// converted back, parameter gradients of a narrow dtype accumulate through f32).
// Internal to engine/ops.
#pragma once
#include <string>
#include <type_traits>

#include "engine/core/tensor.h"

#if LW_WITH_CUDA
#include <cuda_runtime_api.h>

#include "engine/backend/cuda/caching_allocator.h"
#include "engine/backend/cuda/cuda_kernels.h"
#endif

namespace lw::ops::detail {

std::string describe(const Tensor& t);  // "f32[2, 3] cpu" or "undefined"

// defined and contiguous
Status check_tensor(const char* op, const char* name, const Tensor& t);
// check_tensor + a float dtype (f32, bf16, f16)
Status check_float(const char* op, const char* name, const Tensor& t);
// check_tensor + int32
Status check_i32(const char* op, const char* name, const Tensor& t);
Status check_same_device(const char* op, const char* name, const Tensor& t, const Tensor& ref);
Status check_same_dtype(const char* op, const char* name, const Tensor& t, const Tensor& ref);
Status check_shape(const char* op, const char* name, const Tensor& t, const Shape& want);
// All of: float, same device and dtype as ref, exact shape.
Status check_like(const char* op, const char* name, const Tensor& t, const Tensor& ref,
                  const Shape& want);
// Last dim of a tensor of rank >= 1 (error when rank 0).
Result<int> last_dim(const char* op, const char* name, const Tensor& t);

// ---- CPU f32 staging ----
// x itself when already f32, else an f32 copy (CPU only).
Result<Tensor> as_f32(const Tensor& x);
// Converts an f32 result to `dtype` (no copy when dtype is f32).
Result<Tensor> from_f32(const Tensor& y32, DType dtype);

// A parameter gradient the CPU kernels accumulate into as f32: borrows the target when it
// is f32, else works on an f32 copy and writes it back on commit(). A null or undefined
// target gets a scratch buffer that is discarded (the parameter is frozen).
class GradAccum {
 public:
  static Result<GradAccum> make(Tensor* target, const Shape& shape);
  float* ptr() { return work_.data<float>(); }
  Status commit();

 private:
  Tensor* target_ = nullptr;
  Tensor work_;
};

// kUnsupported for a device this op has no backend for.
Status no_backend(const char* op, const Tensor& t);

#if LW_WITH_CUDA
// The stream the current thread's ops run on: the CUDA backend's per-thread stream
// (cuda::set_current_stream / ops::set_cuda_stream), shared with its allocator.
inline cudaStream_t stream() { return cuda::current_stream(); }
// The CUDA launchers take the storage dtype of the float tensors: all float tensors of
// one call share it (parameter gradients included).
Status check_grad_dtype(const char* op, const char* name, const Tensor* g, const Tensor& ref);
// g itself when defined, else a zeroed scratch like ref (frozen parameter on the GPU).
Result<Tensor> grad_or_scratch(Tensor* g, const Shape& shape, const Tensor& ref);
// db [C] += column sums of dy [rows, C] on dy's device, through a scratch buffer from the
// caching allocator (the two-pass kernel; no cudaMalloc in a warmed-up step).
Status cuda_bias_backward(Tensor& db, const Tensor& dy, int64_t rows, int C);
#endif

// Element-wise op helpers: run cpu_fn(y32, inputs32..., n) on f32 host buffers or
// cuda_fn(y, inputs..., n) on the device. cuda_fn is written LW_CUDA_ONLY(lambda) so
// builds without CUDA never see the launcher names.
#if LW_WITH_CUDA
#define LW_CUDA_ONLY(...) __VA_ARGS__
#else
#define LW_CUDA_ONLY(...) nullptr
#endif

template <typename CpuFn, typename CudaFn>
Result<Tensor> map_unary(const char* op, const Tensor& x, CpuFn cpu_fn, CudaFn cuda_fn) {
  LW_TRY(check_float(op, "x", x));
  if (x.device().is_cuda()) {
    if constexpr (!std::is_null_pointer_v<CudaFn>) {
      LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(x.shape(), x.dtype(), x.device()));
      LW_TRY(cuda_fn(y.data_ptr(), x.data_ptr(), x.numel()));
      return y;
    }
    return no_backend(op, x);
  }
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(x.shape(), DType::kF32));
  cpu_fn(y32.data<float>(), x32.data<float>(), x.numel());
  return from_f32(y32, x.dtype());
}

// y = f(a, b) with b shaped like a (names as given).
template <typename CpuFn, typename CudaFn>
Result<Tensor> map_binary(const char* op, const char* an, const Tensor& a, const char* bn,
                          const Tensor& b, CpuFn cpu_fn, CudaFn cuda_fn) {
  LW_TRY(check_float(op, an, a));
  LW_TRY(check_like(op, bn, b, a, a.shape()));
  if (a.device().is_cuda()) {
    if constexpr (!std::is_null_pointer_v<CudaFn>) {
      LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(a.shape(), a.dtype(), a.device()));
      LW_TRY(cuda_fn(y.data_ptr(), a.data_ptr(), b.data_ptr(), a.numel()));
      return y;
    }
    return no_backend(op, a);
  }
  LW_ASSIGN_OR_RETURN(Tensor a32, as_f32(a));
  LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(b));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(a.shape(), DType::kF32));
  cpu_fn(y32.data<float>(), a32.data<float>(), b32.data<float>(), a.numel());
  return from_f32(y32, a.dtype());
}

}  // namespace lw::ops::detail
