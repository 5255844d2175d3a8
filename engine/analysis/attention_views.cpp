// Attention rollout and per-head statistics on captured probabilities. Sums are
// kept in double so the numbers match a numpy reference well below the 1e-3
// tolerance the checks allow the captured rows themselves.
// Dimension letters: L layers, H heads, T tokens.
#include "engine/analysis/attention_views.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace lw {
namespace {

constexpr double kRowTol = 1e-3;

bool is_real(const AttentionProbs& in, int64_t t) {
  return in.key_valid.empty() || in.key_valid[static_cast<size_t>(t)] != 0;
}

const float* row_ptr(const AttentionProbs& in, int64_t l, int64_t h, int64_t i) {
  const int64_t T = in.n_tok;
  return in.probs.data() + ((l * in.n_head + h) * T + i) * T;
}

std::string where(int64_t l, int64_t h, int64_t i) {
  return "attention probabilities: layer " + std::to_string(l) + " head " + std::to_string(h) +
         " query " + std::to_string(i);
}

Status validate_shape(const AttentionProbs& in) {
  LW_CHECK(in.n_layer > 0 && in.n_head > 0 && in.n_tok > 0,
           "attention probabilities: layers, heads and tokens must be positive (got L=" +
               std::to_string(in.n_layer) + " H=" + std::to_string(in.n_head) +
               " T=" + std::to_string(in.n_tok) + ")");
  const int64_t want = in.n_layer * in.n_head * in.n_tok * in.n_tok;
  LW_CHECK(static_cast<int64_t>(in.probs.size()) == want,
           "attention probabilities: " + std::to_string(in.probs.size()) +
               " values, expected L*H*T*T = " + std::to_string(want));
  LW_CHECK(in.key_valid.empty() || static_cast<int64_t>(in.key_valid.size()) == in.n_tok,
           "attention key mask: " + std::to_string(in.key_valid.size()) + " entries, expected T = " +
               std::to_string(in.n_tok));
  LW_CHECK(in.special.empty() || static_cast<int64_t>(in.special.size()) == in.n_tok,
           "special-token mask: " + std::to_string(in.special.size()) + " entries, expected T = " +
               std::to_string(in.n_tok));
  bool any_real = false;
  for (int64_t t = 0; t < in.n_tok; ++t) any_real = any_real || is_real(in, t);
  LW_CHECK(any_real, "attention key mask: every token is padding");
  return Status::ok();
}

// Calls row_fn(l, h, i, row) for every real query row and averages what it
// returns per head.
template <typename RowFn>
Result<HeadMetric> per_head_mean(const AttentionProbs& in, RowFn row_fn) {
  LW_TRY(validate_attention_probs(in));
  HeadMetric out{in.n_layer, in.n_head, std::vector<double>(static_cast<size_t>(in.n_layer * in.n_head))};
  int64_t n_real = 0;
  for (int64_t i = 0; i < in.n_tok; ++i) n_real += is_real(in, i) ? 1 : 0;
  for (int64_t l = 0; l < in.n_layer; ++l) {
    for (int64_t h = 0; h < in.n_head; ++h) {
      double acc = 0.0;
      for (int64_t i = 0; i < in.n_tok; ++i) {
        if (is_real(in, i)) acc += row_fn(i, row_ptr(in, l, h, i));
      }
      out.values[static_cast<size_t>(l * in.n_head + h)] = acc / static_cast<double>(n_real);
    }
  }
  return out;
}

}  // namespace

