// Embedding lookup (with token-id validation) and dropout.
#include <cstring>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
namespace {
using namespace detail;

// Every id must index a row of the table; the first bad one is named with its position.
Status check_ids(const char* op, const Tensor& ids, int64_t V) {
  Tensor host = ids;
  if (!ids.device().is_cpu()) {
    LW_ASSIGN_OR_RETURN(host, ids.to(Device::cpu()));
  }
  const int32_t* p = host.data<int32_t>();
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (p[i] < 0 || p[i] >= V)
      return invalid_argument(std::string(op) + ": token id " + std::to_string(p[i]) +
                              " at position " + std::to_string(i) +
                              " is out of range for a vocabulary of " + std::to_string(V));
  }
  return Status::ok();
}

Status check_embedding(const char* op, const Tensor& ids, const Tensor& table) {
  LW_TRY(check_i32(op, "ids", ids));
  LW_TRY(check_float(op, "table", table));
  LW_TRY(check_same_device(op, "table", table, ids));
  LW_CHECK(table.dim() == 2, std::string(op) + ": table must be [V, C], got " + describe(table));
  return check_ids(op, ids, table.size(0));
}

}  // namespace

Result<Tensor> embedding(const Tensor& ids, const Tensor& table) {
  const char* op = "embedding";
  LW_TRY(check_embedding(op, ids, table));
  int C = static_cast<int>(table.size(1));
  Shape out_shape = ids.shape();
  out_shape.push_back(C);
  LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(out_shape, table.dtype(), table.device()));
  int64_t n = ids.numel();
#if LW_WITH_CUDA
  if (table.device().is_cuda()) {
    LW_TRY(cuda::embedding_forward(table.dtype(), y.data_ptr(), table.data_ptr(),
                                   ids.data<int32_t>(), n, C, stream()));
    return y;
  }
#endif
  if (!table.device().is_cpu()) return no_backend(op, table);
  if (table.dtype() == DType::kF32) {
    cpu::embedding_forward(y.data<float>(), table.data<float>(), ids.data<int32_t>(), n, C);
    return y;
  }
  // Narrow dtypes: a row gather is a byte copy; no conversion needed.
  size_t row = static_cast<size_t>(C) * dtype_size(table.dtype());
  const char* src = static_cast<const char*>(table.data_ptr());
  char* dst = static_cast<char*>(y.data_ptr());
  const int32_t* id = ids.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * row, src + id[i] * row, row);
  return y;
}

Status embedding_backward(const Tensor& dy, const Tensor& ids, Tensor& dtable) {
  const char* op = "embedding_backward";
  LW_TRY(check_embedding(op, ids, dtable));
  int C = static_cast<int>(dtable.size(1));
  Shape y_shape = ids.shape();
  y_shape.push_back(C);
  LW_TRY(check_float(op, "dy", dy));
  LW_TRY(check_same_device(op, "dy", dy, dtable));
  LW_TRY(check_shape(op, "dy", dy, y_shape));
  int64_t n = ids.numel();
#if LW_WITH_CUDA
  if (dtable.device().is_cuda()) {
    LW_TRY(check_same_dtype(op, "dy", dy, dtable));
    return cuda::embedding_backward(dtable.dtype(), dtable.data_ptr(), dy.data_ptr(),
                                    ids.data<int32_t>(), n, C,
                                    static_cast<int>(dtable.size(0)), stream());
  }
#endif
  if (!dtable.device().is_cpu()) return no_backend(op, dtable);
  LW_ASSIGN_OR_RETURN(Tensor dy32, as_f32(dy));
  LW_ASSIGN_OR_RETURN(GradAccum acc, GradAccum::make(&dtable, dtable.shape()));
  cpu::embedding_backward(acc.ptr(), dy32.data<float>(), ids.data<int32_t>(), n, C);
  return acc.commit();
}

namespace {

Result<Tensor> dropout_impl(const char* op, const Tensor& x, float p, uint64_t seed,
                            uint64_t offset, bool backward) {
  LW_TRY(check_float(op, "x", x));
  LW_CHECK(p >= 0.0f && p < 1.0f,
           std::string(op) + ": p must be in [0, 1), got " + std::to_string(p));
  if (p == 0.0f) return x.clone();
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(x.shape(), x.dtype(), x.device()));
    if (backward)
      LW_TRY(cuda::dropout_backward(x.dtype(), y.data_ptr(), x.data_ptr(), x.numel(), p, seed,
                                    offset, stream()));
    else
      LW_TRY(cuda::dropout_forward(x.dtype(), y.data_ptr(), x.data_ptr(), x.numel(), p, seed,
                                   offset, stream()));
    return y;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty(x.shape(), DType::kF32));
  if (backward)
    cpu::dropout_backward(y32.data<float>(), x32.data<float>(), x.numel(), p, seed, offset);
  else
    cpu::dropout_forward(y32.data<float>(), x32.data<float>(), x.numel(), p, seed, offset);
  return from_f32(y32, x.dtype());
}

}  // namespace

Result<Tensor> dropout(const Tensor& x, float p, uint64_t seed, uint64_t offset) {
  return dropout_impl("dropout", x, p, seed, offset, false);
}

Result<Tensor> dropout_backward(const Tensor& dy, float p, uint64_t seed, uint64_t offset) {
  return dropout_impl("dropout_backward", dy, p, seed, offset, true);
}

}  // namespace lw::ops
