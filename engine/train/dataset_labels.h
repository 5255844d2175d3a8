// What classification and NER data have in common: the LabelMap (label name <-> id, built
// from the training split and saved with the model as Hugging Face id2label/label2id),
// the seeded split of one file into train/validation/test, and length histograms for
// the dataset preview.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw::train {

class LabelMap {
 public:
  LabelMap() = default;
  // Distinct labels, sorted: numerically when every label is an integer ("2" < "10"),
  // otherwise by bytes. The same labels in any order give the same map.
  static LabelMap build(const std::vector<std::string>& labels);
  // Keeps the given order (ids 0..n-1); errors on duplicates or empty names.
  static Result<LabelMap> from_list(std::vector<std::string> labels);

  int size() const { return int(id2label_.size()); }
  bool empty() const { return id2label_.empty(); }
  // -1 when the label is not in the map.
  int id(const std::string& label) const;
  const std::string& label(int id) const { return id2label_.at(size_t(id)); }
  const std::vector<std::string>& labels() const { return id2label_; }
  // "a, b, c" (the first 20, then "… (N in all)"), for error messages.
  std::string describe() const;

  // {"id2label": {"0": "neg", ...}, "label2id": {"neg": 0, ...}}: the fields config.json uses.
  std::string to_json() const;
  // Accepts that object or a whole config.json; `source` names it in errors.
  static Result<LabelMap> from_json(const std::string& source, const std::string& text);
  Status save(const std::string& path) const;  // written to a temporary file, then renamed
  static Result<LabelMap> load(const std::string& path);

  bool operator==(const LabelMap& o) const { return id2label_ == o.id2label_; }

 private:
  std::vector<std::string> id2label_;
  std::map<std::string, int> label2id_;
};

// Which split each item goes to: 0 train, 1 validation, 2 test.
enum class Split : uint8_t { kTrain = 0, kValidation = 1, kTest = 2 };

struct SplitOptions {
  double validation_fraction = 0.1;  // used when no validation file is given
  double test_fraction = 0.0;        // used when no test file is given
  uint64_t seed = 42;
};

// Where the splits come from: separate files, or a seeded split of the training file.
struct SplitFiles {
  std::string train;
  std::string validation;  // empty: split from train (SplitOptions::validation_fraction)
  std::string test;        // empty: split from train (SplitOptions::test_fraction; 0 = none)
};

// Seeded assignment of n items to splits. With `strata` (one key per item, e.g. the label)
// each stratum is split on its own, so every label keeps its share and at least one
// training item. Deterministic across platforms (own Fisher-Yates over splitmix64).
Result<std::vector<Split>> assign_splits(int64_t n, const std::vector<int>* strata,
                                         double validation_fraction, double test_fraction,
                                         uint64_t seed);

struct LengthHistogram {
  int64_t count = 0, min = 0, max = 0;
  double mean = 0;
  int64_t p50 = 0, p95 = 0;  // nearest-rank percentiles
  int64_t bin_width = 1;     // bins[i] counts lengths in [i*bin_width, (i+1)*bin_width)
  std::vector<int64_t> bins;
};

LengthHistogram make_histogram(std::vector<int64_t> lengths, int max_bins = 20);

}  // namespace lw::train
