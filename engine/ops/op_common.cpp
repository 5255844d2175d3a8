// Argument checks and CPU f32 staging shared by every op (see op_common.h).
#include "engine/ops/op_common.h"

#include "engine/ops/ops.h"
#if LW_WITH_CUDA
#include "engine/backend/cuda/caching_allocator.h"
#endif

namespace lw::ops {
namespace detail {

std::string describe(const Tensor& t) { return t.to_string(); }

Status check_tensor(const char* op, const char* name, const Tensor& t) {
  LW_CHECK(t.defined(), std::string(op) + ": " + name + " is undefined");
  LW_CHECK(t.is_contiguous(), std::string(op) + ": " + name + " must be contiguous, got strided " +
                                  describe(t) + " (call contiguous())");
  return Status::ok();
}

Status check_float(const char* op, const char* name, const Tensor& t) {
  LW_TRY(check_tensor(op, name, t));
  DType d = t.dtype();
  LW_CHECK(d == DType::kF32 || d == DType::kBF16 || d == DType::kF16,
           std::string(op) + ": " + name + " must be f32, bf16 or f16, got " + describe(t));
  return Status::ok();
}

Status check_i32(const char* op, const char* name, const Tensor& t) {
  LW_TRY(check_tensor(op, name, t));
  LW_CHECK(t.dtype() == DType::kI32,
           std::string(op) + ": " + name + " must be i32, got " + describe(t));
  return Status::ok();
}

Status check_same_device(const char* op, const char* name, const Tensor& t, const Tensor& ref) {
  LW_CHECK(t.device() == ref.device(), std::string(op) + ": " + name + " is on " +
                                           t.device().to_string() + " but the op runs on " +
                                           ref.device().to_string());
  return Status::ok();
}

Status check_same_dtype(const char* op, const char* name, const Tensor& t, const Tensor& ref) {
  LW_CHECK(t.dtype() == ref.dtype(), std::string(op) + ": " + name + " has dtype " +
                                         dtype_name(t.dtype()) + " but the op runs in " +
                                         dtype_name(ref.dtype()));
  return Status::ok();
}

Status check_shape(const char* op, const char* name, const Tensor& t, const Shape& want) {
  LW_CHECK(t.shape() == want, std::string(op) + ": " + name + " must have shape " +
                                  shape_to_string(want) + ", got " + describe(t));
  return Status::ok();
}

Status check_like(const char* op, const char* name, const Tensor& t, const Tensor& ref,
                  const Shape& want) {
  LW_TRY(check_float(op, name, t));
  LW_TRY(check_same_device(op, name, t, ref));
  LW_TRY(check_same_dtype(op, name, t, ref));
  return check_shape(op, name, t, want);
}

Result<int> last_dim(const char* op, const char* name, const Tensor& t) {
  LW_CHECK(t.dim() >= 1, std::string(op) + ": " + name + " needs at least one dimension, got " +
                             describe(t));
  return static_cast<int>(t.size(-1));
}

Result<Tensor> as_f32(const Tensor& x) {
  if (x.dtype() == DType::kF32) return x;
  return x.to(DType::kF32);
}

Result<Tensor> from_f32(const Tensor& y32, DType dtype) {
  if (dtype == DType::kF32) return y32;
  return y32.to(dtype);
}

Result<GradAccum> GradAccum::make(Tensor* target, const Shape& shape) {
  GradAccum g;
  if (target && target->defined()) {
    LW_CHECK(target->shape() == shape, "gradient buffer must have shape " +
                                           shape_to_string(shape) + ", got " + describe(*target));
    LW_CHECK(target->is_contiguous() && target->device().is_cpu(),
             "gradient buffer must be a contiguous CPU tensor, got " + describe(*target));
    g.target_ = target;
    if (target->dtype() == DType::kF32) {
      g.work_ = *target;
    } else {
      LW_ASSIGN_OR_RETURN(g.work_, target->to(DType::kF32));
    }
    return g;
  }
  LW_ASSIGN_OR_RETURN(g.work_, Tensor::zeros(shape, DType::kF32));
  return g;
}

Status GradAccum::commit() {
  if (!target_ || target_->dtype() == DType::kF32) return Status::ok();
  return target_->copy_from(work_);
}

Status no_backend(const char* op, const Tensor& t) {
  return unsupported(std::string(op) + ": no backend for " + t.device().to_string() +
                     " in this build");
}

#if LW_WITH_CUDA
Status check_grad_dtype(const char* op, const char* name, const Tensor* g, const Tensor& ref) {
  if (!g || !g->defined()) return Status::ok();
  LW_TRY(check_tensor(op, name, *g));
  LW_TRY(check_same_device(op, name, *g, ref));
  LW_CHECK(g->dtype() == ref.dtype(),
           std::string(op) + ": on CUDA the gradient " + name + " must have the activations' dtype " +
               dtype_name(ref.dtype()) + ", got " + describe(*g));
  return Status::ok();
}

Status cuda_bias_backward(Tensor& db, const Tensor& dy, int64_t rows, int C) {
  const size_t bytes = cuda::bias_backward_scratch_bytes(rows, C);
  LW_ASSIGN_OR_RETURN(Tensor scratch, Tensor::empty({static_cast<int64_t>(bytes / 4 + 1)},
                                                    DType::kF32, dy.device()));
  return cuda::bias_backward(dy.dtype(), db.data_ptr(), dy.data_ptr(), rows, C,
                             scratch.data<float>(), bytes, stream());
}

Result<Tensor> grad_or_scratch(Tensor* g, const Shape& shape, const Tensor& ref) {
  if (g && g->defined()) return *g;
  return Tensor::zeros(shape, ref.dtype(), ref.device());
}
#endif

}  // namespace detail

#if LW_WITH_CUDA
namespace {
// Every program that computes links this file, so the CUDA backend starts on
// the first CUDA tensor without an explicit start-up call (core/allocator.h).
const bool kCudaInitializerRegistered =
    (register_backend_initializer(DeviceType::kCuda, &cuda::init_backend), true);
}  // namespace
#endif

void set_cuda_stream(void* stream) {
#if LW_WITH_CUDA
  cuda::set_current_stream(static_cast<cudaStream_t>(stream));
#else
  (void)stream;
#endif
}

}  // namespace lw::ops
