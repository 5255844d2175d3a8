// `llmwb train prompt`: prompt tuning / p-tuning of a frozen GPT through the
// engine/api/prompt_tune.h facade; the run is recorded in the project's store and the tuned
// prompts are written as a prompt table (and optionally a PEFT adapter folder).
#include <atomic>
#include <csignal>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/api/prompt_tune.h"

namespace {

using Json = nlohmann::ordered_json;

const char* kUsage =
    "  llmwb train prompt --model DIR --tasks TASKS.json|.yaml --train FILE.jsonl\n"
    "           [--dev FILE.jsonl] --method prompt-tuning|p-tuning [--encoder mlp|lstm]\n"
    "           [--encoder-hidden H] [--encoder-layers N] [--encoder-dropout P]\n"
    "           [--init random|text|vocab [--init-text TEXT] | --init-from TABLE.safetensors]\n"
    "           [--epochs N] [--lr X] [--batch B] [--weight-decay W] [--warmup-steps N]\n"
    "           [--constant-lr] [--seed S] [--max-new-tokens N] [--eval-limit N]\n"
    "           [--device cpu|cuda:0] [--dtype f32|bf16|f16] --project DIR\n"
    "           --out TABLE.safetensors [--peft-dir DIR] [--json]\n"
    "    Tunes virtual-token prompts of a frozen causal LM (GPT-2, LLaMA family) for the tasks\n"
    "    in TASKS (taskname, prompt_template with <|VIRTUAL_PROMPT_n|> markers and {field}s,\n"
    "    total_virtual_tokens, virtual_token_splits, truncate_field, answer_only_loss,\n"
    "    answer_field, add_eos) on JSONL examples. TASKS is JSON, or YAML when it ends in .yaml\n"
    "    or .yml (NeMo's form), with the same fields: a list of tasks, `tasks:` and a list, or\n"
    "    one task. p-tuning trains an MLP (default) or bidirectional LSTM prompt encoder, then\n"
    "    materializes it into the table. --init-from extends an exported table: its other\n"
    "    tasks are kept, tasks named again continue from their rows. Reports\n"
    "    validation loss and exact-match accuracy of the greedy answer before and after.\n"
    "    Defaults: --epochs 3 --lr 1e-3 --batch 8 --weight-decay 0.01, warm-up 10% + cosine,\n"
    "    --encoder-layers 2, --encoder-hidden = the model's width, --max-new-tokens 8.\n";

std::atomic<bool> g_stop{false};
extern "C" void on_sigint_prompt(int) { g_stop.store(true); }

bool parse_config(const lwcli::Args& a, lw::api::PromptTuneRequest* r, std::string* err) {
  auto& c = r->config;
  const std::string method = a.get("method");
  if (method != "prompt-tuning" && method != "p-tuning") {
    *err = "--method must be prompt-tuning or p-tuning";
    return false;
  }
  const std::string enc = a.get("encoder", method == "p-tuning" ? "mlp" : "");
  if (method == "prompt-tuning" && (a.has("encoder") || a.has("encoder-hidden") || a.has("encoder-layers"))) {
    *err = "--encoder, --encoder-hidden and --encoder-layers belong to --method p-tuning";
    return false;
  }
  if (method == "p-tuning" && enc != "mlp" && enc != "lstm") {
    *err = "--encoder must be mlp or lstm";
    return false;
  }
  c.encoder.type = method == "prompt-tuning" ? lw::train::EncoderType::kNone
                   : enc == "lstm"           ? lw::train::EncoderType::kLstm
                                             : lw::train::EncoderType::kMlp;
  long long hidden = 0, layers = enc == "lstm" ? 1 : 2, epochs = 3, batch = 8, seed = 0, warm = -1,
            max_new = 8, limit = 0;
  double lr = 1e-3, wd = 0.01, drop = 0;
  if (!a.get_int("encoder-hidden", 0, &hidden, err) || !a.get_int("encoder-layers", layers, &layers, err) ||
      !a.get_int("epochs", 3, &epochs, err) || !a.get_int("batch", 8, &batch, err) ||
      !a.get_int("seed", 0, &seed, err) || !a.get_int("warmup-steps", -1, &warm, err) ||
      !a.get_int("max-new-tokens", 8, &max_new, err) || !a.get_int("eval-limit", 0, &limit, err) ||
      !a.get_double("lr", 1e-3, &lr, err) || !a.get_double("weight-decay", 0.01, &wd, err) ||
      !a.get_double("encoder-dropout", 0, &drop, err))
    return false;
  if (hidden < 0 || epochs < 1 || batch < 1 || seed < 0 || max_new < 1 || limit < 0 || lr <= 0 || wd < 0) {
    *err = "--epochs, --batch and --max-new-tokens must be >= 1, --lr > 0, the others >= 0";
    return false;
  }
  if (a.has("init") && a.has("init-from")) {
    *err = "give --init or --init-from, not both";
    return false;
  }
  c.encoder.hidden = hidden;
  c.encoder.layers = layers;
  c.encoder.dropout = float(drop);
  c.init = a.get("init", "random");
  c.init_text = a.get("init-text");
  if (c.init != "random" && c.init != "text" && c.init != "vocab") {
    *err = "--init must be random, text or vocab";
    return false;
  }
  if (c.init == "text" && c.init_text.empty()) {
    *err = "--init text needs --init-text TEXT";
    return false;
  }
  c.epochs = epochs, c.batch = batch, c.seed = uint64_t(seed), c.warmup_steps = warm;
  c.max_new_tokens = max_new, c.eval_limit = limit, c.lr = float(lr), c.weight_decay = float(wd);
  c.constant_lr = a.has("constant-lr");
  return true;
}

int run_train_prompt(const std::vector<std::string>& argv) {
  const std::string cmd = "train prompt";
  lwcli::Args a;
  std::string err;
  std::vector<std::string> flags = {"json", "constant-lr"};
  if (!a.parse(std::vector<std::string>(argv.begin() + 1, argv.end()), flags, &err))
    return lwcli::usage_error(cmd, err);
  std::vector<std::string> known = {"model", "tasks", "train", "dev", "method", "encoder",
                                    "encoder-hidden", "encoder-layers", "encoder-dropout", "init",
                                    "init-text", "init-from", "epochs", "lr", "batch", "weight-decay",
                                    "warmup-steps", "seed", "max-new-tokens", "eval-limit", "device",
                                    "dtype", "project", "out", "peft-dir"};
  known.insert(known.end(), flags.begin(), flags.end());
  if (auto bad = a.unknown(known); !bad.empty()) return lwcli::usage_error(cmd, "unknown option --" + bad.front());
  if (!a.positional().empty()) return lwcli::usage_error(cmd, "unexpected argument '" + a.positional().front() + "'");
  for (const char* req : {"model", "tasks", "train", "method", "project", "out"})
    if (!a.has(req)) return lwcli::usage_error(cmd, std::string("--") + req + " is required");
  lw::api::PromptTuneRequest r;
  if (!parse_config(a, &r, &err)) return lwcli::usage_error(cmd, err);
  auto device = lw::parse_device(a.get("device", "cpu"));
  if (!device.is_ok()) return lwcli::usage_error(cmd, device.status().message());
  auto dtype = lw::parse_dtype(a.get("dtype", "f32"));
  if (!dtype.is_ok()) return lwcli::usage_error(cmd, dtype.status().message());
  r.model_dir = a.get("model"), r.tasks_path = a.get("tasks"), r.train_path = a.get("train");
  r.dev_path = a.get("dev"), r.init_from = a.get("init-from"), r.project_dir = a.get("project");
  r.out_path = a.get("out"), r.peft_dir = a.get("peft-dir"), r.device = *device, r.dtype = *dtype;
  const bool json = a.has("json");
  g_stop.store(false);
  auto old = std::signal(SIGINT, on_sigint_prompt);
  auto progress = [&](const lw::train::PromptProgress& p) {
    if (p.eval)
      std::fprintf(stderr, "epoch %lld: val loss %.4f, exact match %.4f\n", (long long)p.epoch + 1,
                   p.val_loss, p.val_accuracy);
    else if (p.step % 10 == 0 || p.step == p.total_steps)
      std::fprintf(stderr, "step %lld/%lld loss %.4f lr %.3g\n", (long long)p.step,
                   (long long)p.total_steps, p.loss, p.lr);
    return !g_stop.load();
  };
  auto out = lw::api::tune_prompt(r, progress);
  std::signal(SIGINT, old);
  if (!out.is_ok()) return lwcli::fail(cmd, out.status().message());
  const auto& res = out->result;
  Json tasks = Json::array();
  for (const auto& e : res.table.tasks) tasks.push_back(e.task.taskname);
  Json doc = {{"run_id", out->run_id}, {"out", r.out_path}, {"peft_dir", r.peft_dir.empty() ? Json() : Json(r.peft_dir)},
              {"tasks", tasks}, {"steps", res.steps}, {"cancelled", res.cancelled},
              {"first_loss", res.losses.empty() ? Json() : Json(res.losses.front())},
              {"final_loss", res.losses.empty() ? Json() : Json(res.losses.back())},
              {"losses", res.losses}};
  if (res.has_dev)
    doc["dev"] = {{"loss_before", res.val_loss_before}, {"accuracy_before", res.val_accuracy_before},
                  {"loss", res.val_loss}, {"accuracy", res.val_accuracy}};
  if (json) {
    std::printf("%s\n", doc.dump(2).c_str());
  } else {
    std::printf("%s %lld steps, final loss %.4f -> %s (run %lld)\n", res.cancelled ? "cancelled after" : "trained",
                (long long)res.steps, res.losses.empty() ? 0.0 : double(res.losses.back()), r.out_path.c_str(),
                (long long)out->run_id);
    if (res.has_dev)
      std::printf("dev: loss %.4f -> %.4f, exact match %.4f -> %.4f\n", res.val_loss_before, res.val_loss,
                  res.val_accuracy_before, res.val_accuracy);
  }
  return 0;
}

const lwcli::TrainModeRegistration kPrompt({"prompt", kUsage, run_train_prompt});

}  // namespace
