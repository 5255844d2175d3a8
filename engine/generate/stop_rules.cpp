// Stop-string matching over streamed text. Text already emitted can never be part of a
// stop string, because every suffix that is a prefix of some stop string is held back;
// so each step searches only the held-back tail plus the new text, a window shorter
// than the longest stop string plus one token.
#include "engine/generate/stop_rules.h"

#include <algorithm>

namespace lw {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone:
      return "none";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kEos:
      return "eos";
    case FinishReason::kStopToken:
      return "stop_token";
    case FinishReason::kStopString:
      return "stop_string";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "none";
}

Result<StopRules> StopRules::create(const SamplingParams& params,
                                    std::vector<int32_t> eos_token_ids) {
  LW_TRY(params.validate());
  for (int32_t id : eos_token_ids)
    LW_CHECK(id >= 0,
             "stop rules: the model's eos token id " + std::to_string(id) + " is negative");
  StopRules rules;
  rules.stops_ = params.stop;
  rules.stop_ids_ = params.stop_token_ids;
  rules.eos_ids_ = std::move(eos_token_ids);
  rules.ignore_eos_ = params.ignore_eos;
  rules.max_new_tokens_ = params.max_new_tokens;
  return rules;
}

bool StopRules::is_eos(int32_t id) const {
  return !ignore_eos_ && std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end();
}

bool StopRules::is_stop_token(int32_t id) const {
  return std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end();
}

std::string StopRules::scan(std::string_view text, bool at_end) {
  const size_t old_size = held_.size();
  held_.append(text);
  // The stop string that ends first (then starts first); only occurrences that end in
  // the new text can be new, earlier ones were looked for in earlier steps.
  size_t best_start = std::string::npos, best_end = std::string::npos, best = 0;
  for (size_t s = 0; s < stops_.size(); ++s) {
    const std::string& stop = stops_[s];
    size_t from = old_size >= stop.size() ? old_size - stop.size() + 1 : 0;
    size_t pos = held_.find(stop, from);
    if (pos == std::string::npos) continue;
    size_t end = pos + stop.size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_start = pos;
      best_end = end;
      best = s;
    }
  }
  if (best_start != std::string::npos) {
    std::string out = held_.substr(0, best_start);
    matched_ = stops_[best];
    held_.clear();
    finish_ = FinishReason::kStopString;
    return out;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  if (!at_end) {
    for (const std::string& stop : stops_) {
      size_t longest = std::min(stop.size() - 1, held_.size());
      for (size_t len = longest; len > hold; --len) {
        if (held_.compare(held_.size() - len, len, stop, 0, len) == 0) {
          hold = len;
          break;
        }
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return out;
}

StopStep StopRules::push(int32_t id, std::string_view token_bytes) {
  StopStep step;
  if (done()) {
    step.finish = finish_;
    return step;
  }
  ++n_tokens_;
  FinishReason reason = FinishReason::kNone;
  if (is_stop_token(id)) {
    reason = FinishReason::kStopToken;
  } else if (is_eos(id)) {
    reason = FinishReason::kEos;
  } else {
    step.text = scan(utf8_.push(token_bytes), false);
    if (done()) {
      step.finish = finish_;
      return step;
    }
    if (n_tokens_ >= max_new_tokens_) reason = FinishReason::kLength;
  }
  if (reason != FinishReason::kNone) {
    StopStep tail = end(reason);
    step.text += tail.text;
    step.finish = tail.finish;
  }
  return step;
}

StopStep StopRules::end(FinishReason reason) {
  StopStep step;
  if (done()) {
    step.finish = finish_;
    return step;
  }
  // The flushed UTF-8 tail (U+FFFD) can still complete a stop string that contains one.
  step.text = scan(utf8_.finish(), true);
  if (!done()) finish_ = reason == FinishReason::kNone ? FinishReason::kCancelled : reason;
  step.finish = finish_;
  return step;
}

}  // namespace lw
