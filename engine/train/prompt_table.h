// The multi-task prompt table: each task's [n_virtual, C] virtual-token embeddings with its
// template, plus the identity of the base model it was trained on. Saved as safetensors
// ("prompt_table.<task>" tensors; templates, model identity and training summary as JSON in
// __metadata__), exported to / imported from a PEFT prompt-tuning adapter folder
// (adapter_config.json + adapter_model.safetensors "prompt_embeddings"). Writes are atomic.
#pragma once
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/models/model.h"
#include "engine/train/prompt_task.h"

namespace lw::train {

// What a table must match to be used on a model.
struct ModelIdentity {
  std::string architecture;      // "GPT2LMHeadModel"
  int64_t hidden_size = 0;       // C
  int64_t vocab_size = 0;        // V
  std::string embedding_sha256;  // of the token-embedding matrix as f32 little-endian bytes
};

// The token-embedding parameter of a decoder ("wte" for GPT-2, "embed" for the LLaMA family).
Result<const models::Param*> token_embedding(const models::Model& model);
Result<ModelIdentity> model_identity(const models::Model& model);

struct PromptTableEntry {
  PromptTask task;
  std::vector<float> table;  // [task.total_virtual_tokens, C] row-major
};

struct PromptTable {
  ModelIdentity model;
  std::vector<PromptTableEntry> tasks;
  std::string training_json = "{}";  // summary of the run(s) that made it (JSON object)

  const PromptTableEntry* find(const std::string& taskname) const;
  // Adds the task or replaces the one with the same name.
  void put(PromptTableEntry entry);
};

Status save_prompt_table(const PromptTable& table, const std::string& path);
// Reads and validates a table (format tag, task definitions, tensor shapes).
Result<PromptTable> load_prompt_table(const std::string& path);
// kInvalidArgument naming both models when `table` was trained on another model.
Status check_table_fits(const PromptTable& table, const ModelIdentity& model,
                        const std::string& table_path);

// Writes a PEFT PROMPT_TUNING adapter folder for one task; its template must be one leading
// block of virtual tokens (PEFT prepends a single block).
Status export_peft_adapter(const PromptTable& table, const std::string& taskname,
                           const std::string& dir, const std::string& base_model);
// Reads a PEFT prompt-tuning (or p-tuning, materialized) adapter folder as task `taskname`
// with the template "<|VIRTUAL_PROMPT_0|>{text}" (answer field "label" when generating);
// `hidden_size` is the model's C.
Result<PromptTableEntry> import_peft_adapter(const std::string& dir, const std::string& taskname,
                                             int64_t hidden_size);

}  // namespace lw::train
