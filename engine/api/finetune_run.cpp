// One fine-tuning run end to end (detail::execute): data, model, a store row with its
// parameters and system info, the trainer with hooks that record train loss / lr every step
// and eval metrics at each evaluation, then the best checkpoint evaluated on validation and
// test into the evaluation report. Failures (a NaN loss included) mark the run failed with
// the message; cancel marks it cancelled; a killed process leaves it for the store to mark
// interrupted.
#include <chrono>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "engine/api/finetune_internal.h"
#include "engine/api/system_info.h"
#include "engine/io/safetensors.h"

namespace lw::api::detail {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Buffers metric points and writes them in one transaction every ~2 s (SQLite's durable
// commit costs milliseconds; one per step would slow small models down).
class MetricSink {
 public:
  MetricSink(ExperimentStore& s, int64_t run) : store_(s), run_(run) {}
  void add(int64_t step, const std::string& name, double v) { points_.push_back({step, name, v, wall_now()}); }
  Status maybe_flush() { return wall_now() - last_ > 2.0 ? flush() : Status::ok(); }
  Status flush() {
    last_ = wall_now();
    if (points_.empty()) return store_.heartbeat(run_);
    Status st = store_.log_metrics(run_, points_);
    points_.clear();
    return st;
  }

 private:
  ExperimentStore& store_;
  int64_t run_;
  std::vector<MetricPoint> points_;
  double last_ = 0;
};

std::string best_metric_of(const FinetuneConfig& c) {
  if (!c.early_stop_metric.empty()) return c.early_stop_metric;
  if (!c.best_metric.empty()) return c.best_metric;
  return c.task == FinetuneTask::kClassify ? "accuracy" : "f1";
}

train::TrainerOptions trainer_options(const FinetuneConfig& c, const std::string& run_dir,
                                      const std::string& tokenizer_dir) {
  train::TrainerOptions o;
  o.ner = c.task == FinetuneTask::kNer;
  o.epochs = c.epochs;
  o.batch_size = c.batch_size;
  o.grad_accum = c.grad_accum;
  o.schedule.lr = c.lr;
  o.schedule.kind = c.schedule == LrSchedule::kCosine     ? train::ScheduleKind::kCosine
                    : c.schedule == LrSchedule::kConstant ? train::ScheduleKind::kConstant
                                                          : train::ScheduleKind::kLinear;
  o.warmup_ratio = c.warmup_ratio;
  o.weight_decay = c.weight_decay;
  o.decay_exclude_bias_norm = c.decay_exclude_bias_norm;
  o.beta1 = c.adam_beta1;
  o.beta2 = c.adam_beta2;
  o.eps = c.adam_eps;
  o.clip_norm = c.clip_norm;
  o.dropout = float(c.dropout);
  o.seed = c.seed;
  o.shuffle = c.shuffle;
  o.eval_every = c.eval_every;
  o.best_metric = best_metric_of(c);
  o.early_stop_metric = c.early_stop_metric;
  o.early_stop_patience = c.early_stop_patience;
  o.max_steps = c.max_steps;
  o.run_dir = run_dir;
  o.tokenizer_dir = tokenizer_dir;
  return o;
}

// The best checkpoint on validation and test, written as the evaluation report.
Status final_reports(const RunContext& ctx, const FinetuneData& d, Device device, DType dtype,
                     const FinetuneCallbacks& cb, FinetuneReport* rep) {
  const bool ner = ctx.config.task == FinetuneTask::kNer;
  LW_ASSIGN_OR_RETURN(auto model, models::load_model(rep->best_checkpoint, {device, dtype}));
  json j;
  j["run_id"] = rep->run_id;
  j["checkpoint"] = rep->best_checkpoint;
  j["labels"] = rep->labels;
  for (int which = 0; which < 2; ++which) {
    const train::EncodedSplit& s = which ? d.test : d.validation;
    if (s.examples.empty()) continue;
    LW_ASSIGN_OR_RETURN(SplitEval ev, evaluate_split(*model, s, ner, d.labels, d.scheme, 64, cb.cancel));
    // The best checkpoint's numbers, at the step it was saved (also after a resume, where the
    // evaluation that chose it happened in the earlier process).
    EvalMetrics m = to_metrics(ev.eval, which ? "test" : "validation", rep->best.step, rep->best.epoch);
    if (!which) rep->best = m;
    j[which ? "test" : "validation"] = {{"metrics", json::parse(eval_metrics_json(m))},
                                        {"report", json::parse(ner ? ev.entities->to_json() : ev.classify->to_json())}};
    if (ner) (which ? rep->entity_test_report : rep->entity_report) = ev.entities;
    else (which ? rep->classify_test_report : rep->classify_report) = ev.classify;
    if (which && cb.on_eval) cb.on_eval(m);
  }
  rep->report_path = rep->run_dir + "/eval_report.json";
  return io::write_file_atomic(rep->report_path, j.dump(2));
}

}  // namespace

EvalMetrics to_metrics(const train::Evaluation& e, const std::string& split, int64_t step, double epoch) {
  EvalMetrics m;
  m.split = split;
  m.step = step;
  m.epoch = epoch;
  m.loss = e.loss;
  m.values = e.values;
  return m;
}

std::string eval_metrics_json(const EvalMetrics& m) {
  json j = {{"split", m.split}, {"step", m.step}, {"epoch", m.epoch}, {"loss", m.loss}};
  for (const auto& [k, v] : m.values) j[k] = v;
  return j.dump();
}

Result<FinetuneReport> execute(const RunContext& ctx, const FinetuneCallbacks& cb) {
  const FinetuneConfig& c = ctx.config;
  const auto t0 = std::chrono::steady_clock::now();
  LW_ASSIGN_OR_RETURN(Device device, device_of(c.device));
  LW_ASSIGN_OR_RETURN(DType dtype, dtype_of(c.dtype, device));
  LW_ASSIGN_OR_RETURN(FinetuneData data, load_data(c));
  const std::string last_dir = ctx.run_dir + "/last";
  std::unique_ptr<models::Model> model;
  if (ctx.resumed_from > 0) {
    LW_ASSIGN_OR_RETURN(model, models::load_model(last_dir, {device, dtype}));
  } else {
    LW_ASSIGN_OR_RETURN(model, build_model(c, data, device, dtype));
  }
  std::error_code ec;
  fs::create_directories(c.project_dir, ec);
  if (ec) return io_error(c.project_dir + ": cannot create the project folder (" + ec.message() + ")");
  LW_ASSIGN_OR_RETURN(auto store, ExperimentStore::open(c.project_dir));
  json params = json::parse(finetune_config_to_json(c));
  params["run_dir"] = fs::relative(ctx.run_dir, c.project_dir).string();
  if (ctx.resumed_from > 0) params["resumed_from"] = ctx.resumed_from;
  params["dtype_resolved"] = dtype_name(dtype);
  params["parameters"] = model->num_parameters();
  RunSpec spec{finetune_task_name(c.task), c.run_name, c.model_dir.empty() ? "random-init BERT " + std::to_string(model->params().size()) + " tensors" : c.model_dir,
               data.dataset_description, params.dump()};
  if (ctx.resumed_from > 0 && spec.name.find("resumed") == std::string::npos)
    spec.name = (c.run_name.empty() ? "" : c.run_name + " ") + "(resumed from run " + std::to_string(ctx.resumed_from) + ")";
  LW_ASSIGN_OR_RETURN(int64_t run_id, store->create_run(spec));
  FinetuneReport rep;
  rep.run_id = run_id;
  rep.run_dir = ctx.run_dir;
  rep.labels = data.labels.labels();
  rep.truncation = data.train.truncation;
  auto fail = [&](const Status& st) -> Status {
    (void)store->finish_run(run_id, st.code() == StatusCode::kCancelled ? RunStatus::kCancelled : RunStatus::kFailed,
                            st.message());
    return st;
  };
  (void)store->record_system_info(run_id, run_system_info(query_system()));
  fs::create_directories(ctx.run_dir, ec);
  if (ec) return fail(io_error(ctx.run_dir + ": cannot create the run folder (" + ec.message() + ")"));
  if (cb.on_message && data.train.truncation.n_truncated > 0) cb.on_message(data.train.truncation.describe());

  MetricSink sink(*store, run_id);
  std::set<std::string> recorded;
  double rate = 0;
  auto last_t = std::chrono::steady_clock::now();
  train::TrainerHooks hooks;
  const bool ner = c.task == FinetuneTask::kNer;
  if (!data.validation.examples.empty())
    hooks.evaluate = [&](models::Model& m) -> Result<train::Evaluation> {
      LW_ASSIGN_OR_RETURN(SplitEval ev, evaluate_split(m, data.validation, ner, data.labels, data.scheme,
                                                       std::max(32, c.batch_size), cb.cancel));
      return ev.eval;
    };
  hooks.on_step = [&](const train::StepInfo& s) {
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last_t).count();
    last_t = now;
    if (dt > 0) rate = rate == 0 ? 1.0 / dt : 0.9 * rate + 0.1 / dt;
    sink.add(s.step, "train/loss", s.loss);
    sink.add(s.step, "train/lr", s.lr);
    sink.add(s.step, "train/grad_norm", s.grad_norm);
    (void)sink.maybe_flush();
    if (cb.on_step)
      cb.on_step({s.step, s.total_steps, s.epoch, s.epoch_progress, s.loss, s.lr, s.grad_norm, rate,
                  rate > 0 ? double(s.total_steps - s.step) / rate : 0});
  };
  hooks.on_eval = [&](const train::StepInfo& s, const train::Evaluation& e, bool best) {
    EvalMetrics m = to_metrics(e, "validation", s.step, s.epoch_progress);
    sink.add(s.step, "eval/loss", e.loss);
    for (const auto& [k, v] : e.values) sink.add(s.step, "eval/" + k, v);
    (void)sink.flush();
    rep.evals.push_back(m);
    if (best) rep.best = m;
    if (cb.on_eval) cb.on_eval(m);
    if (cb.on_message) {
      std::string line = "step " + std::to_string(s.step) + ": validation loss " + std::to_string(e.loss);
      for (const auto& [k, v] : e.values) line += ", " + k + " " + std::to_string(v);
      cb.on_message(line + (best ? " (best)" : ""));
    }
  };
  // A missing artifact row does not stop training, but it is said, not swallowed.
  auto record_artifact = [&](const std::string& kind, const std::string& path) {
    auto added = store->add_artifact(run_id, kind, path);
    if (!added.is_ok() && cb.on_message)
      cb.on_message("warning: the " + kind + " artifact was not recorded in the store: " +
                    added.status().message());
  };
  hooks.on_checkpoint = [&](const std::string& kind, const std::string& path) {
    if (recorded.insert(kind).second) record_artifact(kind, path);
  };
  hooks.on_message = cb.on_message;
  hooks.cancel = cb.cancel;

