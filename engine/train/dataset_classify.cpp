// Classification readers (see dataset_classify.h). CSV follows RFC 4180: quoted fields may
// hold commas, doubled quotes and newlines, so a record can span lines and is reported at
// the line where it starts. TSV is a plain tab split (no quoting: real TSV text holds
// stray quotes, e.g. 12" Mixes). JSONL takes one object per line.
#include "engine/train/dataset_classify.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <nlohmann/json.hpp>

namespace lw::train {

Result<HeaderMode> parse_header_mode(const std::string& text) {
  if (text == "auto") return HeaderMode::kAuto;
  if (text == "yes") return HeaderMode::kYes;
  if (text == "no") return HeaderMode::kNo;
  return invalid_argument("header mode must be auto, yes or no, got '" + text + "'");
}

namespace {

struct Record {
  std::vector<std::string> fields;
  int64_t line = 0;
};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Next non-empty TSV line split on tabs; false at the end.
Result<bool> next_tsv(LineReader& in, Record& rec) {
  while (true) {
    LW_ASSIGN_OR_RETURN(bool more, in.next());
    if (!more) return false;
    if (in.line().empty()) continue;
    rec.line = in.line_number();
    rec.fields.clear();
    for (auto f : split_on(in.line(), '\t')) rec.fields.emplace_back(f);
    return true;
  }
}

// Next non-empty CSV record (RFC 4180), possibly spanning lines; false at the end.
Result<bool> next_csv(LineReader& in, Record& rec, size_t max_bytes) {
  std::string field;
  bool quoted = false;       // inside a quoted field
  bool after_quote = false;  // just closed a quoted field
  size_t bytes = 0;
  rec.fields.clear();
  while (true) {
    LW_ASSIGN_OR_RETURN(bool more, in.next());
    if (!more) {
      if (quoted) {
        return invalid_argument(
            in.where(rec.line) +
            ": quoted field opened on this line is not closed by the end of the file");
      }
      return false;
    }
    std::string_view line = in.line();
    if (!quoted) {
      if (line.empty()) continue;  // blank line between records
      rec.line = in.line_number();
      bytes = line.size();
    } else {
      field.push_back('\n');
      bytes += line.size() + 1;
      if (bytes > max_bytes) {
        return invalid_argument(in.where(rec.line) + ": CSV record is longer than " +
                                std::to_string(max_bytes) + " bytes; is a quote left open?");
      }
    }
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c != '"') {
          field.push_back(c);
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
          after_quote = true;
        }
      } else if (c == ',') {
        rec.fields.push_back(std::move(field));
        field.clear();
        after_quote = false;
      } else if (after_quote) {
        return invalid_argument(
            in.where() + ": unexpected character after a closing quote at byte column " +
            std::to_string(i + 1) + " (a quote inside a field must be doubled)");
      } else if (c == '"' && field.empty()) {
        quoted = true;
      } else {
        field.push_back(c);  // a quote inside an unquoted field is kept, as Python's csv does
      }
    }
    if (!quoted) {
      rec.fields.push_back(std::move(field));
      return true;
    }
  }
}

// Resolves a column against the header (by name) or the column count (by index).
Result<int> resolve_column(const ColumnSpec& spec, const std::vector<std::string>* header,
                           int n_cols, const LineReader& in, int64_t first_line) {
  if (spec.by_name()) {
    LW_CHECK(header != nullptr, in.source() + ": column " + spec.describe() +
                                    " is chosen by name but the file has no header row");
    auto it = std::find(header->begin(), header->end(), spec.name);
    if (it == header->end()) {
      std::string cols;
      for (const auto& h : *header) cols += (cols.empty() ? "" : ", ") + h;
      return invalid_argument(in.where(first_line) + ": no column named '" + spec.name +
                              "' in the header (columns: " + cols +
                              "); for a file without a header choose columns by index");
    }
    return int(it - header->begin());
  }
  int idx = spec.index < 0 ? n_cols + spec.index : spec.index;
  LW_CHECK(idx >= 0 && idx < n_cols, in.where(first_line) + ": column " + spec.describe() +
                                         " does not exist (the file has " + std::to_string(n_cols) +
                                         " columns)");
  return idx;
}

