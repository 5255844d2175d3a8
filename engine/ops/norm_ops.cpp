// LayerNorm, residual + LayerNorm and RMSNorm ops: checks, then the backend kernel.
// Row statistics (mean, rstd) are f32 tensors of shape [rows] on the input's device.
#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
namespace {
using namespace detail;

#if LW_WITH_CUDA
// The CUDA norm backward kernels reduce dw/db through a scratch buffer (no
// atomics, so the result is deterministic); both norms size it the same way.
struct NormScratch {
  Tensor buffer;
  size_t bytes = 0;
};
Result<NormScratch> norm_backward_scratch(int64_t rows, int C, Device device) {
  NormScratch s;
  s.bytes = cuda::norm_backward_scratch_bytes(rows, C);
  LW_ASSIGN_OR_RETURN(s.buffer, Tensor::empty({static_cast<int64_t>(s.bytes / 4 + 1)},
                                              DType::kF32, device));
  return s;
}
#endif

// Checks x [..., C] and a parameter vector [C]; returns C.
Result<int> check_norm_args(const char* op, const Tensor& x, const Tensor& w, const char* wname) {
  LW_TRY(check_float(op, "x", x));
  LW_ASSIGN_OR_RETURN(int C, last_dim(op, "x", x));
  LW_CHECK(C > 0, std::string(op) + ": x has an empty last dim: " + describe(x));
  LW_TRY(check_like(op, wname, w, x, {C}));
  return C;
}

Status check_stats(const char* op, const char* name, const Tensor& t, const Tensor& x,
                   int64_t rows) {
  LW_TRY(check_tensor(op, name, t));
  LW_CHECK(t.dtype() == DType::kF32, std::string(op) + ": saved " + name + " must be f32");
  LW_TRY(check_same_device(op, name, t, x));
  return check_shape(op, name, t, {rows});
}

}  // namespace

Result<NormOut> layernorm(const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
  const char* op = "layernorm";
  LW_ASSIGN_OR_RETURN(int C, check_norm_args(op, x, w, "w"));
  LW_TRY(check_like(op, "b", b, x, {C}));
  int64_t rows = x.numel() / C;
  NormOut out;
  LW_ASSIGN_OR_RETURN(out.mean, Tensor::empty({rows}, DType::kF32, x.device()));
  LW_ASSIGN_OR_RETURN(out.rstd, Tensor::empty({rows}, DType::kF32, x.device()));
  LW_ASSIGN_OR_RETURN(out.y, Tensor::empty(x.shape(), x.dtype(), x.device()));
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_TRY(cuda::layernorm_forward(x.dtype(), out.y.data_ptr(), out.mean.data<float>(),
                                   out.rstd.data<float>(), x.data_ptr(), w.data_ptr(),
                                   b.data_ptr(), rows, C, eps, stream()));
    return out;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor w32, as_f32(w));
  LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(b));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(x.shape(), DType::kF32));
  cpu::layernorm_forward(y32.data<float>(), out.mean.data<float>(), out.rstd.data<float>(),
                         x32.data<float>(), w32.data<float>(), b32.data<float>(), rows, C, eps);
  LW_ASSIGN_OR_RETURN(out.y, from_f32(y32, x.dtype()));
  return out;
}

