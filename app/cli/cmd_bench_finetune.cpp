// `llmwb bench finetune`: BERT fine-tuning throughput, the twin of hf_anchor.py bert-finetune
// (BertForSequenceClassification, BERT-base shape, random ids and labels, batch 32, length 128,
// bf16 compute with f32 master weights, AdamW). One step = forward + backward + AdamW (no
// clipping, as the anchor); prints sequences per second (median of the timed steps).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/cli/bench_modes.h"
#include "app/cli/command.h"
#include "engine/core/rng.h"
#include "engine/models/bert.h"
#include "engine/ops/device_errors.h"
#include "engine/train/adamw.h"

namespace {

const char* kUsage =
    "  llmwb bench finetune [--batch 32] [--seq 128] [--layers 12] [--hidden 768] [--steps 10]\n"
    "           [--warmup 3] [--dropout P] [--device cuda:0] [--dtype bf16|f32] [--eager-checks]\n"
    "           [--json]\n"
    "      BERT sequence-classification training steps on random batches (the shape of\n"
    "      hf_anchor.py bert-finetune); --dropout defaults to the config's 0.1 (train mode).\n"
    "      --eager-checks: check ids and targets with a sync at each op (default: on the device,\n"
    "      read with the loss after the step, as the fine-tune trainer does).\n";

int run_bench_finetune(const std::vector<std::string>& argv) {
  const std::string cmd = "bench";
  lwcli::Args a;
  std::string err;
  if (!a.parse(argv, {"json", "eager-checks"}, &err)) return lwcli::usage_error(cmd, err);
  auto unknown = a.unknown({"batch", "seq", "layers", "hidden", "steps", "warmup", "dropout", "device", "dtype", "json",
                          "eager-checks"});
  if (!unknown.empty()) return lwcli::usage_error(cmd, "unknown option --" + unknown[0]);
  long long B, T, L, C, steps, warmup;
  double dropout;
  if (!a.get_int("batch", 32, &B, &err) || !a.get_int("seq", 128, &T, &err) || !a.get_int("layers", 12, &L, &err) ||
      !a.get_int("hidden", 768, &C, &err) || !a.get_int("steps", 10, &steps, &err) ||
      !a.get_int("warmup", 3, &warmup, &err) || !a.get_double("dropout", 0.1, &dropout, &err))
    return lwcli::usage_error(cmd, err);
  const bool eager_checks = a.has("eager-checks");
  if (B < 1 || T < 2 || T > 512 || L < 1 || C < 64 || C % 64 || steps < 1 || warmup < 0)
    return lwcli::usage_error(cmd, "bad shape: need batch >= 1, 2 <= seq <= 512, hidden a multiple of 64");
  auto device = lw::parse_device(a.get("device", "cuda:0"));
  if (!device.is_ok()) return lwcli::usage_error(cmd, device.status().message());
  auto dtype = lw::parse_dtype(a.get("dtype", device->is_cuda() ? "bf16" : "f32"));
  if (!dtype.is_ok()) return lwcli::usage_error(cmd, dtype.status().message());
  lw::models::BertConfig cfg;
  cfg.num_hidden_layers = L;
  cfg.hidden_size = C;
  cfg.num_attention_heads = C / 64;
  cfg.intermediate_size = 4 * C;
  cfg.num_labels = 2;
  cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = dropout;
  auto model = lw::models::make_bert(cfg, lw::models::Head::kSequenceClassification, *device, *dtype);
  if (!model.is_ok()) return lwcli::fail(cmd, model.status().to_string());
  lw::PhiloxStream rng(0);
  std::vector<int32_t> ids(static_cast<size_t>(B * T)), labels(static_cast<size_t>(B));
  for (auto& x : ids) x = int32_t(rng.below(uint64_t(cfg.vocab_size)));
  for (auto& x : labels) x = int32_t(rng.below(2));
  lw::models::Batch batch;
  batch.input_ids = *lw::Tensor::from_ints(ids, {B, T}, *device);
  batch.labels = *lw::Tensor::from_ints(labels, {B}, *device);
  lw::train::AdamW opt({2e-5f, 0.9f, 0.999f, 1e-8f, 0.01f});
  lw::models::ForwardOptions fo;
  fo.keep_activations = true;
  std::vector<double> times, host_times;
  float loss = 0;
  for (long long s = 0; s < warmup + steps; ++s) {
    auto t0 = std::chrono::steady_clock::now();
    fo.dropout_seed = uint64_t(s);
    lw::Status st = (*model)->zero_grads();
    // As the fine-tune trainer: ids and targets checked on the device, the loss read after
    // the step (--eager-checks: a sync at each check, as before).
    std::optional<lw::ops::DeferredChecks> deferred;
    if (!eager_checks) deferred.emplace();
    auto res = (*model)->forward(batch, fo);
    if (!res.is_ok()) return lwcli::fail(cmd, res.status().to_string());
    if (st.is_ok()) st = (*model)->backward();
    if (st.is_ok()) st = opt.step(**model);
    if (!st.is_ok()) return lwcli::fail(cmd, st.to_string());
    deferred.reset();
    const auto queued = std::chrono::steady_clock::now();  // the host has issued the whole step
    auto read = lw::ops::read_loss(res->loss_stats);  // waits for the step's kernels
    if (!read.is_ok()) return lwcli::fail(cmd, read.status().to_string());
    loss = *read;
    if (s >= warmup) {
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      host_times.push_back(std::chrono::duration<double>(queued - t0).count());
    }
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  // Host time to issue a step (launches, checks, the loss read-back): close to the step time
  // means the GPU waits on the host.
  std::sort(host_times.begin(), host_times.end());
  const double host_median = host_times[host_times.size() / 2];
  const double seq_s = double(B) / median;
  if (a.has("json")) {
    nlohmann::json j = {{"workload", "bert-finetune"}, {"batch", B}, {"seq", T}, {"layers", L}, {"hidden", C},
                        {"dtype", lw::dtype_name(*dtype)}, {"device", device->to_string()}, {"dropout", dropout},
                        {"parameters", (*model)->num_parameters()}, {"median_step_s", median},
                        {"median_host_issue_s", host_median}, {"eager_checks", eager_checks},
                        {"seq_per_s", seq_s}, {"last_loss", loss}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("bert-finetune b%lld t%lld %s dropout %.2f: %.1f seq/s (median step %.2f ms, loss %.4f)\n", B, T,
                lw::dtype_name(*dtype), dropout, seq_s, median * 1e3, loss);
  }
  return 0;
}

const lwcli::BenchModeRegistration kFinetune({"finetune", kUsage, run_bench_finetune});

}  // namespace
