// Element-wise kernels: GELU (erf and tanh forms), bias+GELU, SiLU, SwiGLU, tanh,
// add, scale and the sum of squares used by gradient clipping. Each value is
// computed in double and rounded once, so this is the most accurate f32 answer.
#include <cmath>
#include <map>
#include <mutex>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

double gelu(double x, GeluKind kind) {
  if (kind == GeluKind::kErf) return 0.5 * x * (1.0 + std::erf(x * kInvSqrt2));
  double u = kSqrt2OverPi * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(u));
}

double gelu_grad(double x, GeluKind kind) {
  if (kind == GeluKind::kErf)
    return 0.5 * (1.0 + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
  double u = kSqrt2OverPi * (x + 0.044715 * x * x * x);
  double t = std::tanh(u);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3 * 0.044715 * x * x);
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

template <typename Fn>
void elementwise(int64_t n, Fn fn) {
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) fn(i);
  });
}

}  // namespace

void gelu_forward(float* y, const float* x, int64_t n, GeluKind kind) {
  elementwise(n, [&](int64_t i) { y[i] = static_cast<float>(gelu(x[i], kind)); });
}

void gelu_backward(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind) {
  elementwise(n, [&](int64_t i) { dx[i] = static_cast<float>(dy[i] * gelu_grad(x[i], kind)); });
}

void bias_gelu_forward(float* y, const float* x, const float* bias, int64_t rows, int C,
                       GeluKind kind) {
  elementwise(rows * C, [&](int64_t i) {
    // The pre-activation is rounded to f32 first, as a separate bias add would.
    float pre = x[i] + bias[i % C];
    y[i] = static_cast<float>(gelu(pre, kind));
  });
}

void silu_forward(float* y, const float* x, int64_t n) {
  elementwise(n, [&](int64_t i) { y[i] = static_cast<float>(x[i] * sigmoid(x[i])); });
}

void silu_backward(float* dx, const float* dy, const float* x, int64_t n) {
  elementwise(n, [&](int64_t i) {
    double s = sigmoid(x[i]);
    dx[i] = static_cast<float>(dy[i] * s * (1.0 + x[i] * (1.0 - s)));
  });
}

void swiglu_forward(float* y, const float* gate, const float* up, int64_t n) {
  elementwise(n, [&](int64_t i) {
    y[i] = static_cast<float>(gate[i] * sigmoid(gate[i]) * up[i]);
  });
}

void swiglu_backward(float* dgate, float* dup, const float* dy, const float* gate,
                     const float* up, int64_t n) {
  elementwise(n, [&](int64_t i) {
    double g = gate[i], s = sigmoid(g);
    double d = dy[i];
    dgate[i] = static_cast<float>(d * up[i] * s * (1.0 + g * (1.0 - s)));
    dup[i] = static_cast<float>(d * g * s);
  });
}

void tanh_forward(float* y, const float* x, int64_t n) {
  elementwise(n, [&](int64_t i) { y[i] = static_cast<float>(std::tanh(static_cast<double>(x[i]))); });
}

void tanh_backward(float* dx, const float* dy, const float* y, int64_t n) {
  elementwise(n, [&](int64_t i) {
    dx[i] = static_cast<float>(dy[i] * (1.0 - static_cast<double>(y[i]) * y[i]));
  });
}

void add(float* y, const float* a, const float* b, int64_t n) {
  elementwise(n, [&](int64_t i) { y[i] = a[i] + b[i]; });
}

void scale(float* x, int64_t n, float s) {
  elementwise(n, [&](int64_t i) { x[i] *= s; });
}

double sum_squares(const float* x, int64_t n) {
  std::mutex mu;
  std::map<int64_t, double> partials;  // summed in chunk order: deterministic
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    double s = 0.0;
    for (int64_t i = i0; i < i1; ++i) s += static_cast<double>(x[i]) * x[i];
    std::lock_guard<std::mutex> lock(mu);
    partials[i0] = s;
  });
  double total = 0.0;
  for (auto& [k, s] : partials) total += s;
  return total;
}

}  // namespace lw::cpu
