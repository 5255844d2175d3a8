// Internals shared by the fine-tuning facade's files (finetune*.cpp): the data a run trains
// on, the model built for it, and the evaluation over a tokenized split.
#pragma once
#include <memory>
#include <string>

#include "engine/api/finetune.h"
#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/train/trainer.h"

namespace lw::api::detail {

struct FinetuneData {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string tokenizer_dir;
  train::LabelMap labels;                       // classes, or NER tags
  train::TagScheme scheme = train::TagScheme::kIob2;
  train::EncodedSplit train, validation, test;  // tokenized
  std::string dataset_description;
};

Result<Device> device_of(const std::string& text);
// auto: bf16 on CUDA, f32 on CPU.
Result<DType> dtype_of(const std::string& text, Device device);

// Reads and tokenizes the splits; every data error names its file and line.
Result<FinetuneData> load_data(const FinetuneConfig& c, const train::LabelMap* fixed_labels = nullptr);

// BERT with the task's head and `labels`: weights from c.model_dir where present (the head
// only when its shape and label names match), the rest drawn from c.seed.
Result<std::unique_ptr<models::Model>> build_model(const FinetuneConfig& c, const FinetuneData& d,
                                                   Device device, DType dtype);

struct SplitEval {
  train::Evaluation eval;
  std::optional<train::ClassificationReport> classify;
  std::optional<train::EntityReport> entities;
};
// Runs the model (no dropout) over a split in batches of `batch`; cancel is polled.
Result<SplitEval> evaluate_split(models::Model& model, const train::EncodedSplit& split, bool ner,
                                 const train::LabelMap& labels, train::TagScheme scheme, int batch,
                                 const std::function<bool()>& cancel);

std::string eval_metrics_json(const EvalMetrics& m);
EvalMetrics to_metrics(const train::Evaluation& e, const std::string& split, int64_t step, double epoch);

// A run to execute: a new one, or the continuation of `resumed_from` in the same folder.
struct RunContext {
  FinetuneConfig config;
  std::string run_dir;
  int64_t resumed_from = 0;
};
Result<FinetuneReport> execute(const RunContext& ctx, const FinetuneCallbacks& cb);

}  // namespace lw::api::detail
