// The fine-tuning loop (see trainer.h). One optimizer step = up to grad_accum micro-batches
// of the current epoch's order (the last step of an epoch may take fewer); the gradients of
// the micro-batch means are averaged, clipped, and AdamW updates the f32 master weights.
#include "engine/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <thread>

#include "engine/core/rng.h"
#include "engine/ops/device_errors.h"
#include "engine/ops/ops.h"

namespace lw::train {
namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoll(v, nullptr, 10);
}

bool no_decay(models::Role r) {
  return r == models::Role::kBias || r == models::Role::kNormWeight || r == models::Role::kNormBias;
}

// A failed forward or loss read: a non-finite loss stops training with the checkpoint hint.
Status loss_failure(const Status& st, const std::string& where, const std::string& keep) {
  if (st.code() == StatusCode::kNumerical)
    return Status(StatusCode::kNumerical, "training stopped at " + where +
                                              ": the loss is not finite (" + st.message() + ")." + keep);
  return st.with_context(where);
}

}  // namespace

double Evaluation::get(const std::string& name, bool* found) const {
  if (found) *found = true;
  if (name == "loss") return loss;
  for (const auto& [k, v] : values)
    if (k == name) return v;
  if (found) *found = false;
  return 0;
}

Trainer::Trainer(models::Model& model, const std::vector<EncodedExample>& train,
                 TrainerOptions opts, TrainerHooks hooks)
    : model_(model), train_(train), opts_(std::move(opts)), hooks_(std::move(hooks)) {
  const int64_t n = int64_t(train_.size());
  const int64_t bs = std::max(1, opts_.batch_size), acc = std::max(1, opts_.grad_accum);
  micro_per_epoch_ = (n + bs - 1) / bs;
  steps_per_epoch_ = (micro_per_epoch_ + acc - 1) / acc;
  total_steps_ = int64_t(std::max(0, opts_.epochs)) * steps_per_epoch_;
  if (opts_.max_steps > 0) total_steps_ = std::min(total_steps_, opts_.max_steps);
  opts_.schedule.total_steps = total_steps_;
  opts_.schedule.warmup_steps = warmup_steps_for(total_steps_, opts_.warmup_ratio);
  opts_.inject_nan_step = env_int("LW_FINETUNE_INJECT_NAN_STEP", opts_.inject_nan_step);
  opts_.step_delay_ms = int(env_int("LW_FINETUNE_STEP_DELAY_MS", opts_.step_delay_ms));
}

