// The fine-tuning facade (engine/api/finetune.h): configuration <-> JSON, a run from data to
// report with every step recorded in the project's experiment store, and resume.
#include "engine/api/finetune.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "engine/api/finetune_internal.h"
#include "engine/api/system_info.h"
#include "engine/io/safetensors.h"
#include "engine/models/model.h"

namespace lw::api {
namespace fs = std::filesystem;
using nlohmann::json;

const char* finetune_task_name(FinetuneTask t) { return t == FinetuneTask::kNer ? "ner" : "classify"; }

Result<FinetuneTask> parse_finetune_task(const std::string& s) {
  if (s == "classify") return FinetuneTask::kClassify;
  if (s == "ner") return FinetuneTask::kNer;
  return invalid_argument("unknown task '" + s + "' (classify, ner)");
}

const char* lr_schedule_name(LrSchedule s) {
  return s == LrSchedule::kCosine ? "cosine" : s == LrSchedule::kConstant ? "constant" : "linear";
}

Result<LrSchedule> parse_lr_schedule(const std::string& s) {
  if (s == "linear") return LrSchedule::kLinear;
  if (s == "cosine") return LrSchedule::kCosine;
  if (s == "constant") return LrSchedule::kConstant;
  return invalid_argument("unknown schedule '" + s + "' (linear, cosine, constant)");
}

double EvalMetrics::get(const std::string& name, double fallback) const {
  if (name == "loss") return loss;
  for (const auto& [k, v] : values)
    if (k == name) return v;
  return fallback;
}

namespace {

json column_json(const train::ColumnSpec& c) { return c.by_name() ? json(c.name) : json(c.index); }
train::ColumnSpec column_from(const json& j) {
  return j.is_string() ? train::ColumnSpec::named(j.get<std::string>()) : train::ColumnSpec::at(j.get<int>());
}

}  // namespace

std::string finetune_config_to_json(const FinetuneConfig& c) {
  json j;
  j["task"] = finetune_task_name(c.task);
  j["model_dir"] = c.model_dir;
  j["random_init"] = {{"vocab_dir", c.random_init.vocab_dir}, {"config_json", c.random_init.config_json},
                      {"n_layer", c.random_init.n_layer}, {"hidden", c.random_init.hidden},
                      {"max_positions", c.random_init.max_positions}};
  j["files"] = {{"train", c.files.train}, {"validation", c.files.validation}, {"test", c.files.test}};
  j["split"] = {{"validation_fraction", c.split.validation_fraction},
                {"test_fraction", c.split.test_fraction}, {"seed", c.split.seed}};
  j["classify"] = {{"format", int(c.classify.format)}, {"header", int(c.classify.header)},
                   {"text_column", column_json(c.classify.text_column)},
                   {"has_text_pair", c.classify.has_text_pair},
                   {"text_pair_column", column_json(c.classify.text_pair_column)},
                   {"label_column", column_json(c.classify.label_column)}};
  j["ner"] = {{"token_column", c.ner.token_column}, {"tag_column", c.ner.tag_column},
              {"separator", int(c.ner.separator)}, {"scheme", int(c.ner.scheme)}};
  j["max_len"] = c.max_len;
  j["epochs"] = c.epochs;
  j["batch_size"] = c.batch_size;
  j["grad_accum"] = c.grad_accum;
  j["lr"] = c.lr;
  j["warmup_ratio"] = c.warmup_ratio;
  j["schedule"] = lr_schedule_name(c.schedule);
  j["weight_decay"] = c.weight_decay;
  j["decay_exclude_bias_norm"] = c.decay_exclude_bias_norm;
  j["adam_betas"] = {c.adam_beta1, c.adam_beta2};
  j["adam_eps"] = c.adam_eps;
  j["clip_norm"] = c.clip_norm;
  j["dropout"] = c.dropout;
  j["dtype"] = c.dtype;
  j["device"] = c.device;
  j["seed"] = c.seed;
  j["shuffle"] = c.shuffle;
  j["eval_every"] = c.eval_every;
  j["early_stop_metric"] = c.early_stop_metric;
  j["early_stop_patience"] = c.early_stop_patience;
  j["best_metric"] = c.best_metric;
  j["max_steps"] = c.max_steps;
  j["project_dir"] = c.project_dir;
  j["run_name"] = c.run_name;
  return j.dump();
}

Result<FinetuneConfig> finetune_config_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  LW_CHECK(j.is_object(), "fine-tuning parameters: not a JSON object");
  FinetuneConfig c;
  try {
    LW_ASSIGN_OR_RETURN(c.task, parse_finetune_task(j.at("task").get<std::string>()));
    c.model_dir = j.at("model_dir").get<std::string>();
    const json& r = j.at("random_init");
    c.random_init = {r.at("vocab_dir"), r.at("config_json"), r.at("n_layer"), r.at("hidden"), r.at("max_positions")};
    c.files = {j.at("files").at("train"), j.at("files").at("validation"), j.at("files").at("test")};
    c.split = {j.at("split").at("validation_fraction"), j.at("split").at("test_fraction"), j.at("split").at("seed")};
    const json& cl = j.at("classify");
    c.classify.format = train::TableFormat(cl.at("format").get<int>());
    c.classify.header = train::HeaderMode(cl.at("header").get<int>());
    c.classify.text_column = column_from(cl.at("text_column"));
    c.classify.has_text_pair = cl.at("has_text_pair");
    c.classify.text_pair_column = column_from(cl.at("text_pair_column"));
    c.classify.label_column = column_from(cl.at("label_column"));
    const json& n = j.at("ner");
    c.ner.token_column = n.at("token_column");
    c.ner.tag_column = n.at("tag_column");
    c.ner.separator = train::NerOptions::Separator(n.at("separator").get<int>());
    c.ner.scheme = train::TagScheme(n.at("scheme").get<int>());
    c.max_len = j.at("max_len");
    c.epochs = j.at("epochs");
    c.batch_size = j.at("batch_size");
    c.grad_accum = j.at("grad_accum");
    c.lr = j.at("lr");
    c.warmup_ratio = j.at("warmup_ratio");
    LW_ASSIGN_OR_RETURN(c.schedule, parse_lr_schedule(j.at("schedule")));
    c.weight_decay = j.at("weight_decay");
    c.decay_exclude_bias_norm = j.at("decay_exclude_bias_norm");
    c.adam_beta1 = j.at("adam_betas").at(0);
    c.adam_beta2 = j.at("adam_betas").at(1);
    c.adam_eps = j.at("adam_eps");
    c.clip_norm = j.at("clip_norm");
    c.dropout = j.at("dropout");
    c.dtype = j.at("dtype");
    c.device = j.at("device");
    c.seed = j.at("seed");
    c.shuffle = j.value("shuffle", true);
    c.eval_every = j.at("eval_every");
    c.early_stop_metric = j.at("early_stop_metric");
    c.early_stop_patience = j.at("early_stop_patience");
    c.best_metric = j.at("best_metric");
    c.max_steps = j.at("max_steps");
    c.project_dir = j.at("project_dir");
    c.run_name = j.at("run_name");
  } catch (const std::exception& e) {
    return invalid_argument(std::string("fine-tuning parameters: ") + e.what());
  }
  return c;
}

