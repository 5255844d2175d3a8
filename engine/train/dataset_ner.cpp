// CoNLL-style NER reader, tag label map, splits and preview (see dataset_ner.h). Tokens of a
// sentence are consecutive lines, so one line number per sentence locates every token.
#include "engine/train/dataset_ner.h"

#include <map>
#include <set>

namespace lw::train {

namespace {

struct Columns {
  int n = 0, token = 0, tag = 0;
  bool tabs = true;
};

// Fixes the column layout from the first token line.
Result<Columns> layout(const LineReader& in, const NerOptions& o) {
  Columns c;
  c.tabs = o.separator == NerOptions::Separator::kTab ||
           (o.separator == NerOptions::Separator::kAuto &&
            in.line().find('\t') != std::string_view::npos);
  c.n = int(c.tabs ? split_on(in.line(), '\t').size() : split_whitespace(in.line()).size());
  c.token = o.token_column < 0 ? c.n + o.token_column : o.token_column;
  c.tag = o.tag_column < 0 ? c.n + o.tag_column : o.tag_column;
  LW_CHECK(c.n >= 2, in.where() + ": expected at least 2 columns (token and tag), found " +
                         std::to_string(c.n) +
                         (c.tabs ? " (tab-separated)" : " (whitespace-separated)"));
  LW_CHECK(c.tag >= 0 && c.tag < c.n, in.where() + ": tag column #" + std::to_string(o.tag_column) +
                                          " does not exist (the line has " + std::to_string(c.n) +
                                          " columns)");
  LW_CHECK(c.token >= 0 && c.token < c.n,
           in.where() + ": token column #" + std::to_string(o.token_column) +
               " does not exist (the line has " + std::to_string(c.n) + " columns)");
  LW_CHECK(c.tag != c.token, in.where() + ": the token and tag columns are the same column");
  return c;
}

Result<NerDataset> read_sentences(LineReader& in, const NerOptions& o) {
  NerDataset data;
  data.source = in.source();
  Columns cols;
  int64_t layout_line = 0;
  NerSentence cur;
  auto flush = [&] {
    if (!cur.tokens.empty()) data.sentences.push_back(std::move(cur));
    cur = NerSentence{};
  };
  std::vector<std::string_view> fields;
  while (true) {
    LW_ASSIGN_OR_RETURN(bool more, in.next());
    if (!more) break;
    std::string_view line = trim(in.line());
    if (line.empty() || line.substr(0, 10) == "-DOCSTART-") {
      flush();
      continue;
    }
    if (layout_line == 0) {
      LW_ASSIGN_OR_RETURN(cols, layout(in, o));
      layout_line = in.line_number();
    }
    fields = cols.tabs ? split_on(in.line(), '\t') : split_whitespace(line);
    if (int(fields.size()) != cols.n) {
      return invalid_argument(in.where() + ": expected " + std::to_string(cols.n) +
                              " columns (as on line " + std::to_string(layout_line) + "), found " +
                              std::to_string(fields.size()));
    }
    std::string_view token = trim(fields[size_t(cols.token)]), tag = trim(fields[size_t(cols.tag)]);
    LW_CHECK(!token.empty(), in.where() + ": the token is empty");
    LW_CHECK(!tag.empty(), in.where() + ": the tag is empty");
    if (cur.tokens.empty()) cur.line = in.line_number();
    cur.tokens.emplace_back(token);
    cur.tags.emplace_back(tag);
  }
  flush();
  LW_CHECK(!data.sentences.empty(),
           in.source() + ": no sentences (the file holds only blank or -DOCSTART- lines)");
  return data;
}

// Picks the scheme, checks every sentence (file:line of the bad token) and turns IOB1 into IOB2.
Status check_scheme(NerDataset& data, TagScheme scheme) {
  if (scheme == TagScheme::kAuto) {
    scheme = TagScheme::kIob2;
    for (const auto& s : data.sentences)
      for (const auto& t : s.tags)
        if (t.size() >= 2 && t[1] == '-' && (t[0] == 'E' || t[0] == 'S'))
          scheme = TagScheme::kBioes;
  }
  for (auto& s : data.sentences) {
    size_t bad = 0;
    Status st = validate_tags(s.tags, scheme, &bad);
    if (!st.is_ok())
      return invalid_argument(data.source + ":" + std::to_string(s.line + int64_t(bad)) + ": " +
                              st.message());
    if (scheme == TagScheme::kIob1)
      s.tags = *convert_tags(s.tags, TagScheme::kIob1, TagScheme::kIob2);
  }
  data.scheme = scheme == TagScheme::kIob1 ? TagScheme::kIob2 : scheme;
  return Status::ok();
}

Result<NerDataset> read_any(LineReader& in, const NerOptions& o) {
  LW_ASSIGN_OR_RETURN(NerDataset data, read_sentences(in, o));
  LW_TRY(check_scheme(data, o.scheme));
  return data;
}

}  // namespace

Result<NerDataset> read_ner_file(const std::string& path, const NerOptions& opts) {
  LW_ASSIGN_OR_RETURN(auto in, LineReader::open(path, opts.max_line_bytes));
  return read_any(in, opts);
}

Result<NerDataset> parse_ner_text(const std::string& source, std::string text,
                                  const NerOptions& opts) {
  LW_CHECK(!text.empty(), source + ": the file is empty");
  auto in = LineReader::from_text(source, std::move(text), opts.max_line_bytes);
  return read_any(in, opts);
}

LabelMap build_tag_map(const NerDataset& data) {
  std::set<std::string> types;
  for (const auto& s : data.sentences)
    for (const auto& t : s.tags)
      if (t != "O") types.insert(t.substr(2));
  std::vector<std::string> tags = {"O"};
  const char* prefixes = data.scheme == TagScheme::kBioes ? "BIES" : "BI";
  for (const auto& type : types)
    for (const char* p = prefixes; *p; ++p) tags.push_back(std::string(1, *p) + "-" + type);
  return *LabelMap::from_list(std::move(tags));
}

Status apply_tag_map(NerDataset& data, const LabelMap& tags) {
  for (auto& s : data.sentences) {
    s.tag_ids.resize(s.tags.size());
    for (size_t i = 0; i < s.tags.size(); ++i) {
      s.tag_ids[i] = tags.id(s.tags[i]);
      LW_CHECK(s.tag_ids[i] >= 0,
               data.source + ":" + std::to_string(s.line + int64_t(i)) + ": tag '" + s.tags[i] +
                   "' is not in the label map of the training data (" + tags.describe() + ")");
    }
  }
  return Status::ok();
}

Result<NerSplits> load_ner_splits(const SplitFiles& files, const NerOptions& opts,
                                  const SplitOptions& split, const LabelMap* fixed_tags) {
  NerSplits out;
  LW_ASSIGN_OR_RETURN(NerDataset all, read_ner_file(files.train, opts));
  double val_frac = files.validation.empty() ? split.validation_fraction : 0.0;
  double test_frac = files.test.empty() ? split.test_fraction : 0.0;
  LW_ASSIGN_OR_RETURN(auto which, assign_splits(int64_t(all.sentences.size()), nullptr, val_frac,
                                                test_frac, split.seed));
  NerDataset* dest[3] = {&out.train, &out.validation, &out.test};
  for (auto* d : dest) d->source = all.source, d->scheme = all.scheme;
  for (size_t i = 0; i < which.size(); ++i)
    dest[int(which[i])]->sentences.push_back(std::move(all.sentences[i]));
  NerOptions others = opts;
  if (opts.scheme != TagScheme::kIob1)
    others.scheme = all.scheme;  // dev/test follow the training file
  if (!files.validation.empty()) {
    LW_ASSIGN_OR_RETURN(out.validation, read_ner_file(files.validation, others));
  }
  if (!files.test.empty()) {
    LW_ASSIGN_OR_RETURN(out.test, read_ner_file(files.test, others));
  }
  out.tags = fixed_tags ? *fixed_tags : build_tag_map(out.train);
  for (auto* d : dest) LW_TRY(apply_tag_map(*d, out.tags));
  return out;
}

NerPreview preview_ner(const NerDataset& data, int n_sentences) {
  NerPreview p;
  p.n_sentences = int64_t(data.sentences.size());
  std::map<std::string, int64_t> entities, tags;
  std::vector<int64_t> lengths;
  for (const auto& s : data.sentences) {
    p.n_tokens += int64_t(s.tokens.size());
    lengths.push_back(int64_t(s.tokens.size()));
    for (const auto& t : s.tags) tags[t]++;
    auto ents = extract_entities(s.tags, data.scheme);
    if (!ents.is_ok()) continue;  // a dataset from our reader is valid; hand-made ones may not be
    for (const auto& e : *ents) entities[e.type]++;
    p.n_entities += int64_t(ents->size());
  }
  for (int i = 0; i < n_sentences && i < int(data.sentences.size()); ++i)
    p.first_sentences.push_back(data.sentences[size_t(i)]);
  p.entity_counts.assign(entities.begin(), entities.end());
  p.tag_counts.assign(tags.begin(), tags.end());
  p.sentence_lengths = make_histogram(std::move(lengths));
  return p;
}

}  // namespace lw::train
