// Classification and entity-level metrics (see metrics.h). The entity scores follow
// seqeval's strict mode: an entity counts as correct only when type, start and end all
// match; entities come from extract_entities.
#include "engine/train/metrics.h"

#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

namespace lw::train {

namespace {

double ratio(int64_t a, int64_t b) {
  return b ? double(a) / double(b) : 0.0;
}
double f1_of(double p, double r) {
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

void finish(PrfScore& s) {
  s.precision = ratio(s.correct, s.predicted);
  s.recall = ratio(s.correct, s.support);
  s.f1 = f1_of(s.precision, s.recall);
}

// Macro and support-weighted averages over the scores that occur (support or predictions).
void averages(const std::vector<PrfScore>& scores, double* mp, double* mr, double* mf, double* wf) {
  int n = 0;
  int64_t support = 0;
  *mp = *mr = *mf = *wf = 0;
  for (const auto& s : scores) {
    if (s.support == 0 && s.predicted == 0) continue;
    ++n;
    *mp += s.precision, *mr += s.recall, *mf += s.f1, *wf += s.f1 * double(s.support);
    support += s.support;
  }
  if (n) *mp /= n, *mr /= n, *mf /= n;
  *wf = support ? *wf / double(support) : 0.0;
}

nlohmann::ordered_json scores_json(const std::vector<PrfScore>& scores) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& s : scores)
    out.push_back({{"name", s.name},
                   {"precision", s.precision},
                   {"recall", s.recall},
                   {"f1", s.f1},
                   {"support", s.support},
                   {"predicted", s.predicted},
                   {"correct", s.correct}});
  return out;
}

}  // namespace

Result<ClassificationReport> classification_report(const std::vector<int>& y_true,
                                                   const std::vector<int>& y_pred,
                                                   const LabelMap& labels) {
  LW_CHECK(y_true.size() == y_pred.size(), "metrics: " + std::to_string(y_true.size()) +
                                               " true labels but " + std::to_string(y_pred.size()) +
                                               " predictions");
  const int k = labels.size();
  ClassificationReport r;
  r.n = int64_t(y_true.size());
  r.confusion.assign(size_t(k), std::vector<int64_t>(size_t(k), 0));
  r.per_class.resize(size_t(k));
  for (int c = 0; c < k; ++c) r.per_class[size_t(c)].name = labels.label(c);
  int64_t correct = 0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    int t = y_true[i], p = y_pred[i];
    LW_CHECK(t >= 0 && t < k && p >= 0 && p < k,
             "metrics: example " + std::to_string(i) + " has label id " + std::to_string(t) +
                 " / prediction " + std::to_string(p) + " outside [0, " + std::to_string(k) + ")");
    r.confusion[size_t(t)][size_t(p)]++;
    r.per_class[size_t(t)].support++;
    r.per_class[size_t(p)].predicted++;
    if (t == p) r.per_class[size_t(t)].correct++, ++correct;
  }
  for (auto& s : r.per_class) finish(s);
  r.accuracy = ratio(correct, r.n);
  r.micro_precision = r.micro_recall = r.micro_f1 = r.accuracy;
  averages(r.per_class, &r.macro_precision, &r.macro_recall, &r.macro_f1, &r.weighted_f1);
  return r;
}

std::string ClassificationReport::to_json() const {
  nlohmann::ordered_json j = {{"n", n},
                              {"accuracy", accuracy},
                              {"macro_precision", macro_precision},
                              {"macro_recall", macro_recall},
                              {"macro_f1", macro_f1},
                              {"micro_f1", micro_f1},
                              {"weighted_f1", weighted_f1}};
  j["per_class"] = scores_json(per_class);
  j["confusion"] = confusion;
  return j.dump(2);
}

