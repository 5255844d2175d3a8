// Warm-up + decay schedules (see schedule.h); the formulas are transformers' lr_lambda's.
#include "engine/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace lw::train {

const char* schedule_name(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::kLinear: return "linear";
    case ScheduleKind::kCosine: return "cosine";
    case ScheduleKind::kConstant: return "constant";
  }
  return "?";
}

Result<ScheduleKind> parse_schedule(const std::string& s) {
  if (s == "linear") return ScheduleKind::kLinear;
  if (s == "cosine") return ScheduleKind::kCosine;
  if (s == "constant") return ScheduleKind::kConstant;
  return invalid_argument("unknown learning-rate schedule '" + s + "' (linear, cosine, constant)");
}

double Schedule::lr_at(int64_t step) const {
  if (step < warmup_steps) return lr * double(step) / double(std::max<int64_t>(1, warmup_steps));
  if (kind == ScheduleKind::kConstant) return lr;
  const double span = double(std::max<int64_t>(1, total_steps - warmup_steps));
  const double progress = double(step - warmup_steps) / span;
  if (kind == ScheduleKind::kLinear)
    return lr * std::max(0.0, double(total_steps - step) / span);
  return lr * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

int64_t warmup_steps_for(int64_t total_steps, double warmup_ratio) {
  return int64_t(std::ceil(double(total_steps) * warmup_ratio));
}

}  // namespace lw::train
