// Fine-tuning checkpoints: a Hugging Face folder (config.json with id2label/label2id,
// model.safetensors, the tokenizer files) that transformers loads as is, plus, for the
// last checkpoint, what a resume needs: trainer_state.json (step, epoch, position in the
// epoch's data order, best-so-far) and optimizer.safetensors (AdamW moments). Written into
// a temporary folder and renamed, so a crash never leaves half a checkpoint.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/tensor.h"
#include "engine/models/model.h"

namespace lw::train {

struct TrainerState {
  int64_t step = 0;              // optimizer steps done
  int epoch = 0;                 // epoch of the next micro-batch
  int64_t micro_in_epoch = 0;    // next micro-batch within that epoch's order
  bool has_best = false;
  double best_value = 0;
  int64_t best_step = 0;
  int evals_without_improvement = 0;
  double last_loss = 0;
  std::string to_json() const;
  static Result<TrainerState> from_json(const std::string& source, const std::string& text);
};

// Writes `dir` (replacing it) from the model; copies tokenizer files found in tokenizer_dir.
// With `state`, also trainer_state.json and the moments m/v (one per parameter, table order).
Status save_checkpoint(const models::Model& model, const std::string& dir,
                       const std::string& tokenizer_dir, const TrainerState* state = nullptr,
                       const std::vector<Tensor>* m = nullptr, const std::vector<Tensor>* v = nullptr);

Result<TrainerState> load_trainer_state(const std::string& dir);
// Moments for `model`'s parameters (f32 on the model's device); names and shapes checked.
Status load_moments(const std::string& dir, const models::Model& model, std::vector<Tensor>* m,
                    std::vector<Tensor>* v);

// The tokenizer files a checkpoint carries (those present in `from` are copied).
Status copy_tokenizer_files(const std::string& from, const std::string& to);

// rm -rf for a folder we wrote (checkpoints); missing is fine.
Status remove_tree(const std::string& path);

}  // namespace lw::train
