// The pre-tokenizer.json formats: BERT's vocab.txt and GPT-2's vocab.json +
// merges.txt, built into the same pipeline transformers' converters build
// (BertTokenizerFast, GPT2TokenizerFast), plus tokenizer_config.json and the
// file reader every loader shares.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/tokenize/loaders.h"

namespace lw::tokenize_io {
namespace fs = std::filesystem;
using json = nlohmann::json;

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return not_found(path + ": cannot read (" + ec.message() + ")");
  if (size > max_bytes)
    return invalid_argument(path + ": file of " + std::to_string(size) + " bytes is larger than the " +
                            std::to_string(max_bytes) + " bytes a tokenizer file may have");
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path + ": cannot open");
  std::string data(size, '\0');
  in.read(data.data(), std::streamsize(size));
  if (size_t(in.gcount()) != size) return io_error(path + ": short read");
  return data;
}

namespace {
std::optional<std::string> token_name(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}
std::optional<bool> flag(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

// Strips trailing white space, as the tokenizers crate reads vocab.txt lines.
std::string trim_end(std::string s) {
  while (!s.empty()) {
    size_t p = s.size() - 1;
    while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
    if (!unicode::is_white_space(unicode::decode_utf8(s, p).first)) break;
    s.resize(p);
  }
  return s;
}

void add_if_present(const Vocab& v, const std::string& name, std::vector<AddedToken>* added) {
  auto id = v.find(name);
  if (!id) return;
  for (const auto& a : *added)
    if (a.id == *id) return;
  AddedToken t;
  t.content = name;
  t.id = *id;
  t.special = true;
  added->push_back(t);
}
}  // namespace

Result<TokenizerConfigFile> read_tokenizer_config(const std::string& folder) {
  TokenizerConfigFile cfg;
  std::string path = (fs::path(folder) / "tokenizer_config.json").string();
  if (!fs::exists(path)) return cfg;
  LW_ASSIGN_OR_RETURN(std::string text, read_file(path, size_t(64) << 20));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(path + ": not a JSON object");
  cfg.do_lower_case = flag(j, "do_lower_case");
  cfg.strip_accents = flag(j, "strip_accents");
  cfg.tokenize_chinese_chars = flag(j, "tokenize_chinese_chars");
  cfg.add_prefix_space = flag(j, "add_prefix_space");
  cfg.add_bos_token = flag(j, "add_bos_token");
  cfg.add_eos_token = flag(j, "add_eos_token");
  cfg.bos = token_name(j, "bos_token");
  cfg.eos = token_name(j, "eos_token");
  cfg.unk = token_name(j, "unk_token");
  cfg.pad = token_name(j, "pad_token");
  cfg.cls = token_name(j, "cls_token");
  cfg.sep = token_name(j, "sep_token");
  cfg.mask = token_name(j, "mask_token");
  return cfg;
}

SpecialTokens resolve_special_tokens(const TokenizerConfigFile& cfg,
                                     const std::function<std::optional<int32_t>(const std::string&)>& find) {
  auto pick = [&](const std::optional<std::string>& named, std::initializer_list<const char*> guesses) {
    if (named) return find(*named).value_or(-1);
    for (const char* g : guesses)
      if (auto id = find(g)) return *id;
    return -1;
  };
  SpecialTokens s;
  s.bos = pick(cfg.bos, {"<s>", "<|begin_of_text|>", "<bos>", "<|endoftext|>"});
  s.eos = pick(cfg.eos, {"</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"});
  s.unk = pick(cfg.unk, {"<unk>", "[UNK]", "<|endoftext|>"});
  s.pad = pick(cfg.pad, {"<pad>", "[PAD]"});
  s.cls = pick(cfg.cls, {"[CLS]", "<cls>"});
  s.sep = pick(cfg.sep, {"[SEP]", "<sep>"});
  s.mask = pick(cfg.mask, {"[MASK]", "<mask>"});
  return s;
}

Result<HfTokenizerConfig> bert_from_vocab_txt(const std::string& path, const TokenizerConfigFile& cfg) {
  LW_ASSIGN_OR_RETURN(std::string text, read_file(path, size_t(256) << 20));
  Vocab vocab;
  size_t line_no = 0;
  bool has_upper = false;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string token = trim_end(text.substr(pos, nl - pos));
    ++line_no;
    size_t bad = unicode::find_invalid_utf8(token);
    LW_CHECK(bad == std::string::npos, path + ": line " + std::to_string(line_no) +
                                           ": token is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    int32_t id = int32_t(vocab.to_token.size());
    if (!token.empty() && token[0] != '[')
      for (char ch : token) has_upper |= (ch >= 'A' && ch <= 'Z');
    vocab.to_id[token] = id;  // a repeated token keeps its last id, as the crate does
    vocab.to_token.push_back(std::move(token));
    pos = nl + 1;
  }
  LW_CHECK(!vocab.to_token.empty(), path + ": empty vocabulary");
  bool lower;
  std::string folder = fs::path(path).parent_path().filename().string();
  if (cfg.do_lower_case) lower = *cfg.do_lower_case;
  else if (folder.find("uncased") != std::string::npos) lower = true;
  else if (folder.find("cased") != std::string::npos) lower = false;
  else lower = !has_upper;

  HfTokenizerConfig c;
  c.kind = TokenizerKind::kWordPiece;
  c.source = path;
  hf::BertNormalizer norm;
  norm.lowercase = lower;
  norm.strip_accents = cfg.strip_accents.value_or(lower);
  norm.handle_chinese_chars = cfg.tokenize_chinese_chars.value_or(true);
  c.normalizer = {norm};
  c.pre_tokenizer = {hf::BertPreTokenizer{}};
  c.decoder = {hf::WordPieceDecoder{"##", true}};
  for (const char* name : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) add_if_present(vocab, name, &c.added);
  for (const auto& n : {cfg.pad, cfg.unk, cfg.cls, cfg.sep, cfg.mask})
    if (n) add_if_present(vocab, *n, &c.added);
  c.special = resolve_special_tokens(cfg, [&](const std::string& n) { return vocab.find(n); });
  LW_CHECK(c.special.cls >= 0 && c.special.sep >= 0, path + ": the vocabulary has no [CLS] / [SEP] token");
  c.post.single = {{-1, {c.special.cls}, 0}, {0, {}, 0}, {-1, {c.special.sep}, 0}};
  c.post.pair = {{-1, {c.special.cls}, 0}, {0, {}, 0}, {-1, {c.special.sep}, 0}, {1, {}, 1},
                 {-1, {c.special.sep}, 1}};
  std::string unk = cfg.unk.value_or("[UNK]");
  LW_ASSIGN_OR_RETURN(auto model, WordPieceModel::create(std::move(vocab), unk, "##", 100, path));
  c.model = std::move(model);
  return c;
}

Result<HfTokenizerConfig> gpt2_from_vocab_merges(const std::string& vocab_path, const std::string& merges_path,
                                                 const TokenizerConfigFile& cfg) {
  LW_ASSIGN_OR_RETURN(std::string vtext, read_file(vocab_path, size_t(256) << 20));
  size_t bad = unicode::find_invalid_utf8(vtext);
  LW_CHECK(bad == std::string::npos, vocab_path + ": not valid UTF-8 at byte " + std::to_string(bad));
  json j = json::parse(vtext, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument(vocab_path + ": not a JSON object of token: id");
  Vocab vocab;
  for (auto& [token, id] : j.items()) {
    if (!id.is_number_integer()) return invalid_argument(vocab_path + ": '" + token + "': expected an integer id");
    LW_TRY(vocab.add(token, id.get<int32_t>(), vocab_path));
  }
  LW_ASSIGN_OR_RETURN(std::string mtext, read_file(merges_path, size_t(256) << 20));
  std::vector<std::pair<std::string, std::string>> merges;
  size_t line_no = 0;
  for (size_t pos = 0; pos < mtext.size();) {
    size_t nl = mtext.find('\n', pos);
    if (nl == std::string::npos) nl = mtext.size();
    std::string line = mtext.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    size_t sp = line.find(' ');
    LW_CHECK(sp != std::string::npos && sp > 0 && line.find(' ', sp + 1) == std::string::npos,
             merges_path + ": line " + std::to_string(line_no) + ": expected two tokens separated by one space");
    LW_CHECK(unicode::find_invalid_utf8(line) == std::string::npos,
             merges_path + ": line " + std::to_string(line_no) + ": not valid UTF-8");
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  HfTokenizerConfig c;
  c.kind = TokenizerKind::kByteLevelBpe;
  c.source = vocab_path;
  c.pre_tokenizer = {hf::ByteLevel{cfg.add_prefix_space.value_or(false), true}};
  c.decoder = {hf::ByteLevelDecoder{}};
  c.post.byte_level_trim_offsets = false;
  add_if_present(vocab, "<|endoftext|>", &c.added);
  for (const auto& n : {cfg.bos, cfg.eos, cfg.unk, cfg.pad})
    if (n) add_if_present(vocab, *n, &c.added);
  c.special = resolve_special_tokens(cfg, [&](const std::string& n) { return vocab.find(n); });
  BpeOptions o;  // GPT-2: no unk token, every byte is in the vocabulary
  LW_ASSIGN_OR_RETURN(auto model, BpeModel::create(std::move(vocab), merges, o, merges_path));
  c.model = std::move(model);
  return c;
}

}  // namespace lw::tokenize_io
