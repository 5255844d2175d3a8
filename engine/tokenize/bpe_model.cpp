// BPE as the tokenizers crate runs it: each code point becomes a symbol (or its
// <0xXX> byte tokens with byte fallback, or <unk>), then the lowest-ranked merge
// is applied repeatedly through a priority queue keyed by (rank, position):
// O(n log n) per word, so a 100 KB word without spaces stays fast.
#include <cstdio>
#include <queue>

#include "engine/tokenize/unicode.h"
#include "engine/tokenize/vocab_model.h"

namespace lw {

Status Vocab::add(std::string token, int32_t id, const std::string& where) {
  LW_CHECK(id >= 0 && id < (1 << 24), where + ": token id " + std::to_string(id) + " is out of range");
  size_t bad = unicode::find_invalid_utf8(token);
  LW_CHECK(bad == std::string::npos,
           where + ": token with id " + std::to_string(id) + " is not valid UTF-8 (byte " +
               std::to_string(bad) + ")");
  if (size_t(id) >= to_token.size()) to_token.resize(size_t(id) + 1);
  LW_CHECK(to_token[id].empty() || to_token[id] == token,
           where + ": id " + std::to_string(id) + " is used by two tokens");
  auto [it, inserted] = to_id.emplace(token, id);
  LW_CHECK(inserted || it->second == id, where + ": token '" + token + "' appears twice");
  to_token[id] = std::move(token);
  return Status::ok();
}

Result<std::unique_ptr<BpeModel>> BpeModel::create(
    Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
    const std::string& source) {
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->vocab_ = std::move(vocab);
  m->opt_ = std::move(options);
  if (m->opt_.unk_token) {
    m->unk_id_ = m->vocab_.find(*m->opt_.unk_token);
    LW_CHECK(m->unk_id_.has_value(),
             source + ": unk_token '" + *m->opt_.unk_token + "' is not in the vocabulary");
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    m->byte_ids_[b] = m->vocab_.find(name).value_or(-1);
  }
  const size_t prefix_len = m->opt_.continuing_subword_prefix.size();
  m->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    std::string where = source + ": merge " + std::to_string(rank + 1) + " ('" + a + " " + b + "')";
    auto ia = m->vocab_.find(a), ib = m->vocab_.find(b);
    LW_CHECK(ia, where + " names '" + a + "', which is not in the vocabulary");
    LW_CHECK(ib, where + " names '" + b + "', which is not in the vocabulary");
    std::string merged = a + (b.compare(0, prefix_len, m->opt_.continuing_subword_prefix) == 0
                                  ? b.substr(prefix_len) : b);
    auto inew = m->vocab_.find(merged);
    LW_CHECK(inew, where + " makes '" + merged + "', which is not in the vocabulary");
    m->merges_.emplace(key(*ia, *ib), MergeTarget{int32_t(rank), *inew});  // first rank wins
  }
  return m;
}

void BpeModel::initial_symbols(std::string_view word, std::vector<Symbol>* symbols) const {
  std::string piece;
  for (size_t i = 0; i < word.size();) {
    int n = unicode::decode_utf8(word, i).second;
    piece.assign(word.substr(i, n));
    if (i > 0 && !opt_.continuing_subword_prefix.empty()) piece.insert(0, opt_.continuing_subword_prefix);
    if (i + n == word.size() && !opt_.end_of_word_suffix.empty()) piece += opt_.end_of_word_suffix;
    auto push = [&](int32_t id, uint32_t begin, uint32_t len) {
      int32_t idx = int32_t(symbols->size());
      symbols->push_back({id, idx - 1, idx + 1, begin, len});
    };
    if (auto id = vocab_.find(piece)) {
      push(*id, uint32_t(i), uint32_t(n));
    } else {
      bool bytes_ok = opt_.byte_fallback;
      for (int k = 0; k < n && bytes_ok; ++k) bytes_ok = byte_ids_[uint8_t(word[i + k])] >= 0;
      if (bytes_ok) {
        for (int k = 0; k < n; ++k) push(byte_ids_[uint8_t(word[i + k])], uint32_t(i + k), 1);
      } else if (unk_id_) {
        if (opt_.fuse_unk && !symbols->empty() && symbols->back().id == *unk_id_) {
          symbols->back().len += uint32_t(n);
        } else {
          push(*unk_id_, uint32_t(i), uint32_t(n));
        }
      }  // no unk token: the crate drops the code point
    }
    i += n;
  }
  if (!symbols->empty()) symbols->back().next = -1;
}

void BpeModel::merge_all(std::vector<Symbol>* symbols) const {
  struct Candidate {
    int32_t pos, rank, new_id;
    bool operator<(const Candidate& o) const {  // min-heap on (rank, pos)
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Symbol>& s = *symbols;
  std::priority_queue<Candidate> queue;
  auto lookup = [&](int32_t a, int32_t b) -> const MergeTarget* {
    auto it = merges_.find(key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  };
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (auto* m = lookup(s[i].id, s[i + 1].id)) queue.push({int32_t(i), m->rank, m->new_id});
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& cur = s[top.pos];
    if (cur.len == 0 || cur.next < 0) continue;
    const int32_t right_pos = cur.next;
    const Symbol right = s[right_pos];
    const MergeTarget* m = lookup(cur.id, right.id);
    if (!m || m->new_id != top.new_id) continue;  // stale entry
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    s[right_pos].len = 0;  // removed
    if (right.next >= 0) s[right.next].prev = top.pos;
    if (cur.prev >= 0)
      if (auto* pm = lookup(s[cur.prev].id, cur.id)) queue.push({cur.prev, pm->rank, pm->new_id});
    if (cur.next >= 0)
      if (auto* nm = lookup(cur.id, s[cur.next].id)) queue.push({top.pos, nm->rank, nm->new_id});
  }
}

void BpeModel::tokenize(std::string_view word, std::vector<ModelToken>* out) const {
  if (word.empty()) return;
  if (opt_.ignore_merges) {
    if (auto id = vocab_.find(word)) {
      out->push_back({*id, 0, uint32_t(word.size())});
      return;
    }
  }
  constexpr size_t kCacheMaxWord = 256, kCacheCapacity = 10000;
  const bool cacheable = word.size() <= kCacheMaxWord;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  initial_symbols(word, &symbols);
  merge_all(&symbols);
  std::vector<ModelToken> tokens;
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next)
    tokens.push_back({symbols[i].id, symbols[i].begin, symbols[i].begin + symbols[i].len});
  out->insert(out->end(), tokens.begin(), tokens.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(tokens));
  }
}

}  // namespace lw
