// Straightforward double-precision references for every op, written from the
// definitions (PyTorch's where there is a choice), independent of the engine's
// kernels. The op tests compare against these and differentiate them by central
// differences. Buf is a row-major double tensor.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/core/rng.h"
#include "engine/core/tensor.h"

namespace ref {

struct Buf {
  lw::Shape shape;
  std::vector<double> v;
  int64_t n() const { return static_cast<int64_t>(v.size()); }
};
inline Buf zeros(const lw::Shape& s) { return {s, std::vector<double>(lw::shape_numel(s), 0.0)}; }

// op(a) [.., M, K] @ op(b) [.., K, N]; b may be 2-D (shared).
inline Buf matmul(const Buf& a, const Buf& b, bool ta, bool tb, double alpha = 1.0) {
  int nd = static_cast<int>(a.shape.size());
  int64_t am = a.shape[nd - 2], ak = a.shape[nd - 1];
  if (ta) std::swap(am, ak);
  int bd = static_cast<int>(b.shape.size());
  int64_t bn = tb ? b.shape[bd - 2] : b.shape[bd - 1];
  lw::Shape out(a.shape.begin(), a.shape.end() - 2);
  int64_t batch = lw::shape_numel(out);
  out.push_back(am);
  out.push_back(bn);
  Buf c = zeros(out);
  bool shared = bd == 2;
  for (int64_t p = 0; p < batch; ++p) {
    const double* A = a.v.data() + p * am * ak;
    const double* B = b.v.data() + (shared ? 0 : p * ak * bn);
    for (int64_t i = 0; i < am; ++i)
      for (int64_t j = 0; j < bn; ++j) {
        double s = 0.0;
        for (int64_t k = 0; k < ak; ++k) {
          double x = ta ? A[k * am + i] : A[i * ak + k];
          double y = tb ? B[j * ak + k] : B[k * bn + j];
          s += x * y;
        }
        c.v[(p * am + i) * bn + j] = alpha * s;
      }
  }
  return c;
}

inline Buf linear(const Buf& x, const Buf& w, const Buf* bias, bool w_kn) {
  int64_t K = x.shape.back();
  int64_t N = w_kn ? w.shape[1] : w.shape[0];
  int64_t rows = x.n() / K;
  lw::Shape out = x.shape;
  out.back() = N;
  Buf y = zeros(out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias ? bias->v[n] : 0.0;
      for (int64_t k = 0; k < K; ++k) s += x.v[r * K + k] * (w_kn ? w.v[k * N + n] : w.v[n * K + k]);
      y.v[r * N + n] = s;
    }
  return y;
}

inline Buf embedding(const Buf& ids, const Buf& table) {
  int64_t C = table.shape[1];
  lw::Shape out = ids.shape;
  out.push_back(C);
  Buf y = zeros(out);
  for (int64_t i = 0; i < ids.n(); ++i)
    for (int64_t c = 0; c < C; ++c) y.v[i * C + c] = table.v[static_cast<int64_t>(ids.v[i]) * C + c];
  return y;
}

// Returns {y, mean, rstd}; rms = true gives RMSNorm (no mean, no bias).
inline std::vector<Buf> norm(const Buf& x, const Buf& w, const Buf* b, double eps, bool rms) {
  int64_t C = x.shape.back(), rows = x.n() / C;
  Buf y = zeros(x.shape), mean = zeros({rows}), rstd = zeros({rows});
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = x.v.data() + r * C;
    double m = 0.0;
    if (!rms) {
      for (int64_t c = 0; c < C; ++c) m += xr[c];
      m /= C;
    }
    double var = 0.0;
    for (int64_t c = 0; c < C; ++c) var += (xr[c] - m) * (xr[c] - m);
    double rs = 1.0 / std::sqrt(var / C + eps);
    for (int64_t c = 0; c < C; ++c) y.v[r * C + c] = (xr[c] - m) * rs * w.v[c] + (b ? b->v[c] : 0.0);
    mean.v[r] = m;
    rstd.v[r] = rs;
  }
  return {y, mean, rstd};
}

template <typename F>
Buf map(const Buf& x, F f) {
  Buf y = x;
  for (auto& v : y.v) v = f(v);
  return y;
}

inline double gelu(double x, bool tanh_form) {
  if (!tanh_form) return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
inline double silu(double x) { return x / (1.0 + std::exp(-x)); }

inline Buf softmax(const Buf& x) {
  int64_t C = x.shape.back(), rows = x.n() / C;
  Buf y = x;
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY, s = 0.0;
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, x.v[r * C + c]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(x.v[r * C + c] - mx);
    for (int64_t c = 0; c < C; ++c) y.v[r * C + c] = std::exp(x.v[r * C + c] - mx) / s;
  }
  return y;
}

