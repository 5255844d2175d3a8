// The ops that keep a training step on its device (engine/ops/device_errors.h, ops.h), on the
// CPU backend: what they compute, and that deferral changes nothing where ops check eagerly
// (bad ids and targets still fail at the op, with the same text).
#include <QtTest>

#include <cmath>

#include "engine/ops/device_errors.h"
#include "engine/ops/ops.h"

using namespace lw;

namespace {
std::vector<float> floats(const Tensor& t) { return t.to_float_vector().value(); }
std::vector<int64_t> ints(const Tensor& t) { return t.to_int_vector().value(); }
}  // namespace

class TestOpsDeferred : public QObject {
  Q_OBJECT
 private slots:
  void iota_positions_and_row_starts() {
    auto pos = ops::iota({2, 3}, 0, 1, 3, Device::cpu());
    QVERIFY2(pos.is_ok(), pos.status().to_string().c_str());
    QCOMPARE(ints(*pos), (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
    auto starts = ops::iota({3}, 0, 5, 0, Device::cpu());
    QVERIFY(starts.is_ok());
    QCOMPARE(ints(*starts), (std::vector<int64_t>{0, 5, 10}));
  }

  void shift_left_fills_last_column() {
    auto l = Tensor::from_ints(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, {2, 3});
    auto y = ops::shift_left(*l, -100);
    QVERIFY2(y.is_ok(), y.status().to_string().c_str());
    QCOMPARE(ints(*y), (std::vector<int64_t>{2, 3, -100, 5, 6, -100}));
    auto bad = ops::shift_left(Tensor::from_ints(std::vector<int32_t>{1, 2}, {2}).value(), -100);
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.status().message().find("shift_left: labels must be [B,T]") != std::string::npos);
  }

  // stats = {mean, count, 1/count}; read_loss gives the mean; deferral changes nothing here.
  void cross_entropy_stats_and_read_loss() {
    auto x = Tensor::from_floats(std::vector<float>{0.1f, 0.7f, -0.3f, 1.2f, 0.f, 0.4f}, {3, 2});
    auto t = Tensor::from_ints(std::vector<int32_t>{1, -100, 0}, {3});
    ops::DeferredChecks deferred;
    QVERIFY(ops::checks_deferred());
    auto ce = ops::cross_entropy(*x, *t);
    QVERIFY2(ce.is_ok(), ce.status().to_string().c_str());
    QCOMPARE(ce->count, int64_t(2));
    auto s = floats(ce->stats);
    QCOMPARE(s.size(), size_t(3));
    QCOMPARE(s[0], ce->loss);
    QCOMPARE(s[1], 2.f);
    QCOMPARE(s[2], 0.5f);
    auto l = ops::read_loss(ce->stats);
    QVERIFY(l.is_ok());
    QCOMPARE(*l, ce->loss);
    QVERIFY(ops::check_device_errors(Device::cpu()).is_ok());
    // Bad input still fails at the op on the CPU, with the text the CUDA record gives.
    auto bad_t = Tensor::from_ints(std::vector<int32_t>{1, 5, 0}, {3});
    auto bad = ops::cross_entropy(*x, *bad_t);
    QVERIFY(!bad.is_ok());
    QCOMPARE(bad.status().message(),
             std::string("cross_entropy: target 5 in row 1 is out of range for a vocabulary of 2 "
                         "(ignore_index is -100)"));
    auto table = Tensor::from_floats(std::vector<float>(8, 1.f), {4, 2});
    auto ids = Tensor::from_ints(std::vector<int32_t>{0, 3, 4}, {3});
    auto e = ops::embedding(*ids, *table);
    QVERIFY(!e.is_ok());
    QCOMPARE(e.status().message(),
             std::string("embedding: token id 4 at position 2 is out of range for a vocabulary of 4"));
    QVERIFY(!ops::read_loss(Tensor()).is_ok());
  }

  // The device clip equals clip_grad_norm (returned norm, factor, scaled grads).
  void clip_device_matches_host_clip_data() {
    QTest::addColumn<float>("max_norm");
    QTest::newRow("clips") << 0.5f;
    QTest::newRow("no-op") << 100.f;
  }
  void clip_device_matches_host_clip() {
    QFETCH(float, max_norm);
    std::vector<float> a{3.f, -4.f, 1.f}, b{2.f, 0.5f};
    std::vector<Tensor> g1{Tensor::from_floats(a, {3}).value(), Tensor::from_floats(b, {2}).value()};
    std::vector<Tensor> g2{Tensor::from_floats(a, {3}).value(), Tensor::from_floats(b, {2}).value()};
    auto norm = ops::clip_grad_norm(g1, max_norm);
    auto dev = ops::clip_grad_norm_device(g2, max_norm);
    QVERIFY(norm.is_ok());
    QVERIFY2(dev.is_ok(), dev.status().to_string().c_str());
    auto nf = floats(*dev);
    QCOMPARE(nf[0], float(*norm));
    const double coef = max_norm / (*norm + 1e-6);
    QCOMPARE(nf[1], coef < 1 ? float(coef) : 1.f);
    for (size_t i = 0; i < g1.size(); ++i) QCOMPARE(floats(g2[i]), floats(g1[i]));
    // Without scaling the grads are left alone (the factor goes to AdamW instead).
    std::vector<Tensor> g3{Tensor::from_floats(a, {3}).value()};
    QVERIFY(ops::clip_grad_norm_device(g3, max_norm, false).is_ok());
    QCOMPARE(floats(g3[0]), a);
    std::vector<Tensor> none;
    QVERIFY(!ops::clip_grad_norm_device(none, 1.f).is_ok());
  }

  void adamw_hyper_values() {
    Tensor h = Tensor::zeros({3}, DType::kF32).value();
    ops::AdamWConfig cfg{1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
    QVERIFY(ops::adamw_write_hyper(h, cfg, 3).is_ok());
    auto v = floats(h);
    QCOMPARE(v[0], 1e-3f);
    QCOMPARE(v[1], float(1e-3f / (1.0 - std::pow(0.9f, 3))));
    QCOMPARE(v[2], float(std::sqrt(1.0 - std::pow(0.999f, 3))));
    QVERIFY(!ops::adamw_write_hyper(h, cfg, 0).is_ok());
    Tensor wrong = Tensor::zeros({2}, DType::kF32).value();
    QVERIFY(!ops::adamw_write_hyper(wrong, cfg, 1).is_ok());
    // Device step inputs are for CUDA parameters: a clear error on the CPU.
    Tensor p = Tensor::zeros({4}, DType::kF32).value(), g = p.clone().value(),
           m = p.clone().value(), vv = p.clone().value();
    ops::AdamWSlot slot{&p, &g, &m, &vv, nullptr, 0.f, nullptr};
    Status st = ops::adamw_step_multi(std::span<const ops::AdamWSlot>(&slot, 1), cfg, 1, 1.f,
                                      ops::AdamWDeviceInputs{nullptr, &h});
    QVERIFY(!st.is_ok());
    QVERIFY2(st.message().find("CUDA") != std::string::npos, st.to_string().c_str());
  }

  void deferral_nests() {
    QVERIFY(!ops::checks_deferred());
    {
      ops::DeferredChecks a;
      {
        ops::DeferredChecks b;
        QVERIFY(ops::checks_deferred());
      }
      QVERIFY(ops::checks_deferred());
    }
    QVERIFY(!ops::checks_deferred());
  }
};

QTEST_GUILESS_MAIN(TestOpsDeferred)
#include "test_ops_deferred.moc"
