// Tensor: storage ownership, views and the host-side copy/convert paths. Device
// copies go through the registered Allocator of the tensor's device type; a
// strided tensor on a device is staged through the host (correct, not fast:
// hot paths use contiguous tensors and engine/ops).
#include "engine/core/tensor.h"

#include <algorithm>
#include <cstring>

namespace lw {

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

Storage::~Storage() {
  if (allocator && data) allocator->deallocate(data, nbytes, device.index);
}

Result<Tensor> Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    LW_CHECK(d >= 0, "negative dimension in shape " + shape_to_string(shape));
  LW_ASSIGN_OR_RETURN(Allocator * alloc, allocator_for_device(device));
  size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  auto res = alloc->allocate(nbytes, device.index);
  if (!res.is_ok())
    return res.status().with_context("allocating " + std::string(dtype_name(dtype)) +
                                     shape_to_string(shape) + " on " + device.to_string());
  Tensor t;
  t.storage_ = std::make_shared<Storage>();
  t.storage_->data = res.value();
  t.storage_->nbytes = nbytes;
  t.storage_->device = device;
  t.storage_->allocator = alloc;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Result<Tensor> Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  LW_ASSIGN_OR_RETURN(Tensor t, empty(shape, dtype, device));
  LW_TRY(t.zero_());
  return t;
}

Result<Tensor> Tensor::from_floats(std::span<const float> values, const Shape& shape, DType dtype,
                                   Device device) {
  LW_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
           std::to_string(values.size()) + " values do not fill shape " + shape_to_string(shape));
  LW_ASSIGN_OR_RETURN(Tensor host, empty(shape, dtype, Device::cpu()));
  convert_host(host.data_ptr(), dtype, values.data(), DType::kF32, host.numel());
  if (device.is_cpu()) return host;
  return host.to(device);
}

Result<Tensor> Tensor::from_ints(std::span<const int32_t> values, const Shape& shape,
                                 Device device) {
  LW_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
           std::to_string(values.size()) + " values do not fill shape " + shape_to_string(shape));
  LW_ASSIGN_OR_RETURN(Tensor host, empty(shape, DType::kI32, Device::cpu()));
  if (!values.empty()) std::memcpy(host.data_ptr(), values.data(), values.size() * 4);
  if (device.is_cpu()) return host;
  return host.to(device);
}

Tensor Tensor::from_blob(void* data, const Shape& shape, DType dtype, Device device,
                         std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.storage_ = std::make_shared<Storage>();
  t.storage_->data = data;
  t.storage_->nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  t.storage_->device = device;
  t.storage_->keep_alive = std::move(keep_alive);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;  // a size-1 dim's stride never matters
    if (strides_[i] != expect) return false;
    expect *= shape_[i];
  }
  return true;
}

std::string Tensor::to_string() const {
  if (!defined()) return "undefined";
  std::string s = dtype_name(dtype_);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s + shape_to_string(shape_) + " " + device().to_string();
}

Result<Tensor> Tensor::reshape(const Shape& shape) const {
  LW_CHECK(defined(), "reshape of an undefined tensor");
  LW_CHECK(is_contiguous(), "reshape needs a contiguous tensor, got strided " + to_string());
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      LW_CHECK(infer < 0, "reshape to " + shape_to_string(shape) + ": more than one -1");
      infer = static_cast<int>(i);
    } else {
      LW_CHECK(out[i] >= 0, "reshape to " + shape_to_string(shape) + ": negative dimension");
      known *= out[i];
    }
  }
  if (infer >= 0) {
    LW_CHECK(known > 0 && numel() % known == 0,
             "cannot reshape " + to_string() + " to " + shape_to_string(shape));
    out[infer] = numel() / known;
  }
  LW_CHECK(shape_numel(out) == numel(),
           "cannot reshape " + to_string() + " to " + shape_to_string(shape));
  Tensor t = *this;
  t.shape_ = out;
  t.strides_ = contiguous_strides(out);
  return t;
}

Result<Tensor> Tensor::narrow(int d, int64_t start, int64_t length) const {
  LW_CHECK(defined(), "narrow of an undefined tensor");
  if (d < 0) d += dim();
  LW_CHECK(d >= 0 && d < dim(), "narrow: dim out of range for " + to_string());
  LW_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d],
           "narrow: [" + std::to_string(start) + ", " + std::to_string(start + length) +
               ") out of range for dim " + std::to_string(d) + " of " + to_string());
  Tensor t = *this;
  t.shape_[d] = length;
  t.offset_ += start * strides_[d];
  return t;
}

