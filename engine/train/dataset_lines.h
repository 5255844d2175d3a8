// LineReader: the one way dataset files are read. It reads in fixed chunks, so a hostile
// file (a 10 MB single line, a binary blob) costs bounded memory and fails fast; every
// line is checked for UTF-8 and NUL bytes, and every error names "<file>:<line>".
// Shared by the classification (CSV/TSV/JSONL) and NER (CoNLL) readers.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace lw::train {

// A line longer than this is not text data; 1 MiB holds any sane example.
inline constexpr size_t kDefaultMaxLineBytes = size_t(1) << 20;

// Returns the 0-based byte offset of the first invalid UTF-8 sequence in `s` (overlongs,
// surrogates and code points above U+10FFFF are invalid), or -1 when `s` is valid.
int64_t find_invalid_utf8(std::string_view s);

// Number of Unicode code points in valid UTF-8 text.
int64_t utf8_length(std::string_view s);

// Splits on every `sep` (empty fields kept): "a\t\tb" -> {"a", "", "b"}.
std::vector<std::string_view> split_on(std::string_view s, char sep);

// Splits on runs of ASCII whitespace (space, tab, \v, \f); no empty fields.
std::vector<std::string_view> split_whitespace(std::string_view s);

// Strips ASCII whitespace at both ends.
std::string_view trim(std::string_view s);

class LineReader {
 public:
  // Opens a file; errors are "<path>: cannot open (...)" and "<path>: the file is empty".
  static Result<LineReader> open(const std::string& path,
                                 size_t max_line_bytes = kDefaultMaxLineBytes);
  // Reads from memory (tests, text pasted into the GUI); `source` names it in errors.
  static LineReader from_text(std::string source, std::string text,
                              size_t max_line_bytes = kDefaultMaxLineBytes);

  // Moves to the next line (terminator \n or \r\n removed, a leading BOM dropped) and
  // returns true, or false at the end of input. Errors name the file and the line.
  Result<bool> next();
  std::string_view line() const { return line_; }
  int64_t line_number() const { return line_no_; }  // 1-based; 0 before the first line
  const std::string& source() const { return source_; }
  // "<source>:<line>", the prefix of every error about the current line.
  std::string where() const;
  std::string where(int64_t line) const;

 private:
  LineReader() = default;
  Result<size_t> fill();  // refills the chunk buffer; returns the bytes now available

  std::string source_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_{nullptr, &std::fclose};
  std::vector<char> buf_;  // chunk buffer for files; the whole text for from_text
  size_t buf_pos_ = 0, buf_end_ = 0;
  bool eof_ = false;
  size_t max_line_ = kDefaultMaxLineBytes;
  std::string line_;
  int64_t line_no_ = 0;
};

}  // namespace lw::train
