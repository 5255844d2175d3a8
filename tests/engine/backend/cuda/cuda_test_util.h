// Helpers for the CUDA kernel tests: device buffers in any float storage type,
// Philox-seeded random inputs, rounding to a dtype (so the CPU reference sees exactly
// the values the GPU sees) and a tolerance check that names the worst element.
#pragma once
#include <cuda_runtime_api.h>

#include <QtTest/QtTest>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/backend/cuda/cuda_kernels.h"
#include "engine/core/dtype.h"
#include "engine/core/rng.h"

namespace lwtest {

// Owning device buffer (plain cudaMalloc: the allocator has its own tests).
class DevBuf {
 public:
  DevBuf() = default;
  explicit DevBuf(size_t bytes) : bytes_(bytes) {
    if (bytes && cudaMalloc(&p_, bytes) != cudaSuccess) p_ = nullptr;
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  DevBuf(DevBuf&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  DevBuf& operator=(DevBuf&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~DevBuf() {
    if (p_) cudaFree(p_);
  }
  void* get() const { return p_; }
  template <typename T> T* as() const { return static_cast<T*>(p_); }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f, float shift = 0.f) {
  lw::PhiloxStream rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal() * scale + shift;
  return v;
}

// The values a dtype can hold nearest to v (identity for f32).
inline std::vector<float> rounded(lw::DType t, std::vector<float> v) {
  for (auto& x : v) {
    if (t == lw::DType::kBF16) x = lw::bf16_bits_to_f32(lw::f32_to_bf16_bits(x));
    else if (t == lw::DType::kF16) x = lw::f16_bits_to_f32(lw::f32_to_f16_bits(x));
  }
  return v;
}

inline DevBuf upload(lw::DType t, const std::vector<float>& v) {
  std::vector<unsigned char> host(v.size() * lw::dtype_size(t));
  lw::convert_host(host.data(), t, v.data(), lw::DType::kF32, static_cast<int64_t>(v.size()));
  DevBuf d(host.size() ? host.size() : 16);
  if (!host.empty()) cudaMemcpy(d.get(), host.data(), host.size(), cudaMemcpyHostToDevice);
  return d;
}
inline DevBuf upload_i32(const std::vector<int32_t>& v) {
  DevBuf d(v.size() * 4 + 16);
  if (!v.empty()) cudaMemcpy(d.get(), v.data(), v.size() * 4, cudaMemcpyHostToDevice);
  return d;
}
inline std::vector<float> download(lw::DType t, const DevBuf& d, size_t n) {
  std::vector<unsigned char> host(n * lw::dtype_size(t));
  cudaDeviceSynchronize();
  if (n) cudaMemcpy(host.data(), d.get(), host.size(), cudaMemcpyDeviceToHost);
  std::vector<float> v(n);
  lw::convert_host(v.data(), lw::DType::kF32, host.data(), t, static_cast<int64_t>(n));
  return v;
}

struct Tol {
  double atol, rtol;
};
// Per storage type: f32 computes like the CPU up to summation order; bf16 keeps 8
// mantissa bits (relative step 2^-8), f16 11 bits; kernels that chain a few roundings
// (norm backward, attention) get the wider `loose` factor.
inline Tol tol_for(lw::DType t, double loose = 1.0) {
  switch (t) {
    case lw::DType::kBF16: return {2e-2 * loose, 2e-2 * loose};
    case lw::DType::kF16: return {3e-3 * loose, 5e-3 * loose};
    default: return {2e-5 * loose, 1e-4 * loose};
  }
}

// True when every |got - want| <= atol + rtol * |want| (NaN never passes); otherwise
// fills `why` with the worst element.
inline bool all_close(const std::vector<float>& got, const std::vector<float>& want, Tol tol,
                      std::string* why) {
  if (got.size() != want.size()) {
    *why = "size " + std::to_string(got.size()) + " != " + std::to_string(want.size());
    return false;
  }
  double worst = 0.0;
  size_t at = 0;
  bool bad = false;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    const double lim = tol.atol + tol.rtol * std::fabs(static_cast<double>(want[i]));
    const double ratio = std::isnan(err) ? INFINITY : err / lim;
    if (ratio > worst) {
      worst = ratio;
      at = i;
    }
    if (!(err <= lim)) bad = true;
  }
  if (bad) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "element %zu: got %.7g want %.7g (error %.3g x tolerance)", at,
                  got[at], want[at], worst);
    *why = buf;
  }
  return !bad;
}

inline const char* dtype_tag(lw::DType t) { return lw::dtype_name(t); }

}  // namespace lwtest

// Compares with a per-dtype tolerance and fails the Qt test naming the quantity.
#define LW_EXPECT_CLOSE(got, want, tol, what)                                        \
  do {                                                                               \
    std::string _why;                                                                \
    if (!lwtest::all_close((got), (want), (tol), &_why))                             \
      QFAIL(qPrintable(QString("%1: %2").arg(what).arg(QString::fromStdString(_why)))); \
  } while (0)

#define LW_EXPECT_OK(expr)                                                           \
  do {                                                                               \
    ::lw::Status _st = (expr);                                                       \
    if (!_st.is_ok()) QFAIL(qPrintable(QString::fromStdString(_st.to_string())));   \
  } while (0)
