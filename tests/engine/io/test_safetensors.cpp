// Safetensors reader/writer and checkpoint folders: round trips, shards, dtype conversion,
// and every bad fixture in tests/data/bad/io giving its expected error.
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/io/checkpoint.h"
#include "engine/io/hf_config.h"
#include "engine/io/safetensors.h"

using namespace lw::io;

namespace {
const std::string kBad = std::string(LW_SOURCE_DIR) + "/tests/data/bad/io/";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT
 private slots:
  void roundTrip() {
    QTemporaryDir dir;
    std::string path = dir.path().toStdString() + "/t.safetensors";
    std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
    std::vector<uint16_t> b = {0x3f80, 0xc000};  // bf16 1.0, -2.0
    std::vector<int64_t> c = {5, -6, 1ll << 40};
    QVERIFY(write_safetensors(path,
                              {{"a", StDtype::kF32, {2, 3}, a.data(), 24},
                               {"b.weight", StDtype::kBF16, {2}, b.data(), 4},
                               {"c", StDtype::kI64, {3}, c.data(), 24},
                               {"empty", StDtype::kF32, {0, 4}, nullptr, 0}},
                              {{"format", "pt"}})
                .is_ok());
    QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp." + std::to_string(getpid()))));
    auto f = SafeTensorsFile::open(path);
    QVERIFY2(f.is_ok(), f.status().to_string().c_str());
    QCOMPARE(f->tensors().size(), size_t(4));
    QCOMPARE(f->metadata().at("format"), std::string("pt"));
    const auto* ta = f->find("a");
    QVERIFY(ta);
    QCOMPARE(ta->shape, (std::vector<int64_t>{2, 3}));
    QCOMPARE(std::memcmp(f->data(*ta), a.data(), 24), 0);
    const auto* tb = f->find("b.weight");
    QVERIFY(tb && tb->dtype == StDtype::kBF16);
    float bf[2];
    QVERIFY(copy_as_f32("b", tb->dtype, f->data(*tb), 2, bf).is_ok());
    QCOMPARE(bf[0], 1.0f);
    QCOMPARE(bf[1], -2.0f);
    const auto* tc = f->find("c");
    int32_t ci[3];
    auto st = copy_as_i32("c", tc->dtype, f->data(*tc), 3, ci);
    QVERIFY(!st.is_ok());
    QVERIFY2(st.message().find("does not fit in int32") != std::string::npos, st.message().c_str());
    QVERIFY(copy_as_i32("c", tc->dtype, f->data(*tc), 2, ci).is_ok());
    QCOMPARE(ci[1], -6);
    // The data area starts 8-byte aligned.
    std::string raw = slurp(path);
    uint64_t n;
    std::memcpy(&n, raw.data(), 8);
    QCOMPARE(n % 8, uint64_t(0));
  }

  void overwriteIsAtomic() {
    QTemporaryDir dir;
    std::string path = dir.path().toStdString() + "/t.safetensors";
    float x = 1, y = 2;
    QVERIFY(write_safetensors(path, {{"x", StDtype::kF32, {1}, &x, 4}}).is_ok());
    QVERIFY(write_safetensors(path, {{"y", StDtype::kF32, {1}, &y, 4}}).is_ok());
    auto f = SafeTensorsFile::open(path);
    QVERIFY(f.is_ok() && f->find("y") && !f->find("x"));
    // A bad tensor list fails before anything is written and leaves the old file.
    auto st = write_safetensors(path, {{"z", StDtype::kF32, {3}, &x, 4}});
    QVERIFY(!st.is_ok());
    QVERIFY(SafeTensorsFile::open(path)->find("y"));
  }

