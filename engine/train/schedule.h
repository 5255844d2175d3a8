// Learning-rate schedules with a linear warm-up, as transformers' get_*_schedule_with_warmup
// define them (the scheduler steps after the optimizer, so optimizer step s, 0-based, uses
// lr * factor(s) and the very first step of a warm-up runs at lr 0).
#pragma once
#include <cstdint>
#include <string>

#include "engine/core/status.h"

namespace lw::train {

enum class ScheduleKind { kLinear, kCosine, kConstant };
const char* schedule_name(ScheduleKind k);  // "linear", "cosine", "constant"
Result<ScheduleKind> parse_schedule(const std::string& s);

struct Schedule {
  ScheduleKind kind = ScheduleKind::kLinear;
  double lr = 5e-5;
  int64_t total_steps = 1;
  int64_t warmup_steps = 0;
  // lr for optimizer step s (0-based).
  double lr_at(int64_t step) const;
};

// transformers' TrainingArguments.get_warmup_steps: ceil(total * ratio).
int64_t warmup_steps_for(int64_t total_steps, double warmup_ratio);

}  // namespace lw::train
