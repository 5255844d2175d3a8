// Tensor: a typed, shaped view into reference-counted storage on one device.
// Views (reshape, slice, narrow, select) share storage and never copy; ops take
// contiguous tensors and say so when given a strided one (call contiguous()).
// All element-wise work lives in engine/ops; this class only owns memory, shape
// and the host-side conversions needed to move data between devices and dtypes.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/allocator.h"
#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/core/status.h"

namespace lw {

using Shape = std::vector<int64_t>;
std::string shape_to_string(const Shape& shape);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& shape);

// The memory block behind one or more tensors. Frees itself through its allocator,
// or, for borrowed memory (an mmap'd checkpoint), just drops the keep-alive handle.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  Allocator* allocator = nullptr;  // null for borrowed memory
  std::shared_ptr<void> keep_alive;  // owner of borrowed memory
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage, defined() == false

  // Uninitialized / zero-filled contiguous tensors. Fail with kOutOfMemory or kUnsupported.
  static Result<Tensor> empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Result<Tensor> zeros(const Shape& shape, DType dtype, Device device = Device::cpu());
  // Host values converted to dtype (round-to-nearest-even), then placed on device.
  static Result<Tensor> from_floats(std::span<const float> values, const Shape& shape,
                                    DType dtype = DType::kF32, Device device = Device::cpu());
  static Result<Tensor> from_ints(std::span<const int32_t> values, const Shape& shape,
                                  Device device = Device::cpu());
  // Borrows memory owned elsewhere (kept alive by keep_alive). Contiguous.
  static Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device,
                          std::shared_ptr<void> keep_alive);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int dim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int d) const { return shape_[d < 0 ? d + dim() : d]; }  // negative d from the back
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : Device::cpu(); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  int64_t offset() const { return offset_; }  // in elements, into the storage
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  // "f32[2, 3] cpu"
  std::string to_string() const;

  void* data_ptr() { return static_cast<char*>(storage_->data) + offset_ * dtype_size(dtype_); }
  const void* data_ptr() const {
    return static_cast<const char*>(storage_->data) + offset_ * dtype_size(dtype_);
  }
  // Typed pointer to the first element. For 2-byte floats use uint16_t, for fp8 uint8_t.
  template <typename T> T* data() { return static_cast<T*>(data_ptr()); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_ptr()); }

  // ---- views (share storage) ----
  // Same elements, new shape; one dim may be -1. Needs a contiguous tensor.
  Result<Tensor> reshape(const Shape& shape) const;
  Result<Tensor> view(const Shape& shape) const { return reshape(shape); }
  // Rows [start, start+length) along dim 0 (stays contiguous if the tensor was).
  Result<Tensor> slice(int64_t start, int64_t length) const { return narrow(0, start, length); }
  // [start, start+length) along dim d (strided unless d == 0 or the outer dims are 1).
  Result<Tensor> narrow(int d, int64_t start, int64_t length) const;
  // Index i along dim d, dropping that dim.
  Result<Tensor> select(int d, int64_t i) const;

  // ---- copies ----
  // A contiguous copy (or this tensor itself when already contiguous).
  Result<Tensor> contiguous() const;
  Result<Tensor> clone() const;
  Result<Tensor> to(Device device) const;
  // Dtype cast (round-to-nearest-even). On CPU directly; on other devices through the host
  // (ops::cast is the fast device path).
  Result<Tensor> to(DType dtype) const;
  // Copies src into this tensor (same shape; dtype converted; devices may differ; either
  // side may be strided on the CPU).
  Status copy_from(const Tensor& src);
  Status zero_();
  // All elements as f32 / i64 on the host (for tests, logging and small reads).
  Result<std::vector<float>> to_float_vector() const;
  Result<std::vector<int64_t>> to_int_vector() const;
  // One element (flat index into the logical, row-major order) as f32.
  Result<float> item(int64_t flat_index = 0) const;

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::kF32;
};

Shape contiguous_strides(const Shape& shape);

}  // namespace lw