  void f16Conversion() {
    QCOMPARE(f16_to_f32(0x3c00), 1.0f);
    QCOMPARE(f16_to_f32(0xc000), -2.0f);
    QCOMPARE(f16_to_f32(0x7bff), 65504.0f);
    QCOMPARE(f16_to_f32(0x0001), 5.9604644775390625e-8f);  // smallest subnormal
    QCOMPARE(f16_to_f32(0x03ff), 6.097555160522461e-5f);   // largest subnormal
    QVERIFY(std::isinf(f16_to_f32(0x7c00)));
    QVERIFY(std::isnan(f16_to_f32(0x7e00)));
  }

  void headerLimit() {
    QTemporaryDir dir;
    std::string path = dir.path().toStdString() + "/t.safetensors";
    float x = 1;
    QVERIFY(write_safetensors(path, {{"x", StDtype::kF32, {1}, &x, 4}}).is_ok());
    StReadLimits limits;
    limits.max_header_bytes = 16;
    auto f = SafeTensorsFile::open(path, limits);
    QVERIFY(!f.is_ok());
    QVERIFY2(f.status().message().find("-byte limit") != std::string::npos,
             f.status().message().c_str());
  }

  void shardedCheckpoint() {
    QTemporaryDir dir;
    std::string d = dir.path().toStdString();
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    QVERIFY(write_safetensors(d + "/model-00001-of-00002.safetensors",
                              {{"a", StDtype::kF32, {2}, a, 8}}).is_ok());
    QVERIFY(write_safetensors(d + "/model-00002-of-00002.safetensors",
                              {{"b", StDtype::kF32, {3}, b, 12}}).is_ok());
    QVERIFY(write_file_atomic(d + "/model.safetensors.index.json",
                              R"({"metadata": {"total_size": 20}, "weight_map": {
                                  "a": "model-00001-of-00002.safetensors",
                                  "b": "model-00002-of-00002.safetensors"}})").is_ok());
    auto c = Checkpoint::open(d);
    QVERIFY2(c.is_ok(), c.status().to_string().c_str());
    QCOMPARE(c->names().size(), size_t(2));
    const auto* tb = c->find("b");
    QVERIFY(tb);
    float out[3];
    QVERIFY(copy_as_f32("b", tb->info->dtype, tb->data(), 3, out).is_ok());
    QCOMPARE(out[2], 5.0f);
    // A tensor in two shards is ambiguous.
    QVERIFY(write_safetensors(d + "/model-00002-of-00002.safetensors",
                              {{"a", StDtype::kF32, {2}, a, 8}}).is_ok());
    auto dup = Checkpoint::open(d);
    QVERIFY(!dup.is_ok());
    QVERIFY2(dup.status().message().find("also appears in") != std::string::npos,
             dup.status().message().c_str());
    auto none = Checkpoint::open(d + "/nothing_here");
    QVERIFY(!none.is_ok());
  }

  void badFixtures_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("error");
    auto cases = nlohmann::json::parse(slurp(kBad + "expected.json"));
    QVERIFY(cases.size() >= 20);
    for (const auto& c : cases)
      QTest::newRow(c["file"].get<std::string>().c_str())
          << QString::fromStdString(c["file"]) << QString::fromStdString(c["kind"])
          << QString::fromStdString(c["error"]);
  }
  void badFixtures() {
    QFETCH(QString, file);
    QFETCH(QString, kind);
    QFETCH(QString, error);
    std::string path = kBad + file.toStdString();
    lw::Status st;
    if (kind == "safetensors") {
      st = SafeTensorsFile::open(path).status();
    } else if (kind == "checkpoint") {
      st = Checkpoint::open(path.substr(0, path.rfind('/'))).status();
    } else {
      st = HfConfig::read(path).status();
    }
    QVERIFY2(!st.is_ok(), "expected an error");
    const std::string& msg = st.message();
    QVERIFY2(msg.find(error.toStdString()) != std::string::npos, msg.c_str());
    // Every error names the file it is about.
    std::string base = file.toStdString();
    base = base.substr(0, base.rfind('/') == std::string::npos ? base.size() : base.rfind('/'));
    QVERIFY2(msg.find(base) != std::string::npos, msg.c_str());
  }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
