// The sampling chain, in transformers' order: repetition penalty, (vLLM's) presence and
// frequency penalties, temperature, then top-k, top-p and min-p. The three truncations
// reduce to one logit threshold, so the kept set is a single O(V) scan in id order;
// top-k selects in O(V) (nth_element) and top-p sorts only the head of the distribution
// it needs, growing the sorted prefix geometrically, so a step costs O(V + k log k).
#include "engine/generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "engine/core/rng.h"
#include "engine/generate/utf8_stream.h"

namespace lw {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Higher logit first, then lower id: a total order, so ties resolve the same everywhere.
bool better(const Sampler::Candidate& a, const Sampler::Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

Status check_ids(std::span<const int32_t> ids, size_t vocab, const char* where) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= vocab) {
      return invalid_argument("sampler: token id " + std::to_string(ids[i]) + " at position " +
                              std::to_string(i) + " of the " + where +
                              " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  return Status::ok();
}

// log(sum(exp(x))) over the finite entries, in double.
double log_sum_exp(std::span<const float> x) {
  float m = kNegInf;
  for (float v : x) m = std::max(m, v);
  if (m == kNegInf) return -std::numeric_limits<double>::infinity();
  double s = 0.0;
  for (float v : x) s += std::exp(static_cast<double>(v) - m);
  return m + std::log(s);
}

}  // namespace

Status SamplingParams::validate() const {
  if (!std::isfinite(temperature) || temperature < 0.0f)
    return invalid_argument("--temperature must be >= 0 (0 means greedy), got " + num(temperature));
  if (top_k < 0)
    return invalid_argument("--top-k must be >= 0 (0 turns it off), got " + num(top_k));
  if (!(top_p > 0.0f && top_p <= 1.0f))
    return invalid_argument("--top-p must be in (0, 1], got " + num(top_p));
  if (!(min_p >= 0.0f && min_p <= 1.0f))
    return invalid_argument("--min-p must be in [0, 1], got " + num(min_p));
  if (!std::isfinite(repetition_penalty) || !(repetition_penalty > 0.0f))
    return invalid_argument("--repetition-penalty must be > 0 (1 turns it off), got " +
                            num(repetition_penalty));
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f))
    return invalid_argument("--presence-penalty must be in [-2, 2], got " + num(presence_penalty));
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f))
    return invalid_argument("--frequency-penalty must be in [-2, 2], got " +
                            num(frequency_penalty));
  if (max_new_tokens < 1)
    return invalid_argument("--max-new-tokens must be >= 1, got " + std::to_string(max_new_tokens));
  if (top_logprobs < 0 || top_logprobs > 100)
    return invalid_argument("--top-logprobs must be in [0, 100], got " + num(top_logprobs));
  for (size_t i = 0; i < stop.size(); ++i) {
    std::string what = "--stop string " + std::to_string(i + 1);
    if (stop[i].empty()) return invalid_argument(what + " is empty");
    LW_TRY(check_utf8(stop[i], what));
  }
  for (int32_t id : stop_token_ids)
    if (id < 0) return invalid_argument("--stop-token-id must be >= 0, got " + num(id));
  return Status::ok();
}

