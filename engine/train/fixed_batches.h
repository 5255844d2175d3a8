// Training on a fixed list of batches: the reproducible path behind
// `llmwb train causal-lm|classify --batches FILE.safetensors`, used to check our trajectories
// against PyTorch's step for step. FILE holds batch<i>.input_ids [B,T], optional
// batch<i>.attention_mask [B,T] and token_type_ids [B,T], and batch<i>.labels ([B,T] or [B]);
// step s uses batch s mod count.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/ops/ops.h"

namespace lw::train {

// Reads and validates every batch<i>.* tensor (integers of any width, converted to i32).
Result<std::vector<models::Batch>> load_batches(const std::string& path, Device device);

struct FixedBatchOptions {
  std::string task = "causal-lm";  // causal-lm | classify | mlm: must match the model's head
  int steps = 1;
  ops::AdamWConfig adamw;
  bool no_dropout = false;  // dropout 0 instead of the config's probabilities
  // Called after each step with (step, loss); returning false cancels.
  std::function<bool(int step, float loss)> progress;
};

// Returns the loss of every step (computed before that step's update).
Result<std::vector<float>> train_fixed_batches(models::Model& model,
                                               const std::vector<models::Batch>& batches,
                                               const FixedBatchOptions& opts);

}  // namespace lw::train
