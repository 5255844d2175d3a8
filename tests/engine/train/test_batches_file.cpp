// The --batches file reader: the golden files load with their shapes; malformed files (gaps
// in the numbering, stray tensors, mismatched shapes, ids beyond int32, no labels) fail with
// an error naming the file and the tensor. Also the task/head check of the trainer.
#include <QTemporaryDir>
#include <QtTest>

#include "engine/io/safetensors.h"
#include "engine/models/model.h"
#include "engine/train/fixed_batches.h"
#include "tests/golden/golden_util.h"

using namespace lw;

class TestBatchesFile : public QObject {
  Q_OBJECT
 private slots:
  void goldenFiles() {
    auto b = train::load_batches(golden::dir("bert_cls") + "/batches.safetensors", Device::cpu());
    QVERIFY2(b.is_ok(), b.status().to_string().c_str());
    QCOMPARE(b->size(), size_t(4));
    QCOMPARE((*b)[0].input_ids.shape(), (Shape{4, 16}));
    QCOMPARE((*b)[0].attention_mask.shape(), (Shape{4, 16}));
    QCOMPARE((*b)[0].labels.shape(), (Shape{4}));
    QCOMPARE((*b)[0].input_ids.dtype(), DType::kI32);
    auto g = train::load_batches(golden::dir("gpt2") + "/batches.safetensors", Device::cpu());
    QVERIFY(g.is_ok());
    QVERIFY(!(*g)[0].attention_mask.defined());
  }

  void badFiles_data() {
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("error");
    QTest::newRow("gap") << 0 << "batch indices must run 0..1 without gaps, found batch2";
    QTest::newRow("stray") << 1 << "unexpected tensor 'weights'";
    QTest::newRow("mask shape") << 2 << "'batch0.attention_mask' has shape [2, 3], input_ids has [2, 4]";
    QTest::newRow("labels shape") << 3 << "'batch0.labels' has shape [3]; expected [B,T] like input_ids or [B]";
    QTest::newRow("huge id") << 4 << "tensor 'batch0.input_ids': value 8589934592 at index 1 does not fit in int32";
    QTest::newRow("no labels") << 5 << "'batch0.labels' is missing";
    QTest::newRow("float ids") << 6 << "dtype F32 is not an integer type";
  }
  void badFiles() {
    QFETCH(int, kind);
    QFETCH(QString, error);
    QTemporaryDir tmp;
    std::string path = tmp.path().toStdString() + "/b.safetensors";
    std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8}, mask6 = {1, 1, 1, 1, 1, 1}, lab3 = {0, 1, 2};
    std::vector<int64_t> big = {1, int64_t(1) << 33, 3, 4, 5, 6, 7, 8};
    std::vector<float> fl(8, 1.0f);
    using io::StDtype;
    std::vector<io::StTensorData> t;
    auto add = [&](const std::string& n, StDtype dt, Shape s, const void* d, uint64_t bytes) {
      t.push_back({n, dt, s, d, bytes});
    };
    switch (kind) {
      case 0: add("batch0.input_ids", StDtype::kI64, {2, 4}, ids.data(), 64);
              add("batch0.labels", StDtype::kI64, {2, 4}, ids.data(), 64);
              add("batch2.input_ids", StDtype::kI64, {2, 4}, ids.data(), 64); break;
      case 1: add("batch0.input_ids", StDtype::kI64, {2, 4}, ids.data(), 64);
              add("weights", StDtype::kI64, {2, 4}, ids.data(), 64); break;
      case 2: add("batch0.input_ids", StDtype::kI64, {2, 4}, ids.data(), 64);
              add("batch0.attention_mask", StDtype::kI64, {2, 3}, mask6.data(), 48); break;
      case 3: add("batch0.input_ids", StDtype::kI64, {2, 4}, ids.data(), 64);
              add("batch0.labels", StDtype::kI64, {3}, lab3.data(), 24); break;
      case 4: add("batch0.input_ids", StDtype::kI64, {2, 4}, big.data(), 64);
              add("batch0.labels", StDtype::kI64, {2, 4}, ids.data(), 64); break;
      case 5: add("batch0.input_ids", StDtype::kI64, {2, 4}, ids.data(), 64); break;
      case 6: add("batch0.input_ids", StDtype::kF32, {2, 4}, fl.data(), 32);
              add("batch0.labels", StDtype::kI64, {2, 4}, ids.data(), 64); break;
    }
    QVERIFY(io::write_safetensors(path, t).is_ok());
    auto b = train::load_batches(path, Device::cpu());
    QVERIFY(!b.is_ok());
    const std::string& msg = b.status().message();
    QVERIFY2(msg.find(error.toStdString()) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find(path) != std::string::npos, msg.c_str());
  }

  void taskMustMatchHead() {
    auto m = models::load_model(golden::dir("gpt2") + "/model");
    QVERIFY(m.is_ok());
    auto b = train::load_batches(golden::dir("gpt2") + "/batches.safetensors", Device::cpu());
    QVERIFY(b.is_ok());
    train::FixedBatchOptions o;
    o.task = "classify";
    auto r = train::train_fixed_batches(**m, *b, o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("task 'classify' needs a model with a classify head; "
                                       "GPT2LMHeadModel has 'causal-lm'") != std::string::npos,
             r.status().message().c_str());
  }

  void outOfRangeTokenId() {
    auto m = models::load_model(golden::dir("gpt2") + "/model");
    QVERIFY(m.is_ok());
    models::Batch b;
    b.input_ids = *Tensor::from_ints(std::vector<int32_t>{1, 2, 9999, 4}, {1, 4});
    auto r = (*m)->forward(b, {});
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("9999") != std::string::npos, r.status().message().c_str());
  }
};

QTEST_GUILESS_MAIN(TestBatchesFile)
#include "test_batches_file.moc"