std::vector<int64_t> Trainer::epoch_order(int epoch) const {
  std::vector<int64_t> order(train_.size());
  std::iota(order.begin(), order.end(), 0);
  if (!opts_.shuffle) return order;
  PhiloxStream rng(splitmix(opts_.seed ^ 0x6F72646572ull), uint64_t(epoch) << 40);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

Status Trainer::restore(const std::string& dir) {
  LW_ASSIGN_OR_RETURN(state_, load_trainer_state(dir));
  LW_TRY(load_moments(dir, model_, &m_, &v_));
  LW_CHECK(state_.step <= total_steps_ && state_.micro_in_epoch <= micro_per_epoch_,
           dir + ": the checkpoint (step " + std::to_string(state_.step) +
               ") does not fit this run's data and options (" + std::to_string(total_steps_) +
               " steps)");
  LW_CHECK(state_.step == 0 || !m_.empty(), dir + ": optimizer.safetensors is missing");
  return Status::ok();
}

Status Trainer::optimizer_step(double lr) {
  auto& params = model_.params();
  if (m_.empty()) {
    for (const auto& prm : params) {
      LW_ASSIGN_OR_RETURN(Tensor m, Tensor::zeros(prm.spec.shape, DType::kF32, model_.device()));
      LW_ASSIGN_OR_RETURN(Tensor v, Tensor::zeros(prm.spec.shape, DType::kF32, model_.device()));
      m_.push_back(std::move(m));
      v_.push_back(std::move(v));
    }
  }
  ops::AdamWConfig cfg{float(lr), float(opts_.beta1), float(opts_.beta2), float(opts_.eps),
                       float(opts_.weight_decay)};
  std::vector<ops::AdamWSlot> slots(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    auto& prm = params[i];
    const bool decay = !(opts_.decay_exclude_bias_norm && no_decay(prm.spec.role));
    slots[i] = {&prm.weights(), &prm.grad, &m_[i], &v_[i], prm.master.defined() ? &prm.value : nullptr,
                decay ? cfg.weight_decay : 0.0f, &prm.spec.name};
  }
  return ops::adamw_step_multi(slots, cfg, int(state_.step + 1), 1.0f);
}

Status Trainer::save_last() {
  if (opts_.run_dir.empty()) return Status::ok();
  const std::string dir = opts_.run_dir + "/last";
  LW_TRY(save_checkpoint(model_, dir, opts_.tokenizer_dir, &state_, &m_, &v_));
  if (hooks_.on_checkpoint) hooks_.on_checkpoint("checkpoint/last", dir);
  return Status::ok();
}

Status Trainer::save_best() {
  if (opts_.run_dir.empty()) return Status::ok();
  const std::string dir = opts_.run_dir + "/best";
  LW_TRY(save_checkpoint(model_, dir, opts_.tokenizer_dir));
  if (hooks_.on_checkpoint) hooks_.on_checkpoint("checkpoint/best", dir);
  return Status::ok();
}

// Evaluates, updates best / early-stopping state, writes best (when improved) and last.
Result<bool> Trainer::evaluate_and_checkpoint(bool* stop) {
  *stop = false;
  StepInfo info;
  info.step = state_.step;
  info.total_steps = total_steps_;
  info.epoch = state_.epoch;
  info.loss = state_.last_loss;
  info.lr = last_lr_;
  info.grad_norm = last_norm_;
  info.epoch_progress = double(state_.epoch) + double(state_.micro_in_epoch) / double(micro_per_epoch_);
  bool improved = true;
  if (hooks_.evaluate) {
    LW_ASSIGN_OR_RETURN(Evaluation ev, hooks_.evaluate(model_));
    const std::string& metric = opts_.early_stop_metric.empty() ? opts_.best_metric : opts_.early_stop_metric;
    bool found = false;
    double value = ev.get(metric.empty() ? "loss" : metric, &found);
    LW_CHECK(found, "the evaluation has no metric '" + metric + "'");
    const bool higher = wants_higher(metric.empty() ? "loss" : metric);
    improved = !state_.has_best || (higher ? value > state_.best_value : value < state_.best_value);
    if (improved) {
      state_.has_best = true;
      state_.best_value = value;
      state_.best_step = state_.step;
      state_.evals_without_improvement = 0;
    } else {
      ++state_.evals_without_improvement;
    }
    if (hooks_.on_eval) hooks_.on_eval(info, ev, improved);
    *stop = !opts_.early_stop_metric.empty() &&
            state_.evals_without_improvement >= std::max(1, opts_.early_stop_patience);
  } else {
    state_.has_best = true;
    state_.best_step = state_.step;
  }
  if (improved) LW_TRY(save_best());
  LW_TRY(save_last());
  return improved;
}

Result<TrainerResult> Trainer::run() {
  LW_CHECK(!train_.empty(), "the training split is empty");
  LW_CHECK(total_steps_ > 0, "nothing to train: 0 optimizer steps (epochs " +
                                 std::to_string(opts_.epochs) + ")");
  LW_TRY(model_.alloc_grads());
  TrainerResult result;
  const int64_t bs = std::max(1, opts_.batch_size), acc = std::max(1, opts_.grad_accum);
  std::vector<int64_t> order;
  int order_epoch = -1;
  std::vector<Tensor> grads;
  for (auto& prm : model_.params()) grads.push_back(prm.grad);
  while (state_.step < total_steps_ && state_.epoch < opts_.epochs) {
    if (order_epoch != state_.epoch) {
      order = epoch_order(state_.epoch);
      order_epoch = state_.epoch;
    }
    LW_TRY(model_.zero_grads());
    if (state_.step == opts_.inject_nan_step) {  // test hook: poison one weight
      auto& prm = model_.params().front();
      LW_TRY(ops::fill_(prm.weights(), std::numeric_limits<float>::quiet_NaN()));
      LW_TRY(model_.sync_values());
    }
    double loss_sum = 0;
    int n_micro = 0;
    std::vector<Tensor> loss_stats;  // read once the step's work is queued
    const std::string where = "step " + std::to_string(state_.step + 1) + " (epoch " +
                              std::to_string(state_.epoch + 1) + ")";
    const std::string keep = std::string(" The last good checkpoint is ") +
                             (state_.step > 0 && !opts_.run_dir.empty() ? opts_.run_dir + "/last" : "(none yet)") + ".";
    while (n_micro < acc && state_.micro_in_epoch < micro_per_epoch_) {
      size_t begin = size_t(state_.micro_in_epoch * bs);
      size_t end = std::min(order.size(), begin + size_t(bs));
      LW_ASSIGN_OR_RETURN(models::Batch batch, collate(train_, order, begin, end, opts_.ner, true, model_.device()));
      models::ForwardOptions fo;
      fo.keep_activations = true;
      fo.dropout = opts_.dropout;
      fo.dropout_seed = splitmix(opts_.seed * 1000003ull + uint64_t(state_.step) * 64 + uint64_t(n_micro));
      // No host sync inside forward/backward (ids, targets and the loss are checked on the
      // device): the GPU runs while the host issues; the loss is read after the clip below.
      ops::DeferredChecks deferred;
      auto res = model_.forward(batch, fo);
      if (!res.is_ok()) return loss_failure(res.status(), where, keep);
      LW_TRY(model_.backward());
      loss_stats.push_back(res->loss_stats);
      ++n_micro;
      ++state_.micro_in_epoch;
    }
    if (n_micro > 1)
      for (auto& g : grads) LW_TRY(ops::scale_(g, 1.0f / float(n_micro)));
    double norm = 0;
    Tensor clip;  // {norm, factor} on the device
    if (opts_.clip_norm > 0) {
      LW_ASSIGN_OR_RETURN(clip, ops::clip_grad_norm_device(grads, float(opts_.clip_norm)));
    }
    for (const Tensor& st : loss_stats) {
      auto loss = ops::read_loss(st);
      if (!loss.is_ok()) return loss_failure(loss.status(), where, keep);
      if (!std::isfinite(*loss))
        return Status(StatusCode::kNumerical, "training stopped at " + where + ": the loss is " +
                                                  std::to_string(*loss) + "." + keep);
      loss_sum += *loss;
    }
    if (clip.defined()) {
      LW_ASSIGN_OR_RETURN(float n, clip.item(0));
      norm = n;
    } else {
      LW_ASSIGN_OR_RETURN(norm, ops::global_norm(std::span<const Tensor>(grads)));
    }
    if (!std::isfinite(norm))
      return Status(StatusCode::kNumerical, "training stopped at " + where +
                                                ": the gradient norm is not finite." + keep);
    last_lr_ = opts_.schedule.lr_at(state_.step);
    last_norm_ = norm;
    LW_TRY(optimizer_step(last_lr_));
    ++state_.step;
    state_.last_loss = loss_sum / n_micro;
    const bool epoch_end = state_.micro_in_epoch >= micro_per_epoch_;
    StepInfo info{state_.step, total_steps_, state_.epoch,
                  double(state_.epoch) + double(state_.micro_in_epoch) / double(micro_per_epoch_),
                  state_.last_loss, last_lr_, norm};
    if (epoch_end) {
      ++state_.epoch;
      state_.micro_in_epoch = 0;
    }
    if (hooks_.on_step) hooks_.on_step(info);
    if (opts_.step_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opts_.step_delay_ms));
    const bool last = state_.step >= total_steps_;
    if (epoch_end || last || (opts_.eval_every > 0 && state_.step % opts_.eval_every == 0)) {
      bool stop = false;
      auto improved = evaluate_and_checkpoint(&stop);
      if (!improved.is_ok()) return improved.status().with_context("evaluation after " + where);
      if (stop) {
        result.outcome = TrainerResult::Outcome::kEarlyStopped;
        if (hooks_.on_message)
          hooks_.on_message("early stopping after step " + std::to_string(state_.step) + ": no improvement in " +
                            std::to_string(state_.evals_without_improvement) + " evaluations");
        break;
      }
    }
    if (hooks_.cancel && hooks_.cancel()) {
      LW_TRY(save_last());
      result.outcome = TrainerResult::Outcome::kCancelled;
      break;
    }
  }
  result.steps = state_.step;
  result.epochs_done = double(state_.epoch) + double(state_.micro_in_epoch) / double(micro_per_epoch_);
  result.last_loss = state_.last_loss;
  result.has_best = state_.has_best;
  result.best_step = state_.best_step;
  result.best_value = state_.best_value;
  if (!opts_.run_dir.empty()) {
    result.best_dir = opts_.run_dir + "/best";
    result.last_dir = opts_.run_dir + "/last";
  }
  return result;
}

}  // namespace lw::train
