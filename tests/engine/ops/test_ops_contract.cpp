// The op layer's contract beyond numerics: bad input (shape mismatch, wrong dtype,
// wrong device, strided or undefined tensors, out-of-range token ids, NaN in a loss)
// returns a Status whose message names the problem, never a crash; parameter
// gradients accumulate; dropout keeps 1-p of the elements; a query with no visible
// key yields zeros.
#include <QtTest>

#include <cmath>
#include <cstring>

#include "engine/core/allocator.h"
#include "engine/ops/ops.h"

using namespace lw;

namespace {

Tensor f32(std::vector<float> v, Shape s) { return Tensor::from_floats(v, s).value(); }
Tensor ones(Shape s, DType d = DType::kF32) {
  std::vector<float> v(shape_numel(s), 1.0f);
  return Tensor::from_floats(v, s, d).value();
}
Tensor ints(std::vector<int32_t> v, Shape s) { return Tensor::from_ints(v, s).value(); }

template <typename R>
void expect_error(const R& r, StatusCode code, std::initializer_list<const char*> parts) {
  QVERIFY2(!r.is_ok(), "expected an error");
  const Status& st = [&]() -> const Status& {
    if constexpr (std::is_same_v<R, Status>) return r; else return r.status();
  }();
  QCOMPARE(st.code(), code);
  for (const char* p : parts)
    QVERIFY2(st.message().find(p) != std::string::npos,
             qPrintable(QString("'%1' not in '%2'").arg(p, QString::fromStdString(st.message()))));
}

#if !LW_WITH_CUDA
// Host memory posing as a second device, to test device checks in a CPU-only build.
class FakeDeviceAllocator final : public Allocator {
 public:
  const char* name() const override { return "fake"; }
  Result<void*> allocate(size_t n, int) override { return cpu_allocator().allocate(n, 0); }
  void deallocate(void* p, size_t n, int) override { cpu_allocator().deallocate(p, n, 0); }
  Status copy(void* d, const void* s, size_t n, CopyKind, int) override {
    std::memcpy(d, s, n);
    return Status::ok();
  }
  Status fill_zero(void* p, size_t n, int) override {
    std::memset(p, 0, n);
    return Status::ok();
  }
  AllocatorStats stats(int) const override { return {}; }
};
#endif

}  // namespace

class TestOpsContract : public QObject {
  Q_OBJECT
 private slots:
  void shape_mismatch() {
    expect_error(ops::linear(ones({2, 5}), ones({3, 4})), StatusCode::kInvalidArgument,
                 {"linear", "5 features", "f32[3, 4]"});
    expect_error(ops::matmul(ones({2, 3}), ones({4, 2})), StatusCode::kInvalidArgument,
                 {"matmul", "inner dimensions"});
    expect_error(ops::matmul(ones({2, 2, 3}), ones({3, 3, 2})), StatusCode::kInvalidArgument,
                 {"batch dims"});
    expect_error(ops::layernorm(ones({2, 7}), ones({6}), ones({7}), 1e-5f),
                 StatusCode::kInvalidArgument, {"layernorm", "w must have shape [7]", "f32[6]"});
    expect_error(ops::add(ones({2, 3}), ones({3, 2})), StatusCode::kInvalidArgument,
                 {"add", "b must have shape [2, 3]"});
    expect_error(ops::attention(ones({1, 3, 4, 8}), ones({1, 2, 4, 8}), ones({1, 2, 4, 8}), Tensor()),
                 StatusCode::kInvalidArgument, {"3 query heads", "2 key/value heads"});
    expect_error(ops::attention(ones({1, 2, 4, 8}), ones({1, 2, 4, 8}), ones({1, 2, 4, 8}),
                                ints({1, 1, 1}, {1, 3})),
                 StatusCode::kInvalidArgument, {"key_mask must have shape [1, 4]"});
    expect_error(ops::rope(ones({1, 1, 2, 5}), Tensor()), StatusCode::kInvalidArgument,
                 {"head size must be even"});
    expect_error(ops::cross_entropy(ones({3, 4}), ints({0, 1}, {2})), StatusCode::kInvalidArgument,
                 {"targets must have shape [3]"});
  }