Status SamplingParams::validate_for_vocab(int64_t vocab_size) const {
  LW_TRY(validate());
  for (int32_t id : stop_token_ids) {
    if (id >= vocab_size)
      return invalid_argument("--stop-token-id " + std::to_string(id) +
                              " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
  }
  return Status::ok();
}

Result<Sampler> Sampler::create(const SamplingParams& params, uint32_t sequence) {
  LW_TRY(params.validate());
  return Sampler(params, sequence);
}

void Sampler::apply_penalties(std::span<const int32_t> prompt, std::span<const int32_t> generated) {
  const size_t V = work_.size();
  if (params_.repetition_penalty != 1.0f) {
    // HF RepetitionPenaltyLogitsProcessor: once per distinct token seen, dividing a
    // positive logit and multiplying a negative one, so the token always loses.
    const float penalty = params_.repetition_penalty;
    untouched_ = prompt.empty() && generated.empty();
    seen_.resize(V, 0);
    auto apply = [&](std::span<const int32_t> ids) {
      for (int32_t id : ids) {
        if (seen_[id]) continue;
        seen_[id] = 1;
        float& x = work_[id];
        x = x < 0.0f ? x * penalty : x / penalty;
      }
    };
    apply(prompt);
    apply(generated);
    for (int32_t id : prompt) seen_[id] = 0;
    for (int32_t id : generated) seen_[id] = 0;
  }
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    // OpenAI / vLLM: logit -= count * frequency_penalty + (count > 0) * presence_penalty,
    // counting generated tokens only (the prompt is the user's, not a repetition).
    untouched_ = untouched_ && generated.empty();
    counts_.resize(V, 0);
    for (int32_t id : generated) ++counts_[id];
    for (int32_t id : generated) {
      if (counts_[id] == 0) continue;
      work_[id] -=
          static_cast<float>(counts_[id]) * params_.frequency_penalty + params_.presence_penalty;
      counts_[id] = 0;
    }
  }
}

Result<float> Sampler::process(std::span<const float> logits, std::span<const int32_t> prompt,
                               std::span<const int32_t> generated) {
  const size_t V = logits.size();
  LW_CHECK(V > 0, "sampler: the logits row is empty");
  LW_CHECK(V <= static_cast<size_t>(std::numeric_limits<int32_t>::max()),
           "sampler: a logits row of " + std::to_string(V) + " entries is too long");
  for (size_t i = 0; i < V; ++i) {
    if (std::isnan(logits[i]) || logits[i] == std::numeric_limits<float>::infinity())
      return Status(StatusCode::kNumerical, "sampler: logits[" + std::to_string(i) + "] is " +
                                                (std::isnan(logits[i]) ? "NaN" : "+inf"));
  }
  LW_TRY(check_ids(prompt, V, "prompt"));
  LW_TRY(check_ids(generated, V, "generated tokens"));
  work_.assign(logits.begin(), logits.end());
  untouched_ = true;

  apply_penalties(prompt, generated);
  if (!params_.is_greedy() && params_.temperature != 1.0f) {
    const float t = params_.temperature;
    untouched_ = false;
    for (float& x : work_) x /= t;  // as HF: scores / temperature, in f32
  }
  float max_logit = kNegInf;
  for (float x : work_) max_logit = std::max(max_logit, x);
  if (max_logit == kNegInf)
    return invalid_argument("sampler: every logit is -inf (all tokens are masked)");
  if (!std::isfinite(max_logit))
    return Status(StatusCode::kNumerical, "sampler: --temperature " + num(params_.temperature) +
                                              " overflows these logits to +inf");
  return max_logit;
}

float Sampler::top_k_threshold() {
  // Every token tied with the k-th largest survives, as in HF's TopKLogitsWarper.
  const size_t k = static_cast<size_t>(params_.top_k);
  if (k > 1024) {
    select_.assign(work_.begin(), work_.end());
    std::nth_element(select_.begin(), select_.begin() + (k - 1), select_.end(), std::greater<>());
    return select_[k - 1];
  }
  // Small k: one pass with a min-heap of the k best; most values fail the first compare.
  select_.assign(work_.begin(), work_.begin() + k);
  std::make_heap(select_.begin(), select_.end(), std::greater<>());
  for (size_t i = k; i < work_.size(); ++i) {
    if (work_[i] <= select_.front()) continue;
    std::pop_heap(select_.begin(), select_.end(), std::greater<>());
    select_.back() = work_[i];
    std::push_heap(select_.begin(), select_.end(), std::greater<>());
  }
  return select_.front();
}

