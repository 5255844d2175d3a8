// LabelMap, seeded splits and length histograms (see dataset_labels.h).
#include "engine/train/dataset_labels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/train/dataset_lines.h"

namespace lw::train {

namespace {

bool parse_int_label(const std::string& s, int64_t* v) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i == s.size() || s.size() - i > 18) return false;
  int64_t x = 0;
  for (size_t k = i; k < s.size(); ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
    x = x * 10 + (s[k] - '0');
  }
  *v = i ? -x : x;
  return true;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

LabelMap LabelMap::build(const std::vector<std::string>& labels) {
  std::set<std::string> distinct(labels.begin(), labels.end());
  std::vector<std::string> sorted(distinct.begin(), distinct.end());
  bool all_int = !sorted.empty();
  std::vector<std::pair<int64_t, std::string>> keyed;
  for (const auto& s : sorted) {
    int64_t v;
    if (!parse_int_label(s, &v)) {
      all_int = false;
      break;
    }
    keyed.emplace_back(v, s);
  }
  if (all_int) {
    std::sort(keyed.begin(), keyed.end());
    for (size_t i = 0; i < keyed.size(); ++i) sorted[i] = keyed[i].second;
  }
  LabelMap m;
  for (auto& s : sorted) {
    m.label2id_[s] = int(m.id2label_.size());
    m.id2label_.push_back(std::move(s));
  }
  return m;
}

Result<LabelMap> LabelMap::from_list(std::vector<std::string> labels) {
  LabelMap m;
  for (auto& s : labels) {
    LW_CHECK(!s.empty(), "label map: label " + std::to_string(m.size()) + " is empty");
    LW_CHECK(m.label2id_.emplace(s, m.size()).second, "label map: duplicate label '" + s + "'");
    m.id2label_.push_back(std::move(s));
  }
  return m;
}

int LabelMap::id(const std::string& label) const {
  auto it = label2id_.find(label);
  return it == label2id_.end() ? -1 : it->second;
}

std::string LabelMap::describe() const {
  std::string out;
  for (int i = 0; i < size() && i < 20; ++i) out += (i ? ", " : "") + id2label_[size_t(i)];
  if (size() > 20) out += ", ... (" + std::to_string(size()) + " in all)";
  return out;
}

std::string LabelMap::to_json() const {
  nlohmann::ordered_json id2label = nlohmann::ordered_json::object();
  nlohmann::ordered_json label2id = nlohmann::ordered_json::object();
  for (int i = 0; i < size(); ++i) {
    id2label[std::to_string(i)] = id2label_[size_t(i)];
    label2id[id2label_[size_t(i)]] = i;
  }
  nlohmann::ordered_json j;
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  return j.dump(2);
}

Result<LabelMap> LabelMap::from_json(const std::string& source, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  LW_CHECK(!j.is_discarded() && j.is_object(), source + ": not a JSON object");
  auto id2label = j.find("id2label");
  auto label2id = j.find("label2id");
  LW_CHECK(id2label != j.end() || label2id != j.end(),
           source + ": neither 'id2label' nor 'label2id' is present");
  std::vector<std::string> names;
  if (id2label != j.end()) {
    LW_CHECK(id2label->is_object(), source + ": field 'id2label' must be an object");
    names.resize(id2label->size());
    for (auto it = id2label->begin(); it != id2label->end(); ++it) {
      int64_t id;
      bool ok = parse_int_label(it.key(), &id) && id >= 0 && id < int64_t(names.size());
      LW_CHECK(ok, source + ": id2label key '" + it.key() + "' is not an id in [0, " +
                       std::to_string(names.size()) + ")");
      LW_CHECK(it.value().is_string(), source + ": id2label['" + it.key() + "'] must be a string");
      LW_CHECK(names[size_t(id)].empty(), source + ": id2label id " + it.key() + " appears twice");
      names[size_t(id)] = it.value().get<std::string>();
    }
  } else {
    LW_CHECK(label2id->is_object(), source + ": field 'label2id' must be an object");
    names.resize(label2id->size());
    for (auto it = label2id->begin(); it != label2id->end(); ++it) {
      bool ok = it.value().is_number_integer() && it.value().get<int64_t>() >= 0 &&
                it.value().get<int64_t>() < int64_t(names.size());
      LW_CHECK(ok, source + ": label2id['" + it.key() + "'] is not an id in [0, " +
                       std::to_string(names.size()) + ")");
      LW_CHECK(names[it.value().get<size_t>()].empty(),
               source + ": label2id id " + it.value().dump() + " appears twice");
      names[it.value().get<size_t>()] = it.key();
    }
  }
  auto m = from_list(names);
  if (!m.is_ok()) return Status(m.status().code(), source + ": " + m.status().message());
  if (id2label != j.end() && label2id != j.end()) {
    LW_CHECK(label2id->is_object() && label2id->size() == names.size(),
             source + ": 'label2id' does not match 'id2label'");
    for (auto it = label2id->begin(); it != label2id->end(); ++it) {
      bool ok = it.value().is_number_integer() && m->id(it.key()) == it.value().get<int64_t>();
      LW_CHECK(ok, source + ": label2id['" + it.key() + "'] does not match id2label");
    }
  }
  return m;
}

Status LabelMap::save(const std::string& path) const {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return io_error(path + ": cannot write the label map");
  std::string text = to_json() + "\n";
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fflush(f) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return io_error(path + ": cannot write the label map");
  }
  return Status::ok();
}

