// HfConfig: aliases of older and newer transformers releases, optional fields, range checks
// that stop absurd configs, and error messages that name the file and the field.
#include <QtTest>

#include "engine/io/hf_config.h"

using namespace lw::io;

class TestConfig : public QObject {
  Q_OBJECT
 private slots:
  void aliases() {
    auto old_style = HfConfig::parse("old/config.json", R"({
      "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
      "n_embd": 64, "rope_theta": 10000.0, "num_hidden_layers": 2.0})");
    QVERIFY2(old_style.is_ok(), old_style.status().to_string().c_str());
    auto new_style = HfConfig::parse("new/config.json", R"({
      "architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "float32",
      "hidden_size": 128, "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0},
      "num_hidden_layers": 4})");
    QVERIFY(new_style.is_ok());
    Aliases embd = {"n_embd", "hidden_size"};
    Aliases theta = {"rope_theta", "rope_parameters.rope_theta"};
    QCOMPARE(*old_style->get_int(embd, 1, 1 << 20), int64_t(64));
    QCOMPARE(*new_style->get_int(embd, 1, 1 << 20), int64_t(128));
    QCOMPARE(*old_style->get_double(theta, 1, 1e9), 10000.0);
    QCOMPARE(*new_style->get_double(theta, 1, 1e9), 500000.0);
    QCOMPARE(*old_style->get_int({"num_hidden_layers"}, 1, 1000), int64_t(2));  // "2.0"
    QCOMPARE(old_style->dtype(), std::string("bfloat16"));
    QCOMPARE(new_style->dtype(), std::string("float32"));
    QCOMPARE(new_style->architecture(), std::string("LlamaForCausalLM"));
    QCOMPARE(new_style->model_type(), std::string("llama"));
  }

  void optionalAndNull() {
    auto c = HfConfig::parse("c.json", R"({"n_inner": null, "tie": true, "act": "gelu_new"})");
    QVERIFY(c.is_ok());
    QCOMPARE(*c->get_int({"n_inner"}, 1, 100, 42), int64_t(42));  // null = absent
    QCOMPARE(*c->get_bool({"tie"}, false), true);
    QCOMPARE(*c->get_bool({"other"}, false), false);
    QCOMPARE(*c->get_string({"act"}, "gelu"), std::string("gelu_new"));
    auto bad = c->get_int({"act"}, 0, 10, 3);
    QVERIFY(!bad.is_ok());
    QVERIFY2(bad.status().message().find("c.json: field 'act' must be an integer") == 0,
             bad.status().message().c_str());
  }

  void errors_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("error");
    QTest::newRow("missing") << R"({"hidden_size": 4})"
                             << "cfg.json: field 'n_layer' (or 'num_hidden_layers') is missing";
    QTest::newRow("absurd") << R"({"n_layer": 1000000000000})"
                            << "cfg.json: field 'n_layer' = 1000000000000 is out of range [1, 1024]";
    QTest::newRow("huge") << R"({"num_hidden_layers": 18446744073709551615})"
                          << "field 'num_hidden_layers' = 18446744073709551615 is out of range";
    QTest::newRow("negative") << R"({"n_layer": -3})" << "is out of range [1, 1024]";
    QTest::newRow("string") << R"({"n_layer": "12"})" << "must be an integer, got \"12\"";
    QTest::newRow("fraction") << R"({"n_layer": 2.5})" << "must be an integer, got 2.5";
  }
  void errors() {
    QFETCH(QString, json);
    QFETCH(QString, error);
    auto c = HfConfig::parse("cfg.json", json.toStdString());
    QVERIFY(c.is_ok());
    auto r = c->get_int({"n_layer", "num_hidden_layers"}, 1, 1024);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find(error.toStdString()) != std::string::npos,
             r.status().message().c_str());
  }

  void missingFile() {
    auto c = HfConfig::read("/nonexistent/config.json");
    QVERIFY(!c.is_ok());
    QCOMPARE(c.status().code(), lw::StatusCode::kNotFound);
    QVERIFY(c.status().message().find("/nonexistent/config.json") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "test_config.moc"