Result<Tensor> Tensor::select(int d, int64_t i) const {
  if (d < 0) d += dim();
  LW_ASSIGN_OR_RETURN(Tensor t, narrow(d, i, 1));
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

namespace {

// Visits every element of `shape` in row-major order, calling fn(dst_index, src_index).
template <typename Fn>
void for_each_index(const Shape& shape, const Shape& a_strides, const Shape& b_strides, Fn fn) {
  int64_t n = shape_numel(shape);
  if (n == 0) return;
  int nd = static_cast<int>(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t k = 0; k < n; ++k) {
    fn(ia, ib);
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        ia += a_strides[d];
        ib += b_strides[d];
        break;
      }
      ia -= a_strides[d] * (shape[d] - 1);
      ib -= b_strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

// dst and src both in host memory; any strides; dtype converted.
void host_copy(Tensor& dst, const Tensor& src) {
  if (dst.is_contiguous() && src.is_contiguous()) {
    convert_host(dst.data_ptr(), dst.dtype(), src.data_ptr(), src.dtype(), src.numel());
    return;
  }
  char* d = static_cast<char*>(dst.data_ptr());
  const char* s = static_cast<const char*>(src.data_ptr());
  size_t ds = dtype_size(dst.dtype()), ss = dtype_size(src.dtype());
  DType dt = dst.dtype(), st = src.dtype();
  for_each_index(dst.shape(), dst.strides(), src.strides(), [&](int64_t id, int64_t is) {
    convert_host(d + id * ds, dt, s + is * ss, st, 1);
  });
}

// Element range [lo, hi] of the storage a view touches (hi inclusive).
std::pair<int64_t, int64_t> span_of(const Tensor& t) {
  int64_t lo = t.offset(), hi = t.offset();
  for (int d = 0; d < t.dim(); ++d) {
    int64_t ext = (t.shape()[d] - 1) * t.strides()[d];
    if (ext < 0) lo += ext; else hi += ext;
  }
  return {lo, hi};
}

// A host tensor with the same shape and strides as `t`, holding the storage span t views.
Result<Tensor> stage_to_host(const Tensor& t) {
  auto [lo, hi] = span_of(t);
  int64_t n = t.numel() == 0 ? 0 : hi - lo + 1;
  LW_ASSIGN_OR_RETURN(Tensor flat, Tensor::empty({n}, t.dtype(), Device::cpu()));
  LW_ASSIGN_OR_RETURN(Allocator * alloc, allocator_for_device(t.device()));
  const char* src = static_cast<const char*>(t.storage()->data) + lo * dtype_size(t.dtype());
  LW_TRY(alloc->copy(flat.data_ptr(), src, n * dtype_size(t.dtype()), CopyKind::kDeviceToHost,
                     t.device().index));
  return flat;
}

}  // namespace

Result<Tensor> Tensor::contiguous() const {
  LW_CHECK(defined(), "contiguous() of an undefined tensor");
  if (is_contiguous()) return *this;
  LW_ASSIGN_OR_RETURN(Tensor out, empty(shape_, dtype_, device()));
  LW_TRY(out.copy_from(*this));
  return out;
}

Result<Tensor> Tensor::clone() const {
  LW_CHECK(defined(), "clone() of an undefined tensor");
  LW_ASSIGN_OR_RETURN(Tensor out, empty(shape_, dtype_, device()));
  LW_TRY(out.copy_from(*this));
  return out;
}

Result<Tensor> Tensor::to(Device device) const {
  LW_CHECK(defined(), "to(" + device.to_string() + ") of an undefined tensor");
  if (device == this->device()) return *this;
  LW_ASSIGN_OR_RETURN(Tensor out, empty(shape_, dtype_, device));
  LW_TRY(out.copy_from(*this));
  return out;
}

Result<Tensor> Tensor::to(DType dtype) const {
  LW_CHECK(defined(), std::string("to(") + dtype_name(dtype) + ") of an undefined tensor");
  if (dtype == dtype_) return *this;
  LW_ASSIGN_OR_RETURN(Tensor out, empty(shape_, dtype, device()));
  LW_TRY(out.copy_from(*this));
  return out;
}

Status Tensor::zero_() {
  LW_CHECK(defined(), "zero_() of an undefined tensor");
  if (numel() == 0) return Status::ok();
  if (!is_contiguous()) {
    LW_ASSIGN_OR_RETURN(Tensor z, zeros(shape_, dtype_, Device::cpu()));
    return copy_from(z);
  }
  LW_ASSIGN_OR_RETURN(Allocator * alloc, allocator_for_device(device()));
  return alloc->fill_zero(data_ptr(), nbytes(), device().index);
}

Status Tensor::copy_from(const Tensor& src) {
  LW_CHECK(defined() && src.defined(), "copy_from with an undefined tensor");
  LW_CHECK(shape_ == src.shape_, "copy_from: shape " + shape_to_string(src.shape_) +
                                     " does not match destination " + to_string());
  if (numel() == 0) return Status::ok();
  // Fast path: raw bytes between contiguous buffers of one dtype.
  if (dtype_ == src.dtype_ && is_contiguous() && src.is_contiguous()) {
    Device dd = device(), sd = src.device();
    if (dd.is_cpu() && sd.is_cpu()) {
      std::memcpy(data_ptr(), src.data_ptr(), nbytes());
      return Status::ok();
    }
    CopyKind kind = dd.is_cpu() ? CopyKind::kDeviceToHost
                    : sd.is_cpu() ? CopyKind::kHostToDevice : CopyKind::kDeviceToDevice;
    LW_ASSIGN_OR_RETURN(Allocator * alloc, allocator_for_device(dd.is_cpu() ? sd : dd));
    return alloc->copy(data_ptr(), src.data_ptr(), nbytes(), kind,
                       dd.is_cpu() ? sd.index : dd.index);
  }
  // General path: bring src to the host (as a view with its own strides), convert there.
  Tensor hsrc = src;
  if (!src.device().is_cpu()) {
    auto [lo, hi] = span_of(src);
    LW_ASSIGN_OR_RETURN(Tensor flat, stage_to_host(src));
    hsrc = flat;
    hsrc.shape_ = src.shape_;
    hsrc.strides_ = src.strides_;
    hsrc.offset_ = src.offset_ - lo;
    (void)hi;
  }
  if (device().is_cpu()) {
    host_copy(*this, hsrc);
    return Status::ok();
  }
  // Device destination: build the bytes on the host, then upload.
  if (is_contiguous()) {
    LW_ASSIGN_OR_RETURN(Tensor staged, empty(shape_, dtype_, Device::cpu()));
    host_copy(staged, hsrc);
    return copy_from(staged);
  }
  auto [lo, hi] = span_of(*this);
  LW_ASSIGN_OR_RETURN(Tensor flat, stage_to_host(*this));
  Tensor hdst = flat;
  hdst.shape_ = shape_;
  hdst.strides_ = strides_;
  hdst.offset_ = offset_ - lo;
  host_copy(hdst, hsrc);
  LW_ASSIGN_OR_RETURN(Allocator * alloc, allocator_for_device(device()));
  char* dst = static_cast<char*>(storage_->data) + lo * dtype_size(dtype_);
  return alloc->copy(dst, flat.data_ptr(), (hi - lo + 1) * dtype_size(dtype_),
                     CopyKind::kHostToDevice, device().index);
}

Result<std::vector<float>> Tensor::to_float_vector() const {
  LW_CHECK(defined(), "to_float_vector() of an undefined tensor");
  LW_ASSIGN_OR_RETURN(Tensor h, Tensor::empty(shape_, DType::kF32, Device::cpu()));
  LW_TRY(h.copy_from(*this));
  const float* p = h.data<float>();
  return std::vector<float>(p, p + h.numel());
}

Result<std::vector<int64_t>> Tensor::to_int_vector() const {
  LW_CHECK(defined(), "to_int_vector() of an undefined tensor");
  LW_ASSIGN_OR_RETURN(Tensor h, Tensor::empty(shape_, DType::kI64, Device::cpu()));
  LW_TRY(h.copy_from(*this));
  const int64_t* p = h.data<int64_t>();
  return std::vector<int64_t>(p, p + h.numel());
}

Result<float> Tensor::item(int64_t flat_index) const {
  LW_CHECK(defined(), "item() of an undefined tensor");
  LW_CHECK(flat_index >= 0 && flat_index < numel(),
           "item(" + std::to_string(flat_index) + ") out of range for " + to_string());
  // Locate the element through the strides, then read one element.
  int64_t rem = flat_index, off = offset_;
  for (int d = dim() - 1; d >= 0; --d) {
    off += (rem % shape_[d]) * strides_[d];
    rem /= shape_[d];
  }
  Tensor one = *this;
  one.shape_ = {1};
  one.strides_ = {1};
  one.offset_ = off;
  LW_ASSIGN_OR_RETURN(std::vector<float> v, one.to_float_vector());
  return v[0];
}

}  // namespace lw
