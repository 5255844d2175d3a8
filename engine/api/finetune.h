// The fine-tuning facade (the Fine-tune page and `llmwb train classify|ner`, `llmwb eval`,
// `llmwb predict`): BERT text classification and named-entity recognition from a Hugging
// Face folder or a random init, recorded in the project's experiment store. Value types in,
// lw::Result out; no exception leaves these functions. Long calls (run, resume, evaluate)
// report through FinetuneCallbacks from the calling thread and stop when it says cancel.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "engine/train/alignment.h"
#include "engine/train/dataset_classify.h"
#include "engine/train/dataset_ner.h"
#include "engine/train/metrics.h"

namespace lw::api {

enum class FinetuneTask { kClassify, kNer };
const char* finetune_task_name(FinetuneTask t);             // "classify", "ner"
Result<FinetuneTask> parse_finetune_task(const std::string& s);

enum class LrSchedule { kLinear, kCosine, kConstant };       // after the linear warm-up
const char* lr_schedule_name(LrSchedule s);                  // "linear", "cosine", "constant"
Result<LrSchedule> parse_lr_schedule(const std::string& s);

// A BERT built from scratch (no pretrained folder): the shape, plus the vocabulary the
// tokenizer comes from. Weights are drawn N(0, initializer_range) from `seed`.
struct RandomInitConfig {
  std::string vocab_dir;     // folder with vocab.txt / tokenizer.json (vocab size from it)
  std::string config_json;   // optional: a BERT config.json (overrides the fields below)
  int64_t n_layer = 4;       // num_hidden_layers
  int64_t hidden = 256;      // hidden_size; heads = hidden / 64, intermediate = 4 * hidden
  int64_t max_positions = 512;
};

struct FinetuneConfig {
  FinetuneTask task = FinetuneTask::kClassify;
  // The starting model: a Hugging Face folder (head loaded when its label map matches,
  // else initialized fresh), or a random BERT when model_dir is empty.
  std::string model_dir;
  RandomInitConfig random_init;

  // Data: files per split (validation/test split off train when empty, seeded).
  train::SplitFiles files;
  train::SplitOptions split;
  train::ClassifyOptions classify;  // text / pair / label columns, format, header
  train::NerOptions ner;            // token / tag columns, scheme
  int64_t max_len = 128;            // tokens incl. [CLS]/[SEP]; longer inputs are truncated

  // Optimization.
  int epochs = 3;
  int batch_size = 16;
  int grad_accum = 1;          // micro-batches per optimizer step
  double lr = 5e-5;
  double warmup_ratio = 0.1;   // of the total optimizer steps
  LrSchedule schedule = LrSchedule::kLinear;
  double weight_decay = 0.01;
  bool decay_exclude_bias_norm = true;  // no decay on biases and LayerNorm weights
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  double clip_norm = 1.0;      // <= 0: no clipping
  double dropout = -1;         // < 0: the config's probabilities; 0 disables
  std::string dtype = "auto";  // auto (bf16 on CUDA, f32 on CPU), f32, bf16
  std::string device = "cpu";  // cpu, cuda, cuda:N
  uint64_t seed = 42;          // init of new weights, data order, dropout
  bool shuffle = true;         // false: training examples in file order (parity checks)

  // Evaluation and stopping.
  int eval_every = 0;                // optimizer steps; 0 = only at each epoch end
  std::string early_stop_metric;     // "" = none; "accuracy", "macro_f1", "f1", "loss" ...
  int early_stop_patience = 3;       // evaluations without improvement
  std::string best_metric;           // which eval metric picks "best" ("" = task default:
                                     // accuracy for classify, f1 for ner; "loss" = lowest)
  int max_steps = 0;                 // > 0: stop after this many optimizer steps

