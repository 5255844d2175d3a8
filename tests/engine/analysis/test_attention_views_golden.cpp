// Our rollout and per-head statistics on the golden transformers attention probabilities
// (GPT-2 causal, BERT with padding) against the independent numpy reference that
// tests/golden/make_golden_rollout.py writes to tests/golden/data/<case>/attention_views.safetensors.
#include <QtTest/QtTest>

#include <filesystem>

#include "engine/analysis/attention_views.h"
#include "tests/golden/golden_util.h"

class TestAttentionViewsGolden : public QObject {
  Q_OBJECT
 private slots:
  void matchesNumpy_data() {
    QTest::addColumn<QString>("name");
    for (const char* c : {"gpt2", "bert_cls", "bert_mlm"}) QTest::newRow(c) << QString(c);
  }
  void matchesNumpy() {
    QFETCH(QString, name);
    const std::string c = name.toStdString();
    if (!std::filesystem::exists(golden::dir(c) + "/attention_views.safetensors"))
      QSKIP("no attention_views.safetensors: run python3 tests/golden/make_golden_rollout.py");
    auto fwd = golden::open(c, "forward.safetensors");
    auto ref = golden::open(c, "attention_views.safetensors");
    QVERIFY2(fwd.is_ok() && ref.is_ok(), "cannot open golden files");
    std::vector<int64_t> ashape, vshape;
    const auto valid_f = ref->get("key_valid", &vshape);
    const auto special_f = ref->get("special");
    const auto roll = ref->get("rollout");
    const auto ent = ref->get("entropy"), dist = ref->get("distance"), share = ref->get("special_share");
    std::vector<std::vector<float>> layers;
    for (int l = 0;; ++l) {
      auto a = fwd->get("attn." + std::to_string(l), &ashape);
      if (a.empty()) break;
      layers.push_back(std::move(a));
    }
    QVERIFY(!layers.empty() && ashape.size() == 4 && vshape.size() == 2);
    const int64_t L = int64_t(layers.size()), B = ashape[0], H = ashape[1], T = ashape[2];
    QCOMPARE(valid_f.size(), size_t(B * T));
    QCOMPARE(special_f.size(), size_t(B * T));
    QCOMPARE(roll.size(), size_t(B * L * T * T));
    for (const auto* v : {&ent, &dist, &share}) QCOMPARE(v->size(), size_t(B * L * H));
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> probs(static_cast<size_t>(L * H * T * T));  // [L,H,T,T] of sequence b
      for (int64_t l = 0; l < L; ++l)
        std::copy_n(layers[size_t(l)].begin() + b * H * T * T, H * T * T, probs.begin() + l * H * T * T);
      std::vector<uint8_t> valid(static_cast<size_t>(T)), special(static_cast<size_t>(T));
      for (int64_t t = 0; t < T; ++t) {
        valid[size_t(t)] = valid_f[size_t(b * T + t)] != 0.0f;
        special[size_t(t)] = special_f[size_t(b * T + t)] != 0.0f;
      }
      const lw::AttentionProbs in{probs, L, H, T, valid, special};
      auto r = lw::attention_rollout(in);
      QVERIFY2(r.is_ok(), r.status().to_string().c_str());
      const std::vector<float> want(roll.begin() + b * L * T * T, roll.begin() + (b + 1) * L * T * T);
      QVERIFY2(golden::max_abs_diff(r->values, want) < 1e-5, qPrintable(QString("rollout b=%1").arg(b)));
      auto check = [&](const lw::Result<lw::HeadMetric>& m, const std::vector<float>& all, double tol) {
        QVERIFY2(m.is_ok(), m.status().to_string().c_str());
        for (int64_t k = 0; k < L * H; ++k) {
          const double got = m->values[size_t(k)], exp = all[size_t(b * L * H + k)];
          QVERIFY2(std::fabs(got - exp) < tol, qPrintable(QString("b=%1 head %2: %3 vs %4").arg(b).arg(k).arg(got).arg(exp)));
        }
      };
      check(lw::head_entropy(in), ent, 1e-5);
      check(lw::head_attention_distance(in), dist, 1e-4);
      check(lw::head_special_share(in), share, 1e-5);
    }
  }
};

QTEST_GUILESS_MAIN(TestAttentionViewsGolden)
#include "test_attention_views_golden.moc"
