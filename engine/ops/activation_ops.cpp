// Element-wise ops (GELU, bias+GELU, SiLU, SwiGLU, tanh, add, scale, fill),
// softmax, casts and copies.
#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
namespace {
using namespace detail;

cpu::GeluKind kind_of(Gelu g) { return g == Gelu::kErf ? cpu::GeluKind::kErf : cpu::GeluKind::kTanh; }

}  // namespace

Result<Tensor> gelu(const Tensor& x, Gelu kind) {
  auto k = kind_of(kind);
  return map_unary(
      "gelu", x, [&](float* y, const float* a, int64_t n) { cpu::gelu_forward(y, a, n, k); },
      LW_CUDA_ONLY([&](void* y, const void* a, int64_t n) {
        return cuda::gelu_forward(x.dtype(), y, a, n, k, stream());
      }));
}

Result<Tensor> gelu_backward(const Tensor& dy, const Tensor& x, Gelu kind) {
  auto k = kind_of(kind);
  return map_binary(
      "gelu_backward", "dy", dy, "x", x,
      [&](float* dx, const float* g, const float* a, int64_t n) { cpu::gelu_backward(dx, g, a, n, k); },
      LW_CUDA_ONLY([&](void* dx, const void* g, const void* a, int64_t n) {
        return cuda::gelu_backward(x.dtype(), dx, g, a, n, k, stream());
      }));
}

Result<Tensor> bias_gelu(const Tensor& x, const Tensor& bias, Gelu kind) {
  const char* op = "bias_gelu";
  LW_TRY(check_float(op, "x", x));
  LW_ASSIGN_OR_RETURN(int C, last_dim(op, "x", x));
  LW_TRY(check_like(op, "bias", bias, x, {C}));
  int64_t rows = C ? x.numel() / C : 0;
  auto k = kind_of(kind);
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(x.shape(), x.dtype(), x.device()));
    LW_TRY(cuda::bias_gelu_forward(x.dtype(), y.data_ptr(), x.data_ptr(), bias.data_ptr(), rows,
                                   C, k, stream()));
    return y;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(bias));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(x.shape(), DType::kF32));
  cpu::bias_gelu_forward(y32.data<float>(), x32.data<float>(), b32.data<float>(), rows, C, k);
  return from_f32(y32, x.dtype());
}

Result<Tensor> bias_gelu_backward(const Tensor& dy, const Tensor& x, const Tensor& bias,
                                  Gelu kind, Tensor* dbias) {
  const char* op = "bias_gelu_backward";
  LW_TRY(check_float(op, "x", x));
  LW_ASSIGN_OR_RETURN(int C, last_dim(op, "x", x));
  LW_TRY(check_like(op, "bias", bias, x, {C}));
  LW_TRY(check_like(op, "dy", dy, x, x.shape()));
  int64_t rows = C ? x.numel() / C : 0;
  Tensor dx;
#if LW_WITH_CUDA
  // One fused pass when the rows are whole 16-byte packets (the pre-activation rounded to
  // x's dtype inside, as below).
  if (x.device().is_cuda()) {
    LW_TRY(check_same_device(op, "dy", dy, x));
    LW_ASSIGN_OR_RETURN(dx, Tensor::empty(x.shape(), x.dtype(), x.device()));
    if (cuda::bias_gelu_packets_ok(x.dtype(), rows, C, dx.data_ptr(), dy.data_ptr(), x.data_ptr(),
                                   bias.data_ptr())) {
      LW_TRY(cuda::bias_gelu_backward(x.dtype(), dx.data_ptr(), dy.data_ptr(), x.data_ptr(),
                                      bias.data_ptr(), rows, C, kind_of(kind), stream()));
    } else {
      dx = Tensor();
    }
  }
#endif
  // Otherwise rebuild the pre-activation in x's dtype (as a separate bias add would), then
  // chain gelu_backward and the bias gradient.
  Tensor pre;
  if (!dx.defined()) {
    LW_ASSIGN_OR_RETURN(pre, x.clone());
  }
#if LW_WITH_CUDA
  if (!dx.defined() && x.device().is_cuda()) {
    LW_TRY(cuda::add_bias(x.dtype(), pre.data_ptr(), bias.data_ptr(), rows, C, stream()));
  }
#endif
  if (x.device().is_cpu()) {
    LW_ASSIGN_OR_RETURN(Tensor p32, as_f32(x));
    if (p32.storage() == x.storage()) {
      LW_ASSIGN_OR_RETURN(p32, x.clone());
    }
    LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(bias));
    cpu::add_bias(p32.data<float>(), b32.data<float>(), rows, C);
    LW_ASSIGN_OR_RETURN(pre, from_f32(p32, x.dtype()));
  }
  if (!dx.defined()) {
    LW_ASSIGN_OR_RETURN(dx, gelu_backward(dy, pre, kind));
  }
  if (dbias && dbias->defined()) {
    LW_ASSIGN_OR_RETURN(Tensor flat_dx, dx.reshape({rows, C}));
    // linear_backward's bias path: db += column sums of dx.
#if LW_WITH_CUDA
    if (x.device().is_cuda()) {
      LW_TRY(check_grad_dtype(op, "dbias", dbias, x));
      LW_TRY(check_shape(op, "dbias", *dbias, {C}));
      LW_TRY(cuda_bias_backward(*dbias, dx, rows, C));
    }
#endif
    if (x.device().is_cpu()) {
      LW_ASSIGN_OR_RETURN(Tensor d32, as_f32(flat_dx));
      LW_ASSIGN_OR_RETURN(GradAccum acc, GradAccum::make(dbias, {C}));
      cpu::bias_backward(acc.ptr(), d32.data<float>(), rows, C);
      LW_TRY(acc.commit());
    }
  }
  return dx;
}