float Sampler::top_p_threshold(float max_logit, float floor) {
  // HF's TopPLogitsWarper keeps the smallest head (in descending order) whose mass
  // reaches top_p: a token stays when the mass strictly before it is < top_p, and the
  // first always stays. Mass is over the tokens that survived top-k.
  // Instead of sorting, the candidates are bucketed by logit; the bucket where the
  // running mass crosses top_p is refined the same way until it is small, then sorted.
  candidates_.clear();
  double z = 0.0;
  float lo = max_logit;
  for (size_t i = 0; i < work_.size(); ++i) {
    float x = work_[i];
    if (x < floor || x == kNegInf) continue;
    float w = std::exp(x - max_logit);
    candidates_.push_back({x, static_cast<int32_t>(i), w});
    z += w;
    lo = std::min(lo, x);
  }
  const double target = params_.top_p * z;
  double before = 0.0;     // mass of the tokens ahead of `cand`, all kept
  float prev = max_logit;  // the smallest logit ahead of `cand` (when before > 0)
  bool has_prev = false;
  float hi = max_logit;
  std::span<Candidate> cand(candidates_);
  constexpr int kBuckets = 1024;
  while (cand.size() > 2048 && lo < hi) {
    double mass[kBuckets] = {};
    float bmin[kBuckets];
    uint32_t count[kBuckets] = {};
    const double scale = kBuckets / (static_cast<double>(hi) - lo);
    auto bucket = [&](float x) {  // 0 holds the largest logits
      return std::clamp(static_cast<int>((static_cast<double>(hi) - x) * scale), 0, kBuckets - 1);
    };
    for (const Candidate& c : cand) {
      int b = bucket(c.logit);
      bmin[b] = count[b]++ ? std::min(bmin[b], c.logit) : c.logit;
      mass[b] += c.weight;
    }
    int cross = -1;
    for (int b = 0; b < kBuckets; ++b) {
      if (count[b] == 0) continue;
      if (before + mass[b] >= target) {
        cross = b;
        break;
      }
      before += mass[b];
      prev = bmin[b];
      has_prev = true;
    }
    if (cross < 0) return lo;  // rounding: the whole range is needed
    size_t n = 0;
    float top = kNegInf;
    for (const Candidate& c : cand) {
      if (bucket(c.logit) != cross) continue;
      cand[n++] = c;
      top = std::max(top, c.logit);
    }
    cand = cand.first(n);
    hi = top;
    lo = bmin[cross];
  }
  if (lo == hi) return has_prev && before >= target ? prev : lo;  // all tied: kept together
  std::sort(cand.begin(), cand.end(), better);
  for (size_t j = 0; j < cand.size(); ++j) {
    if ((j > 0 || has_prev) && before >= target) return j > 0 ? cand[j - 1].logit : prev;
    before += cand[j].weight;
  }
  return cand.back().logit;
}

float Sampler::keep_threshold(float max_logit) {
  float t = kNegInf;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < work_.size()) t = top_k_threshold();
  if (params_.top_p < 1.0f) t = std::max(t, top_p_threshold(max_logit, t));
  if (params_.min_p > 0.0f) {
    // HF's MinPLogitsWarper drops p < min_p * p_max; the ratio of two probabilities does
    // not change when earlier truncations renormalise, so it is a logit offset.
    t = std::max(t, static_cast<float>(max_logit + std::log(static_cast<double>(params_.min_p))));
  }
  return t;
}

double Sampler::collect_kept(float threshold, float max_logit) {
  kept_.clear();
  weights_.clear();
  double total = 0.0;
  for (size_t i = 0; i < work_.size(); ++i) {
    float x = work_[i];
    if (x < threshold || x == kNegInf) continue;
    double w = std::exp(static_cast<double>(x) - max_logit);
    kept_.push_back(static_cast<int32_t>(i));
    weights_.push_back(w);
    total += w;
  }
  return total;
}

double Sampler::uniform(uint64_t step) const {
  // Counter = (step, sequence, tag): the tag keeps these draws apart from the dropout
  // and initialisation streams that use the same seed with counter words 2-3 at zero.
  Philox4 ctr{{static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32), sequence_,
               0x53414D50u /* "SAMP" */}};
  Philox4 r = philox4x32_10(ctr, static_cast<uint32_t>(params_.seed),
                            static_cast<uint32_t>(params_.seed >> 32));
  uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 21) | (r.v[1] >> 11);  // 53 bits
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