  train::Trainer trainer(*model, data.train.examples, trainer_options(c, ctx.run_dir, data.tokenizer_dir), hooks);
  if (ctx.resumed_from > 0) {
    Status st = trainer.restore(last_dir);
    if (!st.is_ok()) return fail(st);
    if (cb.on_message) cb.on_message("resuming run " + std::to_string(ctx.resumed_from) + " from " + last_dir);
  }
  auto res = trainer.run();
  (void)sink.flush();
  if (!res.is_ok()) return fail(res.status());
  rep.steps = res->steps;
  rep.epochs_done = res->epochs_done;
  rep.final_train_loss = res->last_loss;
  rep.early_stopped = res->outcome == train::TrainerResult::Outcome::kEarlyStopped;
  rep.best_checkpoint = res->best_dir;
  rep.best.step = res->best_step;
  rep.last_checkpoint = res->last_dir;
  // A resumed run that never improved on the old best still owns both checkpoint folders.
  for (const auto& [kind, dir] : {std::pair{std::string("checkpoint/best"), res->best_dir},
                                  std::pair{std::string("checkpoint/last"), res->last_dir}})
    if (!recorded.count(kind) && fs::exists(dir)) record_artifact(kind, dir);
  const bool was_cancelled = res->outcome == train::TrainerResult::Outcome::kCancelled;
  if (!was_cancelled && res->has_best) {
    Status st = final_reports(ctx, data, device, dtype, cb, &rep);
    if (!st.is_ok()) return fail(st);
    record_artifact("report", rep.report_path);
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rep.status = was_cancelled ? "cancelled" : "ok";
  Status st = store->finish_run(run_id, was_cancelled ? RunStatus::kCancelled : RunStatus::kOk);
  if (!st.is_ok()) return st;
  return rep;
}

}  // namespace lw::api::detail
