// Token sampling for text generation: the model-independent half of a decode step.
// One logits row (V floats) plus the token history goes in; the chosen id, its
// log-probability and the top-N alternatives come out. The processing chain follows
// transformers' LogitsProcessor/LogitsWarper order, with vLLM's OpenAI-style
// presence/frequency penalties, and draws come from a counter-based Philox stream so
// the same seed and settings give the same text.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw {

// V = vocabulary size (the length of one logits row).

struct SamplingParams {
  bool greedy = false;              // argmax of the penalised logits; also when temperature == 0
  float temperature = 1.0f;         // [0, inf); 0 means greedy (as in vLLM and llama.cpp)
  int32_t top_k = 0;                // 0 = off; keeps every token tied with the k-th (as HF)
  float top_p = 1.0f;               // (0, 1]; 1 = off; ties with the last kept token stay
  float min_p = 0.0f;               // [0, 1]; 0 = off; relative to the most likely token
  float repetition_penalty = 1.0f;  // (0, inf); HF: over prompt + generated tokens
  float presence_penalty = 0.0f;    // [-2, 2]; OpenAI: over generated tokens only
  float frequency_penalty = 0.0f;   // [-2, 2]; OpenAI: over generated tokens only
  uint64_t seed = 0;
  int64_t max_new_tokens = 256;         // >= 1
  std::vector<std::string> stop;        // stop strings, non-empty valid UTF-8, trimmed from output
  std::vector<int32_t> stop_token_ids;  // ids that end generation, besides the model's EOS
  bool ignore_eos = false;              // keep going past EOS (benchmarks)
  bool logprobs = true;                 // report log-probabilities (one more exp pass over V)
  int32_t top_logprobs = 0;             // [0, 100] alternatives per step, best first

  // Range checks with messages in the command line's words, e.g.
  // "--top-p must be in (0, 1], got 2".
  Status validate() const;
  // validate() plus the checks that need the vocabulary (stop token ids < V).
  Status validate_for_vocab(int64_t vocab_size) const;
  // True when this picks the argmax (greedy, or temperature 0).
  bool is_greedy() const { return greedy || temperature == 0.0f; }
};

struct TokenLogprob {
  int32_t id = -1;
  // log-softmax of the processed logits (penalties, temperature, top-k/top-p/min-p
  // with removed tokens at -inf): the distribution the token was drawn from, as
  // transformers' output_scores and vLLM's "processed_logprobs" report it. Greedy
  // decoding has no temperature or truncation, so it is log-softmax of the penalised logits.
  float logprob = 0.0f;
  // log-softmax of the logits as the model gave them (vLLM's default "raw_logprobs"):
  // the model's own confidence, still meaningful where truncation made `logprob` 0 or -inf.
  float raw_logprob = 0.0f;
};

struct SampleResult {
  TokenLogprob token;             // the chosen id; log-probabilities when params.logprobs
  std::vector<TokenLogprob> top;  // params.top_logprobs most likely by processed logit, best
                                  // first (ties by lower id); may include the chosen id
};

// One entry of the processed distribution: a token that can still be drawn.
struct TokenProb {
  int32_t id = -1;
  double prob = 0.0;
};

// A Sampler serves one sequence. Its draw for step t is a pure function of
// (seed, sequence, t): rerunning with the same settings replays the same tokens, and a
// batch gives each sequence its own index so equal prompts do not draw equal numbers.
// The step counter starts at 0 and advances once per sample(); the generation loop
// keeps it equal to the number of generated tokens (set_step(n) after truncating to n
// tokens to continue from an alternative). Scratch buffers are kept between calls, so a
// step allocates nothing after the first. Cost per step: O(V) passes (one exp pass over
// the candidates, one more for logprobs) plus sorting at most ~2k tokens for top-p.
class Sampler {
 public:
  static Result<Sampler> create(const SamplingParams& params, uint32_t sequence = 0);

  // Picks the next token from `logits` (V values; -inf masks a token, NaN and +inf are
  // errors). `prompt` and `generated` are the sequence so far (ids in [0, V)); the
  // repetition penalty sees both, presence/frequency penalties only `generated`.
  // Advances the step counter by one.
  Result<SampleResult> sample(std::span<const float> logits, std::span<const int32_t> prompt,
                              std::span<const int32_t> generated);

  // The distribution sample() would draw from at this step, in increasing id order,
  // probabilities summing to 1. Greedy gives the argmax alone. Does not advance the step.
  Result<std::vector<TokenProb>> distribution(std::span<const float> logits,
                                              std::span<const int32_t> prompt,
                                              std::span<const int32_t> generated);

  // The step whose random draw the next sample() uses; set it to replay from a point.
  uint64_t step() const { return step_; }
  void set_step(uint64_t step) { step_ = step; }
  const SamplingParams& params() const { return params_; }

 public:
  // A token under consideration: processed logit, id, exp(logit - max) for top-p.
  struct Candidate {
    float logit;
    int32_t id;
    float weight;
  };

 private:
  Sampler(const SamplingParams& params, uint32_t sequence) : params_(params), sequence_(sequence) {}

  // Repetition, presence and frequency penalties on work_ (ids already checked).
  void apply_penalties(std::span<const int32_t> prompt, std::span<const int32_t> generated);
  // Fills work_ with the penalised, temperature-scaled logits; returns its maximum.
  Result<float> process(std::span<const float> logits, std::span<const int32_t> prompt,
                        std::span<const int32_t> generated);
  // The smallest processed logit that survives top-k, top-p and min-p.
  float keep_threshold(float max_logit);
  float top_k_threshold();
  float top_p_threshold(float max_logit, float floor);
  // Fills kept_/weights_ with the tokens at or above `threshold`; returns the weight sum.
  double collect_kept(float threshold, float max_logit);
  // A uniform double in [0, 1) with 53 random bits, for `step`.
  double uniform(uint64_t step) const;
  void fill_top(SampleResult& out, double log_z, double raw_log_z, float threshold,
                std::span<const float> logits);

  SamplingParams params_;
  uint32_t sequence_ = 0;
  uint64_t step_ = 0;
  bool untouched_ = true;              // work_ == logits: no penalty hit, no temperature
  std::vector<float> work_;            // [V] processed logits
  std::vector<float> select_;          // top-k heap, or [V] for large k
  std::vector<Candidate> candidates_;  // top-p candidates; the top-N heap
  std::vector<int32_t> counts_;        // [V] occurrences in `generated`
  std::vector<uint8_t> seen_;          // [V] in prompt or generated
  std::vector<double> weights_;        // exp of kept logits, in id order
  std::vector<int32_t> kept_;          // kept ids, increasing
};

}  // namespace lw