Status validate_attention_probs(const AttentionProbs& in) {
  LW_TRY(validate_shape(in));
  for (int64_t l = 0; l < in.n_layer; ++l) {
    for (int64_t h = 0; h < in.n_head; ++h) {
      for (int64_t i = 0; i < in.n_tok; ++i) {
        const float* row = row_ptr(in, l, h, i);
        double sum = 0.0, pad = 0.0;
        for (int64_t j = 0; j < in.n_tok; ++j) {
          const float p = row[j];
          LW_CHECK(std::isfinite(p), where(l, h, i) + " key " + std::to_string(j) + ": value is not finite");
          LW_CHECK(p >= -1e-6f && p <= 1.0f + 1e-3f,
                   where(l, h, i) + " key " + std::to_string(j) + ": value " + std::to_string(p) +
                       " is not a probability");
          sum += p;
          if (!is_real(in, j)) pad += p;
        }
        if (!is_real(in, i)) continue;  // padding query rows are never read
        LW_CHECK(std::fabs(sum - 1.0) <= kRowTol,
                 where(l, h, i) + ": row sums to " + std::to_string(sum) + ", expected 1 within 1e-3");
        LW_CHECK(pad <= kRowTol, where(l, h, i) + ": puts " + std::to_string(pad) +
                                     " on padding keys, expected at most 1e-3 (is the key mask right?)");
      }
    }
  }
  return Status::ok();
}

Result<AttentionRollout> attention_rollout(const AttentionProbs& in) {
  LW_TRY(validate_attention_probs(in));
  const int64_t T = in.n_tok;
  const size_t TT = static_cast<size_t>(T * T);
  AttentionRollout out{in.n_layer, T, std::vector<float>(static_cast<size_t>(in.n_layer) * TT)};
  std::vector<double> a(TT), r(TT), next(TT);
  for (int64_t l = 0; l < in.n_layer; ++l) {
    // A' = rownorm(mean_h A_h + I) over real keys; padding rows stay identity.
    for (int64_t i = 0; i < T; ++i) {
      double* ai = a.data() + i * T;
      for (int64_t j = 0; j < T; ++j) ai[j] = 0.0;
      if (!is_real(in, i)) {
        ai[i] = 1.0;
        continue;
      }
      for (int64_t h = 0; h < in.n_head; ++h) {
        const float* row = row_ptr(in, l, h, i);
        for (int64_t j = 0; j < T; ++j) {
          if (is_real(in, j)) ai[j] += row[j];
        }
      }
      double sum = 0.0;
      for (int64_t j = 0; j < T; ++j) {
        ai[j] = ai[j] / static_cast<double>(in.n_head) + (i == j ? 1.0 : 0.0);
        sum += ai[j];
      }
      for (int64_t j = 0; j < T; ++j) ai[j] /= sum;
    }
    if (l == 0) {
      r = a;
    } else {  // R_l = A_l' · R_{l-1}
      for (int64_t i = 0; i < T; ++i) {
        for (int64_t j = 0; j < T; ++j) {
          double acc = 0.0;
          for (int64_t k = 0; k < T; ++k) acc += a[i * T + k] * r[k * T + j];
          next[i * T + j] = acc;
        }
      }
      r.swap(next);
    }
    float* dst = out.values.data() + static_cast<size_t>(l) * TT;
    for (size_t k = 0; k < TT; ++k) dst[k] = static_cast<float>(r[k]);
  }
  return out;
}

Result<HeadMetric> head_entropy(const AttentionProbs& in) {
  return per_head_mean(in, [&](int64_t, const float* row) {
    double e = 0.0;
    for (int64_t j = 0; j < in.n_tok; ++j) {
      const double p = row[j];
      if (p > 0.0 && is_real(in, j)) e -= p * std::log(p);
    }
    return e;
  });
}

Result<HeadMetric> head_attention_distance(const AttentionProbs& in) {
  return per_head_mean(in, [&](int64_t i, const float* row) {
    double d = 0.0;
    for (int64_t j = 0; j < in.n_tok; ++j) {
      if (is_real(in, j)) d += static_cast<double>(row[j]) * static_cast<double>(std::llabs(i - j));
    }
    return d;
  });
}

Result<HeadMetric> head_special_share(const AttentionProbs& in) {
  LW_CHECK(!in.special.empty(), "special-token share: no special-token mask given");
  return per_head_mean(in, [&](int64_t, const float* row) {
    double s = 0.0;
    for (int64_t j = 0; j < in.n_tok; ++j) {
      if (in.special[static_cast<size_t>(j)] != 0 && is_real(in, j)) s += row[j];
    }
    return s;
  });
}

}  // namespace lw