Result<Tensor> layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                                  const NormOut& saved, Tensor* dw, Tensor* db) {
  const char* op = "layernorm_backward";
  LW_ASSIGN_OR_RETURN(int C, check_norm_args(op, x, w, "w"));
  LW_TRY(check_like(op, "dy", dy, x, x.shape()));
  int64_t rows = x.numel() / C;
  LW_TRY(check_stats(op, "mean", saved.mean, x, rows));
  LW_TRY(check_stats(op, "rstd", saved.rstd, x, rows));
  LW_ASSIGN_OR_RETURN(Tensor dx, Tensor::empty(x.shape(), x.dtype(), x.device()));
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_TRY(check_grad_dtype(op, "dw", dw, x));
    LW_TRY(check_grad_dtype(op, "db", db, x));
    LW_ASSIGN_OR_RETURN(Tensor gw, grad_or_scratch(dw, {C}, x));
    LW_ASSIGN_OR_RETURN(Tensor gb, grad_or_scratch(db, {C}, x));
    LW_ASSIGN_OR_RETURN(NormScratch scratch, norm_backward_scratch(rows, C, x.device()));
    LW_TRY(cuda::layernorm_backward(x.dtype(), dx.data_ptr(), gw.data_ptr(), gb.data_ptr(),
                                    dy.data_ptr(), x.data_ptr(), w.data_ptr(),
                                    saved.mean.data<float>(), saved.rstd.data<float>(), rows, C,
                                    scratch.buffer.data<float>(), scratch.bytes, stream()));
    return dx;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor w32, as_f32(w));
  LW_ASSIGN_OR_RETURN(Tensor dy32, as_f32(dy));
  LW_ASSIGN_OR_RETURN(GradAccum gw, GradAccum::make(dw, {C}));
  LW_ASSIGN_OR_RETURN(GradAccum gb, GradAccum::make(db, {C}));
  LW_ASSIGN_OR_RETURN(Tensor dx32, Tensor::empty(x.shape(), DType::kF32));
  cpu::layernorm_backward(dx32.data<float>(), gw.ptr(), gb.ptr(), dy32.data<float>(),
                          x32.data<float>(), w32.data<float>(), saved.mean.data<float>(),
                          saved.rstd.data<float>(), rows, C);
  LW_TRY(gw.commit());
  LW_TRY(gb.commit());
  return from_f32(dx32, x.dtype());
}

Result<ResidualNormOut> residual_layernorm(const Tensor& x, const Tensor& residual,
                                           const Tensor& w, const Tensor& b, float eps) {
  const char* op = "residual_layernorm";
  LW_ASSIGN_OR_RETURN(int C, check_norm_args(op, x, w, "w"));
  LW_TRY(check_like(op, "b", b, x, {C}));
  LW_TRY(check_like(op, "residual", residual, x, x.shape()));
  int64_t rows = x.numel() / C;
  ResidualNormOut out;
  LW_ASSIGN_OR_RETURN(out.norm.mean, Tensor::empty({rows}, DType::kF32, x.device()));
  LW_ASSIGN_OR_RETURN(out.norm.rstd, Tensor::empty({rows}, DType::kF32, x.device()));
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(out.sum, Tensor::empty(x.shape(), x.dtype(), x.device()));
    LW_ASSIGN_OR_RETURN(out.norm.y, Tensor::empty(x.shape(), x.dtype(), x.device()));
    LW_TRY(cuda::residual_layernorm_forward(
        x.dtype(), out.sum.data_ptr(), out.norm.y.data_ptr(), out.norm.mean.data<float>(),
        out.norm.rstd.data<float>(), x.data_ptr(), residual.data_ptr(), w.data_ptr(),
        b.data_ptr(), rows, C, eps, stream()));
    return out;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor r32, as_f32(residual));
  LW_ASSIGN_OR_RETURN(Tensor w32, as_f32(w));
  LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(b));
  LW_ASSIGN_OR_RETURN(Tensor s32, Tensor::empty(x.shape(), DType::kF32));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(x.shape(), DType::kF32));
  if (x.dtype() != DType::kF32) {
    // The sum is stored in x's dtype; normalize the rounded sum, as a separate add would.
    cpu::add(s32.data<float>(), x32.data<float>(), r32.data<float>(), x.numel());
    LW_ASSIGN_OR_RETURN(out.sum, from_f32(s32, x.dtype()));
    LW_ASSIGN_OR_RETURN(s32, as_f32(out.sum));
    cpu::layernorm_forward(y32.data<float>(), out.norm.mean.data<float>(),
                           out.norm.rstd.data<float>(), s32.data<float>(), w32.data<float>(),
                           b32.data<float>(), rows, C, eps);
  } else {
    cpu::residual_layernorm_forward(s32.data<float>(), y32.data<float>(),
                                    out.norm.mean.data<float>(), out.norm.rstd.data<float>(),
                                    x32.data<float>(), r32.data<float>(), w32.data<float>(),
                                    b32.data<float>(), rows, C, eps);
    out.sum = s32;
  }
  LW_ASSIGN_OR_RETURN(out.norm.y, from_f32(y32, x.dtype()));
  return out;
}

