// Attention-probability dropout (ops::AttentionOptions::dropout): the forward equals the
// definition written out here (softmax probabilities, the Philox keep mask of ops::dropout
// scaled by 1/(1-p), times v), p = 0 is the plain op, and the backward matches central finite
// differences of the forward with the mask held fixed (same seed and offset), with padding.
#include <QTest>

#include <cmath>

#include "engine/core/rng.h"
#include "engine/ops/ops.h"

using namespace lw;

namespace {

Tensor randn(const Shape& s, uint64_t seed) {
  PhiloxStream r(seed);
  std::vector<float> v(size_t(shape_numel(s)));
  for (auto& x : v) x = r.normal();
  return *Tensor::from_floats(v, s, DType::kF32);
}

double weighted_sum(const Tensor& out, const std::vector<float>& w) {
  auto o = *out.to_float_vector();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += double(o[i]) * w[i];
  return s;
}

}  // namespace

class TestAttentionDropout : public QObject {
  Q_OBJECT
  const int B = 2, NH = 2, T = 5, D = 4;

 private slots:
  void forward_is_the_definition() {
    Tensor q = randn({B, NH, T, D}, 1), k = randn({B, NH, T, D}, 2), v = randn({B, NH, T, D}, 3);
    Tensor mask = *Tensor::from_ints(std::vector<int32_t>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {B, T});
    ops::AttentionOptions plain;
    plain.capture_probs = true;
    auto ref = ops::attention(q, k, v, mask, plain);
    QVERIFY(ref.is_ok());
    ops::AttentionOptions drop;
    drop.dropout = 0.3f;
    drop.dropout_seed = 77;
    drop.dropout_offset = 1000;
    auto got = ops::attention(q, k, v, mask, drop);
    QVERIFY2(got.is_ok(), got.status().to_string().c_str());
    QVERIFY(got->probs.defined());  // backward needs them
    auto P = *ref->probs.to_float_vector(), V = *v.to_float_vector(), O = *got->out.to_float_vector();
    int dropped = 0;
    for (int bh = 0; bh < B * NH; ++bh)
      for (int i = 0; i < T; ++i)
        for (int d = 0; d < D; ++d) {
          double s = 0;
          for (int j = 0; j < T; ++j) {
            size_t idx = size_t((bh * T + i) * T + j);
            bool keep = philox_uniform(77, 1000 + idx) >= 0.3f;
            dropped += !keep && d == 0;
            s += (keep ? P[idx] / 0.7 : 0.0) * V[size_t((bh * T + j) * D + d)];
          }
          QVERIFY(std::abs(O[size_t((bh * T + i) * D + d)] - s) < 1e-5);
        }
    QVERIFY(dropped > 10);  // the mask does drop
    drop.dropout = 0;
    auto zero = ops::attention(q, k, v, mask, drop);
    QVERIFY(*zero->out.to_float_vector() == *ref->out.to_float_vector());
  }

  void backward_matches_finite_differences() {
    Tensor q = randn({B, NH, T, D}, 4), k = randn({B, NH, T, D}, 5), v = randn({B, NH, T, D}, 6);
    Tensor mask = *Tensor::from_ints(std::vector<int32_t>{1, 1, 1, 1, 0, 1, 1, 1, 1, 1}, {B, T});
    ops::AttentionOptions o;
    o.dropout = 0.25f;
    o.dropout_seed = 9;
    std::vector<float> w = *randn({B, NH, T, D}, 7).to_float_vector();
    auto fwd = ops::attention(q, k, v, mask, o);
    QVERIFY(fwd.is_ok());
    Tensor dout = *Tensor::from_floats(w, {B, NH, T, D}, DType::kF32);
    auto g = ops::attention_backward(dout, q, k, v, *fwd, mask, o);
    QVERIFY2(g.is_ok(), g.status().to_string().c_str());
    Tensor* inputs[] = {&q, &k, &v};
    const Tensor* grads[] = {&g->dq, &g->dk, &g->dv};
    const float h = 1e-2f;
    double worst = 0;
    for (int which = 0; which < 3; ++which) {
      auto an = *grads[which]->to_float_vector();
      for (int64_t i = 0; i < inputs[which]->numel(); i += 3) {
        float* x = inputs[which]->data<float>() + i;
        const float x0 = *x;
        *x = x0 + h;
        double up = weighted_sum(ops::attention(q, k, v, mask, o)->out, w);
        *x = x0 - h;
        double down = weighted_sum(ops::attention(q, k, v, mask, o)->out, w);
        *x = x0;
        double fd = (up - down) / (2 * h);
        double err = std::abs(fd - an[size_t(i)]) / (1e-2 + std::abs(fd));
        worst = std::max(worst, err);
        QVERIFY2(err < 2e-2, ("input " + std::to_string(which) + " element " + std::to_string(i) + ": fd " +
                              std::to_string(fd) + " analytic " + std::to_string(an[size_t(i)])).c_str());
      }
    }
    qInfo("worst relative error %.2e", worst);
  }

  // Token-major tensors ([B,T,NH,D], what the models pass) give the head-major results,
  // transposed, forward and backward, with dropout, padding and grouped-query heads.
  void token_major_equals_head_major() {
    Tensor q = randn({B, NH, T, D}, 11), k = randn({B, 1, T, D}, 12), v = randn({B, 1, T, D}, 13);
    Tensor dout = randn({B, NH, T, D}, 14);
    Tensor mask = *Tensor::from_ints(std::vector<int32_t>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {B, T});
    ops::AttentionOptions o;
    o.causal = true;
    auto tr = [](const Tensor& t) { return *ops::transpose12(t); };
    auto hm = ops::attention(q, k, v, mask, o);
    QVERIFY2(hm.is_ok(), hm.status().to_string().c_str());
    auto ghm = ops::attention_backward(dout, q, k, v, *hm, mask, o);
    QVERIFY2(ghm.is_ok(), ghm.status().to_string().c_str());
    ops::AttentionOptions ot = o;
    ot.tokens_major = true;
    auto tm = ops::attention(tr(q), tr(k), tr(v), mask, ot);
    QVERIFY2(tm.is_ok(), tm.status().to_string().c_str());
    QCOMPARE(tm->out.shape(), (Shape{B, T, NH, D}));
    auto gtm = ops::attention_backward(tr(dout), tr(q), tr(k), tr(v), *tm, mask, ot);
    QVERIFY2(gtm.is_ok(), gtm.status().to_string().c_str());
    auto same = [](const Tensor& a, const Tensor& b) {
      return *a.to_float_vector() == *b.to_float_vector();
    };
    QVERIFY(same(tr(tm->out), hm->out));
    QVERIFY(same(tm->lse, hm->lse));
    QVERIFY(same(tr(gtm->dq), ghm->dq));
    QVERIFY(same(tr(gtm->dk), ghm->dk));
    QVERIFY(same(tr(gtm->dv), ghm->dv));
  }

  void rejects_bad_probability() {
    Tensor q = randn({1, 1, 2, 4}, 1);
    ops::AttentionOptions o;
    o.dropout = 1.0f;
    auto r = ops::attention(q, q, q, Tensor(), o);
    QVERIFY(!r.is_ok());
    QVERIFY(r.status().message().find("dropout") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestAttentionDropout)
#include "test_attention_dropout.moc"