Status check_nonempty(const std::string& value, const ColumnSpec& col, const char* what,
                      const LineReader& in, int64_t line) {
  LW_CHECK(!value.empty(),
           in.where(line) + ": the " + what + " column " + col.describe() + " is empty");
  return Status::ok();
}

Result<ClassifyDataset> read_table(LineReader& in, TableFormat format, const ClassifyOptions& o) {
  ClassifyDataset data;
  data.source = in.source();
  data.has_text_pair = o.has_text_pair;
  auto next = [&](Record& r) {
    return format == TableFormat::kCsv ? next_csv(in, r, o.max_line_bytes) : next_tsv(in, r);
  };
  Record rec;
  LW_ASSIGN_OR_RETURN(bool any, next(rec));
  LW_CHECK(any, in.source() + ": the file is empty (no rows)");
  bool named = o.text_column.by_name() || o.label_column.by_name() ||
               (o.has_text_pair && o.text_pair_column.by_name());
  bool has_header = o.header == HeaderMode::kYes || (o.header == HeaderMode::kAuto && named);
  std::vector<std::string> header;
  int64_t first_line = rec.line;
  int n_cols = int(rec.fields.size());
  if (has_header) header = rec.fields;
  const auto* hp = has_header ? &header : nullptr;
  LW_ASSIGN_OR_RETURN(int text_idx, resolve_column(o.text_column, hp, n_cols, in, first_line));
  LW_ASSIGN_OR_RETURN(int label_idx, resolve_column(o.label_column, hp, n_cols, in, first_line));
  int pair_idx = -1;
  if (o.has_text_pair) {
    LW_ASSIGN_OR_RETURN(pair_idx, resolve_column(o.text_pair_column, hp, n_cols, in, first_line));
  }
  bool have = !has_header;  // without a header the first record is already an example
  while (true) {
    if (!have) {
      LW_ASSIGN_OR_RETURN(bool more, next(rec));
      if (!more) break;
    }
    have = false;
    if (int(rec.fields.size()) != n_cols) {
      return invalid_argument(
          in.where(rec.line) + ": expected " + std::to_string(n_cols) + " columns (as " +
          (has_header ? "in the header" : "on the first row") + " on line " +
          std::to_string(first_line) + "), found " + std::to_string(rec.fields.size()));
    }
    ClassifyExample ex;
    ex.line = rec.line;
    ex.text = std::move(rec.fields[size_t(text_idx)]);
    ex.label = std::string(trim(rec.fields[size_t(label_idx)]));
    LW_TRY(check_nonempty(ex.text, o.text_column, "text", in, rec.line));
    LW_TRY(check_nonempty(ex.label, o.label_column, "label", in, rec.line));
    if (pair_idx >= 0) {
      ex.text_pair = std::move(rec.fields[size_t(pair_idx)]);
      LW_TRY(check_nonempty(ex.text_pair, o.text_pair_column, "text pair", in, rec.line));
    }
    data.examples.push_back(std::move(ex));
  }
  LW_CHECK(!data.examples.empty(), in.source() + ": no examples (only a header on line " +
                                       std::to_string(first_line) + ")");
  return data;
}

// The string field `name` of a JSONL object (file:line in every error).
Result<std::string> json_field(const nlohmann::json& j, const ColumnSpec& col, bool label,
                               const LineReader& in) {
  LW_CHECK(col.by_name(), in.source() + ": JSONL fields are chosen by name, not by index (" +
                              col.describe() + ")");
  auto it = j.find(col.name);
  if (it == j.end()) {
    std::string keys;
    for (auto k = j.begin(); k != j.end(); ++k) keys += (keys.empty() ? "" : ", ") + k.key();
    return invalid_argument(in.where() + ": field '" + col.name + "' is missing (fields: " + keys +
                            ")");
  }
  if (it->is_string()) return it->get<std::string>();
  if (label && (it->is_number_integer())) return it->dump();
  return invalid_argument(in.where() + ": field '" + col.name + "' must be a string" +
                          (label ? " or an integer" : "") + ", got " + it->dump());
}

