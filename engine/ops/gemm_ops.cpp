// matmul / linear and their backward: shape checks, then one (batched) GEMM per
// product on the tensors' backend. Gradients of weights accumulate (beta = 1).
#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
namespace {
using namespace detail;

// One GEMM problem over (possibly batched) row-major operands.
struct Gemm {
  bool ta = false, tb = false;
  int M = 0, N = 0, K = 0;
  int lda = 0, ldb = 0, ldc = 0;
  int64_t sa = 0, sb = 0, sc = 0;
  int batch = 1;
};

Status run_gemm(const Gemm& g, float alpha, const Tensor& a, const Tensor& b, float beta,
                Tensor& c) {
  if (c.device().is_cpu()) {
    LW_ASSIGN_OR_RETURN(Tensor a32, as_f32(a));
    LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(b));
    Tensor c32 = c;
    if (c.dtype() != DType::kF32) {
      if (beta != 0.0f) {
        LW_ASSIGN_OR_RETURN(c32, c.to(DType::kF32));
      } else {
        LW_ASSIGN_OR_RETURN(c32, Tensor::empty(c.shape(), DType::kF32));
      }
    }
    cpu::gemm(g.ta, g.tb, g.M, g.N, g.K, alpha, a32.data<float>(), g.lda, g.sa,
              b32.data<float>(), g.ldb, g.sb, beta, c32.data<float>(), g.ldc, g.sc, g.batch);
    if (c.dtype() != DType::kF32) LW_TRY(c.copy_from(c32));
    return Status::ok();
  }
#if LW_WITH_CUDA
  return cuda::gemm(c.dtype(), g.ta, g.tb, g.M, g.N, g.K, alpha, a.data_ptr(), g.lda, g.sa,
                    b.data_ptr(), g.ldb, g.sb, beta, c.data_ptr(), g.ldc, g.sc, g.batch,
                    stream());
#else
  return no_backend("matmul", c);
#endif
}

// Validates a matmul and works out the problem and the output shape.
Result<Gemm> plan_matmul(const char* op, const Tensor& a, const Tensor& b, bool ta, bool tb,
                         Shape* out_shape) {
  LW_TRY(check_float(op, "a", a));
  LW_TRY(check_float(op, "b", b));
  LW_TRY(check_same_device(op, "b", b, a));
  LW_TRY(check_same_dtype(op, "b", b, a));
  LW_CHECK(a.dim() >= 2 && b.dim() >= 2,
           std::string(op) + ": a and b need at least 2 dims, got " + describe(a) + " and " +
               describe(b));
  Gemm g;
  g.ta = ta;
  g.tb = tb;
  int64_t am = a.size(-2), ak = a.size(-1);
  if (ta) std::swap(am, ak);
  int64_t bk = b.size(-2), bn = b.size(-1);
  if (tb) std::swap(bk, bn);
  LW_CHECK(ak == bk, std::string(op) + ": inner dimensions differ: op(a) is [" +
                         std::to_string(am) + ", " + std::to_string(ak) + "], op(b) is [" +
                         std::to_string(bk) + ", " + std::to_string(bn) + "] (a " + describe(a) +
                         ", b " + describe(b) + ")");
  Shape batch_shape(a.shape().begin(), a.shape().end() - 2);
  bool b_shared = b.dim() == 2;
  if (!b_shared) {
    Shape b_batch(b.shape().begin(), b.shape().end() - 2);
    LW_CHECK(b_batch == batch_shape, std::string(op) + ": batch dims of a " + describe(a) +
                                         " and b " + describe(b) + " differ");
  }
  int64_t batch = shape_numel(batch_shape);
  g.M = static_cast<int>(am);
  g.N = static_cast<int>(bn);
  g.K = static_cast<int>(ak);
  g.lda = static_cast<int>(a.size(-1));
  g.ldb = static_cast<int>(b.size(-1));
  g.ldc = g.N;
  g.sa = am * ak;
  g.sb = b_shared ? 0 : bk * bn;
  g.sc = am * bn;
  g.batch = static_cast<int>(batch);
  if (b_shared && !ta && batch > 1) {  // fold the batch into M: one bigger GEMM
    g.M = static_cast<int>(am * batch);
    g.batch = 1;
  }
  *out_shape = batch_shape;
  out_shape->push_back(am);
  out_shape->push_back(bn);
  return g;
}

}  // namespace

