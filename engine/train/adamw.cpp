// AdamW over a model's tensor table (see adamw.h).
#include "engine/train/adamw.h"

namespace lw::train {

Status AdamW::step(models::Model& model, float grad_scale) {
  auto& params = model.params();
  if (m_.empty()) {
    for (const auto& prm : params) {
      LW_ASSIGN_OR_RETURN(Tensor m, Tensor::zeros(prm.spec.shape, DType::kF32, model.device()));
      LW_ASSIGN_OR_RETURN(Tensor v, Tensor::zeros(prm.spec.shape, DType::kF32, model.device()));
      m_.push_back(std::move(m));
      v_.push_back(std::move(v));
    }
  }
  LW_ASSERT(m_.size() == params.size());
  ++t_;
  std::vector<ops::AdamWSlot> slots(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    auto& prm = params[i];
    LW_CHECK(prm.grad.defined(), "parameter '" + prm.spec.name + "' has no gradient; run backward first");
    slots[i] = {&prm.weights(), &prm.grad, &m_[i], &v_[i], prm.master.defined() ? &prm.value : nullptr,
                cfg_.weight_decay, &prm.spec.name};
  }
  return ops::adamw_step_multi(slots, cfg_, t_, grad_scale);
}

}  // namespace lw::train
