// AdamW over every parameter of a model, with torch.optim.AdamW semantics (decoupled weight
// decay, bias correction). Moments are f32 and live beside the f32 master weights; for a
// bf16/f16 model the updated masters are cast back into the compute copies.
#pragma once
#include <vector>

#include "engine/models/model.h"
#include "engine/ops/ops.h"

namespace lw::train {

class AdamW {
 public:
  explicit AdamW(const ops::AdamWConfig& cfg) : cfg_(cfg) {}
  // One step over all parameters with their accumulated gradients; grad_scale multiplies the
  // gradients first (clipping).
  Status step(models::Model& model, float grad_scale = 1.0f);
  int steps_taken() const { return t_; }
  const ops::AdamWConfig& config() const { return cfg_; }

 private:
  ops::AdamWConfig cfg_;
  int t_ = 0;
  std::vector<Tensor> m_, v_;  // one pair per parameter, in table order
};

}  // namespace lw::train