namespace {

Status validate(const FinetuneConfig& c) {
  LW_CHECK(!c.project_dir.empty(), "name a project folder (it holds experiments.sqlite)");
  LW_CHECK(c.epochs >= 1, "epochs must be at least 1, got " + std::to_string(c.epochs));
  LW_CHECK(c.batch_size >= 1 && c.batch_size <= 65536, "batch size must be in [1, 65536]");
  LW_CHECK(c.grad_accum >= 1, "gradient accumulation must be at least 1");
  LW_CHECK(c.lr > 0 && std::isfinite(c.lr), "learning rate must be positive");
  LW_CHECK(c.warmup_ratio >= 0 && c.warmup_ratio <= 1, "warm-up ratio must be in [0, 1]");
  LW_CHECK(c.weight_decay >= 0, "weight decay must be non-negative");
  LW_CHECK(c.dropout < 1, "dropout must be below 1");
  LW_CHECK(c.max_len >= 4 && c.max_len <= 8192, "max length must be in [4, 8192]");
  LW_CHECK(c.eval_every >= 0, "eval_every must be non-negative");
  return Status::ok();
}


std::string stamp() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::gmtime(&t));
  return std::string(buf) + "-" + std::to_string(::getpid());
}


std::string absolute_folder(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  return ec ? dir : p.lexically_normal().string();
}

// The run that continued `run_id` (parameters.resumed_from), or 0.
int64_t continuation_of(const std::vector<RunRecord>& runs, int64_t run_id) {
  for (const RunRecord& r : runs) {
    json p = json::parse(r.parameters_json, nullptr, false);
    if (p.is_object() && p.value("resumed_from", int64_t{0}) == run_id) return r.id;
  }
  return 0;
}

}  // namespace

