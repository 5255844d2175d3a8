// A plain, sort-everything implementation of the sampling chain, written straight from
// the definitions of transformers' RepetitionPenalty, Temperature, TopK, TopP and MinP
// processors (and OpenAI's presence/frequency penalties): the oracle that the sampler's
// O(V) thresholds and its random draws are checked against.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "engine/generate/sampler.h"

namespace lwtest {

// The penalised (and, unless greedy, temperature-scaled) logits, in f32 as the sampler.
inline std::vector<float> reference_logits(std::vector<float> l, const lw::SamplingParams& sp,
                                           const std::vector<int32_t>& prompt,
                                           const std::vector<int32_t>& generated) {
  if (sp.repetition_penalty != 1.0f) {
    std::set<int32_t> seen(prompt.begin(), prompt.end());
    seen.insert(generated.begin(), generated.end());
    for (int32_t id : seen)
      l[id] = l[id] < 0.0f ? l[id] * sp.repetition_penalty : l[id] / sp.repetition_penalty;
  }
  std::map<int32_t, int32_t> counts;
  for (int32_t id : generated) ++counts[id];
  if (sp.presence_penalty != 0.0f || sp.frequency_penalty != 0.0f)
    for (auto [id, c] : counts) l[id] -= c * sp.frequency_penalty + sp.presence_penalty;
  if (!sp.is_greedy() && sp.temperature != 1.0f)
    for (float& x : l) x /= sp.temperature;
  return l;
}

inline void renormalise(std::vector<double>& p) {
  double s = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= s;
}

// Probability of every token (0 for removed ones) under the full chain.
inline std::vector<double> reference_distribution(const std::vector<float>& logits,
                                                  const lw::SamplingParams& sp,
                                                  const std::vector<int32_t>& prompt = {},
                                                  const std::vector<int32_t>& generated = {}) {
  std::vector<float> l = reference_logits(logits, sp, prompt, generated);
  const size_t V = l.size();
  std::vector<double> p(V, 0.0);
  if (sp.is_greedy()) {
    p[std::max_element(l.begin(), l.end()) - l.begin()] = 1.0;
    return p;
  }
  const float m = *std::max_element(l.begin(), l.end());
  for (size_t i = 0; i < V; ++i) p[i] = std::exp(double(l[i]) - m);
  renormalise(p);
  // Indices by logit, high first, then by id.
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
  if (sp.top_k > 0 && size_t(sp.top_k) < V) {
    float kth = l[order[sp.top_k - 1]];
    for (size_t i = 0; i < V; ++i)
      if (l[i] < kth) p[i] = 0.0;
    renormalise(p);
  }
  if (sp.top_p < 1.0f) {
    // Keep a token while the mass before it is below top_p; ties with the last kept stay.
    double before = 0.0;
    float last = l[order[0]];
    for (size_t j = 0; j < V; ++j) {
      if (p[order[j]] == 0.0) continue;
      if (j > 0 && before >= sp.top_p) break;
      last = l[order[j]];
      before += p[order[j]];
    }
    for (size_t i = 0; i < V; ++i)
      if (l[i] < last) p[i] = 0.0;
    renormalise(p);
  }
  if (sp.min_p > 0.0f) {
    double pmax = *std::max_element(p.begin(), p.end());
    for (double& x : p)
      if (x < sp.min_p * pmax) x = 0.0;
    renormalise(p);
  }
  return p;
}

}  // namespace lwtest
