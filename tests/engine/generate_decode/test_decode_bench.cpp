// `llmwb bench decode` through its engine API on the CPU path with the golden GPT-2 and
// LLaMA models: the figures are consistent with each other (weight bytes = parameters x 4,
// roofline = bandwidth / weight bytes, every sequence generated in full), the CUDA decode
// engine declines CPU models (so generation keeps the reference path), and bad requests
// fail with messages that name what is wrong.
#include <QtTest>

#include "engine/api/decode_bench.h"
#include "engine/generate/decode_engine.h"
#include "engine/models/model.h"

using namespace lw;

namespace {

std::string model_dir(const std::string& name) {
  if (name == "gpt2") return std::string(LW_SOURCE_DIR) + "/tests/golden/data/gpt2/model";
  return std::string(LW_SOURCE_DIR) + "/tests/golden/data_llama/" + name + "/model";
}

api::DecodeBenchOptions small(const std::string& name) {
  api::DecodeBenchOptions o;
  o.model_dir = model_dir(name);
  o.device = Device::cpu();
  o.dtype = DType::kF32;
  o.prompt_tokens = 8;
  o.gen_tokens = 6;
  o.batch = 2;
  o.iters = 1;
  o.warmup = 0;
  return o;
}

}  // namespace

class TestDecodeBench : public QObject {
  Q_OBJECT
 private slots:
  void cpu_figures_data() {
    QTest::addColumn<QString>("model");
    QTest::newRow("gpt2") << "gpt2";
    QTest::newRow("llama") << "llama";
  }
  void cpu_figures() {
    QFETCH(QString, model);
    auto r = api::bench_decode(small(model.toStdString()));
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QVERIFY(!r->decode_engine);
    QCOMPARE(r->batch, int64_t(2));
    QVERIFY(r->num_parameters > 0);
    QCOMPARE(r->weight_bytes, double(r->num_parameters) * 4.0);
    QVERIFY(r->kv_cache_bytes > 0);
    QVERIFY(r->ttft_s > 0 && r->total_s >= r->ttft_s);
    QVERIFY(r->prefill_tok_s > 0 && r->decode_tok_s > 0 && r->e2e_tok_s > 0);
    QVERIFY(r->mem_bandwidth_gbs > 0.1);
    QVERIFY(std::abs(r->roofline_tok_s - 2 * r->mem_bandwidth_gbs * 1e9 / r->weight_bytes) <
            1e-6 * r->roofline_tok_s);
    QVERIFY(std::abs(r->roofline_fraction * r->roofline_tok_s - r->decode_tok_s) <
            1e-6 * r->decode_tok_s);
  }

  void engine_declines_cpu_models() {
    auto m = models::load_model(model_dir("llama"), {Device::cpu(), DType::kF32});
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    auto e = DecodeEngine::create(**m, 1, 8);
    QVERIFY(!e.is_ok());
    QCOMPARE(e.status().code(), StatusCode::kUnsupported);
  }

  void bad_requests_data() {
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("message");
    QTest::newRow("preset") << "preset" << "unknown preset 'gpt3'";
    QTest::newRow("both") << "both" << "either --model DIR or --preset";
    QTest::newRow("context") << "context" << "exceed the model's context of 32";
    QTest::newRow("folder") << "folder" << "/no/such/model";
  }
  void bad_requests() {
    QFETCH(QString, what);
    QFETCH(QString, message);
    api::DecodeBenchOptions o = small("gpt2");
    if (what == "preset") o.model_dir.clear(), o.preset = "gpt3";
    if (what == "both") o.preset = "gpt2-124m";
    if (what == "context") o.prompt_tokens = 30;
    if (what == "folder") o.model_dir = "/no/such/model";
    auto r = api::bench_decode(o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find(message.toStdString()) != std::string::npos,
             r.status().message().c_str());
  }
};

QTEST_GUILESS_MAIN(TestDecodeBench)
#include "test_decode_bench.moc"