  void wrong_dtype() {
    expect_error(ops::gelu(ints({1, 2}, {2}), ops::Gelu::kErf), StatusCode::kInvalidArgument,
                 {"gelu", "must be f32, bf16 or f16", "i32[2]"});
    expect_error(ops::linear(ones({2, 4}), ones({3, 4}, DType::kBF16)),
                 StatusCode::kInvalidArgument, {"w has dtype BF16", "runs in F32"});
    expect_error(ops::embedding(f32({0, 1}, {2}), ones({4, 2})), StatusCode::kInvalidArgument,
                 {"ids must be i32"});
    Tensor p = ones({4}, DType::kBF16), g = ones({4}), m = ones({4}), v = ones({4});
    expect_error(ops::adamw_step(p, g, m, v, {}, 1), StatusCode::kInvalidArgument,
                 {"master weights", "must be f32"});
  }

  void token_ids_out_of_range() {
    expect_error(ops::embedding(ints({1, 9, 2}, {3}), ones({5, 2})), StatusCode::kInvalidArgument,
                 {"token id 9", "position 1", "vocabulary of 5"});
    expect_error(ops::embedding(ints({-1}, {1}), ones({5, 2})), StatusCode::kInvalidArgument,
                 {"token id -1"});
    Tensor dt = ones({5, 2});
    expect_error(ops::embedding_backward(ones({1, 2}), ints({5}, {1}), dt),
                 StatusCode::kInvalidArgument, {"token id 5"});
    expect_error(ops::cross_entropy(ones({2, 4}), ints({0, 4}, {2})), StatusCode::kInvalidArgument,
                 {"target 4", "row 1", "vocabulary of 4"});
  }