// Nesting depth of JSON text, strings skipped: a hostile line must not recurse deeply.
int json_depth(std::string_view s) {
  int depth = 0, max_depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_str) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

Result<ClassifyDataset> read_jsonl(LineReader& in, const ClassifyOptions& o) {
  ClassifyDataset data;
  data.source = in.source();
  data.has_text_pair = o.has_text_pair;
  while (true) {
    LW_ASSIGN_OR_RETURN(bool more, in.next());
    if (!more) break;
    if (trim(in.line()).empty()) continue;
    LW_CHECK(json_depth(in.line()) <= 64, in.where() + ": JSON nested deeper than 64 levels");
    auto j = nlohmann::json::parse(in.line(), nullptr, /*allow_exceptions=*/false);
    LW_CHECK(!j.is_discarded(), in.where() + ": not valid JSON (one object per line expected)");
    LW_CHECK(j.is_object(),
             in.where() + ": expected a JSON object, got " + std::string(j.type_name()));
    ClassifyExample ex;
    ex.line = in.line_number();
    LW_ASSIGN_OR_RETURN(ex.text, json_field(j, o.text_column, false, in));
    LW_ASSIGN_OR_RETURN(ex.label, json_field(j, o.label_column, true, in));
    LW_TRY(check_nonempty(ex.text, o.text_column, "text", in, ex.line));
    LW_TRY(check_nonempty(ex.label, o.label_column, "label", in, ex.line));
    if (o.has_text_pair) {
      LW_ASSIGN_OR_RETURN(ex.text_pair, json_field(j, o.text_pair_column, false, in));
      LW_TRY(check_nonempty(ex.text_pair, o.text_pair_column, "text pair", in, ex.line));
    }
    data.examples.push_back(std::move(ex));
  }
  LW_CHECK(!data.examples.empty(), in.source() + ": no examples (only blank lines)");
  return data;
}

Result<ClassifyDataset> read_any(LineReader& in, const ClassifyOptions& o) {
  TableFormat format = o.format;
  if (format == TableFormat::kAuto) {
    LW_ASSIGN_OR_RETURN(format, detect_table_format(in.source()));
  }
  if (format == TableFormat::kJsonl) return read_jsonl(in, o);
  return read_table(in, format, o);
}

}  // namespace

ColumnSpec ColumnSpec::parse(const std::string& text) {
  size_t i = (!text.empty() && text[0] == '-') ? 1 : 0;
  bool digits =
      i < text.size() && text.size() - i <= 6 &&
      std::all_of(text.begin() + long(i), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) return at(std::stoi(text));
  return named(text);
}

std::string ColumnSpec::describe() const {
  // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on "'" + name + "'".
  std::string out = by_name() ? "'" : "#";
  out += by_name() ? name : std::to_string(index);
  if (by_name()) out += "'";
  return out;
}

Result<TableFormat> detect_table_format(const std::string& path) {
  std::string p = lower(path);
  if (ends_with(p, ".csv")) return TableFormat::kCsv;
  if (ends_with(p, ".tsv") || ends_with(p, ".tab") || ends_with(p, ".txt"))
    return TableFormat::kTsv;
  if (ends_with(p, ".jsonl") || ends_with(p, ".ndjson") || ends_with(p, ".json"))
    return TableFormat::kJsonl;
  return invalid_argument(path +
                          ": cannot tell the format from the extension; "
                          "use .csv, .tsv or .jsonl, or choose the format");
}

Result<ClassifyDataset> read_classify_file(const std::string& path, const ClassifyOptions& opts) {
  LW_ASSIGN_OR_RETURN(auto in, LineReader::open(path, opts.max_line_bytes));
  return read_any(in, opts);
}

