// train_prompts(): layouts, one prompt source per task, shuffled epochs of PromptStepper
// steps with warm-up + cosine, validation loss and exact-match accuracy of the greedy answer
// before and after, then the materialized multi-task table (see prompt_trainer.h).
#include <algorithm>
#include <numeric>

#include <nlohmann/json.hpp>

#include "engine/core/rng.h"
#include "engine/train/prompt_trainer.h"

namespace lw::train {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

struct DevSet {
  std::vector<PromptLayout> full;     // with answers: validation loss
  std::vector<PromptLayout> prompts;  // up to the answer: exact match
  std::vector<std::string> answers;   // trimmed answer text per prompt
  std::vector<size_t> answer_tokens;  // its token count (EOS excluded)
};

Result<std::vector<PromptLayout>> layouts_of(const std::vector<PromptTask>& tasks,
                                             const std::vector<PromptExample>& exs,
                                             const Tokenizer& tok, int64_t max_len) {
  std::vector<PromptLayout> out;
  for (const auto& ex : exs) {
    LW_ASSIGN_OR_RETURN(int32_t ti, task_index_of(tasks, ex, "data"));
    LW_ASSIGN_OR_RETURN(PromptLayout l, layout_example(tasks[ti], ti, ex, tok, {max_len, true}));
    out.push_back(std::move(l));
  }
  return out;
}

Result<DevSet> dev_set(const std::vector<PromptTask>& tasks, const std::vector<PromptExample>& dev,
                       const Tokenizer& tok, int64_t max_len, const PromptTrainConfig& cfg) {
  DevSet d;
  LW_ASSIGN_OR_RETURN(d.full, layouts_of(tasks, dev, tok, max_len));
  for (const auto& ex : dev) {
    if (cfg.eval_limit > 0 && int64_t(d.prompts.size()) >= cfg.eval_limit) break;
    LW_ASSIGN_OR_RETURN(int32_t ti, task_index_of(tasks, ex, "dev"));
    const PromptTask& t = tasks[ti];
    // Exact match needs the answer at the end (generation continues the prompt there).
    if (t.parts.empty() || t.parts.back().kind != TemplatePart::kField || t.parts.back().text != t.answer_field)
      continue;
    LW_ASSIGN_OR_RETURN(PromptLayout l, layout_example(t, ti, ex, tok, {max_len - cfg.max_new_tokens, false}));
    LW_ASSIGN_OR_RETURN(PromptLayout full, layout_example(t, ti, ex, tok, {0, true}));
    size_t n = full.answer_ids.size();
    if (n > 0 && t.add_eos && full.answer_ids.back() == tok.special_tokens().eos) --n;
    d.prompts.push_back(std::move(l));
    d.answer_tokens.push_back(n);
    d.answers.push_back(trim(ex.fields.at(t.answer_field)));
  }
  return d;
}

// Validation loss (token-weighted) and exact-match accuracy with the stepper's current rows.
Status evaluate(models::Model& model, const Tokenizer& tok, const std::vector<PromptTask>& tasks,
                PromptStepper& st, const DevSet& d, const PromptTrainConfig& cfg, double* loss,
                double* acc) {
  double sum = 0;
  int64_t count = 0;
  const size_t bs = size_t(std::max<int64_t>(1, cfg.batch));
  for (size_t i = 0; i < d.full.size(); i += bs) {
    std::vector<const PromptLayout*> b;
    for (size_t j = i; j < std::min(d.full.size(), i + bs); ++j) b.push_back(&d.full[j]);
    LW_ASSIGN_OR_RETURN(auto lc, st.loss(b));
    sum += lc.first * double(lc.second);
    count += lc.second;
  }
  *loss = count ? sum / double(count) : 0.0;
  std::vector<std::vector<float>> rows(tasks.size());
  for (size_t k = 0; k < tasks.size(); ++k) {
    LW_ASSIGN_OR_RETURN(rows[k], st.rows(k));
  }
  int64_t hits = 0;
  for (size_t i = 0; i < d.prompts.size(); ++i) {
    const PromptTask& t = tasks[d.prompts[i].task];
    const int32_t eos = t.add_eos ? tok.special_tokens().eos : -1;
    LW_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                        greedy_generate(model, d.prompts[i], rows[d.prompts[i].task], cfg.max_new_tokens, eos));
    // Without an EOS to stop at, the answer is the first tokens, as many as the reference has.
    if (eos < 0 && ids.size() > d.answer_tokens[i]) ids.resize(d.answer_tokens[i]);
    // An id the tokenizer cannot spell (a model vocabulary padded past the tokenizer's, as
    // Qwen2's) is a wrong answer, not the end of the run.
    auto decoded = tok.decode(ids, true);
    if (!decoded.is_ok()) continue;
    std::string text = decoded->substr(0, decoded->find('\n'));
    hits += trim(text) == d.answers[i];
  }
  *acc = d.prompts.empty() ? 0.0 : double(hits) / double(d.prompts.size());
  return Status::ok();
}

}  // namespace