Result<LabelMap> LabelMap::load(const std::string& path) {
  LW_ASSIGN_OR_RETURN(auto reader, LineReader::open(path));
  std::string text;
  while (true) {
    LW_ASSIGN_OR_RETURN(bool more, reader.next());
    if (!more) break;
    text.append(reader.line()).push_back('\n');
  }
  return from_json(path, text);
}

Result<std::vector<Split>> assign_splits(int64_t n, const std::vector<int>* strata,
                                         double validation_fraction, double test_fraction,
                                         uint64_t seed) {
  bool ok =
      validation_fraction >= 0 && test_fraction >= 0 && validation_fraction + test_fraction < 1;
  LW_CHECK(ok, "split fractions must be >= 0 and sum to less than 1 (validation " +
                   std::to_string(validation_fraction) + ", test " + std::to_string(test_fraction) +
                   ")");
  LW_ASSERT(!strata || int64_t(strata->size()) == n);
  // Group item indexes by stratum (in order of first appearance; one group when unstratified).
  std::map<int, std::vector<int64_t>> groups;
  for (int64_t i = 0; i < n; ++i) groups[strata ? (*strata)[size_t(i)] : 0].push_back(i);
  std::vector<Split> out(size_t(n), Split::kTrain);
  uint64_t state = seed;
  for (auto& [key, idx] : groups) {
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[splitmix64(state) % i]);
    auto m = int64_t(idx.size());
    auto n_val = int64_t(std::llround(double(m) * validation_fraction));
    auto n_test = int64_t(std::llround(double(m) * test_fraction));
    while (m - n_val - n_test < 1 && (n_val > 0 || n_test > 0)) (n_test > 0 ? n_test : n_val)--;
    for (int64_t k = 0; k < n_val; ++k) out[size_t(idx[size_t(k)])] = Split::kValidation;
    for (int64_t k = 0; k < n_test; ++k) out[size_t(idx[size_t(n_val + k)])] = Split::kTest;
  }
  return out;
}

LengthHistogram make_histogram(std::vector<int64_t> lengths, int max_bins) {
  LengthHistogram h;
  h.count = int64_t(lengths.size());
  if (lengths.empty()) return h;
  std::sort(lengths.begin(), lengths.end());
  h.min = lengths.front();
  h.max = lengths.back();
  double sum = 0;
  for (auto v : lengths) sum += double(v);
  h.mean = sum / double(h.count);
  auto rank = [&](double q) {
    auto r = int64_t(std::ceil(q * double(h.count)));
    return lengths[size_t(std::clamp<int64_t>(r, 1, h.count) - 1)];
  };
  h.p50 = rank(0.5);
  h.p95 = rank(0.95);
  h.bin_width = std::max<int64_t>(1, (h.max + max_bins) / max_bins);  // ceil((max+1)/bins)
  h.bins.assign(size_t(h.max / h.bin_width + 1), 0);
  for (auto v : lengths) h.bins[size_t(v / h.bin_width)]++;
  return h;
}

}  // namespace lw::train
