// SpamAssassin mails -> one-line text rows. A small MIME reader, not a full one: the
// corpus is 2002-era mail (mbox "From " lines, multipart, quoted-printable, Latin-1, HTML
// spam), and what matters for a classifier is the words a reader would see.
#include "engine/train/sample_data.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/train/dataset_labels.h"
#include "engine/train/dataset_lines.h"

namespace lw::train {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// Header fields (names lower-cased, folded lines joined) and the body that follows.
struct Part {
  std::map<std::string, std::string> headers;
  std::string body;
  std::string get(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string normalize_newlines(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      out += '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      out += raw[i];
    }
  }
  return out;
}

// Splits at the first blank line; a text without header lines is all body.
Part split_part(const std::string& text) {
  Part part;
  size_t pos = 0;
  std::string last;
  bool any_header = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.empty()) {
      pos = end + 1;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      part.headers[last] += " " + std::string(trim(line));
    } else if (starts_with_ci(line, "from ") && !any_header) {
      // mbox separator line before the headers
    } else {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0 || line.substr(0, colon).find(' ') != std::string_view::npos) {
        if (!any_header) return Part{{}, text};  // not a header block at all
        pos = end + 1;
        continue;
      }
      last = lower(line.substr(0, colon));
      part.headers[last] = std::string(trim(line.substr(colon + 1)));
      any_header = true;
    }
    pos = end + 1;
  }
  part.body = pos < text.size() ? text.substr(pos) : std::string();
  return part;
}

// "text/html; charset=\"x\"; boundary=y" -> type "text/html" and lower-cased parameter names.
std::string content_param(const std::string& value, const std::string& name) {
  std::string low = lower(value);
  size_t pos = 0;
  while ((pos = low.find(name + "=", pos)) != std::string::npos) {
    bool at_start = pos == 0 || low[pos - 1] == ';' || std::isspace(static_cast<unsigned char>(low[pos - 1]));
    pos += name.size() + 1;
    if (!at_start) continue;
    if (pos < value.size() && value[pos] == '"') {
      size_t end = value.find('"', pos + 1);
      return value.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    }
    size_t end = value.find_first_of("; \t", pos);
    return value.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  }
  return {};
}

