// Sampling statistics (issue 5): with a fixed seed and a fixed logits row, 10^5 draws
// under temperature, top-k, top-p, min-p (alone and chained) follow the renormalised
// target distribution by a chi-square goodness-of-fit test, and tokens outside the kept
// set never appear. Each row also checks the test has power: the same counts against a
// wrong target (the chain with one step left out) must be rejected.
#include <QtTest>

#include <cmath>
#include <vector>

#include "engine/generate/sampler.h"
#include "reference_sampling.h"

using lw::SamplingParams;

namespace {
constexpr int kDraws = 100000;

// Chi-square statistic over bins with expected count >= 5; sparser bins are pooled
// into one (the usual validity rule for the chi-square approximation).
struct ChiSquare {
  double stat = 0.0;
  int dof = 0;
};

ChiSquare chi_square(const std::vector<int>& counts, const std::vector<double>& p) {
  ChiSquare c;
  double pooled_e = 0.0, pooled_o = 0.0;
  int bins = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    double e = p[i] * kDraws;
    if (e <= 0.0) continue;
    if (e < 5.0) {
      pooled_e += e;
      pooled_o += counts[i];
      continue;
    }
    c.stat += (counts[i] - e) * (counts[i] - e) / e;
    ++bins;
  }
  if (pooled_e > 0.0) {
    c.stat += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e;
    ++bins;
  }
  c.dof = bins - 1;
  return c;
}

// Upper quantile of chi-square(dof) at significance 1e-4 (z = 3.719), by the
// Wilson-Hilferty cube approximation (accurate to ~1% for dof >= 3).
double critical(int dof) {
  if (dof <= 0) return 0.0;
  const double z = 3.719, k = dof;
  double t = 1.0 - 2.0 / (9.0 * k) + z * std::sqrt(2.0 / (9.0 * k));
  return k * t * t * t;
}

// A fixed row of 48 distinct logits spread over about 9 nats.
std::vector<float> row() {
  std::vector<float> l(48);
  for (size_t i = 0; i < l.size(); ++i)
    l[i] = 3.0f * std::sin(1.7f * float(i)) + 0.04f * float(i) - 1.0f;
  return l;
}
}  // namespace

class TestSamplingStats : public QObject {
  Q_OBJECT
 private slots:
  void chiSquare_data() {
    QTest::addColumn<float>("temperature");
    QTest::addColumn<int>("topK");
    QTest::addColumn<float>("topP");
    QTest::addColumn<float>("minP");
    QTest::addColumn<float>("repetition");
    QTest::newRow("temperature 0.7") << 0.7f << 0 << 1.0f << 0.0f << 1.0f;
    QTest::newRow("temperature 1.5") << 1.5f << 0 << 1.0f << 0.0f << 1.0f;
    QTest::newRow("top-k 8") << 1.0f << 8 << 1.0f << 0.0f << 1.0f;
    QTest::newRow("top-p 0.8") << 1.0f << 0 << 0.8f << 0.0f << 1.0f;
    QTest::newRow("min-p 0.05") << 1.0f << 0 << 1.0f << 0.05f << 1.0f;
    QTest::newRow("top-k 20 top-p 0.9 T 0.8") << 0.8f << 20 << 0.9f << 0.0f << 1.0f;
    QTest::newRow("top-p 0.95 min-p 0.1 T 1.3") << 1.3f << 0 << 0.95f << 0.1f << 1.0f;
    QTest::newRow("repetition 1.5 top-p 0.9") << 1.0f << 0 << 0.9f << 0.0f << 1.5f;
  }

  void chiSquare() {
    QFETCH(float, temperature);
    QFETCH(int, topK);
    QFETCH(float, topP);
    QFETCH(float, minP);
    QFETCH(float, repetition);
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = topK;
    p.top_p = topP;
    p.min_p = minP;
    p.repetition_penalty = repetition;
    p.seed = 20261122;
    p.logprobs = false;
    const std::vector<float> l = row();
    // The prompt repeats the two most likely tokens, so the penalty has work to do.
    const std::vector<int32_t> prompt = {27, 20};
    auto target = lwtest::reference_distribution(l, p, prompt);

    auto sampler = lw::Sampler::create(p);
    QVERIFY(sampler.is_ok());
    std::vector<int> counts(l.size(), 0);
    for (int i = 0; i < kDraws; ++i) {
      auto r = sampler->sample(l, prompt, {});
      QVERIFY(r.is_ok());
      ++counts[r->token.id];
    }
    int kept = 0;
    for (size_t i = 0; i < l.size(); ++i) {
      if (target[i] == 0.0 && counts[i] != 0)
        QFAIL(qPrintable(QString("token %1 is outside the kept set but was drawn %2 times")
                             .arg(i)
                             .arg(counts[i])));
      kept += target[i] > 0.0;
    }
    QVERIFY2(kept >= 4, "the row should keep several tokens");
    ChiSquare c = chi_square(counts, target);
    QVERIFY(c.dof >= 3);
    QVERIFY2(c.stat < critical(c.dof), qPrintable(QString("chi2 = %1 with %2 dof, critical %3")
                                                      .arg(c.stat)
                                                      .arg(c.dof)
                                                      .arg(critical(c.dof))));

    // Power: the same counts against the target of a neighbouring setting (temperature
    // 10% higher, or no repetition penalty) are rejected.
    SamplingParams wrong = p;
    if (repetition != 1.0f) {
      wrong.repetition_penalty = 1.0f;
    } else {
      wrong.temperature = temperature * 1.1f;
    }
    auto other = lwtest::reference_distribution(l, wrong, prompt);
    double bad = 0.0;
    for (size_t i = 0; i < l.size(); ++i) {
      if (other[i] == 0.0 && counts[i] > 0) bad = std::numeric_limits<double>::infinity();
    }
    if (bad == 0.0) bad = chi_square(counts, other).stat;
    qInfo("kept %d tokens: chi2 = %.1f with %d dof (critical %.1f); wrong target: chi2 = %.1f",
          kept, c.stat, c.dof, critical(c.dof), bad);
    QVERIFY2(bad > critical(c.dof),
             qPrintable(QString("the wrong target went unnoticed: chi2 = %1").arg(bad)));
  }

  void greedyIsDegenerate() {
    SamplingParams p;
    p.greedy = true;
    auto s = lw::Sampler::create(p);
    QVERIFY(s.is_ok());
    const std::vector<float> l = row();
    int argmax = int(std::max_element(l.begin(), l.end()) - l.begin());
    for (int i = 0; i < 1000; ++i) QCOMPARE(s->sample(l, {}, {})->token.id, argmax);
  }
};

QTEST_GUILESS_MAIN(TestSamplingStats)
#include "test_sampling_stats.moc"
