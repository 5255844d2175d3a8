// The pretraining facade (`llmwb train lm`): a GPT-2-shaped causal LM trained from scratch
// (or continued from a Hugging Face folder) on text files, recorded in the project's store as
// a run of kind "lm" (parameters, train/eval metric series, the output folder as an artifact),
// written as a Hugging Face folder (config.json + model.safetensors + the tokenizer files)
// that `llmwb generate` and `llmwb train prompt` load. Value types in, lw::Result out.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw::api {

struct PretrainConfig {
  std::vector<std::string> text;  // files and/or folders (folders: every file, sorted)
  std::string tokenizer_dir;      // vocab.json+merges.txt or tokenizer.json ("" = model_dir)
  // Start: a GPT-2 Hugging Face folder (continue training), or a fresh model of this shape.
  std::string model_dir;
  int64_t n_layer = 6, n_embd = 384, n_head = 6;
  int64_t context = 256;          // chunk length; fresh models get n_positions = context
  double val_fraction = 0.05;     // last chunks held out
  int64_t steps = 0;              // optimizer steps; 0: from `tokens`, else one pass
  int64_t tokens = 0;             // training tokens wanted (steps = ceil(tokens / (B*T)))
  int64_t batch = 16;
  double lr = 6e-4;
  double warmup_ratio = 0.05;
  std::string schedule = "cosine";  // cosine | linear | constant
  double weight_decay = 0.1;
  double dropout = 0.0;
  uint64_t seed = 42;             // init, data order
  int64_t eval_every = 0;         // steps; 0: at the end only
  int64_t eval_max_chunks = 0;    // 0: the whole validation split
  std::string device = "cpu";     // cpu | cuda | cuda:N
  std::string dtype = "auto";     // auto (bf16 on CUDA), f32, bf16
  std::string project_dir;        // holds experiments.sqlite (required)
  std::string out_dir;            // the model folder to write (replaced atomically)
  std::string run_name;
};

struct PretrainProgress {
  int64_t step = 0, total_steps = 0, epoch = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0;
  int64_t tokens_seen = 0;
};
struct PretrainEval {
  int64_t step = 0;
  double loss = 0, perplexity = 0;
};

struct PretrainCallbacks {
  std::function<void(const PretrainProgress&)> on_step;
  std::function<void(const PretrainEval&)> on_eval;
  std::function<void(const std::string&)> on_message;  // corpus summary, warnings
  std::function<bool()> cancel;  // true: stop after the current step (the model is still written)
};

struct PretrainReport {
  int64_t run_id = 0;
  std::string status;             // "ok" or "cancelled"
  std::string out_dir;
  int64_t parameters = 0;
  int64_t files = 0, corpus_bytes = 0, corpus_tokens = 0;
  int64_t train_chunks = 0, val_chunks = 0, context = 0;
  int64_t steps = 0, total_steps = 0, tokens_seen = 0;
  double tokenize_seconds = 0, train_seconds = 0, eval_seconds = 0;
  double tokens_per_s = 0;        // training steps only (evaluations left out)
  double first_loss = 0, final_loss = 0;
  std::vector<PretrainEval> evals;
  std::string device, dtype;
  std::string to_json() const;
};

// Every input error (missing file, not UTF-8 with file and byte offset, empty corpus, context
// larger than the corpus, a model folder that is not GPT-2) fails before any training.
Result<PretrainReport> run_pretrain(const PretrainConfig& config, const PretrainCallbacks& cb = {});

}  // namespace lw::api
