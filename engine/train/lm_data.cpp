// Pretraining corpus: listing, UTF-8 check, parallel tokenization and chunk packing
// (see lm_data.h).
#include "engine/train/lm_data.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace lw::train {
namespace fs = std::filesystem;

Result<std::vector<std::string>> list_text_files(const std::vector<std::string>& inputs) {
  LW_CHECK(!inputs.empty(), "no text given (--text FILE|DIR)");
  std::vector<std::string> out;
  for (const auto& in : inputs) {
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (ec || !fs::exists(st)) return not_found(in + ": no such file or folder");
    if (fs::is_regular_file(st)) {
      out.push_back(in);
      continue;
    }
    LW_CHECK(fs::is_directory(st), in + ": neither a file nor a folder");
    std::vector<std::string> found;
    auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
    if (ec) return io_error(in + ": cannot list (" + ec.message() + ")");
    for (auto end = fs::recursive_directory_iterator(); it != end; it.increment(ec)) {
      if (ec) return io_error(in + ": cannot list (" + ec.message() + ")");
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) found.push_back(it->path().string());
    }
    LW_CHECK(!found.empty(), in + ": the folder holds no files");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

Status check_utf8(const std::string& source, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok)
      return invalid_argument(source + ": not UTF-8 text (invalid byte 0x" +
                              [&] { char b[3]; std::snprintf(b, 3, "%02X", c); return std::string(b); }() +
                              " at byte offset " + std::to_string(i) + ")");
    i += len;
  }
  return Status::ok();
}

namespace {

Result<std::vector<int32_t>> tokenize_file(const std::string& path, const Tokenizer& tok, int64_t* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  *bytes = int64_t(text.size());
  LW_TRY(check_utf8(path, text));
  auto enc = tok.encode(text, false);
  if (!enc.is_ok()) return enc.status().with_context(path);
  return std::move(enc->ids);
}

}  // namespace

Result<LmCorpus> tokenize_corpus(const std::vector<std::string>& files, const Tokenizer& tok,
                                 const std::function<bool()>& cancel) {
  LW_CHECK(!files.empty(), "no text files to read");
  const int32_t eos = tok.special_tokens().eos;
  LW_CHECK(eos >= 0, "the tokenizer has no end-of-text token to join documents with");
  const size_t n = files.size();
  std::vector<std::vector<int32_t>> docs(n);
  std::vector<int64_t> bytes(n, 0);
  std::vector<Status> errors(n, Status::ok());
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex cancel_mu;  // the caller's cancel callback need not be thread-safe
  auto work = [&] {
    for (size_t i; !stop.load() && (i = next.fetch_add(1)) < n;) {
      if (cancel) {
        std::lock_guard<std::mutex> lock(cancel_mu);
        if (cancel()) {
          stop = true;
          errors[i] = cancelled("tokenization cancelled");
          break;
        }
      }
      auto r = tokenize_file(files[i], tok, &bytes[i]);
      if (!r.is_ok()) {
        errors[i] = r.status();
        stop = true;
      } else {
        docs[i] = std::move(*r);
      }
    }
  };
  const size_t n_threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, std::min<size_t>(n, 16));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (!e.is_ok()) return e;
  LmCorpus c;
  c.files = files;
  size_t total = 0;
  for (const auto& d : docs) total += d.size() + 1;
  c.tokens.reserve(total);
  for (size_t i = 0; i < n; ++i) {
    c.doc_tokens.push_back(int64_t(docs[i].size()));
    c.tokens.insert(c.tokens.end(), docs[i].begin(), docs[i].end());
    c.tokens.push_back(eos);
    c.bytes += bytes[i];
  }
  LW_CHECK(c.bytes > 0, "the corpus is empty (" + std::to_string(n) + " file(s), 0 bytes of text)");
  return c;
}

Result<LmChunks> pack_chunks(const std::vector<int32_t>& tokens, int64_t context, double val_fraction) {
  LW_CHECK(context >= 2, "the context length must be at least 2 tokens, got " + std::to_string(context));
  LW_CHECK(val_fraction >= 0 && val_fraction < 1,
           "the validation fraction must be in [0, 1), got " + std::to_string(val_fraction));
  const int64_t N = int64_t(tokens.size());
  const int64_t n = N / context;
  LW_CHECK(n >= 1, "the context (" + std::to_string(context) + " tokens) is larger than the corpus (" +
                       std::to_string(N) + " tokens)");
  int64_t n_val = val_fraction > 0 ? std::max<int64_t>(1, std::llround(double(n) * val_fraction)) : 0;
  LW_CHECK(n - n_val >= 1, "the corpus gives " + std::to_string(n) + " chunk(s) of " +
                               std::to_string(context) + " tokens: none is left for training after " +
                               std::to_string(n_val) + " validation chunk(s)");
  LmChunks c;
  c.context = context;
  c.n_train = n - n_val;
  c.n_val = n_val;
  c.train.assign(tokens.begin(), tokens.begin() + c.n_train * context);
  c.val.assign(tokens.begin() + c.n_train * context, tokens.begin() + n * context);
  c.dropped_tokens = N - n * context;
  return c;
}

}  // namespace lw::train