Result<Tensor> residual_layernorm_backward(const Tensor& dy, const Tensor& dsum, const Tensor& w,
                                           const ResidualNormOut& saved, Tensor* dw, Tensor* db) {
  LW_ASSIGN_OR_RETURN(Tensor d, layernorm_backward(dy, saved.sum, w, saved.norm, dw, db));
  if (dsum.defined()) LW_TRY(add_(d, dsum));
  return d;
}

Result<NormOut> rmsnorm(const Tensor& x, const Tensor& w, float eps) {
  const char* op = "rmsnorm";
  LW_ASSIGN_OR_RETURN(int C, check_norm_args(op, x, w, "w"));
  int64_t rows = x.numel() / C;
  NormOut out;
  LW_ASSIGN_OR_RETURN(out.rstd, Tensor::empty({rows}, DType::kF32, x.device()));
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(out.y, Tensor::empty(x.shape(), x.dtype(), x.device()));
    LW_TRY(cuda::rmsnorm_forward(x.dtype(), out.y.data_ptr(), out.rstd.data<float>(),
                                 x.data_ptr(), w.data_ptr(), rows, C, eps, stream()));
    return out;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor w32, as_f32(w));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(x.shape(), DType::kF32));
  cpu::rmsnorm_forward(y32.data<float>(), out.rstd.data<float>(), x32.data<float>(),
                       w32.data<float>(), rows, C, eps);
  LW_ASSIGN_OR_RETURN(out.y, from_f32(y32, x.dtype()));
  return out;
}

Result<Tensor> rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                                const NormOut& saved, Tensor* dw) {
  const char* op = "rmsnorm_backward";
  LW_ASSIGN_OR_RETURN(int C, check_norm_args(op, x, w, "w"));
  LW_TRY(check_like(op, "dy", dy, x, x.shape()));
  int64_t rows = x.numel() / C;
  LW_TRY(check_stats(op, "rstd", saved.rstd, x, rows));
  LW_ASSIGN_OR_RETURN(Tensor dx, Tensor::empty(x.shape(), x.dtype(), x.device()));
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_TRY(check_grad_dtype(op, "dw", dw, x));
    LW_ASSIGN_OR_RETURN(Tensor gw, grad_or_scratch(dw, {C}, x));
    LW_ASSIGN_OR_RETURN(NormScratch scratch, norm_backward_scratch(rows, C, x.device()));
    LW_TRY(cuda::rmsnorm_backward(x.dtype(), dx.data_ptr(), gw.data_ptr(), dy.data_ptr(),
                                  x.data_ptr(), w.data_ptr(), saved.rstd.data<float>(), rows, C,
                                  scratch.buffer.data<float>(), scratch.bytes, stream()));
    return dx;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor w32, as_f32(w));
  LW_ASSIGN_OR_RETURN(Tensor dy32, as_f32(dy));
  LW_ASSIGN_OR_RETURN(GradAccum gw, GradAccum::make(dw, {C}));
  LW_ASSIGN_OR_RETURN(Tensor dx32, Tensor::empty(x.shape(), DType::kF32));
  cpu::rmsnorm_backward(dx32.data<float>(), gw.ptr(), dy32.data<float>(), x32.data<float>(),
                        w32.data<float>(), saved.rstd.data<float>(), rows, C);
  LW_TRY(gw.commit());
  return from_f32(dx32, x.dtype());
}

}  // namespace lw::ops
