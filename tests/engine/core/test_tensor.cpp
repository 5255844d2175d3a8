// Tensor: allocation, views that share storage (reshape, slice, narrow, select),
// strided copies, dtype casts, devices, borrowed memory, and the errors for misuse.
#include <QtTest>

#include <numeric>

#include "engine/core/allocator.h"
#include "engine/core/device.h"
#include "engine/core/tensor.h"

using namespace lw;

namespace {
Tensor iota(const Shape& shape, DType dtype = DType::kF32) {
  std::vector<float> v(shape_numel(shape));
  std::iota(v.begin(), v.end(), 0.0f);
  return Tensor::from_floats(v, shape, dtype).value();
}
std::vector<float> values(const Tensor& t) { return t.to_float_vector().value(); }
}  // namespace

class TestTensor : public QObject {
  Q_OBJECT
 private slots:
  void empty_and_zeros() {
    auto t = Tensor::zeros({2, 3, 4}, DType::kBF16);
    QVERIFY(t.is_ok());
    QCOMPARE(t->numel(), int64_t(24));
    QCOMPARE(t->nbytes(), size_t(48));
    QVERIFY(t->is_contiguous());
    QCOMPARE(reinterpret_cast<uintptr_t>(t->data_ptr()) % 64, uintptr_t(0));
    for (float v : values(*t)) QCOMPARE(v, 0.0f);
    QVERIFY(!Tensor::empty({2, -1}, DType::kF32).is_ok());
    QCOMPARE(t->to_string(), std::string("bf16[2, 3, 4] cpu"));
  }

