// Tag schemes for NER (see dataset_ner.h): the shape of a tag, sequence rules, conversion
// between IOB1, IOB2 and BIOES, and seqeval's strict entity extraction, which the
// entity-level metrics and the dataset preview share.
#include "engine/train/dataset_ner.h"

namespace lw::train {

namespace {

std::string expected_tags(TagScheme s) {
  return s == TagScheme::kBioes ? "O, B-<type>, I-<type>, E-<type> or S-<type>"
                                : "O, B-<type> or I-<type>";
}

bool continues(const ParsedTag& prev, const ParsedTag& cur) {  // cur extends prev's entity
  return (prev.prefix == 'B' || prev.prefix == 'I') && prev.type == cur.type;
}

Result<std::vector<ParsedTag>> parse_all(const std::vector<std::string>& tags, TagScheme scheme,
                                         size_t* bad) {
  std::vector<ParsedTag> out;
  out.reserve(tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    auto t = parse_tag(tags[i], scheme);
    if (!t.is_ok()) {
      if (bad) *bad = i;
      return t.status();
    }
    out.push_back(*t);
  }
  return out;
}

std::string with_type(char prefix, std::string_view type) {
  std::string out(1, prefix);
  out.push_back('-');
  out.append(type);  // appended, not "a" + b: GCC 12 gives a false -Wrestrict on that
  return out;
}

}  // namespace

const char* tag_scheme_name(TagScheme s) {
  switch (s) {
    case TagScheme::kAuto:
      return "auto";
    case TagScheme::kIob1:
      return "IOB1";
    case TagScheme::kIob2:
      return "IOB2";
    case TagScheme::kBioes:
      return "BIOES";
  }
  return "?";
}

Result<ParsedTag> parse_tag(std::string_view tag, TagScheme scheme) {
  if (tag == "O") return ParsedTag{};
  bool bioes = scheme == TagScheme::kBioes || scheme == TagScheme::kAuto;
  char p = tag.size() >= 3 && tag[1] == '-' ? tag[0] : '\0';
  bool ok = p == 'B' || p == 'I' || (bioes && (p == 'E' || p == 'S'));
  if (!ok) {
    return invalid_argument(
        "tag '" + std::string(tag) + "' is not a valid " +
        tag_scheme_name(scheme == TagScheme::kAuto ? TagScheme::kBioes : scheme) +
        " tag (expected " + expected_tags(bioes ? TagScheme::kBioes : scheme) + ")");
  }
  return ParsedTag{p, tag.substr(2)};
}

Status validate_tags(const std::vector<std::string>& tags, TagScheme scheme, size_t* bad) {
  LW_ASSIGN_OR_RETURN(auto t, parse_all(tags, scheme, bad));
  if (scheme == TagScheme::kIob1) return Status::ok();  // I- may start an entity in IOB1
  ParsedTag outside;
  for (size_t i = 0; i <= t.size(); ++i) {
    const ParsedTag& prev = i ? t[i - 1] : outside;
    const ParsedTag& cur = i < t.size() ? t[i] : outside;
    std::string prev_text = i ? "'" + tags[i - 1] + "'" : "the sentence start";
    if (bad) *bad = i < t.size() ? i : (t.empty() ? 0 : t.size() - 1);
    if ((cur.prefix == 'I' || cur.prefix == 'E') && !continues(prev, cur)) {
      return invalid_argument(
          "tag '" + tags[i] + "' follows " + prev_text + "; in " + tag_scheme_name(scheme) +
          " an entity starts with " +
          with_type(scheme == TagScheme::kBioes && cur.prefix == 'E' ? 'S' : 'B', cur.type) +
          (scheme == TagScheme::kIob2
               ? " (for files that start entities with I-, read them as IOB1)"
               : ""));
    }
    bool open = scheme == TagScheme::kBioes && (prev.prefix == 'B' || prev.prefix == 'I');
    if (open && !(cur.prefix == 'I' || cur.prefix == 'E')) {
      if (bad) *bad = i - 1;
      return invalid_argument("entity tag '" + tags[i - 1] +
                              "' is not closed: in BIOES it must be followed by " +
                              with_type('I', prev.type) + " or " + with_type('E', prev.type));
    }
  }
  return Status::ok();
}

Result<std::vector<std::string>> convert_tags(const std::vector<std::string>& tags, TagScheme from,
                                              TagScheme to) {
  LW_CHECK(from != TagScheme::kAuto && to != TagScheme::kAuto, "convert_tags: name both schemes");
  LW_CHECK(to != TagScheme::kIob1, "convert_tags: converting to IOB1 is not supported; use IOB2");
  LW_TRY(validate_tags(tags, from));
  auto t = *parse_all(tags, from, nullptr);
  // First to IOB2 ...
  std::vector<ParsedTag> iob2(t.size());
  ParsedTag outside;
  for (size_t i = 0; i < t.size(); ++i) {
    const ParsedTag& prev = i ? t[i - 1] : outside;
    iob2[i] = t[i];
    if (t[i].prefix == 'S') iob2[i].prefix = 'B';
    if (t[i].prefix == 'E') iob2[i].prefix = 'I';
    bool starts = !(prev.prefix != 'O' && prev.type == t[i].type);
    if (from == TagScheme::kIob1 && t[i].prefix == 'I' && starts) iob2[i].prefix = 'B';
  }
  // ... then to the target.
  std::vector<std::string> out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    ParsedTag cur = iob2[i];
    bool next_inside =
        i + 1 < t.size() && iob2[i + 1].prefix == 'I' && iob2[i + 1].type == cur.type;
    if (to == TagScheme::kBioes && cur.prefix != 'O' && !next_inside)
      cur.prefix = cur.prefix == 'B' ? 'S' : 'E';
    out.emplace_back(cur.prefix == 'O' ? std::string(1, 'O') : with_type(cur.prefix, cur.type));
  }
  return out;
}

Result<std::vector<Entity>> extract_entities(const std::vector<std::string>& tags,
                                             TagScheme scheme) {
  LW_CHECK(scheme != TagScheme::kAuto, "extract_entities: name the tag scheme");
  if (scheme == TagScheme::kIob1) {
    LW_ASSIGN_OR_RETURN(auto iob2, convert_tags(tags, TagScheme::kIob1, TagScheme::kIob2));
    return extract_entities(iob2, TagScheme::kIob2);
  }
  LW_ASSIGN_OR_RETURN(auto t, parse_all(tags, scheme, nullptr));
  std::vector<Entity> out;
  size_t i = 0, n = t.size();
  while (i < n) {
    if (t[i].prefix == 'S') {
      out.push_back({std::string(t[i].type), int(i), int(i + 1)});
      ++i;
    } else if (t[i].prefix == 'B') {
      size_t j = i + 1;
      while (j < n && (t[j].prefix == 'I' || (scheme == TagScheme::kBioes && t[j].prefix == 'E')) &&
             continues(t[j - 1], t[j]))
        ++j;
      bool closed = scheme == TagScheme::kIob2 || t[j - 1].prefix == 'E';
      if (closed) out.push_back({std::string(t[i].type), int(i), int(j)});
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

}  // namespace lw::train