Result<Tensor> matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, float alpha) {
  Shape out_shape;
  LW_ASSIGN_OR_RETURN(Gemm g, plan_matmul("matmul", a, b, trans_a, trans_b, &out_shape));
  LW_ASSIGN_OR_RETURN(Tensor c, Tensor::empty(out_shape, a.dtype(), a.device()));
  LW_TRY(run_gemm(g, alpha, a, b, 0.0f, c));
  return c;
}

Status matmul_into(Tensor& c, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b,
                   float alpha, float beta) {
  Shape out_shape;
  LW_ASSIGN_OR_RETURN(Gemm g, plan_matmul("matmul_into", a, b, trans_a, trans_b, &out_shape));
  LW_TRY(check_like("matmul_into", "c", c, a, out_shape));
  return run_gemm(g, alpha, a, b, beta, c);
}

namespace {
// dx [rows,K] = dy @ w ([N,K]) or dy @ w^T ([K,N]), plus beta * dx.
Status input_grad_gemm(const Tensor& dy, const Tensor& w, bool w_kn, int rows, int N, int K,
                       float beta, Tensor& dx) {
  Gemm g;
  g.tb = w_kn;
  g.M = rows;
  g.N = K;
  g.K = N;
  g.lda = N;
  g.ldb = w_kn ? N : K;
  g.ldc = K;
  return run_gemm(g, 1.0f, dy, w, beta, dx);
}
}  // namespace

Result<Tensor> linear(const Tensor& x, const Tensor& w, const Tensor& bias, bool w_kn) {
  const char* op = "linear";
  LW_TRY(check_float(op, "x", x));
  LW_ASSIGN_OR_RETURN(int K, last_dim(op, "x", x));
  LW_TRY(check_float(op, "w", w));
  LW_TRY(check_same_device(op, "w", w, x));
  LW_TRY(check_same_dtype(op, "w", w, x));
  LW_CHECK(w.dim() == 2, std::string(op) + ": w must be 2-D, got " + describe(w));
  int N = static_cast<int>(w_kn ? w.size(1) : w.size(0));
  LW_CHECK((w_kn ? w.size(0) : w.size(1)) == K,
           std::string(op) + ": x " + describe(x) + " has " + std::to_string(K) +
               " features but w " + describe(w) + (w_kn ? " is [K, N]" : " is [N, K]"));
  if (bias.defined()) LW_TRY(check_like(op, "bias", bias, x, {N}));
  int64_t rows = x.numel() / std::max(K, 1);
  Shape out_shape = x.shape();
  out_shape.back() = N;
  LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(out_shape, x.dtype(), x.device()));
  Gemm g;
  g.tb = !w_kn;
  g.M = static_cast<int>(rows);
  g.N = N;
  g.K = K;
  g.lda = K;
  g.ldb = w_kn ? N : K;
  g.ldc = N;
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_TRY(cuda::gemm_epilogue(x.dtype(), false, g.tb, g.M, g.N, g.K, 1.0f, x.data_ptr(), g.lda,
                               0, w.data_ptr(), g.ldb, 0, 0.0f, y.data_ptr(), g.ldc, 0, 1,
                               bias.defined() ? cuda::Epilogue::kBias : cuda::Epilogue::kNone,
                               bias.defined() ? bias.data_ptr() : nullptr, nullptr, stream()));
    return y;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(out_shape, DType::kF32));
  LW_TRY(run_gemm(g, 1.0f, x, w, 0.0f, y32));
  if (bias.defined()) {
    LW_ASSIGN_OR_RETURN(Tensor b32, as_f32(bias));
    cpu::add_bias(y32.data<float>(), b32.data<float>(), rows, N);
  }
  if (x.dtype() == DType::kF32) return y32;
  LW_TRY(y.copy_from(y32));
  return y;
}

