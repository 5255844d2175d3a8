// `llmwb train causal-lm|classify|mlm --batches FILE`: trains a Hugging Face model folder on a
// fixed list of batches with AdamW and reports every step's loss, so anyone can check our
// trajectory against PyTorch's (tests/golden/make_golden.py writes such files).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/models/model.h"
#include "engine/train/fixed_batches.h"

namespace {

const char* kUsage =
    "Usage: llmwb train causal-lm|classify|mlm --model DIR --batches FILE.safetensors\n"
    "           [--steps N] [--lr X] [--betas B1,B2] [--eps E] [--weight-decay W]\n"
    "           [--no-dropout] [--device cpu|cuda:0] [--dtype f32|bf16|f16] [--save DIR] [--json]\n\n"
    "Trains the Hugging Face model folder DIR (GPT2LMHeadModel for causal-lm,\n"
    "BertForSequenceClassification for classify, BertForMaskedLM for mlm) with AdamW\n"
    "(torch.optim.AdamW semantics) on the batches in FILE: batch<i>.input_ids [B,T],\n"
    "optional batch<i>.attention_mask and batch<i>.token_type_ids [B,T], batch<i>.labels\n"
    "([B,T], -100 = ignore; causal-lm labels are shifted inside; or [B] for classify).\n"
    "Step s uses batch s mod count. Prints every step's loss (--json: one JSON document).\n\n"
    "  --steps N          optimizer steps (default 20)\n"
    "  --lr X             learning rate (default 1e-3)\n"
    "  --betas B1,B2      Adam betas (default 0.9,0.999)\n"
    "  --eps E            Adam epsilon (default 1e-8)\n"
    "  --weight-decay W   decoupled weight decay (default 0.01)\n"
    "  --no-dropout       dropout 0 instead of the config's probabilities\n"
    "  --device D         cpu (default) or cuda:N\n"
    "  --dtype T          compute dtype: f32 (default), bf16 or f16 (f32 master weights)\n"
    "  --save DIR         write the trained model as a Hugging Face folder\n";

bool parse_betas(const std::string& text, float* b1, float* b2) {
  size_t comma = text.find(',');
  if (comma == std::string::npos) return false;
  char* end = nullptr;
  std::string a = text.substr(0, comma), b = text.substr(comma + 1);
  *b1 = std::strtof(a.c_str(), &end);
  if (a.empty() || *end) return false;
  *b2 = std::strtof(b.c_str(), &end);
  if (b.empty() || *end) return false;
  return *b1 >= 0 && *b1 < 1 && *b2 >= 0 && *b2 < 1;
}

int run_train(const std::vector<std::string>& argv) {
  const std::string cmd = "train";
  if (!argv.empty()) {
    auto mode = lwcli::train_mode_registry().find(argv[0]);
    bool fixed_batches = std::find(argv.begin(), argv.end(), "--batches") != argv.end();
    if (mode != lwcli::train_mode_registry().end() && !fixed_batches) return mode->second.run(argv);
  }
  lwcli::Args args;
  std::string error;
  if (!args.parse(argv, {"no-dropout", "json"}, &error)) return lwcli::usage_error(cmd, error);
  auto unknown = args.unknown({"model", "batches", "steps", "lr", "betas", "eps", "weight-decay",
                               "no-dropout", "device", "dtype", "save", "json"});
  if (!unknown.empty()) return lwcli::usage_error(cmd, "unknown option --" + unknown[0]);
  if (args.positional().size() != 1)
    return lwcli::usage_error(cmd, "name one task: causal-lm, classify or mlm");
  lw::train::FixedBatchOptions opts;
  opts.task = args.positional()[0];
  if (opts.task != "causal-lm" && opts.task != "classify" && opts.task != "mlm")
    return lwcli::usage_error(cmd, "unknown task '" + opts.task + "' (causal-lm, classify, mlm)");
  if (!args.has("model") || !args.has("batches"))
    return lwcli::usage_error(cmd, "--model DIR and --batches FILE are required");
  long long steps;
  double lr, eps, wd;
  if (!args.get_int("steps", 20, &steps, &error) || !args.get_double("lr", 1e-3, &lr, &error) ||
      !args.get_double("eps", 1e-8, &eps, &error) ||
      !args.get_double("weight-decay", 0.01, &wd, &error))
    return lwcli::usage_error(cmd, error);
  if (steps < 1 || steps > 100000000) return lwcli::usage_error(cmd, "--steps must be in [1, 1e8]");
  if (!(lr > 0) || !(eps > 0) || !(wd >= 0))
    return lwcli::usage_error(cmd, "--lr and --eps must be positive, --weight-decay non-negative");
  float b1 = 0.9f, b2 = 0.999f;
  if (args.has("betas") && !parse_betas(args.get("betas"), &b1, &b2))
    return lwcli::usage_error(cmd, "--betas expects B1,B2 in [0, 1), got '" + args.get("betas") + "'");
  opts.steps = static_cast<int>(steps);
  opts.adamw = {static_cast<float>(lr), b1, b2, static_cast<float>(eps), static_cast<float>(wd)};
  opts.no_dropout = args.has("no-dropout");

  auto device = lw::parse_device(args.get("device", "cpu"));
  if (!device.is_ok()) return lwcli::usage_error(cmd, device.status().message());
  auto dtype = lw::parse_dtype(args.get("dtype", "f32"));
  if (!dtype.is_ok()) return lwcli::usage_error(cmd, dtype.status().message());

  auto t0 = std::chrono::steady_clock::now();
  auto model = lw::models::load_model(args.get("model"), {*device, *dtype});
  if (!model.is_ok()) return lwcli::fail(cmd, model.status().to_string());
  auto batches = lw::train::load_batches(args.get("batches"), *device);
  if (!batches.is_ok()) return lwcli::fail(cmd, batches.status().to_string());
  const bool json = args.has("json");
  if (!json)
    opts.progress = [](int step, float loss) {
      std::printf("step %4d  loss %.6f\n", step, loss);
      std::fflush(stdout);
      return true;
    };
  auto losses = lw::train::train_fixed_batches(**model, *batches, opts);
  if (!losses.is_ok()) return lwcli::fail(cmd, losses.status().to_string());
  if (args.has("save")) {
    auto st = (*model)->save(args.get("save"));
    if (!st.is_ok()) return lwcli::fail(cmd, st.to_string());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (json) {
    nlohmann::json j = {{"task", opts.task},
                        {"model", args.get("model")},
                        {"architecture", (*model)->architecture()},
                        {"parameters", (*model)->num_parameters()},
                        {"device", device->to_string()},
                        {"dtype", lw::dtype_name(*dtype)},
                        {"steps", opts.steps},
                        {"batches", batches->size()},
                        {"optimizer", {{"name", "adamw"}, {"lr", lr}, {"betas", {b1, b2}},
                                       {"eps", eps}, {"weight_decay", wd}}},
                        {"dropout", !opts.no_dropout},
                        {"losses", *losses},
                        {"seconds", seconds}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%d steps in %.2f s\n", opts.steps, seconds);
  }
  return 0;
}

const lwcli::CommandRegistration kRegistration({"train",
                                                "train a model on fixed batches (causal-lm, classify, mlm)",
                                                kUsage, run_train});

}  // namespace
