// Embedding lookup (with token-id validation: eager on the CPU, by the kernel on CUDA), the
// index tensors a step builds on its own device (positions, shifted labels) and dropout.
#include <cstring>
#include <vector>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/device_errors.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
namespace {
using namespace detail;

// Every id must index a row of the table; the first bad one is named with its position.
// Host ids only: device ids are checked by their kernel (device_errors.h).
Status check_ids(const char* op, const Tensor& ids, int64_t V) {
  if (!ids.device().is_cpu()) return Status::ok();
  const int32_t* p = ids.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
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
    LW_ASSIGN_OR_RETURN(void* rec, device_error_record(table.device()));
    const uint32_t site = error_site(op, ErrorKind::kTokenId, table.size(0));
    LW_TRY(cuda::embedding_forward_checked(table.dtype(), y.data_ptr(), table.data_ptr(),
                                           ids.data<int32_t>(), n, C,
                                           static_cast<int>(table.size(0)),
                                           static_cast<cuda::DeviceErrorRecord*>(rec), site,
                                           stream()));
    if (!checks_deferred()) LW_TRY(check_device_errors(table.device()));
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
    LW_ASSIGN_OR_RETURN(void* rec, device_error_record(dtable.device()));
    const uint32_t site = error_site(op, ErrorKind::kTokenId, dtable.size(0));
    LW_TRY(cuda::embedding_backward_checked(dtable.dtype(), dtable.data_ptr(), dy.data_ptr(),
                                            ids.data<int32_t>(), n, C,
                                            static_cast<int>(dtable.size(0)),
                                            static_cast<cuda::DeviceErrorRecord*>(rec), site,
                                            stream()));
    if (!checks_deferred()) LW_TRY(check_device_errors(dtable.device()));
    return Status::ok();
  }
#endif
  if (!dtable.device().is_cpu()) return no_backend(op, dtable);
  LW_ASSIGN_OR_RETURN(Tensor dy32, as_f32(dy));
  LW_ASSIGN_OR_RETURN(GradAccum acc, GradAccum::make(&dtable, dtable.shape()));
  cpu::embedding_backward(acc.ptr(), dy32.data<float>(), ids.data<int32_t>(), n, C);
  return acc.commit();
}

Result<Tensor> iota(const Shape& shape, int32_t start, int32_t step, int64_t period,
                    Device device) {
  LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(shape, DType::kI32, device));
  const int64_t n = y.numel();
#if LW_WITH_CUDA
  if (device.is_cuda()) {
    LW_TRY(cuda::iota_i32(y.data<int32_t>(), n, start, step, period, stream()));
    return y;
  }
#endif
  if (!device.is_cpu()) return no_backend("iota", y);
  int32_t* p = y.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    p[i] = start + step * static_cast<int32_t>(period > 0 ? i % period : i);
  return y;
}

Result<Tensor> shift_left(const Tensor& labels, int32_t fill) {
  const char* op = "shift_left";
  LW_TRY(check_i32(op, "labels", labels));
  LW_CHECK(labels.dim() == 2, std::string(op) + ": labels must be [B,T], got " + describe(labels));
  const int64_t B = labels.size(0), T = labels.size(1);
  LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty(labels.shape(), DType::kI32, labels.device()));
#if LW_WITH_CUDA
  if (labels.device().is_cuda()) {
    LW_TRY(cuda::shift_left_i32(y.data<int32_t>(), labels.data<int32_t>(), B, T, fill, stream()));
    return y;
  }
#endif
  if (!labels.device().is_cpu()) return no_backend(op, labels);
  const int32_t* x = labels.data<int32_t>();
  int32_t* p = y.data<int32_t>();
  for (int64_t i = 0; i < B * T; ++i) p[i] = (i % T) + 1 < T ? x[i + 1] : fill;
  return y;
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