Result<EntityReport> entity_report(const std::vector<std::vector<std::string>>& y_true,
                                   const std::vector<std::vector<std::string>>& y_pred,
                                   TagScheme scheme) {
  LW_CHECK(y_true.size() == y_pred.size(), "metrics: " + std::to_string(y_true.size()) +
                                               " true sentences but " +
                                               std::to_string(y_pred.size()) + " predicted");
  using Key = std::tuple<size_t, std::string, int, int>;  // sentence, type, begin, end
  std::set<Key> truth, pred;
  std::map<std::string, PrfScore> by_type;
  EntityReport r;
  int64_t tokens = 0, same = 0;
  for (size_t s = 0; s < y_true.size(); ++s) {
    LW_CHECK(y_true[s].size() == y_pred[s].size(),
             "metrics: sentence " + std::to_string(s) + " has " + std::to_string(y_true[s].size()) +
                 " true tags but " + std::to_string(y_pred[s].size()) + " predicted");
    for (size_t i = 0; i < y_true[s].size(); ++i) same += y_true[s][i] == y_pred[s][i];
    tokens += int64_t(y_true[s].size());
    auto t = extract_entities(y_true[s], scheme);
    if (!t.is_ok())
      return t.status().with_context("metrics: true tags of sentence " + std::to_string(s));
    auto p = extract_entities(y_pred[s], scheme);
    if (!p.is_ok())
      return p.status().with_context("metrics: predicted tags of sentence " + std::to_string(s));
    for (auto& e : *t) truth.emplace(s, e.type, e.begin, e.end), by_type[e.type].support++;
    for (auto& e : *p) pred.emplace(s, e.type, e.begin, e.end), by_type[e.type].predicted++;
  }
  for (const auto& k : pred)
    if (truth.count(k)) by_type[std::get<1>(k)].correct++, r.n_correct++;
  r.n_true = int64_t(truth.size());
  r.n_pred = int64_t(pred.size());
  r.precision = ratio(r.n_correct, r.n_pred);
  r.recall = ratio(r.n_correct, r.n_true);
  r.f1 = f1_of(r.precision, r.recall);
  r.token_accuracy = ratio(same, tokens);
  for (auto& [type, s] : by_type) {
    s.name = type;
    finish(s);
    r.per_type.push_back(s);
  }
  averages(r.per_type, &r.macro_precision, &r.macro_recall, &r.macro_f1, &r.weighted_f1);
  return r;
}

Result<EntityReport> entity_report(const std::vector<std::vector<int>>& y_true,
                                   const std::vector<std::vector<int>>& y_pred,
                                   const LabelMap& tags, TagScheme scheme) {
  LW_CHECK(y_true.size() == y_pred.size(), "metrics: " + std::to_string(y_true.size()) +
                                               " true sentences but " +
                                               std::to_string(y_pred.size()) + " predicted");
  std::vector<std::vector<std::string>> t(y_true.size()), p(y_pred.size());
  for (size_t s = 0; s < y_true.size(); ++s) {
    LW_CHECK(y_true[s].size() == y_pred[s].size(),
             "metrics: sentence " + std::to_string(s) + " has " + std::to_string(y_true[s].size()) +
                 " true tags but " + std::to_string(y_pred[s].size()) + " predicted");
    for (size_t i = 0; i < y_true[s].size(); ++i) {
      if (y_true[s][i] == -100) continue;  // a sub-token the loss ignores
      int a = y_true[s][i], b = y_pred[s][i];
      LW_CHECK(a >= 0 && a < tags.size() && b >= 0 && b < tags.size(),
               "metrics: sentence " + std::to_string(s) + " token " + std::to_string(i) +
                   " has a tag id outside [0, " + std::to_string(tags.size()) + ")");
      t[s].push_back(tags.label(a));
      p[s].push_back(tags.label(b));
    }
  }
  return entity_report(t, p, scheme);
}

std::string EntityReport::to_json() const {
  nlohmann::ordered_json j = {{"precision", precision},
                              {"recall", recall},
                              {"f1", f1},
                              {"n_true", n_true},
                              {"n_pred", n_pred},
                              {"n_correct", n_correct},
                              {"macro_precision", macro_precision},
                              {"macro_recall", macro_recall},
                              {"macro_f1", macro_f1},
                              {"weighted_f1", weighted_f1},
                              {"token_accuracy", token_accuracy}};
  j["per_type"] = scores_json(per_type);
  return j.dump(2);
}

}  // namespace lw::train
