// Reads Hugging Face tokenizer.json: the model (BPE or WordPiece), added tokens,
// and the normalizer / pre-tokenizer / post-processor / decoder we implement.
// Anything else is refused by name rather than silently tokenized differently.
#include <nlohmann/json.hpp>

#include "engine/tokenize/loaders.h"

namespace lw::tokenize_io {
namespace {
using json = nlohmann::json;

// nlohmann parses recursively: refuse deep nesting before it can exhaust the stack.
Status check_depth(const std::string& text, const std::string& path) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      LW_CHECK(++depth <= 64, path + ": JSON nested deeper than 64 levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::ok();
}

struct Ctx {
  std::string path;
  Status error(const std::string& field, const std::string& what) const {
    return invalid_argument(path + ": " + field + ": " + what);
  }
};

Result<std::string> get_string(const json& j, const char* key, const std::string& field, const Ctx& c,
                               std::optional<std::string> fallback = std::nullopt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    return c.error(field + "." + key, "missing");
  }
  if (!it->is_string()) return c.error(field + "." + key, "expected a string");
  return it->get<std::string>();
}

bool get_bool(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

Status parse_vocab(const json& model, const Ctx& c, Vocab* vocab) {
  auto it = model.find("vocab");
  if (it == model.end() || !it->is_object()) return c.error("model.vocab", "expected an object of token: id");
  for (auto& [token, id] : it->items()) {
    if (!id.is_number_integer()) return c.error("model.vocab['" + token + "']", "expected an integer id");
    LW_TRY(vocab->add(token, id.get<int32_t>(), c.path + ": model.vocab"));
  }
  return Status::ok();
}

Result<std::unique_ptr<VocabModel>> parse_model(const json& root, const Ctx& c, TokenizerKind* kind) {
  auto mit = root.find("model");
  if (mit == root.end() || !mit->is_object()) return c.error("model", "missing or not an object");
  const json& m = *mit;
  std::string type = m.value("type", m.contains("merges") ? "BPE" : "WordPiece");
  Vocab vocab;
  if (type == "WordPiece") {
    LW_TRY(parse_vocab(m, c, &vocab));
    LW_ASSIGN_OR_RETURN(std::string unk, get_string(m, "unk_token", "model", c, "[UNK]"));
    LW_ASSIGN_OR_RETURN(std::string prefix, get_string(m, "continuing_subword_prefix", "model", c, "##"));
    size_t max_chars = m.value("max_input_chars_per_word", size_t(100));
    *kind = TokenizerKind::kWordPiece;
    LW_ASSIGN_OR_RETURN(auto wp, WordPieceModel::create(std::move(vocab), unk, prefix, max_chars, c.path));
    return std::unique_ptr<VocabModel>(std::move(wp));
  }
  if (type != "BPE")
    return c.error("model.type", "unknown model type '" + type + "' (supported: BPE, WordPiece)");
  if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0)
    return unsupported(c.path + ": model.dropout: BPE dropout is not supported");
  LW_TRY(parse_vocab(m, c, &vocab));
  std::vector<std::pair<std::string, std::string>> merges;
  auto merges_it = m.find("merges");
  if (merges_it == m.end() || !merges_it->is_array()) return c.error("model.merges", "expected an array");
  merges.reserve(merges_it->size());
  for (size_t i = 0; i < merges_it->size(); ++i) {
    const json& e = (*merges_it)[i];
    std::string field = "model.merges[" + std::to_string(i) + "]";
    if (e.is_string()) {
      std::string s = e.get<std::string>();
      size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) return c.error(field, "expected 'a b', got '" + s + "'");
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
      return c.error(field, "expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  BpeOptions o;
  if (m.contains("unk_token") && m["unk_token"].is_string()) o.unk_token = m["unk_token"].get<std::string>();
  LW_ASSIGN_OR_RETURN(o.continuing_subword_prefix, get_string(m, "continuing_subword_prefix", "model", c, ""));
  LW_ASSIGN_OR_RETURN(o.end_of_word_suffix, get_string(m, "end_of_word_suffix", "model", c, ""));
  o.fuse_unk = get_bool(m, "fuse_unk", false);
  o.byte_fallback = get_bool(m, "byte_fallback", false);
  o.ignore_merges = get_bool(m, "ignore_merges", false);
  *kind = TokenizerKind::kBpe;
  LW_ASSIGN_OR_RETURN(auto bpe, BpeModel::create(std::move(vocab), merges, o, c.path));
  return std::unique_ptr<VocabModel>(std::move(bpe));
}

Status parse_normalizer(const json& j, const Ctx& c, std::vector<hf::NormalizerStep>* out) {
  if (j.is_null()) return Status::ok();
  std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const json& s : j.value("normalizers", json::array())) LW_TRY(parse_normalizer(s, c, out));
  } else if (type == "BertNormalizer") {
    hf::BertNormalizer b;
    b.clean_text = get_bool(j, "clean_text", true);
    b.handle_chinese_chars = get_bool(j, "handle_chinese_chars", true);
    b.lowercase = get_bool(j, "lowercase", true);
    b.strip_accents = get_bool(j, "strip_accents", b.lowercase);
    out->push_back(b);
  } else if (type == "Lowercase") {
    out->push_back(hf::Lowercase{});
  } else if (type == "NFD") {
    out->push_back(hf::Nfd{});
  } else if (type == "StripAccents") {
    out->push_back(hf::StripAccents{});
  } else if (type == "Prepend") {
    LW_ASSIGN_OR_RETURN(std::string p, get_string(j, "prepend", "normalizer", c));
    out->push_back(hf::Prepend{p});
  } else if (type == "Replace") {
    if (!j.contains("pattern") || !j["pattern"].contains("String"))
      return unsupported(c.path + ": normalizer Replace: only string patterns are supported");
    LW_ASSIGN_OR_RETURN(std::string content, get_string(j, "content", "normalizer", c));
    out->push_back(hf::Replace{j["pattern"]["String"].get<std::string>(), content});
  } else if (type == "Strip") {
    out->push_back(hf::Strip{get_bool(j, "strip_left", true), get_bool(j, "strip_right", true)});
  } else {
    return unsupported(c.path + ": normalizer type '" + type + "' is not supported");
  }
  return Status::ok();
}

Status parse_pre_tokenizer(const json& j, const Ctx& c, std::vector<hf::PreTokenizerStep>* out) {
  if (j.is_null()) return Status::ok();
  std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const json& s : j.value("pretokenizers", json::array())) LW_TRY(parse_pre_tokenizer(s, c, out));
  } else if (type == "BertPreTokenizer") {
    out->push_back(hf::BertPreTokenizer{});
  } else if (type == "WhitespaceSplit") {
    out->push_back(hf::WhitespaceSplit{});
  } else if (type == "ByteLevel") {
    out->push_back(hf::ByteLevel{get_bool(j, "add_prefix_space", false), get_bool(j, "use_regex", true)});
  } else if (type == "Metaspace") {
    hf::Metaspace m;
    LW_ASSIGN_OR_RETURN(m.replacement, get_string(j, "replacement", "pre_tokenizer", c, m.replacement));
    std::string scheme = j.value("prepend_scheme", get_bool(j, "add_prefix_space", true) ? "always" : "never");
    if (scheme == "first") m.prepend_scheme = hf::Metaspace::Prepend::kFirst;
    else if (scheme == "never") m.prepend_scheme = hf::Metaspace::Prepend::kNever;
    m.split = get_bool(j, "split", true);
    out->push_back(m);
  } else {
    return unsupported(c.path + ": pre_tokenizer type '" + type + "' is not supported");
  }
  return Status::ok();
}