  void nan_in_loss_is_numerical() {
    Tensor logits = f32({0.0f, 1.0f, NAN, 2.0f, 0.5f, INFINITY}, {2, 3});
    expect_error(ops::cross_entropy(logits, ints({0, 1}, {2})), StatusCode::kNumerical,
                 {"cross_entropy", "row 0"});
    // An ignored row's NaN does not count: only its lse is NaN, its loss is 0.
    Tensor ok = f32({0.0f, 1.0f, 2.0f, NAN, 0.0f, 0.0f}, {2, 3});
    auto r = ops::cross_entropy(ok, ints({2, -100}, {2}));
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->count, int64_t(1));
  }

  void strided_and_undefined_inputs() {
    Tensor x = ones({4, 6});
    Tensor strided = x.narrow(1, 0, 3).value();
    expect_error(ops::softmax(strided), StatusCode::kInvalidArgument,
                 {"softmax", "must be contiguous", "contiguous()"});
    expect_error(ops::tanh(Tensor()), StatusCode::kInvalidArgument, {"tanh", "x is undefined"});
    expect_error(ops::dropout(x, 1.0f, 1, 0), StatusCode::kInvalidArgument, {"p must be in [0, 1)"});
    expect_error(ops::layernorm(ones({0}), ones({0}), ones({0}), 1e-5f), StatusCode::kInvalidArgument,
                 {"empty last dim"});
  }

  void wrong_device() {
#if LW_WITH_CUDA
    QSKIP("covered by test_ops_cuda on a GPU build");
#else
    FakeDeviceAllocator fake;
    register_allocator(DeviceType::kCuda, &fake);
    {
      Tensor dev = Tensor::zeros({2, 4}, DType::kF32, Device::cuda(0)).value();
      expect_error(ops::linear(ones({3, 4}), dev), StatusCode::kInvalidArgument,
                   {"w is on cuda:0", "runs on cpu"});
      expect_error(ops::gelu(dev, ops::Gelu::kTanh), StatusCode::kUnsupported,
                   {"no backend for cuda:0"});
    }
    register_allocator(DeviceType::kCuda, nullptr);
#endif
  }

  void parameter_gradients_accumulate() {
    Tensor x = f32({0.5f, -1.0f, 2.0f, 0.25f, 1.5f, -0.75f}, {2, 3});
    Tensor w = f32({1.0f, 0.5f, -1.0f}, {3}), b = f32({0.0f, 0.1f, 0.2f}, {3});
    Tensor dy = f32({1.0f, -2.0f, 0.5f, 0.3f, 0.0f, 1.0f}, {2, 3});
    auto fw = ops::layernorm(x, w, b, 1e-5f).value();
    Tensor dw = Tensor::zeros({3}, DType::kF32).value(), db = Tensor::zeros({3}, DType::kF32).value();
    QVERIFY(ops::layernorm_backward(dy, x, w, fw, &dw, &db).is_ok());
    std::vector<float> once = dw.to_float_vector().value(), once_b = db.to_float_vector().value();
    QVERIFY(ops::layernorm_backward(dy, x, w, fw, &dw, &db).is_ok());
    std::vector<float> twice = dw.to_float_vector().value(), twice_b = db.to_float_vector().value();
    for (int i = 0; i < 3; ++i) {
      QCOMPARE(twice[i], 2 * once[i]);
      QCOMPARE(twice_b[i], 2 * once_b[i]);
    }
    // Frozen parameters: no gradient buffers at all is fine.
    QVERIFY(ops::layernorm_backward(dy, x, w, fw, nullptr, nullptr).is_ok());
    Tensor lw_ = ones({2, 3}), ldw = Tensor::zeros({2, 3}, DType::kF32).value();
    QVERIFY(ops::linear_backward(ones({4, 2}), ones({4, 3}), lw_, &ldw, nullptr).is_ok());
    QVERIFY(ops::linear_backward(ones({4, 2}), ones({4, 3}), lw_, &ldw, nullptr).is_ok());
    std::vector<float> acc = ldw.to_float_vector().value();  // a local: value() of a temporary dangles
    for (float g : acc) QCOMPARE(g, 8.0f);
  }

  void dropout_rate_and_determinism() {
    Tensor x = ones({100000});
    auto y = ops::dropout(x, 0.25f, 99, 0).value().to_float_vector().value();
    int kept = 0;
    for (float v : y) {
      QVERIFY(v == 0.0f || std::fabs(v - 1.0f / 0.75f) < 1e-6f);
      kept += v != 0.0f;
    }
    QVERIFY2(std::abs(kept - 75000) < 600, qPrintable(QString::number(kept)));
    auto again = ops::dropout(x, 0.25f, 99, 0).value().to_float_vector().value();
    QVERIFY(again == y);
    // A shifted offset sees the same stream shifted: element i at offset 10 == element i+10.
    auto shifted = ops::dropout(x, 0.25f, 99, 10).value().to_float_vector().value();
    for (int i = 0; i < 1000; ++i) QCOMPARE(shifted[i], y[i + 10]);
  }

  void fully_masked_query_gives_zeros() {
    // Causal with key 0 padded: query 0 sees no key at all.
    Tensor q = ones({1, 1, 3, 4}), k = ones({1, 1, 3, 4}), v = ones({1, 1, 3, 4});
    ops::AttentionOptions o;
    o.causal = true;
    o.capture_probs = true;
    auto r = ops::attention(q, k, v, ints({0, 1, 1}, {1, 3}), o);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    auto out = r->out.to_float_vector().value();
    for (int d = 0; d < 4; ++d) QCOMPARE(out[d], 0.0f);
    for (int d = 4; d < 12; ++d) QCOMPARE(out[d], 1.0f);
    QVERIFY(std::isinf(r->lse.item(0).value()));
    auto g = ops::attention_backward(ones({1, 1, 3, 4}), q, k, v, *r, ints({0, 1, 1}, {1, 3}), o);
    QVERIFY(g.is_ok());
    std::vector<float> dq = g->dq.to_float_vector().value();
    for (float x : dq) QVERIFY(std::isfinite(x));
  }

  void global_norm_and_clip() {
    std::vector<Tensor> g{f32({3.0f, 0.0f}, {2}), f32({4.0f}, {1})};
    QCOMPARE(ops::global_norm(g).value(), 5.0);
    QCOMPARE(ops::clip_grad_norm(g, 10.0f).value(), 5.0);
    QCOMPARE(g[0].item(0).value(), 3.0f);  // under the limit: untouched
    QCOMPARE(ops::clip_grad_norm(g, 1.0f).value(), 5.0);
    QVERIFY(std::fabs(g[1].item(0).value() - 0.8f) < 1e-6f);
  }
};

QTEST_GUILESS_MAIN(TestOpsContract)
#include "test_ops_contract.moc"