Result<int64_t> latest_resumable_finetune_run(const std::string& project_dir) {
  LW_ASSIGN_OR_RETURN(auto store, ExperimentStore::open_read_only(project_dir));
  LW_ASSIGN_OR_RETURN(auto runs, store->list_runs());
  for (const RunRecord& r : runs)  // newest first
    if ((r.kind == "classify" || r.kind == "ner") &&
        (r.status == RunStatus::kCancelled || r.status == RunStatus::kInterrupted) &&
        continuation_of(runs, r.id) == 0)
      return r.id;
  return int64_t{0};
}

Result<FinetuneReport> run_finetune(const FinetuneConfig& config, const FinetuneCallbacks& cb) {
  LW_TRY(validate(config));
  detail::RunContext ctx{config, "", 0};
  // Absolute, so the run folder and its artifacts resolve the same from the store's side.
  ctx.config.project_dir = absolute_folder(config.project_dir);
  std::string name = config.run_name.empty() ? finetune_task_name(config.task) : config.run_name;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  ctx.run_dir = ctx.config.project_dir + "/runs/" + name + "-" + stamp();
  return detail::execute(ctx, cb);
}

Result<FinetuneReport> resume_finetune(const std::string& project_dir_in, int64_t run_id,
                                       const FinetuneCallbacks& cb) {
  const std::string project_dir = absolute_folder(project_dir_in);
  LW_ASSIGN_OR_RETURN(auto store, ExperimentStore::open(project_dir, false));
  LW_ASSIGN_OR_RETURN(RunRecord rec, store->get_run(run_id));
  LW_CHECK(rec.status == RunStatus::kInterrupted || rec.status == RunStatus::kCancelled ||
               rec.status == RunStatus::kFailed,
           "run " + std::to_string(run_id) + " is " + run_status_name(rec.status) +
               "; only interrupted, cancelled or failed runs can be resumed");
  LW_ASSIGN_OR_RETURN(auto runs, store->list_runs());
  if (int64_t next = continuation_of(runs, run_id); next > 0)
    return invalid_argument("run " + std::to_string(run_id) + " was already resumed as run " +
                            std::to_string(next) + "; resume that one instead");
  json params = json::parse(rec.parameters_json, nullptr, false);
  LW_CHECK(params.is_object() && params.contains("run_dir"),
           "run " + std::to_string(run_id) + " is not a fine-tuning run (no run_dir in its parameters)");
  LW_ASSIGN_OR_RETURN(FinetuneConfig c, finetune_config_from_json(rec.parameters_json));
  c.project_dir = project_dir;
  detail::RunContext ctx{c, params["run_dir"].get<std::string>(), run_id};
  if (fs::path(ctx.run_dir).is_relative()) ctx.run_dir = project_dir + "/" + ctx.run_dir;
  store.reset();
  LW_CHECK(fs::exists(ctx.run_dir + "/last/trainer_state.json"),
           ctx.run_dir + "/last: no checkpoint to resume from (the run stopped before its first checkpoint)");
  return detail::execute(ctx, cb);
}

std::string FinetuneReport::to_json() const {
  json j;
  j["run_id"] = run_id;
  j["status"] = status;
  j["run_dir"] = run_dir;
  j["best_checkpoint"] = best_checkpoint;
  j["last_checkpoint"] = last_checkpoint;
  j["report_path"] = report_path;
  j["steps"] = steps;
  j["epochs"] = epochs_done;
  j["seconds"] = seconds;
  j["final_train_loss"] = final_train_loss;
  j["early_stopped"] = early_stopped;
  j["labels"] = labels;
  j["evals"] = json::array();
  for (const auto& e : evals) j["evals"].push_back(json::parse(detail::eval_metrics_json(e)));
  j["best"] = json::parse(detail::eval_metrics_json(best));
  if (classify_report) j["validation_report"] = json::parse(classify_report->to_json());
  if (classify_test_report) j["test_report"] = json::parse(classify_test_report->to_json());
  if (entity_report) j["validation_report"] = json::parse(entity_report->to_json());
  if (entity_test_report) j["test_report"] = json::parse(entity_test_report->to_json());
  j["truncation"] = {{"examples", truncation.n_examples}, {"max_length", truncation.max_length},
                     {"truncated", truncation.n_truncated}, {"tokens_dropped", truncation.tokens_dropped},
                     {"longest", truncation.longest}};
  return j.dump(2);
}

}  // namespace lw::api
