// The causal-LM pretraining loop: packed chunks (lm_data.h) in a seeded shuffled order,
// batches of B chunks (labels = the inputs; the model shifts them), AdamW over every weight
// (no decay on biases and norms) with warm-up + cosine/linear decay and clipping, validation
// loss / perplexity every N steps and at the end, cancel between steps. Also the fresh GPT-2
// a pretraining run starts from (transformers' initialization).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/models/gpt.h"
#include "engine/models/model.h"
#include "engine/train/lm_data.h"
#include "engine/train/schedule.h"

namespace lw::train {

// A GPT2LMHeadModel with transformers' _init_weights: N(0, initializer_range) for weights and
// embeddings, the residual projections (attn.c_proj, mlp.c_proj) scaled by 1/sqrt(2 n_layer),
// zero biases, unit norm weights. Deterministic in `seed`.
Result<std::unique_ptr<models::Model>> make_pretrain_gpt(const models::GptConfig& cfg, Device device,
                                                         DType dtype, uint64_t seed);

struct LmTrainOptions {
  int64_t steps = 100;          // optimizer steps
  int64_t batch = 8;            // B chunks per step
  Schedule schedule;            // lr and kind; total / warm-up steps are set by the trainer
  double warmup_ratio = 0.05;
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double clip_norm = 1.0;       // <= 0: none
  float dropout = 0.0f;         // the model's dropout probability while training
  uint64_t seed = 42;           // data order and dropout
  int64_t eval_every = 0;       // steps; 0: only after the last step
  int64_t eval_max_chunks = 0;  // validation chunks per evaluation (0 = all)
};

struct LmStepInfo {
  int64_t step = 0, total_steps = 0;  // step is 1-based after the first
  int64_t epoch = 0;                  // passes over the training chunks started
  double loss = 0, lr = 0, grad_norm = 0;
  int64_t tokens_seen = 0;
  double tokens_per_s = 0;            // smoothed over recent steps
};

struct LmEvalInfo {
  int64_t step = 0;
  double loss = 0, perplexity = 0;
  int64_t chunks = 0;
};

struct LmTrainHooks {
  std::function<void(const LmStepInfo&)> on_step;
  std::function<void(const LmEvalInfo&)> on_eval;
  std::function<bool()> cancel;  // polled after every step
};

struct LmTrainResult {
  int64_t steps = 0;
  bool cancelled = false;
  std::vector<double> losses;      // every step's training loss
  std::vector<LmEvalInfo> evals;
  int64_t tokens_seen = 0;
  double seconds = 0;       // wall time of the loop
  double eval_seconds = 0;  // of which evaluations
};

// Mean next-token loss of `model` over `chunks` (no dropout), in batches of `batch`.
Result<LmEvalInfo> evaluate_lm(models::Model& model, const std::vector<int32_t>& chunks,
                               int64_t context, int64_t batch, int64_t max_chunks = 0);

// Trains `model` in place on chunks.train; evaluates on chunks.val (when it has any).
Result<LmTrainResult> train_lm(models::Model& model, const LmChunks& chunks, const LmTrainOptions& opts,
                               const LmTrainHooks& hooks = {});

}  // namespace lw::train