Status parse_decoder(const json& j, const Ctx& c, std::vector<hf::DecoderStep>* out) {
  std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const json& s : j.value("decoders", json::array())) LW_TRY(parse_decoder(s, c, out));
  } else if (type == "ByteLevel") {
    out->push_back(hf::ByteLevelDecoder{});
  } else if (type == "WordPiece") {
    out->push_back(hf::WordPieceDecoder{j.value("prefix", "##"), get_bool(j, "cleanup", true)});
  } else if (type == "Replace") {
    if (!j.contains("pattern") || !j["pattern"].contains("String"))
      return unsupported(c.path + ": decoder Replace: only string patterns are supported");
    out->push_back(hf::ReplaceDecoder{j["pattern"]["String"].get<std::string>(), j.value("content", "")});
  } else if (type == "ByteFallback") {
    out->push_back(hf::ByteFallbackDecoder{});
  } else if (type == "Fuse") {
    out->push_back(hf::FuseDecoder{});
  } else if (type == "Strip") {
    out->push_back(hf::StripDecoder{j.value("content", " "), j.value("start", size_t(0)), j.value("stop", size_t(0))});
  } else if (type == "Metaspace") {
    hf::MetaspaceDecoder m;
    m.replacement = j.value("replacement", m.replacement);
    m.prepend = j.value("prepend_scheme", get_bool(j, "add_prefix_space", true) ? "always" : "never") != "never";
    out->push_back(m);
  } else {
    return unsupported(c.path + ": decoder type '" + type + "' is not supported");
  }
  return Status::ok();
}

Result<std::vector<hf::TemplatePiece>> parse_template(const json& items, const json& specials, const Ctx& c) {
  std::vector<hf::TemplatePiece> out;
  for (const json& item : items) {
    if (item.contains("Sequence")) {
      const json& s = item["Sequence"];
      out.push_back({s.value("id", "A") == "B" ? 1 : 0, {}, s.value("type_id", 0)});
    } else if (item.contains("SpecialToken")) {
      const json& s = item["SpecialToken"];
      std::string name = s.value("id", "");
      if (!specials.contains(name) || !specials[name].contains("ids"))
        return c.error("post_processor.special_tokens", "'" + name + "' is not defined");
      out.push_back({-1, specials[name]["ids"].get<std::vector<int32_t>>(), s.value("type_id", 0)});
    } else {
      return c.error("post_processor", "template item is neither Sequence nor SpecialToken");
    }
  }
  return out;
}