Result<Tensor> linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dw,
                               Tensor* db, bool w_kn, bool need_dx) {
  const char* op = "linear_backward";
  LW_TRY(check_float(op, "x", x));
  LW_TRY(check_float(op, "w", w));
  LW_TRY(check_same_device(op, "w", w, x));
  LW_TRY(check_same_dtype(op, "w", w, x));
  LW_CHECK(w.dim() == 2, std::string(op) + ": w must be 2-D, got " + describe(w));
  LW_ASSIGN_OR_RETURN(int K, last_dim(op, "x", x));
  int N = static_cast<int>(w_kn ? w.size(1) : w.size(0));
  LW_CHECK((w_kn ? w.size(0) : w.size(1)) == K,
           std::string(op) + ": x " + describe(x) + " does not match w " + describe(w));
  Shape y_shape = x.shape();
  y_shape.back() = N;
  LW_TRY(check_like(op, "dy", dy, x, y_shape));
  int rows = static_cast<int>(x.numel() / std::max(K, 1));
  if (dw && dw->defined()) {
    LW_TRY(check_float(op, "dw", *dw));
    LW_TRY(check_shape(op, "dw", *dw, w.shape()));
    LW_TRY(check_same_device(op, "dw", *dw, x));
    Gemm g;  // dw [N,K] += dy^T x, or dw [K,N] += x^T dy
    g.ta = true;
    g.M = w_kn ? K : N;
    g.N = w_kn ? N : K;
    g.K = rows;
    g.lda = w_kn ? K : N;
    g.ldb = w_kn ? N : K;
    g.ldc = g.N;
    if (x.device().is_cuda()) LW_TRY(check_same_dtype(op, "dw", *dw, x));
    LW_TRY(run_gemm(g, 1.0f, w_kn ? x : dy, w_kn ? dy : x, 1.0f, *dw));
  }
  if (db && db->defined()) {
    LW_TRY(check_float(op, "db", *db));
    LW_TRY(check_shape(op, "db", *db, {N}));
    LW_TRY(check_same_device(op, "db", *db, x));
#if LW_WITH_CUDA
    if (x.device().is_cuda()) {
      LW_TRY(check_grad_dtype(op, "db", db, x));
      LW_TRY(cuda_bias_backward(*db, dy, rows, N));
    }
#endif
    if (x.device().is_cpu()) {
      LW_ASSIGN_OR_RETURN(Tensor dy32, as_f32(dy));
      LW_ASSIGN_OR_RETURN(GradAccum acc, GradAccum::make(db, {N}));
      cpu::bias_backward(acc.ptr(), dy32.data<float>(), rows, N);
      LW_TRY(acc.commit());
    }
  }
  if (!need_dx) return Tensor();
  LW_ASSIGN_OR_RETURN(Tensor dx, Tensor::empty(x.shape(), x.dtype(), x.device()));
  LW_TRY(input_grad_gemm(dy, w, w_kn, rows, N, K, 0.0f, dx));
  return dx;
}

Status linear_backward_accumulate(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dw,
                                  Tensor* db, Tensor& dx_acc, bool w_kn) {
  LW_ASSIGN_OR_RETURN(Tensor unused, linear_backward(dy, x, w, dw, db, w_kn, /*need_dx=*/false));
  (void)unused;
  LW_TRY(check_like("linear_backward_accumulate", "dx_acc", dx_acc, x, x.shape()));
  const int K = static_cast<int>(x.size(-1));
  const int N = static_cast<int>(w_kn ? w.size(1) : w.size(0));
  const int rows = static_cast<int>(x.numel() / std::max(K, 1));
  return input_grad_gemm(dy, w, w_kn, rows, N, K, 1.0f, dx_acc);
}

}  // namespace lw::ops
