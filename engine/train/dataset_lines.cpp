// LineReader and the small text helpers the dataset readers share. Files are read in
// 256 KiB chunks and a line is accumulated only up to the limit, so memory stays bounded
// whatever the file holds.
#include "engine/train/dataset_lines.h"

#include <cerrno>
#include <cstring>

namespace lw::train {

namespace {
constexpr size_t kChunkBytes = size_t(256) << 10;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}
}  // namespace

int64_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07;
    } else {
      return int64_t(i);  // continuation byte first, C0/C1 overlong lead, or F5..FF
    }
    if (i + len > n) return int64_t(i);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return int64_t(i);
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (overlong || surrogate || cp > 0x10FFFF) return int64_t(i);
    i += len;
  }
  return -1;
}

int64_t utf8_length(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::vector<std::string_view> split_on(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0, n = s.size();
  while (i < n) {
    while (i < n && is_space(s[i])) ++i;
    size_t start = i;
    while (i < n && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

Result<LineReader> LineReader::open(const std::string& path, size_t max_line_bytes) {
  LineReader r;
  r.source_ = path;
  r.max_line_ = max_line_bytes;
  r.file_.reset(std::fopen(path.c_str(), "rb"));
  if (!r.file_) {
    int err = errno;
    Status st(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
              path + ": cannot open (" + std::strerror(err) + ")");
    return st;
  }
  r.buf_.resize(kChunkBytes);
  LW_ASSIGN_OR_RETURN(size_t avail, r.fill());
  if (avail == 0) return invalid_argument(path + ": the file is empty");
  return r;
}

LineReader LineReader::from_text(std::string source, std::string text, size_t max_line_bytes) {
  LineReader r;
  r.source_ = std::move(source);
  r.max_line_ = max_line_bytes;
  r.buf_.assign(text.begin(), text.end());
  r.buf_end_ = r.buf_.size();
  r.eof_ = true;
  return r;
}

Result<size_t> LineReader::fill() {
  if (buf_pos_ < buf_end_ || eof_ || !file_) return buf_end_ - buf_pos_;
  size_t got = std::fread(buf_.data(), 1, buf_.size(), file_.get());
  if (got < buf_.size()) {
    if (std::ferror(file_.get()))
      return io_error(source_ + ": read error (" + std::strerror(errno) + ")");
    eof_ = true;
  }
  buf_pos_ = 0;
  buf_end_ = got;
  return got;
}

std::string LineReader::where() const {
  return where(line_no_);
}
std::string LineReader::where(int64_t line) const {
  return source_ + ":" + std::to_string(line);
}

Result<bool> LineReader::next() {
  line_.clear();
  bool any = false;
  while (true) {
    LW_ASSIGN_OR_RETURN(size_t avail, fill());
    if (avail == 0) break;
    any = true;
    const char* start = buf_.data() + buf_pos_;
    const void* nl = std::memchr(start, '\n', avail);
    size_t take = nl ? size_t(static_cast<const char*>(nl) - start) : avail;
    if (line_.size() + take > max_line_) {
      return invalid_argument(where(line_no_ + 1) + ": line is longer than " +
                              std::to_string(max_line_) +
                              " bytes (the limit for one line); is this a text data file?");
    }
    line_.append(start, take);
    buf_pos_ += take + (nl ? 1 : 0);
    if (nl) break;
  }
  if (!any) return false;
  ++line_no_;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_no_ == 1 && line_.compare(0, 3, "\xEF\xBB\xBF") == 0) line_.erase(0, 3);
  if (const void* z = std::memchr(line_.data(), '\0', line_.size())) {
    size_t col = size_t(static_cast<const char*>(z) - line_.data()) + 1;
    return invalid_argument(where() + ": NUL byte at byte column " + std::to_string(col) +
                            "; this looks like a binary file, not text");
  }
  int64_t bad = find_invalid_utf8(line_);
  if (bad >= 0) {
    return invalid_argument(where() + ": invalid UTF-8 at byte column " + std::to_string(bad + 1) +
                            "; save the file as UTF-8");
  }
  return true;
}

}  // namespace lw::train