Result<PromptTrainResult> train_prompts(models::Model& model, const Tokenizer& tok,
                                        const std::vector<PromptTask>& tasks,
                                        const std::vector<PromptExample>& train,
                                        const std::vector<PromptExample>& dev,
                                        const PromptTable* base, const PromptTrainConfig& cfg,
                                        const PromptProgressFn& progress) {
  LW_CHECK(model.head() == models::Head::kCausalLm,
           "prompt tuning needs a causal language model, got " + model.architecture());
  LW_CHECK(!tasks.empty() && !train.empty(), "prompt tuning needs tasks and training examples");
  LW_CHECK(cfg.epochs >= 1 && cfg.batch >= 1 && cfg.lr > 0, "epochs, batch and lr must be positive");
  LW_ASSIGN_OR_RETURN(models::KvLayout kv, model.kv_layout());
  LW_ASSIGN_OR_RETURN(ModelIdentity ident, model_identity(model));
  if (base) LW_TRY(check_table_fits(*base, ident, "--init-from table"));
  const int64_t C = ident.hidden_size, max_len = kv.max_positions;
  LW_ASSIGN_OR_RETURN(std::vector<PromptLayout> layouts, layouts_of(tasks, train, tok, max_len));
  LW_ASSIGN_OR_RETURN(DevSet dv, dev_set(tasks, dev, tok, max_len, cfg));

  std::vector<std::unique_ptr<PromptSource>> sources;
  nlohmann::ordered_json inits = nlohmann::ordered_json::object();
  for (size_t k = 0; k < tasks.size(); ++k) {
    const PromptTableEntry* prev = base ? base->find(tasks[k].taskname) : nullptr;
    std::vector<float> init;
    EncoderConfig ec = cfg.encoder;
    if (prev) {
      LW_CHECK(prev->task.total_virtual_tokens == tasks[k].total_virtual_tokens,
               "task '" + tasks[k].taskname + "' has " + std::to_string(tasks[k].total_virtual_tokens) +
                   " virtual tokens, the --init-from table " + std::to_string(prev->task.total_virtual_tokens));
      init = prev->table;
      ec.type = EncoderType::kNone;  // an encoder is gone once materialized: continue on the rows
      inits[tasks[k].taskname] = "init-from";
    } else {
      LW_ASSIGN_OR_RETURN(init, initial_rows(model, &tok, cfg.init, cfg.init_text,
                                             tasks[k].total_virtual_tokens, cfg.seed * 131 + k));
      inits[tasks[k].taskname] = cfg.init;
    }
    LW_ASSIGN_OR_RETURN(auto src, make_prompt_source(ec, tasks[k].total_virtual_tokens, C,
                                                     std::move(init), cfg.seed * 977 + k + 1));
    sources.push_back(std::move(src));
  }
  PromptStepper st(model, std::move(sources), {}, cfg.weight_decay);
  PromptTrainResult res;
  res.has_dev = !dv.full.empty();
  if (res.has_dev)
    LW_TRY(evaluate(model, tok, tasks, st, dv, cfg, &res.val_loss_before, &res.val_accuracy_before));

  const int64_t per_epoch = (int64_t(layouts.size()) + cfg.batch - 1) / cfg.batch;
  const int64_t total = per_epoch * cfg.epochs;
  const int64_t warmup = cfg.constant_lr ? 0 : cfg.warmup_steps >= 0 ? cfg.warmup_steps : total / 10;
  std::vector<size_t> order(layouts.size());
  std::iota(order.begin(), order.end(), 0);
  PhiloxStream rng(cfg.seed);
  for (int64_t epoch = 0; epoch < cfg.epochs && !res.cancelled; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (int64_t s = 0; s < per_epoch && !res.cancelled; ++s) {
      std::vector<const PromptLayout*> b;
      for (int64_t j = s * cfg.batch; j < std::min<int64_t>(int64_t(order.size()), (s + 1) * cfg.batch); ++j)
        b.push_back(&layouts[order[j]]);
      const float lr = cfg.constant_lr ? cfg.lr : warmup_cosine_lr(cfg.lr, res.steps, warmup, total);
      LW_ASSIGN_OR_RETURN(float loss, st.step(b, lr, cfg.seed + uint64_t(res.steps) + 1));
      res.losses.push_back(loss);
      ++res.steps;
      PromptProgress p{res.steps, total, epoch, loss, lr, false, 0, 0};
      if (progress && !progress(p)) res.cancelled = true;
    }
    if (res.has_dev && !res.cancelled) {
      LW_TRY(evaluate(model, tok, tasks, st, dv, cfg, &res.val_loss, &res.val_accuracy));
      PromptProgress p{res.steps, total, epoch, res.losses.back(), 0, true, res.val_loss, res.val_accuracy};
      if (progress && !progress(p)) res.cancelled = true;
    }
  }
  if (base) res.table = *base;
  res.table.model = ident;
  for (size_t k = 0; k < tasks.size(); ++k) {
    LW_ASSIGN_OR_RETURN(std::vector<float> rows, st.rows(k));
    res.table.put({tasks[k], std::move(rows)});
  }
  nlohmann::ordered_json summary = {
      {"method", cfg.encoder.type == EncoderType::kNone ? "prompt-tuning" : "p-tuning"},
      {"encoder", encoder_type_name(cfg.encoder.type)},
      {"init", inits},
      {"epochs", cfg.epochs}, {"batch", cfg.batch}, {"lr", cfg.lr}, {"steps", res.steps},
      {"train_examples", train.size()}, {"final_train_loss", res.losses.empty() ? 0.0f : res.losses.back()},
      {"cancelled", res.cancelled}};
  if (res.has_dev) {
    summary["val_loss_before"] = res.val_loss_before;
    summary["val_accuracy_before"] = res.val_accuracy_before;
    summary["val_loss"] = res.val_loss;
    summary["val_accuracy"] = res.val_accuracy;
  }
  res.table.training_json = summary.dump();
  return res;
}

}  // namespace lw::train