Result<Tensor> silu(const Tensor& x) {
  return map_unary(
      "silu", x, [](float* y, const float* a, int64_t n) { cpu::silu_forward(y, a, n); },
      LW_CUDA_ONLY([&](void* y, const void* a, int64_t n) {
        return cuda::silu_forward(x.dtype(), y, a, n, stream());
      }));
}

Result<Tensor> silu_backward(const Tensor& dy, const Tensor& x) {
  return map_binary(
      "silu_backward", "dy", dy, "x", x,
      [](float* dx, const float* g, const float* a, int64_t n) { cpu::silu_backward(dx, g, a, n); },
      LW_CUDA_ONLY([&](void* dx, const void* g, const void* a, int64_t n) {
        return cuda::silu_backward(x.dtype(), dx, g, a, n, stream());
      }));
}

Result<Tensor> swiglu(const Tensor& gate, const Tensor& up) {
  return map_binary(
      "swiglu", "gate", gate, "up", up,
      [](float* y, const float* g, const float* u, int64_t n) { cpu::swiglu_forward(y, g, u, n); },
      LW_CUDA_ONLY([&](void* y, const void* g, const void* u, int64_t n) {
        return cuda::swiglu_forward(gate.dtype(), y, g, u, n, stream());
      }));
}

Result<SwigluGrads> swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up) {
  const char* op = "swiglu_backward";
  LW_TRY(check_float(op, "gate", gate));
  LW_TRY(check_like(op, "up", up, gate, gate.shape()));
  LW_TRY(check_like(op, "dy", dy, gate, gate.shape()));
  SwigluGrads g;
  int64_t n = gate.numel();
#if LW_WITH_CUDA
  if (gate.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(g.dgate, Tensor::empty(gate.shape(), gate.dtype(), gate.device()));
    LW_ASSIGN_OR_RETURN(g.dup, Tensor::empty(gate.shape(), gate.dtype(), gate.device()));
    LW_TRY(cuda::swiglu_backward(gate.dtype(), g.dgate.data_ptr(), g.dup.data_ptr(),
                                 dy.data_ptr(), gate.data_ptr(), up.data_ptr(), n, stream()));
    return g;
  }
#endif
  if (!gate.device().is_cpu()) return no_backend(op, gate);
  LW_ASSIGN_OR_RETURN(Tensor dy32, as_f32(dy));
  LW_ASSIGN_OR_RETURN(Tensor g32, as_f32(gate));
  LW_ASSIGN_OR_RETURN(Tensor u32, as_f32(up));
  LW_ASSIGN_OR_RETURN(Tensor dg, Tensor::empty(gate.shape(), DType::kF32));
  LW_ASSIGN_OR_RETURN(Tensor du, Tensor::empty(gate.shape(), DType::kF32));
  cpu::swiglu_backward(dg.data<float>(), du.data<float>(), dy32.data<float>(), g32.data<float>(),
                       u32.data<float>(), n);
  LW_ASSIGN_OR_RETURN(g.dgate, from_f32(dg, gate.dtype()));
  LW_ASSIGN_OR_RETURN(g.dup, from_f32(du, gate.dtype()));
  return g;
}

Result<Tensor> tanh(const Tensor& x) {
  return map_unary(
      "tanh", x, [](float* y, const float* a, int64_t n) { cpu::tanh_forward(y, a, n); },
      LW_CUDA_ONLY([&](void* y, const void* a, int64_t n) {
        return cuda::tanh_forward(x.dtype(), y, a, n, stream());
      }));
}

Result<Tensor> tanh_backward(const Tensor& dy, const Tensor& y) {
  return map_binary(
      "tanh_backward", "dy", dy, "y", y,
      [](float* dx, const float* g, const float* o, int64_t n) { cpu::tanh_backward(dx, g, o, n); },
      LW_CUDA_ONLY([&](void* dx, const void* g, const void* o, int64_t n) {
        return cuda::tanh_backward(y.dtype(), dx, g, o, n, stream());
      }));
}

