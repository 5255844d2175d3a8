// Text-classification data: CSV (RFC 4180 quoting), TSV (plain tab split, with or without a
// header) and JSONL, with one text column or a pair and a label column chosen by name or
// index; string or integer labels; the label map from the training split; a seeded,
// label-stratified split when no validation/test file is given; and the preview the GUI
// shows. Every error names the file and the 1-based line before any training starts.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "engine/train/dataset_labels.h"
#include "engine/train/dataset_lines.h"

namespace lw::train {

enum class TableFormat { kAuto, kCsv, kTsv, kJsonl };
enum class HeaderMode { kAuto, kYes, kNo };
// "auto", "yes" or "no" (the command line's --header).
Result<HeaderMode> parse_header_mode(const std::string& text);

// A column chosen by header name or by 0-based index (negative counts from the end).
struct ColumnSpec {
  std::string name;  // used when not empty
  int index = 0;
  static ColumnSpec named(std::string n) { return {std::move(n), 0}; }
  static ColumnSpec at(int i) { return {"", i}; }
  // "label" -> by name; "1" or "-1" -> by index. Empty text -> none.
  static ColumnSpec parse(const std::string& text);
  bool by_name() const { return !name.empty(); }
  std::string describe() const;  // "'label'" or "#1"
};

struct ClassifyOptions {
  TableFormat format = TableFormat::kAuto;  // kAuto: from the extension
  // kAuto: the first row is a header when any column is chosen by name (and then it must
  // hold that name); with only index columns there is no header.
  HeaderMode header = HeaderMode::kAuto;
  ColumnSpec text_column = ColumnSpec::named("text");
  bool has_text_pair = false;
  ColumnSpec text_pair_column;
  ColumnSpec label_column = ColumnSpec::named("label");
  size_t max_line_bytes = kDefaultMaxLineBytes;
};

struct ClassifyExample {
  std::string text;
  std::string text_pair;  // empty unless the options name a pair column
  std::string label;      // integer labels are kept as their decimal text
  int label_id = -1;      // set by the split loader from the label map
  int64_t line = 0;       // 1-based line where the example starts in its file
};

struct ClassifyDataset {
  std::string source;  // the file (or name) the examples came from
  bool has_text_pair = false;
  std::vector<ClassifyExample> examples;
};

// Format from the file name: .csv, .tsv/.tab/.txt, .jsonl/.ndjson/.json.
Result<TableFormat> detect_table_format(const std::string& path);

Result<ClassifyDataset> read_classify_file(const std::string& path, const ClassifyOptions& opts);
// Same parser over text in memory; `source` stands for the file name in errors and the
// format must not be kAuto unless `source` has a known extension.
Result<ClassifyDataset> parse_classify_text(const std::string& source, std::string text,
                                            const ClassifyOptions& opts);

struct ClassifySplits {
  ClassifyDataset train, validation, test;
  LabelMap labels;  // built from the training split only
};

// Reads the files, splits when needed, builds the label map from the training split and
// sets every label_id. A validation/test label unseen in training is an error naming its
// file and line. With `fixed_labels` (a saved model's map) that map is used instead.
Result<ClassifySplits> load_classify_splits(const SplitFiles& files, const ClassifyOptions& opts,
                                            const SplitOptions& split,
                                            const LabelMap* fixed_labels = nullptr);

// Sets label_id for every example from `labels`; unknown labels are an error (file:line).
Status apply_label_map(ClassifyDataset& data, const LabelMap& labels);

struct ClassifyPreview {
  int64_t n_examples = 0;
  std::vector<ClassifyExample> first_rows;
  std::vector<std::pair<std::string, int64_t>> label_counts;  // sorted as LabelMap::build
  LengthHistogram char_lengths;                               // code points of text (+ pair)
  LengthHistogram word_lengths;  // whitespace-separated words of text (+ pair)
};

ClassifyPreview preview_classify(const ClassifyDataset& data, int n_rows = 10);

}  // namespace lw::train
