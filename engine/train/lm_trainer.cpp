// Causal-LM pretraining loop and the fresh GPT-2 it starts from (see lm_trainer.h).
// Letters: B chunks per batch, T context, N training chunks.
#include "engine/train/lm_trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>

#include "engine/core/rng.h"
#include "engine/ops/device_errors.h"
#include "engine/ops/ops.h"

namespace lw::train {
namespace {

bool no_decay(models::Role r) {
  return r == models::Role::kBias || r == models::Role::kNormWeight || r == models::Role::kNormBias;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The chunk order of one pass: a Fisher-Yates shuffle drawn from (seed, epoch) alone, so the
// order of any step is known without replaying the earlier ones.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  PhiloxStream rng(seed ^ 0x6C6D6F72646572ull, uint64_t(epoch) << 40);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

Result<models::Batch> chunk_batch(const std::vector<int32_t>& chunks, const std::vector<int64_t>& rows,
                                  int64_t T, Device device) {
  const int64_t B = int64_t(rows.size());
  std::vector<int32_t> ids(size_t(B * T));
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(&chunks[size_t(rows[b] * T)], T, &ids[size_t(b * T)]);
  models::Batch batch;
  LW_ASSIGN_OR_RETURN(batch.input_ids, Tensor::from_ints(ids, {B, T}, device));
  batch.labels = batch.input_ids;  // causal-LM labels are aligned with the inputs, shifted inside
  return batch;
}

}  // namespace

Result<std::unique_ptr<models::Model>> make_pretrain_gpt(const models::GptConfig& cfg, Device device,
                                                         DType dtype, uint64_t seed) {
  LW_ASSIGN_OR_RETURN(auto model, models::make_gpt(cfg, models::Head::kCausalLm, device, dtype));
  PhiloxStream rng(seed);
  const double resid_std = cfg.initializer_range / std::sqrt(2.0 * double(cfg.n_layer));
  for (auto& p : model->params()) {
    const auto& s = p.spec;
    std::vector<float> v(size_t(shape_numel(s.shape)), 0.0f);
    if (s.role == models::Role::kNormWeight) {
      std::fill(v.begin(), v.end(), 1.0f);
    } else if (s.role == models::Role::kEmbedding || s.role == models::Role::kWeight) {
      const std::string hf = s.hf_names.empty() ? "" : s.hf_names[0];
      const double sd = ends_with(hf, "c_proj.weight") ? resid_std : cfg.initializer_range;
      for (auto& x : v) x = float(sd * rng.normal());
    }
    LW_ASSIGN_OR_RETURN(Tensor t, Tensor::from_floats(v, s.shape, DType::kF32, device));
    LW_TRY(p.weights().copy_from(t));
    if (p.master.defined()) LW_TRY(p.value.copy_from(t));
  }
  return model;
}

Result<LmEvalInfo> evaluate_lm(models::Model& model, const std::vector<int32_t>& chunks,
                               int64_t context, int64_t batch, int64_t max_chunks) {
  LW_CHECK(context >= 2 && batch >= 1, "evaluation needs a context >= 2 and a batch >= 1");
  int64_t n = int64_t(chunks.size()) / context;
  if (max_chunks > 0) n = std::min(n, max_chunks);
  LW_CHECK(n >= 1, "no validation chunks to evaluate");
  double sum = 0;
  for (int64_t i = 0; i < n; i += batch) {
    std::vector<int64_t> rows;
    for (int64_t r = i; r < std::min(n, i + batch); ++r) rows.push_back(r);
    LW_ASSIGN_OR_RETURN(models::Batch b, chunk_batch(chunks, rows, context, model.device()));
    models::ForwardOptions fo;
    fo.dropout = 0.0f;
    LW_ASSIGN_OR_RETURN(models::ForwardResult fr, model.forward(b, fo));
    sum += double(fr.loss) * double(rows.size());  // every chunk has T-1 targets
  }
  LmEvalInfo e;
  e.loss = sum / double(n);
  e.perplexity = std::exp(e.loss);
  e.chunks = n;
  return e;
}

Result<LmTrainResult> train_lm(models::Model& model, const LmChunks& chunks, const LmTrainOptions& o,
                               const LmTrainHooks& hooks) {
  LW_CHECK(model.head() == models::Head::kCausalLm, "pretraining needs a causal LM, got " + model.architecture());
  LW_CHECK(chunks.n_train >= 1 && chunks.context >= 2, "no training chunks");
  LW_CHECK(o.steps >= 1 && o.batch >= 1, "steps and batch must be at least 1");
  const int64_t T = chunks.context, N = chunks.n_train, B = o.batch;
  Schedule sched = o.schedule;
  sched.total_steps = o.steps;
  sched.warmup_steps = warmup_steps_for(o.steps, o.warmup_ratio);
  LW_TRY(model.alloc_grads());
  std::vector<Tensor> grads, m, v;
  for (auto& p : model.params()) {
    grads.push_back(p.grad);
    LW_ASSIGN_OR_RETURN(Tensor mt, Tensor::zeros(p.spec.shape, DType::kF32, model.device()));
    LW_ASSIGN_OR_RETURN(Tensor vt, Tensor::zeros(p.spec.shape, DType::kF32, model.device()));
    m.push_back(std::move(mt));
    v.push_back(std::move(vt));
  }
  LmTrainResult res;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_t = t0;
  double rate = 0;
  int64_t order_epoch = -1;
  std::vector<int64_t> order;
  auto evaluate = [&](int64_t step) -> Status {
    if (chunks.n_val == 0) return Status::ok();
    const auto te = std::chrono::steady_clock::now();
    LW_ASSIGN_OR_RETURN(LmEvalInfo e, evaluate_lm(model, chunks.val, T, B, o.eval_max_chunks));
    last_t = std::chrono::steady_clock::now();  // the step rate leaves evaluations out
    res.eval_seconds += std::chrono::duration<double>(last_t - te).count();
    e.step = step;
    res.evals.push_back(e);
    if (hooks.on_eval) hooks.on_eval(e);
    return Status::ok();
  };
  for (int64_t s = 0; s < o.steps; ++s) {
    std::vector<int64_t> rows;
    int64_t epoch = 0;
    for (int64_t k = 0; k < B; ++k) {
      const int64_t g = s * B + k;  // position in the endless stream of shuffled passes
      epoch = g / N;
      if (epoch != order_epoch) order = epoch_order(N, o.seed, order_epoch = epoch);
      rows.push_back(order[size_t(g % N)]);
    }
    LW_ASSIGN_OR_RETURN(models::Batch batch, chunk_batch(chunks.train, rows, T, model.device()));
    LW_TRY(model.zero_grads());
    models::ForwardOptions fo;
    fo.keep_activations = true;
    fo.dropout = o.dropout;
    fo.dropout_seed = o.seed * 1000003ull + uint64_t(s);
    const std::string where = "step " + std::to_string(s + 1);
    Tensor loss_stats;
    {
      // No host sync inside forward/backward (ids and targets are checked on the device);
      // the loss is read once the clip is queued.
      ops::DeferredChecks deferred;
      auto fr = model.forward(batch, fo);
      if (!fr.is_ok()) return fr.status().with_context(where);
      LW_TRY(model.backward());
      loss_stats = fr->loss_stats;
    }
    double norm = 0;
    Tensor clip;  // {norm, factor} on the device
    if (o.clip_norm > 0) {
      LW_ASSIGN_OR_RETURN(clip, ops::clip_grad_norm_device(grads, float(o.clip_norm)));
    }
    auto loss = ops::read_loss(loss_stats);
    if (!loss.is_ok()) return loss.status().with_context(where);
    if (!std::isfinite(*loss))
      return Status(StatusCode::kNumerical, "pretraining stopped at " + where + ": the loss is " +
                                                std::to_string(*loss) + " (try a lower --lr)");
    if (clip.defined()) {
      LW_ASSIGN_OR_RETURN(float n, clip.item(0));
      norm = n;
    } else {
      LW_ASSIGN_OR_RETURN(norm, ops::global_norm(std::span<const Tensor>(grads)));
    }
    if (!std::isfinite(norm))
      return Status(StatusCode::kNumerical, "pretraining stopped at " + where + ": the gradient norm is not finite");
    const double lr = sched.lr_at(s);
    ops::AdamWConfig cfg{float(lr), float(o.beta1), float(o.beta2), float(o.eps), float(o.weight_decay)};
    auto& params = model.params();
    std::vector<ops::AdamWSlot> slots(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      auto& prm = params[i];
      slots[i] = {&prm.weights(), &prm.grad, &m[i], &v[i], prm.master.defined() ? &prm.value : nullptr,
                  no_decay(prm.spec.role) ? 0.0f : cfg.weight_decay, &prm.spec.name};
    }
    LW_TRY(ops::adamw_step_multi(slots, cfg, int(s + 1), 1.0f));
    res.steps = s + 1;
    res.losses.push_back(*loss);
    res.tokens_seen += B * T;
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last_t).count();
    last_t = now;
    if (dt > 0) rate = rate == 0 ? double(B * T) / dt : 0.9 * rate + 0.1 * double(B * T) / dt;
    if (hooks.on_step) hooks.on_step({res.steps, o.steps, epoch + 1, *loss, lr, norm, res.tokens_seen, rate});
    const bool last = res.steps == o.steps;
    if (last || (o.eval_every > 0 && res.steps % o.eval_every == 0)) LW_TRY(evaluate(res.steps));
    if (!last && hooks.cancel && hooks.cancel()) {
      res.cancelled = true;
      break;
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace lw::train
