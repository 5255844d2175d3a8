// Fill-mask on the golden BERT-mlm (tests/golden/data/bert_mlm, V=512): the top-k are the
// softmax of the model's own logits at each mask, in order; transformers' pipeline ranking
// when fill_mask.json exists (make_golden_generate.py); errors for a text without a mask,
// a GPT-2 model and a top-k beyond the vocabulary.
#include <QtTest>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/generate/fill_mask.h"
#include "tests/golden/golden_util.h"

using namespace lw;

class TestFillMask : public QObject {
  Q_OBJECT
 private slots:
  void top_k_is_softmax_order() {
    auto m = models::load_model(golden::dir("bert_mlm") + "/model");
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    const int32_t mask = 4;
    std::vector<int32_t> ids = {2, 17, mask, 33, 90, mask, 3};
    auto preds = fill_mask_ids(**m, ids, mask, 5);
    QVERIFY2(preds.is_ok(), preds.status().to_string().c_str());
    QCOMPARE(preds->size(), size_t(2));
    QCOMPARE((*preds)[0].position, int64_t(2));
    QCOMPARE((*preds)[1].position, int64_t(5));
    models::Batch batch;
    batch.input_ids = *Tensor::from_ints(ids, {1, 7});
    auto fwd = (*m)->forward(batch, {});
    QVERIFY(fwd.is_ok());
    auto logits = *fwd->logits.to_float_vector();
    const int64_t V = fwd->logits.size(2);
    for (const auto& p : *preds) {
      const float* row = logits.data() + p.position * V;
      double z = 0, mx = *std::max_element(row, row + V);
      for (int64_t i = 0; i < V; ++i) z += std::exp(row[i] - mx);
      QCOMPARE(p.candidates.size(), size_t(5));
      for (size_t k = 0; k < p.candidates.size(); ++k) {
        const auto& c = p.candidates[k];
        QVERIFY(std::abs(c.prob - std::exp(row[c.id] - mx) / z) < 1e-9);
        if (k > 0) QVERIFY(c.prob <= p.candidates[k - 1].prob);
      }
      int64_t better = 0;  // nothing outside the top 5 beats the 5th
      for (int64_t i = 0; i < V; ++i) better += row[i] > row[p.candidates[4].id];
      QCOMPARE(better, int64_t(4));
    }
  }

  void matches_transformers() {
    std::ifstream in(golden::dir("bert_mlm") + "/fill_mask.json");
    if (!in) QSKIP("tests/golden/data/bert_mlm/fill_mask.json not made yet (make_golden_generate.py)");
    nlohmann::json j = nlohmann::json::parse(in);
    auto m = models::load_model(golden::dir("bert_mlm") + "/model");
    QVERIFY(m.is_ok());
    const int32_t top_k = j["top_k"].get<int32_t>();
    auto preds = fill_mask_ids(**m, j["ids"].get<std::vector<int32_t>>(),
                               j["mask_id"].get<int32_t>(), top_k);
    QVERIFY2(preds.is_ok(), preds.status().to_string().c_str());
    QCOMPARE(preds->size(), j["masks"].size());
    for (size_t i = 0; i < preds->size(); ++i) {
      const auto& want = j["masks"][i];
      QCOMPARE((*preds)[i].position, want["position"].get<int64_t>());
      for (int32_t k = 0; k < top_k; ++k) {
        QCOMPARE((*preds)[i].candidates[k].id, want["ids"][k].get<int32_t>());
        QVERIFY(std::abs((*preds)[i].candidates[k].prob - want["probs"][k].get<double>()) < 1e-5);
      }
    }
  }

  void errors() {
    auto m = models::load_model(golden::dir("bert_mlm") + "/model");
    QVERIFY(m.is_ok());
    auto none = fill_mask_ids(**m, {2, 5, 3}, 4, 5);
    QVERIFY(!none.is_ok());
    QVERIFY(none.status().message().find("no mask token") != std::string::npos);
    auto k = fill_mask_ids(**m, {2, 4, 3}, 4, 513);
    QVERIFY(!k.is_ok());
    QVERIFY2(k.status().message().find("--top-k must be in [1, 512], got 513") != std::string::npos,
             k.status().message().c_str());
    auto gpt = models::load_model(golden::dir("gpt2") + "/model");
    QVERIFY(gpt.is_ok());
    auto g = fill_mask_ids(**gpt, {1, 4}, 4, 5);
    QVERIFY(!g.is_ok());
    QVERIFY(g.status().message().find("no masked-LM head") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestFillMask)
#include "test_fill_mask.moc"
