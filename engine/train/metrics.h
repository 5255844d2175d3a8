// Evaluation metrics for fine-tuning. Classification: accuracy, per-class precision/recall/
// F1, macro/micro/weighted averages and the confusion matrix, with scikit-learn's
// conventions (0 where a ratio has a zero denominator; macro averages over the classes that
// occur in the true or predicted labels). NER: entity-level scores with seqeval's strict
// definition (mode="strict") for IOB2 and BIOES, overall and per entity type.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/train/dataset_labels.h"
#include "engine/train/dataset_ner.h"

namespace lw::train {

struct PrfScore {
  std::string name;  // class label or entity type
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;    // true items of this class/type
  int64_t predicted = 0;  // predicted items
  int64_t correct = 0;    // true positives
};

struct ClassificationReport {
  int64_t n = 0;
  double accuracy = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;  // all equal accuracy (single label)
  double weighted_f1 = 0;                                      // by support
  std::vector<PrfScore> per_class;                             // [K] in label-map order
  std::vector<std::vector<int64_t>> confusion;  // [K][K] rows true, columns predicted
  std::string to_json() const;
};

// y_true / y_pred: label ids in [0, labels.size()).
Result<ClassificationReport> classification_report(const std::vector<int>& y_true,
                                                   const std::vector<int>& y_pred,
                                                   const LabelMap& labels);

struct EntityReport {
  int64_t n_true = 0, n_pred = 0, n_correct = 0;
  double precision = 0, recall = 0, f1 = 0;  // micro average, seqeval's headline numbers
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double weighted_f1 = 0;
  double token_accuracy = 0;       // tags equal, over all tokens
  std::vector<PrfScore> per_type;  // types in true or predicted entities, sorted
  std::string to_json() const;
};

// One tag sequence per sentence, true and predicted of equal lengths. Predicted tags must
// be valid tags of the scheme (as seqeval's strict mode requires) but may form invalid
// sequences: those tokens simply yield no entity.
Result<EntityReport> entity_report(const std::vector<std::vector<std::string>>& y_true,
                                   const std::vector<std::vector<std::string>>& y_pred,
                                   TagScheme scheme);
// The same from tag ids; positions where y_true is ignore_index (-100) are dropped first.
Result<EntityReport> entity_report(const std::vector<std::vector<int>>& y_true,
                                   const std::vector<std::vector<int>>& y_pred,
                                   const LabelMap& tags, TagScheme scheme);

}  // namespace lw::train
