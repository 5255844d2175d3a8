// The generation loop: prefill each prompt into its own pre-allocated KV cache, then decode
// step by step, one Sampler and one StopRules per sequence. Tokens stream out through a
// callback as soon as their text is valid UTF-8 (and cannot still turn into a stop string);
// a cancel callback stops at any step. Also a no-cache path (full re-forward every step),
// the reference the cached path is tested against.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/generate/sampler.h"
#include "engine/generate/stop_rules.h"
#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"

namespace lw {

struct GenerateRequest {
  std::vector<std::vector<int32_t>> prompts;  // the batch: one id list per sequence, non-empty
  SamplingParams params;                      // shared by every sequence (each its own draws)
  std::vector<int32_t> eos_token_ids;         // the model's (generation_config.json)
  bool use_kv_cache = true;                   // false: re-run the whole sequence every step
};

// One generated token as the callback and the result see it.
struct GeneratedToken {
  int32_t id = -1;
  float logprob = 0.0f;      // processed distribution (see TokenLogprob)
  float raw_logprob = 0.0f;  // the model's own log-softmax
  std::vector<TokenLogprob> top;  // params.top_logprobs alternatives, best first
  std::string text;  // text that became final with this token (may be empty: held back)
};

struct StreamEvent {
  size_t sequence = 0;      // index into GenerateRequest::prompts
  int64_t index = 0;        // 0-based position among this sequence's generated tokens
  const GeneratedToken* token = nullptr;  // null on an end event without a token (cancel)
  FinishReason finish = FinishReason::kNone;  // set on the sequence's last event
  std::string text;  // final text released by this event (the token's, or held-back text)
};

struct GenerateCallbacks {
  std::function<void(const StreamEvent&)> on_token;  // may be empty
  // Polled before every forward; true stops every sequence with FinishReason::kCancelled.
  std::function<bool()> cancel;
};

struct SequenceResult {
  std::vector<int32_t> prompt;
  std::vector<GeneratedToken> tokens;
  std::vector<int32_t> ids;  // generated ids (EOS / stop id included when it ended there)
  std::string text;          // the streamed text joined (stop string trimmed)
  FinishReason finish = FinishReason::kNone;
  std::string matched_stop;
};

struct GenerateTiming {
  double time_to_first_token_s = 0;  // start -> first token of every sequence sampled
  double prefill_s = 0;              // prompt forwards
  int64_t prefill_tokens = 0;
  double decode_s = 0;               // the steps after the first token
  int64_t decode_tokens = 0;         // tokens those steps produced
  double prefill_tokens_per_s() const { return prefill_s > 0 ? prefill_tokens / prefill_s : 0; }
  double decode_tokens_per_s() const { return decode_s > 0 ? decode_tokens / decode_s : 0; }
};

struct GenerateResult {
  std::vector<SequenceResult> sequences;
  GenerateTiming timing;
  size_t kv_cache_bytes = 0;  // all sequences' caches
};

// `tokenizer` may be null (ids in, ids out): then text is empty and stop strings are refused.
// Errors: a prompt that is empty or longer than the model's context, ids outside the
// vocabulary, invalid sampling parameters, a model without a causal-LM head.
Result<GenerateResult> generate(models::Model& model, const Tokenizer* tokenizer,
                                const GenerateRequest& request,
                                const GenerateCallbacks& callbacks = {});

}  // namespace lw