std::string content_type(const Part& p) {
  std::string v = lower(trim(p.get("content-type")));
  v = v.substr(0, v.find(';'));
  return std::string(trim(v));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode_quoted_printable(std::string_view s, bool underscore_space = false) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=' && i + 1 < s.size() && s[i + 1] == '\n') {
      ++i;  // soft line break
    } else if (c == '=' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += char(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (c == '_' && underscore_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string decode_base64(std::string_view s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else continue;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// Valid UTF-8 stays; anything else is read as Latin-1 (the corpus's usual charset).
std::string to_utf8(std::string bytes) {
  if (find_invalid_utf8(bytes) < 0) return bytes;
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += char(c);
    } else {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

// RFC 2047: =?charset?Q|B?text?= words in a header; blanks between two words vanish.
std::string decode_header_words(const std::string& value) {
  std::string out;
  size_t pos = 0;
  bool last_was_word = false;
  while (pos < value.size()) {
    size_t start = value.find("=?", pos);
    if (start == std::string::npos) {
      out += value.substr(pos);
      break;
    }
    size_t q1 = value.find('?', start + 2);
    size_t q2 = q1 == std::string::npos ? q1 : value.find('?', q1 + 1);
    size_t end = q2 == std::string::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string::npos || q2 != q1 + 2) {
      out += value.substr(pos);
      break;
    }
    std::string between = value.substr(pos, start - pos);
    if (!(last_was_word && trim(between).empty())) out += between;
    char enc = char(std::toupper(static_cast<unsigned char>(value[q1 + 1])));
    std::string_view text(value.data() + q2 + 1, end - q2 - 1);
    out += to_utf8(enc == 'B' ? decode_base64(text) : decode_quoted_printable(text, true));
    last_was_word = true;
    pos = end + 2;
  }
  return out;
}

// Drops tags, comments, <script> and <style> blocks; decodes the common entities.
std::string strip_html(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  std::string low = lower(html);
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] == '<') {
      size_t close;
      if (low.compare(i, 4, "<!--") == 0) {
        close = low.find("-->", i);
        close = close == std::string::npos ? html.size() : close + 3;
      } else if (low.compare(i, 7, "<script") == 0 || low.compare(i, 6, "<style") == 0) {
        std::string tag = low.compare(i, 7, "<script") == 0 ? "</script" : "</style";
        close = low.find(tag, i);
        close = close == std::string::npos ? html.size() : low.find('>', close);
        close = close == std::string::npos ? html.size() : close + 1;
      } else {
        close = low.find('>', i);
        close = close == std::string::npos ? html.size() : close + 1;
      }
      out += ' ';
      i = close;
    } else if (html[i] == '&') {
      size_t semi = html.find(';', i);
      std::string ent = semi != std::string::npos && semi - i <= 8 ? low.substr(i + 1, semi - i - 1) : "";
      static const std::map<std::string, std::string> kNamed = {
          {"nbsp", " "}, {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
          {"copy", "\xC2\xA9"}, {"reg", "\xC2\xAE"}};
      auto it = kNamed.find(ent);
      if (it != kNamed.end()) {
        out += it->second;
        i = semi + 1;
      } else if (ent.size() > 1 && ent[0] == '#') {
        long cp = ent[1] == 'x' ? std::strtol(ent.c_str() + 2, nullptr, 16) : std::strtol(ent.c_str() + 1, nullptr, 10);
        if (cp >= 32 && cp < 127) out += char(cp);
        else out += ' ';
        i = semi + 1;
      } else {
        out += html[i++];
      }
    } else {
      out += html[i++];
    }
  }
  return out;
}

// Control characters (C0, DEL, C1) and whitespace runs become one space.
std::string fold_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = true;  // drops leading blanks
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool blank = c <= 0x20 || c == 0x7F;
    if (c == 0xC2 && i + 1 < s.size()) {
      unsigned char d = static_cast<unsigned char>(s[i + 1]);
      if (d >= 0x80 && d <= 0xA0) {  // C1 controls and no-break space
        blank = true;
        ++i;
      }
    }
    if (blank) {
      if (!space) out += ' ';
      space = true;
    } else {
      out += char(c);
      space = false;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string decode_body(const Part& p) {
  std::string enc = lower(trim(p.get("content-transfer-encoding")));
  std::string bytes = p.body;
  if (enc == "quoted-printable") bytes = decode_quoted_printable(bytes);
  else if (enc == "base64") bytes = decode_base64(bytes);
  return to_utf8(std::move(bytes));
}

// Collects the readable text of a part: plain parts into `plain`, HTML parts into `html`.
void collect_text(const Part& p, int depth, std::string& plain, std::string& html) {
  std::string type = content_type(p);
  if (lower(p.get("content-disposition")).rfind("attachment", 0) == 0) return;
  if (type.rfind("multipart/", 0) == 0 && depth < 8) {
    std::string boundary = content_param(p.get("content-type"), "boundary");
    if (boundary.empty()) return;
    const std::string delim = "--" + boundary;
    std::istringstream in(p.body);
    std::string line, current;
    bool inside = false;
    auto flush = [&] {
      if (inside) collect_text(split_part(current), depth + 1, plain, html);
      current.clear();
    };
    while (std::getline(in, line)) {
      std::string_view t = trim(line);
      if (t == delim || t == delim + "--") {
        flush();
        inside = t == delim;
        if (!inside) break;
      } else if (inside) {
        current += line;
        current += '\n';
      }
    }
    flush();
    return;
  }
  if (type.empty() || type == "text/plain") plain += decode_body(p) + "\n";
  else if (type == "text/html") html += strip_html(decode_body(p)) + "\n";
  else if (type == "message/rfc822" && depth < 8) collect_text(split_part(p.body), depth + 1, plain, html);
}

}  // namespace

Result<MailText> parse_mail(std::string_view raw, const std::string& source) {
  if (std::all_of(raw.begin(), raw.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
    return invalid_argument(source + ": the message is empty");
  Part top = split_part(normalize_newlines(raw));
  MailText mail;
  mail.subject = fold_whitespace(decode_header_words(to_utf8(top.get("subject"))));
  std::string plain, html;
  collect_text(top, 0, plain, html);
  // A plain part that only says "view this in HTML" loses to a real HTML part.
  std::string text = fold_whitespace(plain);
  std::string from_html = fold_whitespace(html);
  if (text.size() < 40 && from_html.size() > text.size()) text = from_html;
  if (text.empty() && top.headers.empty()) text = fold_whitespace(to_utf8(std::string(raw)));
  mail.body = std::move(text);
  return mail;
}

std::string mail_to_line(const MailText& mail, size_t max_chars) {
  std::string line = mail.subject.empty() ? mail.body
                     : mail.body.empty()  ? mail.subject
                                          : mail.subject + " | " + mail.body;
  if (utf8_length(line) <= int64_t(max_chars)) return line;
  // Cut at max_chars code points, then back to the last space.
  size_t bytes = 0;
  for (size_t cps = 0; bytes < line.size() && cps < max_chars; ++cps) {
    ++bytes;
    while (bytes < line.size() && (static_cast<unsigned char>(line[bytes]) & 0xC0) == 0x80) ++bytes;
  }
  size_t space = line.rfind(' ', bytes);
  if (space != std::string::npos && space > bytes / 2) bytes = space;
  line.resize(bytes);
  return line;
}

namespace {

Result<std::string> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The raw message of one corpus entry: <id>.txt, or the "text" field of <id>.json.
Result<std::string> read_message(const fs::path& path) {
  LW_ASSIGN_OR_RETURN(std::string bytes, read_whole(path));
  if (path.extension() != ".json") return bytes;
  auto doc = nlohmann::json::parse(bytes, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("text") || !doc["text"].is_string())
    return invalid_argument(path.string() + ": expected a JSON object with a string field \"text\"");
  return doc["text"].get<std::string>();
}

struct Row {
  std::string text, label, source;
};

std::string tsv_of(const std::vector<Row>& rows, const std::vector<size_t>& order) {
  std::string out = "text\tlabel\tsource\n";
  for (size_t i : order) out += rows[i].text + "\t" + rows[i].label + "\t" + rows[i].source + "\n";
  return out;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Result<SpamAssassinSummary> convert_spam_assassin(const std::string& data_dir,
                                                  const std::string& out_dir,
                                                  const SpamAssassinOptions& opts) {
  static const std::vector<std::pair<std::string, std::string>> kGroups = {
      {"easy-ham-1", "ham"}, {"easy-ham-2", "ham"}, {"hard-ham-1", "ham"},
      {"spam-1", "spam"},    {"spam-2", "spam"}};
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec))
    return not_found(data_dir + ": not a folder (expected the package's data/ folder)");
  SpamAssassinSummary sum;
  std::vector<Row> rows;
  std::set<std::string> seen;
  for (const auto& [group, label] : kGroups) {
    fs::path dir = fs::path(data_dir) / group;
    if (!fs::is_directory(dir, ec)) continue;
    sum.groups.push_back(group);
    std::map<std::string, fs::path> by_id;  // sorted ids; .txt wins over .json
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      fs::path p = entry.path();
      std::string ext = p.extension().string();
      if (ext != ".txt" && ext != ".json") continue;
      auto [it, inserted] = by_id.emplace(p.stem().string(), p);
      if (!inserted && ext == ".txt") it->second = p;
    }
    for (const auto& [id, path] : by_id) {
      LW_ASSIGN_OR_RETURN(std::string raw, read_message(path));
      ++sum.n_files;
      auto mail = parse_mail(raw, path.string());
      std::string text = mail.is_ok() ? mail_to_line(mail.value(), opts.max_chars) : "";
      if (text.empty()) {
        ++sum.n_empty;
        continue;
      }
      if (!seen.insert(text).second) {
        ++sum.n_duplicates;
        continue;
      }
      (label == "ham" ? sum.n_ham : sum.n_spam)++;
      std::string short_id = id.substr(0, id.find('.'));
      rows.push_back({std::move(text), label, group + "/" + short_id});
    }
  }
  if (sum.groups.empty())
    return not_found(data_dir + ": none of the group folders easy-ham-1, easy-ham-2, hard-ham-1, "
                                "spam-1, spam-2 is there");
  if (sum.n_ham == 0 || sum.n_spam == 0)
    return invalid_argument(data_dir + ": need both ham and spam messages (found " +
                            std::to_string(sum.n_ham) + " ham, " + std::to_string(sum.n_spam) + " spam)");
  std::vector<int> strata;
  for (const Row& r : rows) strata.push_back(r.label == "spam" ? 1 : 0);
  LW_ASSIGN_OR_RETURN(auto splits, assign_splits(int64_t(rows.size()), &strata,
                                                 opts.validation_fraction, opts.test_fraction, opts.seed));
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  uint64_t state = opts.seed ^ 0x5A5A5A5Aull;  // rows shuffled so a file is not all ham first
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[splitmix64(state) % i]);
  std::vector<size_t> parts[3];
  for (size_t i : order) parts[int(splits[i])].push_back(i);
  sum.n_train = int64_t(parts[0].size());
  sum.n_validation = int64_t(parts[1].size());
  sum.n_test = int64_t(parts[2].size());
  fs::create_directories(out_dir, ec);
  if (ec) return io_error(out_dir + ": cannot create the folder (" + ec.message() + ")");
  const char* names[3] = {"train.tsv", "valid.tsv", "test.tsv"};
  for (int s = 0; s < 3; ++s) {
    if (parts[s].empty()) continue;
    LW_TRY(write_file_atomic((fs::path(out_dir) / names[s]).string(), tsv_of(rows, parts[s])));
  }
  return sum;
}

}  // namespace lw::train
