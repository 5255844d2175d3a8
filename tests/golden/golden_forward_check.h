// The forward check every architecture shares (Qt Test): our logits and last
// hidden state against transformers' within 1e-4 relative, and the attention
// probabilities of each layer within 1e-5 absolute. Call it from a test slot and
// return when QTest::currentTestFailed().
#pragma once
#include <QtTest>
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "tests/golden/golden_util.h"

namespace golden {

inline std::vector<float> floats(const lw::Tensor& t) {
  auto v = t.to_float_vector();
  return v.is_ok() ? *v : std::vector<float>{};
}

inline void check_forward(const std::string& name, const lw::models::ForwardResult& out,
                          const Tensors& ref, size_t n_layer) {
  std::vector<int64_t> shape;
  auto logits = ref.get("logits", &shape);
  QCOMPARE(out.logits.shape(), shape);
  double e = rel_error(floats(out.logits), logits);
  qInfo("%s logits rel error %.3g", name.c_str(), e);
  QVERIFY2(e <= 1e-4, std::to_string(e).c_str());
  e = rel_error(floats(out.last_hidden), ref.get("last_hidden"));
  qInfo("%s last_hidden rel error %.3g", name.c_str(), e);
  QVERIFY2(e <= 1e-4, std::to_string(e).c_str());
  QCOMPARE(out.attn_probs.size(), n_layer);
  for (size_t l = 0; l < out.attn_probs.size(); ++l) {
    auto theirs = ref.get("attn." + std::to_string(l), &shape);
    QVERIFY(!theirs.empty());
    QCOMPARE(out.attn_probs[l].shape(), shape);
    double d = max_abs_diff(floats(out.attn_probs[l]), theirs);
    qInfo("%s attn.%zu max abs diff %.3g", name.c_str(), l, d);
    QVERIFY2(d <= 1e-5, std::to_string(d).c_str());
  }
}

}  // namespace golden