Status parse_post(const json& j, const Ctx& c, const Vocab& vocab, hf::PostProcessor* out) {
  if (j.is_null()) return Status::ok();
  std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const json& s : j.value("processors", json::array())) LW_TRY(parse_post(s, c, vocab, out));
  } else if (type == "TemplateProcessing") {
    const json specials = j.value("special_tokens", json::object());
    LW_ASSIGN_OR_RETURN(out->single, parse_template(j.value("single", json::array()), specials, c));
    LW_ASSIGN_OR_RETURN(out->pair, parse_template(j.value("pair", json::array()), specials, c));
  } else if (type == "BertProcessing") {
    if (!j.contains("cls") || !j.contains("sep")) return c.error("post_processor", "BertProcessing needs cls and sep");
    int32_t cls = j["cls"][1].get<int32_t>(), sep = j["sep"][1].get<int32_t>();
    out->single = {{-1, {cls}, 0}, {0, {}, 0}, {-1, {sep}, 0}};
    out->pair = {{-1, {cls}, 0}, {0, {}, 0}, {-1, {sep}, 0}, {1, {}, 1}, {-1, {sep}, 1}};
  } else if (type == "ByteLevel") {
    out->byte_level_trim_offsets = get_bool(j, "trim_offsets", true);
    out->byte_level_add_prefix_space = get_bool(j, "add_prefix_space", true);
  } else {
    return unsupported(c.path + ": post_processor type '" + type + "' is not supported");
  }
  return Status::ok();
}

Status parse_added(const json& j, const Ctx& c, std::vector<AddedToken>* out) {
  if (j.is_null()) return Status::ok();
  if (!j.is_array()) return c.error("added_tokens", "expected an array");
  for (size_t i = 0; i < j.size(); ++i) {
    const json& t = j[i];
    std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer())
      return c.error(field, "expected an object with an integer id");
    AddedToken a;
    a.id = t["id"].get<int32_t>();
    LW_ASSIGN_OR_RETURN(a.content, get_string(t, "content", field, c));
    a.special = get_bool(t, "special", false);
    a.single_word = get_bool(t, "single_word", false);
    a.lstrip = get_bool(t, "lstrip", false);
    a.rstrip = get_bool(t, "rstrip", false);
    a.normalized = get_bool(t, "normalized", !a.special);
    out->push_back(std::move(a));
  }
  return Status::ok();
}

Result<HfTokenizerConfig> parse_root(const json& root, const Ctx& c) {
  if (!root.is_object()) return c.error("(root)", "expected a JSON object");
  HfTokenizerConfig cfg;
  cfg.source = c.path;
  LW_ASSIGN_OR_RETURN(cfg.model, parse_model(root, c, &cfg.kind));
  LW_TRY(parse_added(root.value("added_tokens", json()), c, &cfg.added));
  LW_TRY(parse_normalizer(root.value("normalizer", json()), c, &cfg.normalizer));
  LW_TRY(parse_pre_tokenizer(root.value("pre_tokenizer", json()), c, &cfg.pre_tokenizer));
  LW_TRY(parse_post(root.value("post_processor", json()), c, cfg.model->vocab(), &cfg.post));
  const json dec = root.value("decoder", json());
  cfg.has_decoder = !dec.is_null();
  if (cfg.has_decoder) LW_TRY(parse_decoder(dec, c, &cfg.decoder));
  for (const auto& p : cfg.pre_tokenizer)
    if (std::holds_alternative<hf::ByteLevel>(p) && cfg.kind == TokenizerKind::kBpe)
      cfg.kind = TokenizerKind::kByteLevelBpe;
  return cfg;
}

}  // namespace

Result<HfTokenizerConfig> parse_tokenizer_json(const std::string& path) {
  LW_ASSIGN_OR_RETURN(std::string text, read_file(path, size_t(1) << 30));
  size_t bad = unicode::find_invalid_utf8(text);
  LW_CHECK(bad == std::string::npos, path + ": not valid UTF-8 at byte " + std::to_string(bad));
  LW_TRY(check_depth(text, path));
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    return invalid_argument(path + ": not valid JSON (" + e.what() + ")");
  }
  try {
    return parse_root(root, Ctx{path});
  } catch (const json::exception& e) {
    // A field of the wrong JSON type deep inside a stage description.
    return invalid_argument(path + ": unexpected value (" + e.what() + ")");
  }
}

}  // namespace lw::tokenize_io
