// Metrics against numbers computed by hand: scikit-learn conventions for classification
// and seqeval's strict mode for entities (IOB2 and BIOES), on predictions chosen for the
// tricky cases: I- without B-, a type change inside an entity, entities at sentence end,
// adjacent B- entities, unclosed BIOES entities and a class never predicted.
#include <QtTest>

#include <cmath>

#include "engine/train/metrics.h"

using namespace lw::train;
using Tags = std::vector<std::vector<std::string>>;

namespace {
bool near(double a, double b) {
  return std::fabs(a - b) < 1e-12;
}
const PrfScore* find(const std::vector<PrfScore>& v, const std::string& name) {
  for (const auto& s : v)
    if (s.name == name) return &s;
  return nullptr;
}
}  // namespace

#define QNEAR(a, b) \
  QVERIFY2(near((a), (b)), (std::to_string(a) + " vs " + std::to_string(b)).c_str())

class TestMetrics : public QObject {
  Q_OBJECT
 private slots:
  void classification() {
    auto labels = *LabelMap::from_list({"a", "b", "c", "d"});
    auto r = classification_report({0, 0, 1, 1, 2, 2, 2}, {0, 1, 1, 1, 2, 0, 2}, labels);
    QVERIFY(r.is_ok());
    QCOMPARE(r->n, int64_t(7));
    QNEAR(r->accuracy, 5.0 / 7);
    QNEAR(r->micro_f1, 5.0 / 7);
    QCOMPARE(r->confusion, (std::vector<std::vector<int64_t>>{
                               {1, 1, 0, 0}, {0, 2, 0, 0}, {1, 0, 2, 0}, {0, 0, 0, 0}}));
    QNEAR(r->per_class[0].precision, 0.5);
    QNEAR(r->per_class[1].precision, 2.0 / 3);
    QNEAR(r->per_class[1].recall, 1.0);
    QNEAR(r->per_class[1].f1, 0.8);
    QNEAR(r->per_class[2].recall, 2.0 / 3);
    QNEAR(r->per_class[2].f1, 0.8);
    QCOMPARE(r->per_class[2].support, int64_t(3));
    QNEAR(r->per_class[3].f1, 0.0);
    // "d" is neither true nor predicted, so the macro average leaves it out (as sklearn).
    QNEAR(r->macro_f1, 0.7);
    QNEAR(r->macro_precision, (0.5 + 2.0 / 3 + 1.0) / 3);
    QNEAR(r->macro_recall, (0.5 + 1.0 + 2.0 / 3) / 3);
    QNEAR(r->weighted_f1, 5.0 / 7);
    QVERIFY(r->to_json().find("\"confusion\"") != std::string::npos);
    QVERIFY(!classification_report({0, 4}, {0, 1}, labels).is_ok());
    QVERIFY(!classification_report({0}, {0, 1}, labels).is_ok());
  }

  void entitiesIob2() {
    Tags t = {{"B-PER", "I-PER", "O", "B-LOC"},
              {"B-ORG", "I-ORG", "I-ORG", "O"},
              {"O", "B-MISC", "I-MISC"},
              {"B-PER", "I-PER"},
              {"O", "O", "B-LOC"},
              {"B-LOC", "B-LOC", "O"}};
    Tags p = {{"B-PER", "I-PER", "O", "B-LOC"},  // both right; LOC at sentence end
              {"B-ORG", "I-ORG", "O", "O"},      // boundary wrong
              {"O", "I-MISC", "I-MISC"},         // I- without B-: no entity in strict mode
              {"B-PER", "I-LOC"},                // type change: PER[0,1), I-LOC nothing
              {"O", "B-LOC", "B-LOC"},           // one false, one right at the end
              {"B-LOC", "I-LOC", "O"}};          // merges two true entities: wrong
    auto r = entity_report(t, p, TagScheme::kIob2);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->n_true, int64_t(8));
    QCOMPARE(r->n_pred, int64_t(7));
    QCOMPARE(r->n_correct, int64_t(3));
    QNEAR(r->precision, 3.0 / 7);
    QNEAR(r->recall, 3.0 / 8);
    QNEAR(r->f1, 0.4);
    QCOMPARE(r->per_type.size(), size_t(4));
    QCOMPARE(r->per_type[0].name, std::string("LOC"));  // sorted
    QNEAR(find(r->per_type, "LOC")->f1, 0.5);
    QCOMPARE(find(r->per_type, "LOC")->support, int64_t(4));
    QNEAR(find(r->per_type, "PER")->precision, 0.5);
    QNEAR(find(r->per_type, "PER")->recall, 0.5);
    QNEAR(find(r->per_type, "ORG")->f1, 0.0);
    QCOMPARE(find(r->per_type, "MISC")->predicted, int64_t(0));
    QNEAR(r->macro_f1, 0.25);
    QNEAR(r->macro_precision, 0.25);
    QNEAR(r->weighted_f1, 0.375);
    QNEAR(r->token_accuracy, 14.0 / 19);
    // Perfect predictions score 1; E-/S- are not IOB2 tags (seqeval raises too).
    QNEAR(entity_report(t, t, TagScheme::kIob2)->f1, 1.0);
    QVERIFY(!entity_report({{"S-PER"}}, {{"O"}}, TagScheme::kIob2).is_ok());
    QVERIFY(!entity_report({{"O"}}, {{"O", "O"}}, TagScheme::kIob2).is_ok());
  }

  void entitiesBioes() {
    Tags t = {
        {"S-PER", "O", "B-LOC", "I-LOC", "E-LOC"}, {"B-ORG", "E-ORG", "S-LOC"}, {"O", "S-MISC"}};
    Tags p = {{"S-PER", "O", "B-LOC", "I-LOC", "I-LOC"},  // LOC never closed: no entity
              {"B-ORG", "E-ORG", "S-LOC"},
              {"E-MISC", "S-MISC"}};  // E- alone starts nothing
    auto r = entity_report(t, p, TagScheme::kBioes);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->n_true, int64_t(5));
    QCOMPARE(r->n_pred, int64_t(4));
    QCOMPARE(r->n_correct, int64_t(4));
    QNEAR(r->precision, 1.0);
    QNEAR(r->recall, 0.8);
    QNEAR(r->f1, 8.0 / 9);
    QNEAR(find(r->per_type, "LOC")->f1, 2.0 / 3);
    QNEAR(r->macro_f1, (1 + 2.0 / 3 + 1 + 1) / 4);
  }

  void entitiesFromIds() {
    auto tags = *LabelMap::from_list({"O", "B-PER", "I-PER"});
    // Sub-token positions (-100 in the truth) are dropped before scoring.
    std::vector<std::vector<int>> t = {{1, -100, 2, 0}}, p = {{1, 0, 2, 0}};
    auto r = entity_report(t, p, tags, TagScheme::kIob2);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QNEAR(r->f1, 1.0);
    p = {{1, 0, 0, 0}};
    QNEAR(entity_report(t, p, tags, TagScheme::kIob2)->f1, 0.0);
    QVERIFY(!entity_report({{1}}, {{7}}, tags, TagScheme::kIob2).is_ok());
    QVERIFY(entity_report(t, t, tags, TagScheme::kIob2)->to_json().find("\"per_type\"") !=
            std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "test_metrics.moc"
