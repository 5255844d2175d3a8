// When generation ends and which text the user sees: stop strings matched on the
// streamed text across token boundaries, stop token ids, end of sequence and
// max_new_tokens. Token bytes go in; complete UTF-8 text comes out, minus any suffix
// that could still grow into a stop string (held back until it cannot).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/generate/sampler.h"
#include "engine/generate/utf8_stream.h"

namespace lw {

enum class FinishReason {
  kNone,        // still going
  kLength,      // max_new_tokens reached (or the caller's context limit)
  kEos,         // the model's end-of-sequence token
  kStopToken,   // one of params.stop_token_ids
  kStopString,  // one of params.stop appeared in the text
  kCancelled,   // the caller stopped
};

// "length", "eos", "stop_token", "stop_string", "cancelled" (or "none"): the JSON words.
const char* finish_reason_name(FinishReason reason);

struct StopStep {
  std::string text;  // text that became final with this token
  FinishReason finish = FinishReason::kNone;
  bool done() const { return finish != FinishReason::kNone; }
};

// Conventions, as OpenAI-style servers (vLLM, llama.cpp server, TGI) have them:
// - A stop string is trimmed: the text ends just before it, and nothing after it is
//   emitted. The token that completed it still counts as generated.
// - EOS and stop token ids end generation; they count as generated tokens but their
//   text is never emitted. With ignore_eos, EOS is an ordinary token.
// - When several stop strings match, the one that ends first in the text wins (then
//   the longer one), so the result does not depend on how the text splits into tokens.
// - Ending for any reason emits the held-back text; an incomplete UTF-8 tail becomes U+FFFD.
class StopRules {
 public:
  // Uses params.stop, stop_token_ids, ignore_eos and max_new_tokens; `eos_token_ids`
  // are the model's (several for some chat models; empty for none).
  static Result<StopRules> create(const SamplingParams& params, std::vector<int32_t> eos_token_ids);

  // One generated token: its id and its bytes as the tokenizer decodes it alone.
  // After a step that is done(), further pushes return an empty, done step.
  StopStep push(int32_t id, std::string_view token_bytes);
  // The caller ends generation for its own reason (cancel, context full): emits what
  // is held back. Returns the existing reason, with no text, when already done.
  StopStep end(FinishReason reason);

  bool done() const { return finish_ != FinishReason::kNone; }
  FinishReason finish_reason() const { return finish_; }
  int64_t n_tokens() const { return n_tokens_; }
  // The stop string that ended generation (empty unless kStopString).
  const std::string& matched_stop() const { return matched_; }

 private:
  StopRules() = default;
  // Adds decoded text to the held-back tail, looks for a stop string ending in it and
  // returns what is now final. `at_end` holds nothing back.
  std::string scan(std::string_view text, bool at_end);
  bool is_eos(int32_t id) const;
  bool is_stop_token(int32_t id) const;

  std::vector<std::string> stops_;
  std::vector<int32_t> stop_ids_;
  std::vector<int32_t> eos_ids_;
  bool ignore_eos_ = false;
  int64_t max_new_tokens_ = 0;
  Utf8Stream utf8_;
  std::string held_;  // decoded text that may be the start of a stop string
  std::string matched_;
  int64_t n_tokens_ = 0;
  FinishReason finish_ = FinishReason::kNone;
};

}  // namespace lw
