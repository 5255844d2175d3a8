// `llmwb train classify|ner --model DIR --train FILE ...`: fine-tunes BERT on dataset files
// through engine/api/finetune.h, recording the run in the project's store (the Fine-tune
// page's twin). Also --resume RUN_ID and a random-init BERT (--random-init / --layers).
#include <csignal>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/api/finetune.h"

namespace {

const char* kUsage =
    "  llmwb train classify|ner (--model DIR | --vocab DIR [--layers N --hidden C | --random-init CONFIG.json])\n"
    "           --train FILE [--dev FILE] [--test FILE] --project DIR [--name NAME]\n"
    "           [--text-col NAME|N] [--text-pair-col NAME|N] [--label-col NAME|N]\n"
    "           [--header auto|yes|no] [--tag-col N]\n"
    "           [--epochs N] [--batch B] [--grad-accum K] [--lr X] [--max-len T] [--warmup R]\n"
    "           [--schedule linear|cosine|constant] [--weight-decay W] [--decay-all] [--clip C]\n"
    "           [--dropout P] [--seed S] [--eval-every N] [--early-stop METRIC] [--patience N]\n"
    "           [--max-steps N] [--val-fraction F] [--no-shuffle] [--device cpu|cuda:N]\n"
    "           [--dtype auto|f32|bf16] [--json]\n"
    "  llmwb train classify|ner --resume RUN_ID --project DIR [--json]\n"
    "      Fine-tunes a BERT folder (or a random-init BERT with the vocabulary in --vocab DIR)\n"
    "      for text classification (CSV/TSV/JSONL) or NER (CoNLL), evaluates on the dev split\n"
    "      (split off --train when no --dev) every N steps and at each epoch end, keeps the best\n"
    "      and last checkpoints under DIR/runs/, and records the run in DIR/experiments.sqlite.\n";

bool fail_usage(const std::string& m, int* rc) {
  *rc = lwcli::usage_error("train", m);
  return false;
}

bool read_options(const lwcli::Args& a, lw::api::FinetuneConfig& c, int* rc) {
  std::string err;
  long long epochs, batch, accum, max_len, seed, eval_every, patience, max_steps, layers, hidden, tag_col;
  double lr, warmup, wd, clip, dropout, val_frac;
  if (!a.get_int("epochs", 3, &epochs, &err) || !a.get_int("batch", 16, &batch, &err) ||
      !a.get_int("grad-accum", 1, &accum, &err) || !a.get_int("max-len", 128, &max_len, &err) ||
      !a.get_int("seed", 42, &seed, &err) || !a.get_int("eval-every", 0, &eval_every, &err) ||
      !a.get_int("patience", 3, &patience, &err) || !a.get_int("max-steps", 0, &max_steps, &err) ||
      !a.get_int("layers", 4, &layers, &err) || !a.get_int("hidden", 256, &hidden, &err) ||
      !a.get_int("tag-col", -1, &tag_col, &err) || !a.get_double("lr", 5e-5, &lr, &err) ||
      !a.get_double("warmup", 0.1, &warmup, &err) || !a.get_double("weight-decay", 0.01, &wd, &err) ||
      !a.get_double("clip", 1.0, &clip, &err) || !a.get_double("dropout", -1, &dropout, &err) ||
      !a.get_double("val-fraction", 0.1, &val_frac, &err))
    return fail_usage(err, rc);
  c.model_dir = a.get("model");
  c.random_init.vocab_dir = a.get("vocab");
  c.random_init.config_json = a.get("random-init");
  c.random_init.n_layer = layers;
  c.random_init.hidden = hidden;
  if (c.model_dir.empty() == c.random_init.vocab_dir.empty())
    return fail_usage("give --model DIR, or --vocab DIR for a random-init BERT", rc);
  c.files.train = a.get("train");
  c.files.validation = a.get("dev");
  c.files.test = a.get("test");
  if (c.files.train.empty()) return fail_usage("--train FILE is required", rc);
  c.split.validation_fraction = val_frac;
  c.split.seed = uint64_t(seed);
  if (a.has("text-col")) c.classify.text_column = lw::train::ColumnSpec::parse(a.get("text-col"));
  if (a.has("label-col")) c.classify.label_column = lw::train::ColumnSpec::parse(a.get("label-col"));
  // auto: a header when a column is chosen by name; with index columns say yes or no.
  auto header = lw::train::parse_header_mode(a.get("header", "auto"));
  if (!header.is_ok()) return fail_usage("--header: " + header.status().message(), rc);
  c.classify.header = *header;
  if (a.has("text-pair-col")) {
    c.classify.has_text_pair = true;
    c.classify.text_pair_column = lw::train::ColumnSpec::parse(a.get("text-pair-col"));
  }
  c.ner.tag_column = int(tag_col);
  c.max_len = max_len;
  c.epochs = int(epochs);
  c.batch_size = int(batch);
  c.grad_accum = int(accum);
  c.lr = lr;
  c.warmup_ratio = warmup;
  auto sched = lw::api::parse_lr_schedule(a.get("schedule", "linear"));
  if (!sched.is_ok()) return fail_usage(sched.status().message(), rc);
  c.schedule = *sched;
  c.weight_decay = wd;
  c.decay_exclude_bias_norm = !a.has("decay-all");
  c.clip_norm = clip;
  c.dropout = dropout;
  c.seed = uint64_t(seed);
  c.shuffle = !a.has("no-shuffle");
  c.eval_every = int(eval_every);
  c.early_stop_metric = a.get("early-stop");
  c.early_stop_patience = int(patience);
  c.max_steps = int(max_steps);
  c.device = a.get("device", "cpu");
  c.dtype = a.get("dtype", "auto");
  c.run_name = a.get("name");
  return true;
}

volatile std::sig_atomic_t g_stop = 0;

int run_finetune_cmd(const std::vector<std::string>& argv) {
  const std::string cmd = "train";
  lwcli::Args a;
  std::string err;
  if (!a.parse(argv, {"json", "decay-all", "no-shuffle"}, &err)) return lwcli::usage_error(cmd, err);
  auto unknown = a.unknown({"model", "vocab", "random-init", "layers", "hidden", "train", "dev", "test",
                            "project", "name", "text-col", "text-pair-col", "label-col", "header", "tag-col",
                            "epochs", "batch", "grad-accum", "lr", "max-len", "warmup", "schedule",
                            "weight-decay", "decay-all", "clip", "dropout", "seed", "eval-every",
                            "early-stop", "patience", "max-steps", "val-fraction", "no-shuffle",
                            "device", "dtype", "json", "resume"});
  if (!unknown.empty()) return lwcli::usage_error(cmd, "unknown option --" + unknown[0]);
  if (a.positional().size() != 1) return lwcli::usage_error(cmd, "name one task: classify or ner");
  auto task = lw::api::parse_finetune_task(a.positional()[0]);
  if (!task.is_ok()) return lwcli::usage_error(cmd, task.status().message());
  if (!a.has("project")) return lwcli::usage_error(cmd, "--project DIR is required");
  const bool json = a.has("json");
  lw::api::FinetuneCallbacks cb;
  std::signal(SIGINT, [](int) { g_stop = 1; });
  cb.cancel = [] { return g_stop != 0; };
  if (!json) {
    cb.on_step = [](const lw::api::FinetuneProgress& p) {
      if (p.step % 10 == 0 || p.step == p.total_steps)
        std::printf("step %5lld/%lld  epoch %.2f  loss %.5f  lr %.3g  %.1f steps/s  eta %.0f s\n",
                    (long long)p.step, (long long)p.total_steps, p.epoch_progress, p.loss, p.lr,
                    p.steps_per_s, p.eta_s);
      std::fflush(stdout);
    };
    cb.on_message = [](const std::string& m) {
      std::printf("%s\n", m.c_str());
      std::fflush(stdout);
    };
  }
  lw::Result<lw::api::FinetuneReport> rep = lw::internal_error("unset");
  if (a.has("resume")) {
    long long id;
    if (!a.get_int("resume", 0, &id, &err) || id <= 0) return lwcli::usage_error(cmd, "--resume expects a run id");
    rep = lw::api::resume_finetune(a.get("project"), id, cb);
  } else {
    lw::api::FinetuneConfig c;
    c.task = *task;
    c.project_dir = a.get("project");
    int rc = 0;
    if (!read_options(a, c, &rc)) return rc;
    rep = lw::api::run_finetune(c, cb);
  }
  if (!rep.is_ok()) return lwcli::fail(cmd, rep.status().to_string());
  if (json) {
    std::printf("%s\n", rep->to_json().c_str());
  } else {
    std::printf("run %lld %s: %lld steps in %.1f s; best %s at step %lld\n", (long long)rep->run_id,
                rep->status.c_str(), (long long)rep->steps, rep->seconds, rep->best_checkpoint.c_str(),
                (long long)rep->best.step);
    for (const auto& [k, v] : rep->best.values) std::printf("  %s %.4f\n", k.c_str(), v);
    if (!rep->report_path.empty()) std::printf("report: %s\n", rep->report_path.c_str());
  }
  return rep->status == "ok" ? 0 : 3;
}

const lwcli::TrainModeRegistration kClassify({"classify", kUsage, run_finetune_cmd});
const lwcli::TrainModeRegistration kNer({"ner", "", run_finetune_cmd});

}  // namespace
