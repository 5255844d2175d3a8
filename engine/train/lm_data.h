// Language-model pretraining data: text files read, checked to be UTF-8, tokenized once
// (each file one document, every document followed by the end-of-text token), packed into
// contiguous chunks of the context length (the tail that does not fill a chunk is dropped, as
// transformers' run_clm group_texts does) and split: the last val fraction of the chunks is
// held out, so validation text never appears in training.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/tokenize/tokenizer.h"

namespace lw::train {

// FILE|DIR arguments expanded: a folder gives its regular files (recursively, hidden entries
// skipped) sorted by path; a file is taken as it is. Errors: a missing path, no files at all.
Result<std::vector<std::string>> list_text_files(const std::vector<std::string>& inputs);

// OK when `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF); else an
// error naming `source` and the byte offset of the first bad sequence.
Status check_utf8(const std::string& source, std::string_view text);

struct LmCorpus {
  std::vector<std::string> files;    // the documents, in order
  std::vector<int64_t> doc_tokens;   // tokens of each document (its EOS not counted)
  std::vector<int32_t> tokens;       // every document followed by EOS
  int64_t bytes = 0;                 // text read
};

// Reads, checks and tokenizes `files` (in parallel over files; the order of the result is the
// order of `files`). `cancel` (may be empty) is polled between files.
Result<LmCorpus> tokenize_corpus(const std::vector<std::string>& files, const Tokenizer& tok,
                                 const std::function<bool()>& cancel = {});

// Chunks of `context` tokens, row-major: chunk i is tokens [i*T, (i+1)*T) of the corpus.
struct LmChunks {
  int64_t context = 0;                // T
  int64_t n_train = 0, n_val = 0;
  std::vector<int32_t> train, val;    // [n_train, T], [n_val, T]
  int64_t dropped_tokens = 0;         // the tail shorter than T
};

// val = the last round(n * val_fraction) chunks (at least one when the fraction is > 0).
// Errors: a context larger than the corpus, no training chunk left.
Result<LmChunks> pack_chunks(const std::vector<int32_t>& tokens, int64_t context, double val_fraction);

}  // namespace lw::train
