// Scaled dot-product attention, written as the plain definition: scores, masked
// softmax (with its log-sum-exp saved), weighted sum of values; backward recomputes
// the probabilities from lse. Grouped-query heads share k/v: query head h reads
// kv head h / (NH / NKV). Dot products accumulate in double (this is the oracle).
#include <cmath>
#include <vector>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {
namespace {

struct Dims {
  int B, NH, NKV, Tq, Tk, D, group;
  bool causal;
  float scale;
  explicit Dims(const AttentionShape& s)
      : B(s.B), NH(s.NH), NKV(s.NKV), Tq(s.T), Tk(s.Tk > 0 ? s.Tk : s.T), D(s.D),
        group(s.NH / s.NKV), causal(s.causal), scale(s.scale) {}
  const float* q_row(const float* q, int b, int h, int i) const {
    return q + ((static_cast<int64_t>(b) * NH + h) * Tq + i) * D;
  }
  const float* kv_row(const float* k, int b, int kh, int j) const {
    return k + ((static_cast<int64_t>(b) * NKV + kh) * Tk + j) * D;
  }
  bool allowed(const int32_t* key_mask, int b, int i, int j) const {
    if (causal && j > Tk - Tq + i) return false;
    return !key_mask || key_mask[static_cast<int64_t>(b) * Tk + j] != 0;
  }
};

double dot(const float* a, const float* b, int D) {
  double s = 0.0;
  for (int d = 0; d < D; ++d) s += static_cast<double>(a[d]) * b[d];
  return s;
}

// Scaled scores of one query row into s (masked entries -inf); returns the row's lse.
double row_scores(std::vector<double>& s, const Dims& m, const float* q, const float* k,
                  const int32_t* key_mask, int b, int h, int i) {
  const float* qi = m.q_row(q, b, h, i);
  int kh = h / m.group;
  double mx = -INFINITY;
  for (int j = 0; j < m.Tk; ++j) {
    s[j] = m.allowed(key_mask, b, i, j) ? m.scale * dot(qi, m.kv_row(k, b, kh, j), m.D)
                                        : -INFINITY;
    mx = std::fmax(mx, s[j]);
  }
  if (mx == -INFINITY) return -INFINITY;
  double sum = 0.0;
  for (int j = 0; j < m.Tk; ++j) sum += std::exp(s[j] - mx);
  return mx + std::log(sum);
}

}  // namespace

void attention_forward(float* out, float* lse, float* probs, const float* q, const float* k,
                       const float* v, const int32_t* key_mask, const AttentionShape& shape) {
  Dims m(shape);
  int64_t rows = static_cast<int64_t>(m.B) * m.NH * m.Tq;
  parallel_for(rows, 4, [&](int64_t r0, int64_t r1) {
    std::vector<double> s(m.Tk), acc(m.D);
    for (int64_t r = r0; r < r1; ++r) {
      int i = static_cast<int>(r % m.Tq);
      int h = static_cast<int>((r / m.Tq) % m.NH);
      int b = static_cast<int>(r / (static_cast<int64_t>(m.Tq) * m.NH));
      double l = row_scores(s, m, q, k, key_mask, b, h, i);
      lse[r] = static_cast<float>(l);
      std::fill(acc.begin(), acc.end(), 0.0);
      float* pr = probs ? probs + r * m.Tk : nullptr;
      for (int j = 0; j < m.Tk; ++j) {
        double p = l == -INFINITY ? 0.0 : std::exp(s[j] - l);
        if (pr) pr[j] = static_cast<float>(p);
        if (p == 0.0) continue;
        const float* vj = m.kv_row(v, b, h / m.group, j);
        for (int d = 0; d < m.D; ++d) acc[d] += p * vj[d];
      }
      for (int d = 0; d < m.D; ++d) out[r * m.D + d] = static_cast<float>(acc[d]);
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const int32_t* key_mask, const AttentionShape& shape) {
  Dims m(shape);
  // One task per (batch, kv head): it owns dk/dv of that head and dq of its query heads.
  parallel_for(static_cast<int64_t>(m.B) * m.NKV, 1, [&](int64_t t0, int64_t t1) {
    std::vector<double> s(m.Tk), dqa(m.D);
    std::vector<double> dka(static_cast<size_t>(m.Tk) * m.D), dva(dka.size());
    for (int64_t t = t0; t < t1; ++t) {
      int b = static_cast<int>(t / m.NKV), kh = static_cast<int>(t % m.NKV);
      std::fill(dka.begin(), dka.end(), 0.0);
      std::fill(dva.begin(), dva.end(), 0.0);
      for (int h = kh * m.group; h < (kh + 1) * m.group; ++h) {
        for (int i = 0; i < m.Tq; ++i) {
          int64_t r = (static_cast<int64_t>(b) * m.NH + h) * m.Tq + i;
          const float* qi = q + r * m.D;
          const float* doi = dout + r * m.D;
          std::fill(dqa.begin(), dqa.end(), 0.0);
          double l = lse[r];
          if (l != -INFINITY) {
            row_scores(s, m, q, k, key_mask, b, h, i);
            double Di = dot(doi, out + r * m.D, m.D);  // sum_j p_j (dout . v_j)
            for (int j = 0; j < m.Tk; ++j) {
              double p = std::exp(s[j] - l);
              if (p == 0.0) continue;
              const float* kj = m.kv_row(k, b, kh, j);
              const float* vj = m.kv_row(v, b, kh, j);
              double ds = p * (dot(doi, vj, m.D) - Di) * m.scale;
              for (int d = 0; d < m.D; ++d) {
                dqa[d] += ds * kj[d];
                dka[static_cast<size_t>(j) * m.D + d] += ds * qi[d];
                dva[static_cast<size_t>(j) * m.D + d] += p * doi[d];
              }
            }
          }
          for (int d = 0; d < m.D; ++d) dq[r * m.D + d] = static_cast<float>(dqa[d]);
        }
      }
      float* dkh = dk + (static_cast<int64_t>(b) * m.NKV + kh) * m.Tk * m.D;
      float* dvh = dv + (static_cast<int64_t>(b) * m.NKV + kh) * m.Tk * m.D;
      for (size_t x = 0; x < dka.size(); ++x) {
        dkh[x] = static_cast<float>(dka[x]);
        dvh[x] = static_cast<float>(dva[x]);
      }
    }
  });
}

void transpose12(float* y, const float* x, int B, int X, int Y, int D) {
  parallel_for(static_cast<int64_t>(B) * X, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t b = r / X, xi = r % X;
      for (int yi = 0; yi < Y; ++yi) {
        const float* src = x + ((b * X + xi) * Y + yi) * D;
        float* dst = y + ((b * Y + yi) * X + xi) * D;
        for (int d = 0; d < D; ++d) dst[d] = src[d];
      }
    }
  });
}

}  // namespace lw::cpu
