// LLaMA-family config.json spellings: rope_theta at the top level (transformers 4.x) or in
// rope_parameters (5.x), head_dim and GQA defaults, Qwen2's implied q/k/v biases, tied heads
// (no lm_head tensor), a to_json round trip that keeps unknown fields, and clear refusals
// (scaled RoPE, bad head counts, an unknown activation).
#include <QtTest>

#include <nlohmann/json.hpp>

#include "engine/io/hf_config.h"
#include "engine/models/llama.h"
#include "engine/models/model.h"

using namespace lw;
using Json = nlohmann::json;

namespace {

Json base() {
  return Json{{"architectures", {"LlamaForCausalLM"}},
              {"model_type", "llama"},
              {"vocab_size", 100},
              {"hidden_size", 32},
              {"intermediate_size", 48},
              {"num_hidden_layers", 2},
              {"num_attention_heads", 4},
              {"max_position_embeddings", 64}};
}

Result<models::LlamaConfig> parse(const Json& j) {
  LW_ASSIGN_OR_RETURN(io::HfConfig hf, io::HfConfig::parse("config.json", j.dump()));
  return models::LlamaConfig::from_hf(hf);
}

}  // namespace

class TestLlamaConfig : public QObject {
  Q_OBJECT
 private slots:
  void defaults() {
    auto c = parse(base());
    QVERIFY2(c.is_ok(), c.status().to_string().c_str());
    QCOMPARE(c->num_key_value_heads, int64_t(4));
    QCOMPARE(c->head_dim, int64_t(8));
    QCOMPARE(c->rope_theta, 10000.0);
    QVERIFY(!c->qkv_bias && !c->tie_word_embeddings);
  }

  void ropeThetaSpellings() {
    Json a = base();
    a["rope_theta"] = 500000.0;
    Json b = base();
    b["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 250000.0}};
    Json c = base();
    c["rope_theta"] = 1e6;
    c["rope_scaling"] = nullptr;
    QCOMPARE(parse(a)->rope_theta, 500000.0);
    QCOMPARE(parse(b)->rope_theta, 250000.0);
    QCOMPARE(parse(c)->rope_theta, 1e6);
  }

  void qwen2HasQkvBias() {
    Json j = base();
    j["architectures"] = {"Qwen2ForCausalLM"};
    j["model_type"] = "qwen2";
    j["tie_word_embeddings"] = true;
    j["num_key_value_heads"] = 2;
    auto c = parse(j);
    QVERIFY(c.is_ok());
    QVERIFY(c->qkv_bias && !c->o_bias);
    auto m = models::make_llama(*c, Device::cpu(), DType::kF32);
    QVERIFY(m.is_ok());
    QVERIFY((*m)->find("l.0.q.b") && (*m)->find("l.1.v.b") && !(*m)->find("l.0.o.b"));
    QVERIFY(!(*m)->find("lm_head.w"));
    QCOMPARE((*m)->find("l.0.k.w")->spec.shape, (Shape{16, 32}));
    // V*C + L*(2C + C*C + 2*16*C + C*C + 32 + 2*16 + 3*C*F) + C
    const int64_t C = 32, F = 48, KV = 16, L = 2, V = 100;
    int64_t per_layer = 2 * C + 2 * C * C + 2 * KV * C + C + 2 * KV + 3 * C * F;
    QCOMPARE((*m)->num_parameters(), V * C + L * per_layer + C);
    QCOMPARE((*m)->architecture(), std::string("Qwen2ForCausalLM"));
  }

  void jsonRoundTripKeepsUnknownFields() {
    Json j = base();
    j["eos_token_id"] = {128001, 128009};
    j["rope_theta"] = 123456.0;
    j["num_key_value_heads"] = 2;
    auto c = parse(j);
    QVERIFY(c.is_ok());
    Json out = Json::parse(c->to_json());
    QCOMPARE(out["eos_token_id"], Json({128001, 128009}));
    QCOMPARE(out["rope_parameters"]["rope_theta"].get<double>(), 123456.0);
    QCOMPARE(out["rope_theta"].get<double>(), 123456.0);
    auto again = parse(out);
    QVERIFY(again.is_ok());
    QCOMPARE(again->num_key_value_heads, int64_t(2));
    QCOMPARE(again->rope_theta, 123456.0);
  }

  void refusals_data() {
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("message");
    QTest::newRow("llama3 rope") << R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}})"
                                 << "config.json: field 'rope_scaling.rope_type' = 'llama3': only "
                                    "the default rotary embedding is supported";
    QTest::newRow("yarn in rope_parameters")
        << R"({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4}})"
        << "config.json: field 'rope_parameters.rope_type' = 'yarn': only the default rotary "
           "embedding is supported";
    QTest::newRow("gqa")
        << R"({"num_key_value_heads": 3})"
        << "config.json: num_attention_heads 4 is not a multiple of num_key_value_heads 3";
    QTest::newRow("act") << R"({"hidden_act": "gelu"})"
                         << "config.json: hidden_act 'gelu' is not supported (silu)";
    QTest::newRow("layers")
        << R"({"num_hidden_layers": 1000000000000})"
        << "config.json: field 'num_hidden_layers' = 1000000000000 is out of range [1, 1024]";
    QTest::newRow("heads") << R"({"num_attention_heads": 5})"
                           << "config.json: hidden_size 32 is not divisible by num_attention_heads "
                              "5 (and head_dim is absent)";
  }
  void refusals() {
    QFETCH(QString, patch);
    QFETCH(QString, message);
    Json j = base();
    j.merge_patch(Json::parse(patch.toStdString()));
    auto c = parse(j);
    QVERIFY(!c.is_ok());
    QCOMPARE(QString::fromStdString(c.status().message()), message);
  }

  void loaderPicksTheFamily() {
    Json j = base();
    j.erase("architectures");
    j["model_type"] = "mistral";
    auto hf = io::HfConfig::parse("config.json", j.dump());
    QVERIFY(hf.is_ok());
    auto m = models::create_model(*hf, {});
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QCOMPARE((*m)->architecture(), std::string("MistralForCausalLM"));
    QCOMPARE((*m)->family(), std::string("mistral"));
  }
};

QTEST_GUILESS_MAIN(TestLlamaConfig)
#include "test_llama_config.moc"