// {out [B,NH,Tq,D], lse [B,NH,Tq], probs [B,NH,Tq,Tk]}.
inline std::vector<Buf> attention(const Buf& q, const Buf& k, const Buf& v, const Buf* mask,
                                  bool causal, double scale) {
  int64_t B = q.shape[0], NH = q.shape[1], Tq = q.shape[2], D = q.shape[3];
  int64_t NKV = k.shape[1], Tk = k.shape[2], group = NH / NKV;
  Buf out = zeros(q.shape), lse = zeros({B, NH, Tq}), probs = zeros({B, NH, Tq, Tk});
  std::vector<double> s(Tk);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t i = 0; i < Tq; ++i) {
        int64_t kh = h / group;
        double mx = -INFINITY;
        for (int64_t j = 0; j < Tk; ++j) {
          bool ok = !(causal && j > Tk - Tq + i) && (!mask || mask->v[b * Tk + j] != 0.0);
          double d = 0.0;
          for (int64_t x = 0; x < D; ++x)
            d += q.v[((b * NH + h) * Tq + i) * D + x] * k.v[((b * NKV + kh) * Tk + j) * D + x];
          s[j] = ok ? d * scale : -INFINITY;
          mx = std::max(mx, s[j]);
        }
        int64_t row = (b * NH + h) * Tq + i;
        if (mx == -INFINITY) {
          lse.v[row] = -INFINITY;
          continue;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < Tk; ++j) sum += std::exp(s[j] - mx);
        lse.v[row] = mx + std::log(sum);
        for (int64_t j = 0; j < Tk; ++j) {
          double p = std::exp(s[j] - mx) / sum;
          probs.v[row * Tk + j] = p;
          for (int64_t x = 0; x < D; ++x)
            out.v[row * D + x] += p * v.v[((b * NKV + kh) * Tk + j) * D + x];
        }
      }
  return {out, lse, probs};
}

inline Buf transpose12(const Buf& x) {
  int64_t B = x.shape[0], X = x.shape[1], Y = x.shape[2], D = x.shape[3];
  Buf y = zeros({B, Y, X, D});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < X; ++i)
      for (int64_t j = 0; j < Y; ++j)
        for (int64_t d = 0; d < D; ++d)
          y.v[((b * Y + j) * X + i) * D + d] = x.v[((b * X + i) * Y + j) * D + d];
  return y;
}

inline Buf rope(const Buf& x, const Buf* positions, double theta) {
  int64_t B = x.shape[0], H = x.shape[1], T = x.shape[2], D = x.shape[3], half = D / 2;
  Buf y = x;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        double pos = positions ? positions->v[b * T + t] : static_cast<double>(t);
        int64_t base = ((b * H + h) * T + t) * D;
        for (int64_t i = 0; i < half; ++i) {
          double angle = pos * std::pow(theta, -2.0 * i / D);
          double x1 = x.v[base + i], x2 = x.v[base + i + half];
          y.v[base + i] = x1 * std::cos(angle) - x2 * std::sin(angle);
          y.v[base + i + half] = x2 * std::cos(angle) + x1 * std::sin(angle);
        }
      }
  return y;
}

inline Buf dropout(const Buf& x, double p, uint64_t seed, uint64_t offset) {
  Buf y = x;
  for (int64_t i = 0; i < x.n(); ++i)
    y.v[i] = lw::philox_uniform(seed, offset + i) >= static_cast<float>(p) ? x.v[i] / (1.0 - p) : 0.0;
  return y;
}

// {mean loss [1], losses [N], lse [N]}.
inline std::vector<Buf> cross_entropy(const Buf& logits, const Buf& targets, int ignore, double eps) {
  int64_t V = logits.shape.back(), N = logits.n() / V;
  Buf loss = zeros({1}), losses = zeros({N}), lse = zeros({N});
  int64_t count = 0;
  for (int64_t r = 0; r < N; ++r) {
    const double* x = logits.v.data() + r * V;
    double mx = -INFINITY, s = 0.0, sum_x = 0.0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, x[v]), sum_x += x[v];
    for (int64_t v = 0; v < V; ++v) s += std::exp(x[v] - mx);
    lse.v[r] = mx + std::log(s);
    int t = static_cast<int>(targets.v[r]);
    if (t == ignore) continue;
    losses.v[r] = (1.0 - eps) * (lse.v[r] - x[t]) + eps * (lse.v[r] - sum_x / V);
    loss.v[0] += losses.v[r];
    ++count;
  }
  if (count) loss.v[0] /= count;
  return {loss, losses, lse};
}

// torch.optim.AdamW, one step: {param, m, v}.
inline std::vector<Buf> adamw(Buf p, const Buf& g, Buf m, Buf v, double lr, double b1, double b2,
                              double eps, double wd, int t, double gscale) {
  double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
  for (int64_t i = 0; i < p.n(); ++i) {
    double gi = g.v[i] * gscale;
    p.v[i] *= 1.0 - lr * wd;
    m.v[i] = b1 * m.v[i] + (1.0 - b1) * gi;
    v.v[i] = b2 * v.v[i] + (1.0 - b2) * gi * gi;
    p.v[i] -= lr / bc1 * m.v[i] / (std::sqrt(v.v[i]) / std::sqrt(bc2) + eps);
  }
  return {p, m, v};
}

}  // namespace ref