Result<ClassifyDataset> parse_classify_text(const std::string& source, std::string text,
                                            const ClassifyOptions& opts) {
  LW_CHECK(!text.empty(), source + ": the file is empty");
  auto in = LineReader::from_text(source, std::move(text), opts.max_line_bytes);
  return read_any(in, opts);
}

Status apply_label_map(ClassifyDataset& data, const LabelMap& labels) {
  for (auto& ex : data.examples) {
    ex.label_id = labels.id(ex.label);
    LW_CHECK(ex.label_id >= 0, data.source + ":" + std::to_string(ex.line) + ": label '" +
                                   ex.label + "' is not in the label map of the training data (" +
                                   labels.describe() + ")");
  }
  return Status::ok();
}

Result<ClassifySplits> load_classify_splits(const SplitFiles& files, const ClassifyOptions& opts,
                                            const SplitOptions& split,
                                            const LabelMap* fixed_labels) {
  ClassifySplits out;
  LW_ASSIGN_OR_RETURN(ClassifyDataset all, read_classify_file(files.train, opts));
  double val_frac = files.validation.empty() ? split.validation_fraction : 0.0;
  double test_frac = files.test.empty() ? split.test_fraction : 0.0;
  std::vector<std::string> names;
  for (const auto& ex : all.examples) names.push_back(ex.label);
  LabelMap all_labels = LabelMap::build(names);
  std::vector<int> strata;
  for (const auto& ex : all.examples) strata.push_back(all_labels.id(ex.label));
  LW_ASSIGN_OR_RETURN(auto which, assign_splits(int64_t(all.examples.size()), &strata, val_frac,
                                                test_frac, split.seed));
  for (auto* d : {&out.train, &out.validation, &out.test}) {
    d->source = all.source;
    d->has_text_pair = all.has_text_pair;
  }
  ClassifyDataset* dest[3] = {&out.train, &out.validation, &out.test};
  for (size_t i = 0; i < which.size(); ++i)
    dest[int(which[i])]->examples.push_back(std::move(all.examples[i]));
  if (!files.validation.empty()) {
    LW_ASSIGN_OR_RETURN(out.validation, read_classify_file(files.validation, opts));
  }
  if (!files.test.empty()) {
    LW_ASSIGN_OR_RETURN(out.test, read_classify_file(files.test, opts));
  }
  if (fixed_labels) {
    out.labels = *fixed_labels;
  } else {
    names.clear();
    for (const auto& ex : out.train.examples) names.push_back(ex.label);
    out.labels = LabelMap::build(names);
  }
  LW_TRY(apply_label_map(out.train, out.labels));
  LW_TRY(apply_label_map(out.validation, out.labels));
  LW_TRY(apply_label_map(out.test, out.labels));
  return out;
}

ClassifyPreview preview_classify(const ClassifyDataset& data, int n_rows) {
  ClassifyPreview p;
  p.n_examples = int64_t(data.examples.size());
  std::map<std::string, int64_t> counts;
  std::vector<int64_t> chars, words;
  for (const auto& ex : data.examples) {
    counts[ex.label]++;
    chars.push_back(utf8_length(ex.text) + utf8_length(ex.text_pair));
    words.push_back(
        int64_t(split_whitespace(ex.text).size() + split_whitespace(ex.text_pair).size()));
  }
  for (int i = 0; i < n_rows && i < int(data.examples.size()); ++i)
    p.first_rows.push_back(data.examples[size_t(i)]);
  std::vector<std::string> names;
  for (const auto& [k, v] : counts) names.push_back(k);
  LabelMap order = LabelMap::build(names);
  for (const auto& name : order.labels()) p.label_counts.emplace_back(name, counts[name]);
  p.char_lengths = make_histogram(std::move(chars));
  p.word_lengths = make_histogram(std::move(words));
  return p;
}

}  // namespace lw::train
