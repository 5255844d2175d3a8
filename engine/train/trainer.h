// The fine-tuning loop: AdamW (torch semantics, weight decay optionally off for biases and
// LayerNorm weights) with warm-up + linear/cosine decay, gradient accumulation and clipping,
// dropout, seeded data order, evaluation every N steps and at each epoch end, early stopping,
// best + last checkpoints (the last with optimizer and data-order state, so a resumed run ends
// with the weights an uninterrupted one reaches), a clear stop on a non-finite loss, cancel.
// Task-specific parts (evaluation, recording) come in as hooks; engine/api/finetune.cpp
// wires them to the metrics and the experiment store.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/models/model.h"
#include "engine/train/checkpoint.h"
#include "engine/train/schedule.h"
#include "engine/train/trainer_data.h"

namespace lw::train {

struct TrainerOptions {
  bool ner = false;
  int epochs = 3;
  int batch_size = 16;
  int grad_accum = 1;
  Schedule schedule;             // lr, kind; total/warmup steps are set by the trainer
  double warmup_ratio = 0.1;
  double weight_decay = 0.01;
  bool decay_exclude_bias_norm = true;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double clip_norm = 1.0;        // <= 0: none
  float dropout = -1.0f;         // < 0: the model config's probabilities
  uint64_t seed = 42;
  bool shuffle = true;           // false: examples in file order (parity checks)
  int eval_every = 0;            // optimizer steps; 0: only at epoch ends
  std::string best_metric;       // metric that picks the best checkpoint ("loss": lowest)
  std::string early_stop_metric; // "" = none
  int early_stop_patience = 3;
  int64_t max_steps = 0;         // > 0: stop after this many optimizer steps
  std::string run_dir;           // checkpoints go to run_dir/best and run_dir/last
  std::string tokenizer_dir;     // its tokenizer files are copied into each checkpoint
  // Test hooks (also read from LW_FINETUNE_INJECT_NAN_STEP / LW_FINETUNE_STEP_DELAY_MS):
  int64_t inject_nan_step = -1;  // poison the weights before this step's forward
  int step_delay_ms = 0;         // sleep after every step (to kill a run mid-epoch)
};

struct StepInfo {
  int64_t step = 0;        // optimizer steps done (1-based after the first)
  int64_t total_steps = 0;
  int epoch = 0;
  double epoch_progress = 0;
  double loss = 0, lr = 0, grad_norm = 0;
};

struct Evaluation {
  double loss = 0;
  std::vector<std::pair<std::string, double>> values;  // accuracy, f1, ...
  double get(const std::string& name, bool* found = nullptr) const;
};

struct TrainerHooks {
  // Runs the model over the validation split (no dropout).
  std::function<Result<Evaluation>(models::Model&)> evaluate;
  std::function<void(const StepInfo&)> on_step;
  std::function<void(const StepInfo&, const Evaluation&, bool is_best)> on_eval;
  std::function<void(const std::string& kind, const std::string& path)> on_checkpoint;
  std::function<void(const std::string&)> on_message;
  std::function<bool()> cancel;
};

struct TrainerResult {
  enum class Outcome { kFinished, kEarlyStopped, kCancelled };
  Outcome outcome = Outcome::kFinished;
  int64_t steps = 0;
  double epochs_done = 0;
  double last_loss = 0;
  bool has_best = false;
  int64_t best_step = 0;
  double best_value = 0;
  std::string best_dir, last_dir;
};

class Trainer {
 public:
  Trainer(models::Model& model, const std::vector<EncodedExample>& train, TrainerOptions opts,
          TrainerHooks hooks);
  // From run_dir/last (written by an earlier run with the same options): weights are the
  // caller's to load; this restores the optimizer moments and the loop state.
  Status restore(const std::string& checkpoint_dir);
  Result<TrainerResult> run();
  int64_t total_steps() const { return total_steps_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }

 private:
  std::vector<int64_t> epoch_order(int epoch) const;
  Status optimizer_step(double lr);
  Status save_last();
  Status save_best();
  Result<bool> evaluate_and_checkpoint(bool* stop);
  bool wants_higher(const std::string& metric) const { return metric != "loss"; }

  models::Model& model_;
  const std::vector<EncodedExample>& train_;
  TrainerOptions opts_;
  TrainerHooks hooks_;
  TrainerState state_;
  int64_t micro_per_epoch_ = 0, steps_per_epoch_ = 0, total_steps_ = 0;
  std::vector<Tensor> m_, v_;  // AdamW moments, f32, one pair per parameter
  double last_lr_ = 0, last_norm_ = 0;
};

}  // namespace lw::train
