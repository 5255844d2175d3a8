// Prompt-tuning task definitions (NeMo's p-tuning form): a template with <|VIRTUAL_PROMPT_n|>
// markers placed anywhere, {field} placeholders filled from JSONL examples, virtual-token
// splits, truncation and answer-only loss. This file parses and validates tasks and data and
// lays one example out as token ids, virtual-token slots and a loss mask; the trainer
// (prompt_trainer.h) turns layouts into embeddings. Every error names the file, task or line.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/tokenize/tokenizer.h"

namespace lw::train {

// One element of a parsed template.
struct TemplatePart {
  enum Kind { kText, kField, kVirtual } kind = kText;
  std::string text;     // kText: the literal; kField: the field name
  int32_t marker = -1;  // kVirtual: n of <|VIRTUAL_PROMPT_n|>
};

struct PromptTask {
  std::string taskname;                    // [A-Za-z0-9_.-]+, unique in a table
  std::string prompt_template;             // "<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}"
  int32_t total_virtual_tokens = 0;        // rows of the task's prompt table
  std::vector<int32_t> virtual_token_splits;  // tokens per marker, in marker order; sum = total
  std::string truncate_field;              // field shortened when an example is too long ("")
  bool answer_only_loss = false;           // loss on the answer tokens only
  std::string answer_field = "label";      // the field holding the answer
  bool add_eos = true;                     // an EOS token (when the tokenizer has one) ends the answer
  std::vector<TemplatePart> parts;         // parsed template (filled by validate_task)

  // The fields the template names, in order of appearance (answer included).
  std::vector<std::string> fields() const;
  // First row of marker n in the task's table: sum of the earlier splits.
  int32_t marker_offset(int32_t marker) const;
  // True when the template is one block of virtual tokens at the very start (PEFT's form).
  bool single_leading_block() const;
};

// Parses the template and checks the task: markers 0..n-1 each once, splits summing to the
// total (one split defaults to [total]), answer field present (and last) with answer_only_loss,
// truncate_field one of the template's fields. `source` names the file in errors.
Status validate_task(PromptTask& task, const std::string& source);

// Reads a tasks file: a JSON object with "tasks": [...], a JSON array, or one task object;
// a .yaml / .yml file holds the same in YAML (NeMo's task configs are YAML). Unknown keys are
// an error (a typo silently changing training is worse). Optional fields may be null (absent).
Result<std::vector<PromptTask>> load_tasks(const std::string& path);
// The same from JSON text (the GUI's editor); `source` names it in errors.
Result<std::vector<PromptTask>> parse_tasks(const std::string& json_text, const std::string& source);
// The same from YAML text: the YAML tree becomes the JSON value parse_tasks validates, so every
// validation error is the JSON one; a YAML syntax error names "SOURCE:LINE:COLUMN".
Result<std::vector<PromptTask>> parse_tasks_yaml(const std::string& yaml_text, const std::string& source);
// JSON when the first non-blank character is '{' or '[', YAML otherwise (the GUI's editor).
Result<std::vector<PromptTask>> parse_tasks_text(const std::string& text, const std::string& source);
std::string task_to_json(const PromptTask& task);  // one JSON object (round-trips parse_tasks)

// One JSONL example: field -> text (numbers and booleans are turned into their text).
struct PromptExample {
  std::string taskname;  // "taskname" field; empty = the only task
  std::map<std::string, std::string> fields;
  int64_t line = 0;      // 1-based line in its file
};

// Reads a JSONL file (blank lines skipped). Errors: a line that is not a JSON object
// ("FILE:LINE: not JSON: ..."), an unknown task, a template field the example lacks.
Result<std::vector<PromptExample>> load_examples(const std::string& path,
                                                 const std::vector<PromptTask>& tasks);

// One example laid out. ids hold a placeholder 0 at virtual slots.
struct PromptLayout {
  int32_t task = -1;                    // index into the task list
  std::vector<int32_t> ids;             // [T]
  std::vector<int32_t> virtual_row;     // [T] row of the task's table, -1 for real tokens
  std::vector<int32_t> labels;          // [T] aligned with ids (shifted inside), -100 = no loss
  int64_t answer_start = -1;            // first answer position (-1: none)
  std::vector<int32_t> answer_ids;      // the answer's tokens (EOS included when added)
};

struct LayoutOptions {
  int64_t max_length = 0;        // 0 = no limit; longer examples shorten truncate_field
  bool with_answer = true;       // false: stop before the answer field (generation prompts)
};

// Lays out `ex` for `task` (task index `task_index`): each literal and field tokenized on its
// own (no special tokens), markers expanded to their split's virtual rows. Without
// answer_only_loss every real token is a label; with it only the answer (and its EOS).
Result<PromptLayout> layout_example(const PromptTask& task, int32_t task_index,
                                    const PromptExample& ex, const Tokenizer& tokenizer,
                                    const LayoutOptions& opts);

// Index of the task an example belongs to (its taskname, or the only task).
Result<int32_t> task_index_of(const std::vector<PromptTask>& tasks, const PromptExample& ex,
                              const std::string& source);

}  // namespace lw::train