Result<SampleResult> Sampler::sample(std::span<const float> logits, std::span<const int32_t> prompt,
                                     std::span<const int32_t> generated) {
  LW_ASSIGN_OR_RETURN(float max_logit, process(logits, prompt, generated));
  const uint64_t step = step_++;
  SampleResult out;
  float threshold = kNegInf;
  double log_z = 0.0;
  if (params_.is_greedy()) {
    // First index of the maximum, as torch.argmax.
    out.token.id =
        static_cast<int32_t>(std::find(work_.begin(), work_.end(), max_logit) - work_.begin());
    if (params_.logprobs) log_z = log_sum_exp(work_);
  } else {
    threshold = keep_threshold(max_logit);
    double total = collect_kept(threshold, max_logit);
    const double target = uniform(step) * total;
    double acc = 0.0;
    out.token.id = -1;
    for (size_t j = 0; j < kept_.size(); ++j) {
      if (weights_[j] <= 0.0) continue;  // underflowed to 0: never drawn
      out.token.id = kept_[j];
      acc += weights_[j];
      if (target < acc) break;
    }
    LW_ASSERT(out.token.id >= 0);
    log_z = max_logit + std::log(total);
  }
  if (params_.logprobs) {
    // Untouched logits over an untruncated set: the raw normaliser is the one just computed.
    const double raw_log_z = untouched_ && threshold == kNegInf ? log_z : log_sum_exp(logits);
    out.token.logprob = static_cast<float>(work_[out.token.id] - log_z);
    out.token.raw_logprob = static_cast<float>(logits[out.token.id] - raw_log_z);
    if (params_.top_logprobs > 0) fill_top(out, log_z, raw_log_z, threshold, logits);
  }
  return out;
}

void Sampler::fill_top(SampleResult& out, double log_z, double raw_log_z, float threshold,
                       std::span<const float> logits) {
  // A heap of the N best by (logit, lower id); its front is the worst of them.
  const size_t n = static_cast<size_t>(params_.top_logprobs);
  candidates_.clear();
  for (size_t i = 0; i < work_.size(); ++i) {
    Candidate c{work_[i], static_cast<int32_t>(i), 0.0f};
    if (c.logit == kNegInf) continue;
    if (candidates_.size() < n) {
      candidates_.push_back(c);
      std::push_heap(candidates_.begin(), candidates_.end(), better);
    } else if (better(c, candidates_.front())) {
      std::pop_heap(candidates_.begin(), candidates_.end(), better);
      candidates_.back() = c;
      std::push_heap(candidates_.begin(), candidates_.end(), better);
    }
  }
  std::sort_heap(candidates_.begin(), candidates_.end(), better);
  out.top.clear();
  for (const Candidate& c : candidates_) {
    TokenLogprob t;
    t.id = c.id;
    t.logprob = c.logit >= threshold ? static_cast<float>(c.logit - log_z) : kNegInf;
    t.raw_logprob = static_cast<float>(logits[c.id] - raw_log_z);
    out.top.push_back(t);
  }
}

Result<std::vector<TokenProb>> Sampler::distribution(std::span<const float> logits,
                                                     std::span<const int32_t> prompt,
                                                     std::span<const int32_t> generated) {
  LW_ASSIGN_OR_RETURN(float max_logit, process(logits, prompt, generated));
  std::vector<TokenProb> dist;
  if (params_.is_greedy()) {
    auto id = std::find(work_.begin(), work_.end(), max_logit) - work_.begin();
    dist.push_back({static_cast<int32_t>(id), 1.0});
    return dist;
  }
  double total = collect_kept(keep_threshold(max_logit), max_logit);
  dist.reserve(kept_.size());
  for (size_t j = 0; j < kept_.size(); ++j) dist.push_back({kept_[j], weights_[j] / total});
  return dist;
}

}  // namespace lw