  // Where it is recorded.
  std::string project_dir;  // holds experiments.sqlite and runs/<id>-<name>/
  std::string run_name;
};

// Parameters as the store records them (and resume reads back).
std::string finetune_config_to_json(const FinetuneConfig& c);
Result<FinetuneConfig> finetune_config_from_json(const std::string& json);

struct EvalMetrics {
  std::string split;             // "validation", "test"
  int64_t step = 0;
  double epoch = 0;
  double loss = 0;
  // Flat name -> value (classify: accuracy, macro_f1, micro_f1, weighted_f1, macro_precision,
  // macro_recall; ner: f1, precision, recall, macro_f1, token_accuracy).
  std::vector<std::pair<std::string, double>> values;
  double get(const std::string& name, double fallback = 0) const;
};

struct FinetuneProgress {
  int64_t step = 0;          // optimizer steps done
  int64_t total_steps = 0;
  int epoch = 0;             // 0-based epoch of the step
  double epoch_progress = 0; // fractional epochs done
  double loss = 0;           // this step's training loss (mean over its micro-batches)
  double lr = 0;             // the learning rate this step used
  double grad_norm = 0;      // before clipping
  double steps_per_s = 0;    // smoothed
  double eta_s = 0;          // remaining seconds estimate
};

struct FinetuneCallbacks {
  // After every optimizer step.
  std::function<void(const FinetuneProgress&)> on_step;
  // After every evaluation (validation during training, test at the end).
  std::function<void(const EvalMetrics&)> on_eval;
  // A line for a log view ("epoch 2: validation accuracy 0.93 (best)", warnings).
  std::function<void(const std::string&)> on_message;
  // Polled between steps and evaluation batches; true stops the run (status cancelled,
  // last checkpoint written).
  std::function<bool()> cancel;
};

struct FinetuneReport {
  int64_t run_id = 0;
  std::string status;       // "ok", "cancelled", "failed" (failures also return an error)
  std::string run_dir;      // <project>/runs/<id>-<name>
  std::string best_checkpoint, last_checkpoint;  // Hugging Face folders
  std::string report_path;  // evaluation report JSON
  int64_t steps = 0;
  double epochs_done = 0;
  double seconds = 0;
  double final_train_loss = 0;
  bool early_stopped = false;
  std::vector<EvalMetrics> evals;       // every evaluation in order
  EvalMetrics best;                     // the evaluation that chose the best checkpoint
  std::vector<std::string> labels;      // label map (classes or tags) in id order
  // The best checkpoint on validation (and test when given).
  std::optional<train::ClassificationReport> classify_report, classify_test_report;
  std::optional<train::EntityReport> entity_report, entity_test_report;
  train::TruncationReport truncation;   // on the training split
  std::string to_json() const;
};

// Trains per `config`, records a run in config.project_dir's store and returns the report.
// Bad data fails before any training with the file and line.
Result<FinetuneReport> run_finetune(const FinetuneConfig& config, const FinetuneCallbacks& cb = {});
// Continues run `run_id` of the store in `project_dir` from its last checkpoint (same
// config, same data order; the final weights equal an uninterrupted run's). The store
// records the continuation as a new run (parameters.resumed_from = run_id, same run folder);
// the old run keeps its status (interrupted, cancelled or failed) and its metrics. A run
// that was already continued is refused (its continuation is the one to resume).
Result<FinetuneReport> resume_finetune(const std::string& project_dir, int64_t run_id,
                                       const FinetuneCallbacks& cb = {});
// The newest fine-tuning run of the project that was stopped (cancelled or interrupted) and
// not yet continued, or 0 when there is none: what the page's Resume takes.
Result<int64_t> latest_resumable_finetune_run(const std::string& project_dir);

// Evaluation of a saved fine-tuned folder on a data file (labels from the folder's config).
struct EvalRequest {
  std::string model_dir;
  FinetuneTask task = FinetuneTask::kClassify;
  std::string data_file;
  train::ClassifyOptions classify;
  train::NerOptions ner;
  int64_t max_len = 128;
  int batch_size = 32;
  std::string device = "cpu";
  std::string dtype = "auto";
};
struct EvalResult {
  EvalMetrics metrics;
  std::optional<train::ClassificationReport> classify_report;
  std::optional<train::EntityReport> entity_report;
  std::string to_json() const;
};
Result<EvalResult> evaluate_model(const EvalRequest& req, const FinetuneCallbacks& cb = {});

// The Try-it box: a loaded fine-tuned folder (kept between predictions).
struct Predictor;
struct PredictorDeleter {
  void operator()(Predictor* p) const;
};
using PredictorPtr = std::unique_ptr<Predictor, PredictorDeleter>;
Result<PredictorPtr> load_predictor(const std::string& model_dir, const std::string& device = "cpu",
                                    int64_t max_len = 512);
FinetuneTask predictor_task(const Predictor& p);

struct EntitySpan {
  std::string type;            // "PER"
  std::string text;            // the covered text
  int64_t char_begin = 0, char_end = 0;  // code points [begin, end) in the input text
  int64_t byte_begin = 0, byte_end = 0;  // UTF-8 bytes
  double score = 0;            // mean probability of the entity's first-token tags
};
struct Prediction {
  FinetuneTask task = FinetuneTask::kClassify;
  // classify
  std::string label;
  double score = 0;
  std::vector<std::pair<std::string, double>> probabilities;  // every label, in id order
  // ner: words are whitespace-split; tags per word; entities with character offsets
  std::vector<std::string> words;
  std::vector<std::string> word_tags;
  std::vector<EntitySpan> entities;
  bool truncated = false;  // input longer than max_len: the tail was not seen
  std::string to_json() const;
};
// `pair_text` is the second text for pair classifiers (ignored for NER).
Result<Prediction> predict(Predictor& p, const std::string& text, const std::string& pair_text = "");

// The dataset preview for the page (first rows, label / tag histograms, lengths), and the
// truncation report at max_len when a tokenizer folder is given (else n_examples = 0).
struct DatasetPreview {
  FinetuneTask task = FinetuneTask::kClassify;
  std::string file;
  std::optional<train::ClassifyPreview> classify;
  std::optional<train::NerPreview> ner;
  std::vector<std::string> columns;  // header names (classify CSV/TSV with a header; JSONL keys)
  train::TruncationReport truncation;
  std::string to_json() const;
};
Result<DatasetPreview> preview_dataset(FinetuneTask task, const std::string& file,
                                       const train::ClassifyOptions& classify,
                                       const train::NerOptions& ner,
                                       const std::string& tokenizer_dir = "", int64_t max_len = 128,
                                       int n_rows = 10);

}  // namespace lw::api
