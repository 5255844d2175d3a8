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
  for (size_t i = 0; i < params.size(); ++i) {
    auto& prm = params[i];
    LW_CHECK(prm.grad.defined(), "parameter '" + prm.spec.name + "' has no gradient; run backward first");
    Tensor* low = prm.master.defined() ? &prm.value : nullptr;
    Status st = ops::adamw_step(prm.weights(), prm.grad, m_[i], v_[i], cfg_, t_, grad_scale, low);
    if (!st.is_ok()) return st.with_context("AdamW step on '" + prm.spec.name + "'");
  }
  return Status::ok();
}

}  // namespace lw::train