Result<Tensor> add(const Tensor& a, const Tensor& b) {
  return map_binary(
      "add", "a", a, "b", b,
      [](float* y, const float* x1, const float* x2, int64_t n) { cpu::add(y, x1, x2, n); },
      LW_CUDA_ONLY([&](void* y, const void* x1, const void* x2, int64_t n) {
        return cuda::add(a.dtype(), y, x1, x2, n, stream());
      }));
}

Status add_(Tensor& a, const Tensor& b) {
  const char* op = "add_";
  LW_TRY(check_float(op, "a", a));
  LW_TRY(check_float(op, "b", b));
  LW_TRY(check_same_device(op, "b", b, a));
  LW_TRY(check_shape(op, "b", b, a.shape()));
#if LW_WITH_CUDA
  if (a.device().is_cuda()) {
    LW_TRY(check_same_dtype(op, "b", b, a));
    return cuda::add(a.dtype(), a.data_ptr(), a.data_ptr(), b.data_ptr(), a.numel(), stream());
  }
#endif
  if (!a.device().is_cpu()) return no_backend(op, a);
  LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(b));
  if (a.dtype() == DType::kF32) {
    cpu::add(a.data<float>(), a.data<float>(), b32.data<float>(), a.numel());
    return Status::ok();
  }
  LW_ASSIGN_OR_RETURN(Tensor a32, a.to(DType::kF32));
  cpu::add(a32.data<float>(), a32.data<float>(), b32.data<float>(), a.numel());
  return a.copy_from(a32);
}

Status scale_(Tensor& x, float s) {
  const char* op = "scale_";
  LW_TRY(check_float(op, "x", x));
#if LW_WITH_CUDA
  if (x.device().is_cuda()) return cuda::scale(x.dtype(), x.data_ptr(), x.numel(), s, stream());
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  if (x.dtype() == DType::kF32) {
    cpu::scale(x.data<float>(), x.numel(), s);
    return Status::ok();
  }
  LW_ASSIGN_OR_RETURN(Tensor x32, x.to(DType::kF32));
  cpu::scale(x32.data<float>(), x.numel(), s);
  return x.copy_from(x32);
}

Status fill_(Tensor& x, float value) {
  LW_TRY(check_tensor("fill_", "x", x));
  if (value == 0.0f) return x.zero_();
  LW_ASSIGN_OR_RETURN(Tensor h, Tensor::empty(x.shape(), x.dtype()));
  for (int64_t i = 0; i < h.numel(); ++i) store_from_f32(h.data_ptr(), h.dtype(), i, value);
  return x.copy_from(h);
}

Result<Tensor> softmax(const Tensor& x) {
  const char* op = "softmax";
  LW_TRY(check_float(op, "x", x));
  LW_ASSIGN_OR_RETURN(int cols, last_dim(op, "x", x));
  int64_t rows = cols ? x.numel() / cols : 0;
  return map_unary(
      op, x, [&](float* y, const float* a, int64_t) { cpu::softmax_forward(y, a, rows, cols); },
      LW_CUDA_ONLY([&](void* y, const void* a, int64_t) {
        return cuda::softmax_forward(x.dtype(), y, a, rows, cols, stream());
      }));
}

Result<Tensor> softmax_backward(const Tensor& dy, const Tensor& y) {
  const char* op = "softmax_backward";
  LW_TRY(check_float(op, "y", y));
  LW_ASSIGN_OR_RETURN(int cols, last_dim(op, "y", y));
  int64_t rows = cols ? y.numel() / cols : 0;
  return map_binary(
      op, "dy", dy, "y", y,
      [&](float* dx, const float* g, const float* o, int64_t) {
        cpu::softmax_backward(dx, g, o, rows, cols);
      },
      LW_CUDA_ONLY([&](void* dx, const void* g, const void* o, int64_t) {
        return cuda::softmax_backward(y.dtype(), dx, g, o, rows, cols, stream());
      }));
}

Result<Tensor> cast(const Tensor& x, DType dtype) {
  LW_CHECK(x.defined(), "cast: x is undefined");
  if (x.dtype() == dtype) return x;
  LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(x.shape(), dtype, x.device()));
  LW_TRY(copy(y, x));
  return y;
}

Status copy(Tensor& dst, const Tensor& src) {
  LW_CHECK(dst.defined() && src.defined(), "copy: undefined tensor");
  LW_TRY(check_shape("copy", "src", src, dst.shape()));
#if LW_WITH_CUDA
  auto is_f = [](DType d) { return d == DType::kF32 || d == DType::kBF16 || d == DType::kF16; };
  if (dst.device().is_cuda() && src.device() == dst.device() && dst.is_contiguous() &&
      src.is_contiguous() && dst.dtype() != src.dtype() && is_f(dst.dtype()) && is_f(src.dtype()))
    return cuda::cast(dst.dtype(), dst.data_ptr(), src.dtype(), src.data_ptr(), src.numel(),
                      stream());
#endif
  return dst.copy_from(src);
}

}  // namespace lw::ops
