// The prompt-tuning facade (`llmwb train prompt`, `llmwb generate --prompt-table`, the
// Prompt-tune page): train prompt tables with progress and cancel, recorded as runs in the
// project's store; load a table onto a model (refusing a different model); format a task's
// prompt and generate with its virtual tokens; import / export PEFT adapter folders.
// Value types in, lw::Result out; no exception leaves these functions.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/generate.h"
#include "engine/core/status.h"
#include "engine/train/prompt_table.h"
#include "engine/train/prompt_trainer.h"

namespace lw::api {

struct PromptTuneRequest {
  std::string model_dir;
  std::string tasks_path;          // tasks file; or
  std::string tasks_json;          // the tasks as JSON or YAML text (when tasks_path is empty)
  std::string train_path, dev_path;  // JSONL (dev may be empty)
  std::string init_from;           // an exported table to extend / continue ("" = none)
  train::PromptTrainConfig config;
  std::string project_dir;         // the run goes into <project>/experiments.sqlite ("" = none)
  std::string out_path;            // the table file to write
  std::string peft_dir;            // also export a PEFT adapter folder ("" = no)
  Device device = Device::cpu();
  DType dtype = DType::kF32;
};

struct PromptTuneOutcome {
  train::PromptTrainResult result;
  int64_t run_id = 0;  // 0 without a project
};

// Loads everything, trains, writes the table (and PEFT folder), records the run: parameters,
// train/loss, lr, eval/loss, eval/accuracy, artifacts; a failure or cancel is recorded too.
Result<PromptTuneOutcome> tune_prompt(const PromptTuneRequest& req,
                                      const train::PromptProgressFn& progress = {});

// Loads a table file or a PEFT adapter folder (imported as task `peft_task`) for `m`;
// a table trained on another model is refused naming both.
Result<train::PromptTable> load_table_for(const PlaygroundModel& m, const std::string& path,
                                          const std::string& peft_task = "peft");

// A task's prompt for generation: the layout up to the answer field, and a readable preview
// with the virtual tokens shown as [V0][V1]... (for the GUI's live preview).
struct FormattedPrompt {
  train::PromptLayout layout;
  std::string preview;
};
Result<FormattedPrompt> format_task_prompt(const PlaygroundModel& m, const train::PromptTask& task,
                                           const std::map<std::string, std::string>& fields);

// The tasks of a tasks text (JSON or YAML, as the GUI's editor holds them), validated as
// training validates them; `source` names the text in errors.
Result<std::vector<train::PromptTask>> parse_task_definitions(const std::string& text,
                                                              const std::string& source = "tasks");

// The GUI's live preview without a model: the tasks (JSON or YAML text) validated, and task
// `taskname` ("" = the first) filled from one JSONL line, virtual tokens shown as [V0][V1]... and the answer
// as [answer: ...]. Errors are the ones training would give (template, splits, fields).
struct TaskPreview {
  std::vector<std::string> tasknames;
  std::string text;
  int32_t virtual_tokens = 0;  // of the previewed task
};
Result<TaskPreview> preview_task(const std::string& tasks_json, const std::string& taskname,
                                 const std::string& jsonl_line);

// Generates after a task's prompt: the virtual rows are prefilled as embeddings, then the
// ordinary generator (sampling, stop rules, streaming through callbacks.on_token) continues.
// `continuation`: tokens already kept after the prompt (the playground continuing from a
// chosen alternative); they are prefilled after the prompt and generation goes on from them.
Result<GenerateResult> generate_with_table(PlaygroundModel& m, const train::PromptTable& table,
                                           const std::string& taskname,
                                           const std::map<std::string, std::string>& fields,
                                           GenerateRequest request,
                                           const GenerateCallbacks& callbacks = {},
                                           const std::vector<int32_t>& continuation = {});

}  // namespace lw::api
