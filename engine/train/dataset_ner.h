// Named-entity data: CoNLL-style token-per-line files (`token<TAB>...<TAB>tag` or
// whitespace-separated, a blank line between sentences, -DOCSTART- lines skipped, the tag
// column chosen), tag-scheme validation (IOB2, BIOES; IOB1 read and converted to IOB2)
// and conversion, the tag label map, and the preview. Errors name the file and the line
// of the offending token.
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

enum class TagScheme { kAuto, kIob1, kIob2, kBioes };
const char* tag_scheme_name(TagScheme s);  // "IOB2", ...

// A tag split at its first '-': "B-PER" -> {'B', "PER"}; "O" -> {'O', ""}.
struct ParsedTag {
  char prefix = 'O';
  std::string_view type;
};
// Checks the shape of one tag for a scheme (IOB1/IOB2: O, B-x, I-x; BIOES adds E-x, S-x).
Result<ParsedTag> parse_tag(std::string_view tag, TagScheme scheme);

// Sequence rules. IOB2: I-x follows B-x or I-x. BIOES: B-x/I-x continue with I-x or E-x,
// I-x/E-x follow B-x or I-x. On failure `*bad` is the offending token's index.
Status validate_tags(const std::vector<std::string>& tags, TagScheme scheme, size_t* bad = nullptr);

// Converts valid tags between IOB1, IOB2 and BIOES (same entities, other spelling).
Result<std::vector<std::string>> convert_tags(const std::vector<std::string>& tags, TagScheme from,
                                              TagScheme to);

// An entity: tokens [begin, end) of one sentence, of one type.
struct Entity {
  std::string type;
  int begin = 0, end = 0;
  bool operator==(const Entity& o) const = default;
  auto operator<=>(const Entity& o) const = default;
};
// seqeval's strict extraction (mode="strict"): IOB2 entities are B-x I-x*; BIOES entities
// are S-x or B-x (I-x)* E-x. Tokens that fit no entity (I-x after O, B-x I-x O in BIOES)
// yield nothing. Tags invalid for the scheme are an error.
Result<std::vector<Entity>> extract_entities(const std::vector<std::string>& tags,
                                             TagScheme scheme);

struct NerOptions {
  int token_column = 0;
  int tag_column = -1;  // 0-based; negative counts from the end (-1: the last column)
  enum class Separator { kAuto, kTab, kWhitespace };
  Separator separator = Separator::kAuto;  // kAuto: tabs when the first token line has one
  // kAuto: BIOES when any E-/S- tag appears, else IOB2. kIob1 data is converted to IOB2.
  TagScheme scheme = TagScheme::kAuto;
  size_t max_line_bytes = kDefaultMaxLineBytes;
};

struct NerSentence {
  std::vector<std::string> tokens;
  std::vector<std::string> tags;  // in the dataset's scheme (IOB2 or BIOES)
  std::vector<int> tag_ids;       // set from a LabelMap by apply_tag_map
  int64_t line = 0;               // line of the first token; token i is on line + i
};

struct NerDataset {
  std::string source;
  TagScheme scheme = TagScheme::kIob2;  // IOB2 or BIOES after reading
  std::vector<NerSentence> sentences;
};

Result<NerDataset> read_ner_file(const std::string& path, const NerOptions& opts);
Result<NerDataset> parse_ner_text(const std::string& source, std::string text,
                                  const NerOptions& opts);

// "O" first, then for every entity type seen (sorted) every tag of the scheme (B, I or
// B, I, E, S), so a type seen only as single-token entities still knows its I- tag.
LabelMap build_tag_map(const NerDataset& data);
// Sets tag_ids; a tag not in the map is an error naming the file and line.
Status apply_tag_map(NerDataset& data, const LabelMap& tags);

struct NerSplits {
  NerDataset train, validation, test;
  LabelMap tags;
};
// Reads the files (the scheme of the training file is used for the others), splits when
// needed (seeded, by sentence), builds the tag map from the training split (or uses
// `fixed_tags`) and sets every tag id.
Result<NerSplits> load_ner_splits(const SplitFiles& files, const NerOptions& opts,
                                  const SplitOptions& split, const LabelMap* fixed_tags = nullptr);

struct NerPreview {
  int64_t n_sentences = 0, n_tokens = 0, n_entities = 0;
  std::vector<NerSentence> first_sentences;
  std::vector<std::pair<std::string, int64_t>> entity_counts;  // by type, sorted by type
  std::vector<std::pair<std::string, int64_t>> tag_counts;     // by tag, sorted by tag
  LengthHistogram sentence_lengths;                            // in tokens
};
NerPreview preview_ner(const NerDataset& data, int n_sentences = 10);

}  // namespace lw::train
