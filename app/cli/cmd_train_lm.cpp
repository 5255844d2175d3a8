// `llmwb train lm`: pretrains a GPT-2-shaped causal LM on text files through the
// engine/api/pretrain.h facade; progress on stderr, the run in the project's store, the model
// written as a Hugging Face folder with its tokenizer (so generate and train prompt load it).
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "app/cli/command.h"
#include "engine/api/pretrain.h"

namespace {

const char* kUsage =
    "  llmwb train lm --text FILE|DIR... --tokenizer DIR\n"
    "           (--model DIR | --layers N --hidden C --heads H --context T)\n"
    "           [--val-fraction F] [--steps N | --tokens N] [--batch B] [--lr X] [--warmup R]\n"
    "           [--schedule cosine|linear|constant] [--weight-decay W] [--dropout P] [--seed S]\n"
    "           [--eval-every N] [--eval-chunks N] [--device cpu|cuda:N] [--dtype f32|bf16]\n"
    "           --project DIR --out DIR [--name NAME] [--json]\n"
    "    Pretrains a GPT-2 causal LM: every file (folders: all files, sorted) is tokenized once,\n"
    "    documents joined with the end-of-text token, packed into chunks of T tokens; the last\n"
    "    F of the chunks are held out for validation. AdamW (betas 0.9,0.95, no decay on biases\n"
    "    and norms), warm-up R of the steps then cosine decay, gradient clipping at 1.0.\n"
    "    --model continues a GPT2LMHeadModel folder (its tokenizer unless --tokenizer). Without\n"
    "    --steps/--tokens: one pass over the training chunks. Ctrl-C stops after the current\n"
    "    step and still writes the model. The run is recorded in DIR/experiments.sqlite (kind\n"
    "    lm); OUT gets config.json, model.safetensors and the tokenizer files.\n"
    "    Defaults: --layers 6 --hidden 384 --heads 6 --context 256 --val-fraction 0.05\n"
    "    --batch 16 --lr 6e-4 --warmup 0.05 --schedule cosine --weight-decay 0.1 --dropout 0\n"
    "    --seed 42; evaluation at the end (and every --eval-every steps).\n";

std::atomic<bool> g_stop{false};
extern "C" void on_sigint_lm(int) { g_stop.store(true); }

bool parse(const lwcli::Args& a, lw::api::PretrainConfig* c, std::string* err) {
  long long layers, hidden, heads, ctx, steps, tokens, batch, seed, every, chunks;
  double vf, lr, warm, wd, drop;
  if (!a.get_int("layers", 6, &layers, err) || !a.get_int("hidden", 384, &hidden, err) ||
      !a.get_int("heads", 6, &heads, err) || !a.get_int("context", 256, &ctx, err) ||
      !a.get_int("steps", 0, &steps, err) || !a.get_int("tokens", 0, &tokens, err) ||
      !a.get_int("batch", 16, &batch, err) || !a.get_int("seed", 42, &seed, err) ||
      !a.get_int("eval-every", 0, &every, err) || !a.get_int("eval-chunks", 0, &chunks, err) ||
      !a.get_double("val-fraction", 0.05, &vf, err) || !a.get_double("lr", 6e-4, &lr, err) ||
      !a.get_double("warmup", 0.05, &warm, err) || !a.get_double("weight-decay", 0.1, &wd, err) ||
      !a.get_double("dropout", 0.0, &drop, err))
    return false;
  if (a.has("steps") && a.has("tokens")) {
    *err = "give --steps or --tokens, not both";
    return false;
  }
  if (a.has("model") && (a.has("layers") || a.has("hidden") || a.has("heads"))) {
    *err = "--layers, --hidden and --heads shape a fresh model; --model continues an existing one";
    return false;
  }
  if (layers < 1 || hidden < 1 || heads < 1 || ctx < 2 || steps < 0 || tokens < 0 || batch < 1 ||
      seed < 0 || every < 0 || chunks < 0) {
    *err = "--layers, --hidden, --heads and --batch must be >= 1, --context >= 2, the counts >= 0";
    return false;
  }
  c->text = a.values("text");
  c->tokenizer_dir = a.get("tokenizer");
  c->model_dir = a.get("model");
  c->n_layer = layers, c->n_embd = hidden, c->n_head = heads, c->context = ctx;
  c->steps = steps, c->tokens = tokens, c->batch = batch, c->seed = uint64_t(seed);
  c->eval_every = every, c->eval_max_chunks = chunks;
  c->val_fraction = vf, c->lr = lr, c->warmup_ratio = warm, c->weight_decay = wd, c->dropout = drop;
  c->schedule = a.get("schedule", "cosine");
  c->device = a.get("device", "cpu");
  c->dtype = a.get("dtype", "auto");
  c->project_dir = a.get("project");
  c->out_dir = a.get("out");
  c->run_name = a.get("name");
  return true;
}

int run_train_lm(const std::vector<std::string>& argv) {
  const std::string cmd = "train lm";
  lwcli::Args a;
  std::string err;
  const std::vector<std::string> flags = {"json"};
  if (!a.parse(std::vector<std::string>(argv.begin() + 1, argv.end()), flags, &err))
    return lwcli::usage_error(cmd, err);
  const std::vector<std::string> known = {
      "text", "tokenizer", "model", "layers", "hidden", "heads", "context", "val-fraction", "steps",
      "tokens", "batch", "lr", "warmup", "schedule", "weight-decay", "dropout", "seed", "eval-every",
      "eval-chunks", "device", "dtype", "project", "out", "name", "json"};
  if (auto bad = a.unknown(known); !bad.empty()) return lwcli::usage_error(cmd, "unknown option --" + bad.front());
  if (!a.positional().empty()) return lwcli::usage_error(cmd, "unexpected argument '" + a.positional().front() + "'");
  for (const char* req : {"text", "project", "out"})
    if (!a.has(req)) return lwcli::usage_error(cmd, std::string("--") + req + " is required");
  if (!a.has("tokenizer") && !a.has("model"))
    return lwcli::usage_error(cmd, "--tokenizer DIR is required (or --model DIR with its tokenizer)");
  lw::api::PretrainConfig c;
  if (!parse(a, &c, &err)) return lwcli::usage_error(cmd, err);

  g_stop.store(false);
  auto old = std::signal(SIGINT, on_sigint_lm);
  lw::api::PretrainCallbacks cb;
  int64_t every = 1;
  cb.on_message = [&](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  cb.on_step = [&](const lw::api::PretrainProgress& p) {
    every = std::max<int64_t>(1, p.total_steps / 100);
    if (p.step == 1 || p.step % every == 0 || p.step == p.total_steps)
      std::fprintf(stderr, "step %lld/%lld  loss %.4f  lr %.3g  grad-norm %.3f  %.0f tokens/s\n",
                   (long long)p.step, (long long)p.total_steps, p.loss, p.lr, p.grad_norm, p.tokens_per_s);
  };
  cb.on_eval = [&](const lw::api::PretrainEval& e) {
    std::fprintf(stderr, "step %lld: validation loss %.4f, perplexity %.2f\n", (long long)e.step, e.loss,
                 e.perplexity);
  };
  cb.cancel = [] { return g_stop.load(); };
  auto rep = lw::api::run_pretrain(c, cb);
  std::signal(SIGINT, old);
  if (!rep.is_ok()) return lwcli::fail(cmd, rep.status().message());
  if (a.has("json")) {
    std::printf("%s\n", rep->to_json().c_str());
  } else {
    std::printf("%s %lld steps (%lld tokens, %.0f tokens/s): loss %.4f -> %.4f", rep->status.c_str(),
                (long long)rep->steps, (long long)rep->tokens_seen, rep->tokens_per_s, rep->first_loss,
                rep->final_loss);
    if (!rep->evals.empty())
      std::printf(", validation loss %.4f (perplexity %.2f)", rep->evals.back().loss, rep->evals.back().perplexity);
    std::printf("\nwrote %s (run %lld)\n", rep->out_dir.c_str(), (long long)rep->run_id);
  }
  return 0;
}

const lwcli::TrainModeRegistration kLm({"lm", kUsage, run_train_lm});

}  // namespace