  void reshape_shares_storage() {
    Tensor t = iota({2, 6});
    auto r = t.reshape({3, -1});
    QVERIFY(r.is_ok());
    QCOMPARE(r->shape(), (Shape{3, 4}));
    QCOMPARE(r->data_ptr(), t.data_ptr());
    r->data<float>()[5] = 100.0f;
    QCOMPARE(t.data<float>()[5], 100.0f);
    auto bad = t.reshape({5, -1});
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.status().message().find("[5, -1]") != std::string::npos);
    QVERIFY(!t.reshape({-1, -1}).is_ok());
  }

  void slice_is_contiguous_view() {
    Tensor t = iota({4, 3});
    auto s = t.slice(1, 2);
    QVERIFY(s.is_ok());
    QVERIFY(s->is_contiguous());
    QCOMPARE(values(*s), (std::vector<float>{3, 4, 5, 6, 7, 8}));
    QVERIFY(!t.slice(3, 2).is_ok());
  }

  void narrow_inner_dim_is_strided() {
    Tensor t = iota({2, 3, 4});
    auto n = t.narrow(2, 1, 2);
    QVERIFY(n.is_ok());
    QVERIFY(!n->is_contiguous());
    QCOMPARE(n->shape(), (Shape{2, 3, 2}));
    QCOMPARE(values(*n), (std::vector<float>{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}));
    auto c = n->contiguous();
    QVERIFY(c.is_ok() && c->is_contiguous());
    QVERIFY(c->data_ptr() != t.data_ptr());
    QCOMPARE(values(*c), values(*n));
    QVERIFY(!n->reshape({12}).is_ok());  // a strided view cannot be reshaped in place
    QCOMPARE(n->item(3).value(), 6.0f);
  }

  void select_drops_dim() {
    Tensor t = iota({2, 3, 4});
    auto s = t.select(1, 2);
    QVERIFY(s.is_ok());
    QCOMPARE(s->shape(), (Shape{2, 4}));
    QCOMPARE(values(*s), (std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23}));
    auto last = t.select(-1, 0);
    QCOMPARE(values(*last), (std::vector<float>{0, 4, 8, 12, 16, 20}));
  }

  void copy_into_strided_view() {
    Tensor t = Tensor::zeros({3, 4}, DType::kF32).value();
    Tensor col = t.narrow(1, 2, 1).value();
    Tensor src = Tensor::from_floats(std::vector<float>{7, 8, 9}, {3, 1}).value();
    QVERIFY(col.copy_from(src).is_ok());
    QCOMPARE(values(t), (std::vector<float>{0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0}));
    Tensor wrong = Tensor::zeros({4, 1}, DType::kF32).value();
    auto st = col.copy_from(wrong);
    QVERIFY(!st.is_ok());
    QVERIFY(st.message().find("[4, 1]") != std::string::npos);
  }

  void dtype_casts() {
    Tensor t = Tensor::from_floats(std::vector<float>{1.0f, 1.00390625f, -3.5f, 65520.0f}, {4}).value();
    Tensor b = t.to(DType::kBF16).value();
    QCOMPARE(b.dtype(), DType::kBF16);
    QCOMPARE(b.data<uint16_t>()[1], uint16_t(0x3F80));  // tie rounds to even
    Tensor h = t.to(DType::kF16).value();
    QCOMPARE(h.data<uint16_t>()[3], uint16_t(0x7C00));  // overflow to inf
    Tensor i = t.to(DType::kI32).value();
    QCOMPARE(i.data<int32_t>()[2], -3);
    Tensor back = b.to(DType::kF32).value();
    QCOMPARE(values(back)[2], -3.5f);
    Tensor same = t.to(DType::kF32).value();
    QCOMPARE(same.data_ptr(), t.data_ptr());
  }

  void ints_and_clone() {
    Tensor ids = Tensor::from_ints(std::vector<int32_t>{3, 1, 4}, {3}).value();
    QCOMPARE(ids.dtype(), DType::kI32);
    QCOMPARE(ids.to_int_vector().value(), (std::vector<int64_t>{3, 1, 4}));
    Tensor c = ids.clone().value();
    c.data<int32_t>()[0] = 9;
    QCOMPARE(ids.data<int32_t>()[0], 3);
    QVERIFY(!Tensor::from_ints(std::vector<int32_t>{1, 2}, {3}).is_ok());
  }

  void borrowed_memory_stays_alive() {
    auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
    Tensor t = Tensor::from_blob(owner->data(), {2, 2}, DType::kF32, Device::cpu(), owner);
    std::weak_ptr<std::vector<float>> weak = owner;
    owner.reset();
    QVERIFY(!weak.expired());
    QCOMPARE(values(t), (std::vector<float>{1, 2, 3, 4}));
    t = Tensor();
    QVERIFY(weak.expired());
  }

  void allocator_stats_track_usage() {
    AllocatorStats before = cpu_allocator().stats(0);
    {
      Tensor t = Tensor::empty({1024}, DType::kF32).value();
      QCOMPARE(cpu_allocator().stats(0).bytes_in_use, before.bytes_in_use + 4096);
    }
    QCOMPARE(cpu_allocator().stats(0).bytes_in_use, before.bytes_in_use);
  }

  void devices() {
    QCOMPARE(parse_device("cpu").value(), Device::cpu());
    QCOMPARE(parse_device("cuda").value(), Device::cuda(0));
    QCOMPARE(parse_device("cuda:3").value(), Device::cuda(3));
    QCOMPARE(Device::cuda(1).to_string(), std::string("cuda:1"));
    for (const char* bad : {"cuda:", "cuda:x", "tpu", "cuda:-1", "cuda:1x"}) {
      auto r = parse_device(bad);
      QVERIFY2(!r.is_ok(), bad);
      QVERIFY(r.status().message().find(bad) != std::string::npos);
    }
#if !LW_WITH_CUDA
    auto t = Tensor::empty({4}, DType::kF32, Device::cuda(0));
    QVERIFY(!t.is_ok());
    QCOMPARE(t.status().code(), StatusCode::kUnsupported);
#endif
  }

  void undefined_tensor_errors() {
    Tensor u;
    QVERIFY(!u.defined());
    QVERIFY(!u.contiguous().is_ok());
    QVERIFY(!u.to(DType::kBF16).is_ok());
    QVERIFY(!u.to_float_vector().is_ok());
    QCOMPARE(u.to_string(), std::string("undefined"));
  }
};

QTEST_GUILESS_MAIN(TestTensor)
#include "test_tensor.moc"
