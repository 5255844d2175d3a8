// Prompt tuning and p-tuning of a frozen decoder (GPT-2, LLaMA family): batches of laid-out
// examples become inputs_embeds (token embeddings with the virtual rows written in), the model
// runs forward and a frozen backward (input gradient only), and the gradient of each virtual
// slot flows back into its task's prompt source, which AdamW updates with warm-up + cosine.
// Also the shared pieces generation needs: embeddings of one layout and a greedy decoder.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/train/prompt_encoder.h"
#include "engine/train/prompt_table.h"
#include "engine/train/prompt_task.h"

namespace lw::train {

struct PromptTrainConfig {
  EncoderConfig encoder;          // type kNone: prompt tuning; kMlp / kLstm: p-tuning
  std::string init = "random";    // random | text | vocab (new tasks; tasks in the base table continue)
  std::string init_text;          // init = text: tokenized, repeated / truncated to the length
  int64_t epochs = 3;
  int64_t batch = 8;
  float lr = 1e-3f;               // PEFT's prompt-tuning examples use 3e-2 on real models
  float weight_decay = 0.01f;
  int64_t warmup_steps = -1;      // -1: 10% of the steps; 0 and constant_lr: a flat rate
  bool constant_lr = false;       // no warm-up / cosine (the parity checks)
  uint64_t seed = 0;
  int64_t max_new_tokens = 8;     // generated answer length for exact-match accuracy
  int64_t eval_limit = 0;         // dev examples used for accuracy (0 = all)
};

struct PromptProgress {
  int64_t step = 0, total_steps = 0, epoch = 0;
  float loss = 0, lr = 0;
  bool eval = false;               // a validation point (val_* set)
  double val_loss = 0, val_accuracy = 0;
};
// Returning false cancels (the table trained so far is still returned).
using PromptProgressFn = std::function<bool(const PromptProgress&)>;

struct PromptTrainResult {
  PromptTable table;               // base tasks + the trained ones, materialized
  std::vector<float> losses;       // every step's training loss
  int64_t steps = 0;
  bool cancelled = false;
  bool has_dev = false;
  double val_loss_before = 0, val_accuracy_before = 0;  // untuned (initial prompts)
  double val_loss = 0, val_accuracy = 0;                // after training
};

// Trains one source per task in `tasks` on `train` (dev may be empty). `base` (may be null)
// supplies the table to extend: its tasks not in `tasks` are kept as they are, tasks in both
// continue from their rows. The model is left unchanged.
Result<PromptTrainResult> train_prompts(models::Model& model, const Tokenizer& tokenizer,
                                        const std::vector<PromptTask>& tasks,
                                        const std::vector<PromptExample>& train,
                                        const std::vector<PromptExample>& dev,
                                        const PromptTable* base, const PromptTrainConfig& cfg,
                                        const PromptProgressFn& progress = {});

// The lower-level pieces (also used by the parity tests with PEFT's fixed batches).
class PromptStepper {
 public:
  // `sources[k]` makes task k's rows (null = frozen rows from `fixed[k]`).
  PromptStepper(models::Model& model, std::vector<std::unique_ptr<PromptSource>> sources,
                std::vector<std::vector<float>> fixed, float weight_decay);
  // One optimizer step on `batch` at learning rate lr; returns the loss before the update.
  Result<float> step(const std::vector<const PromptLayout*>& batch, float lr, uint64_t dropout_seed);
  // Mean token loss over layouts, and the label-token count it averaged.
  Result<std::pair<double, int64_t>> loss(const std::vector<const PromptLayout*>& batch);
  // Current (dropout-free) rows of task k [rows, C].
  Result<std::vector<float>> rows(size_t k);
  PromptSource* source(size_t k) { return sources_[k].get(); }

 private:
  models::Model& model_;
  std::vector<std::unique_ptr<PromptSource>> sources_;
  std::vector<std::vector<float>> fixed_;
  HostAdamW adam_;
};

// inputs_embeds [B,T,C] (model dtype and device) for layouts padded to the longest, with
// `tables[layout.task]` [rows, C] written at the virtual slots; mask and labels alongside.
Result<models::Batch> assemble_batch(const models::Model& model,
                                     const std::vector<const PromptLayout*>& layouts,
                                     const std::vector<const std::vector<float>*>& tables);

// Greedy continuation of one laid-out prompt (KV cache; prefill with embeddings), stopping at
// `eos` (< 0: none) or after max_new tokens. Returns the generated ids (EOS excluded).
Result<std::vector<int32_t>> greedy_generate(models::Model& model, const PromptLayout& prompt,
                                             const std::vector<float>& table, int64_t max_new,
                                             int32_t eos);

// Initial rows for a new task (random: normal with the vocabulary embeddings' std; text: the
// embeddings of init_text's tokens repeated / truncated; vocab: rows of uniformly drawn ids).
Result<std::vector<float>> initial_rows(const models::Model& model, const Tokenizer* tokenizer,
                                        const std::string& init, const std::string& init_text,
                                        int64_t rows, uint64_t seed);

}  // namespace lw::train
