// The real `llmwb` executable's global contract: --help lists the commands, --version prints
// the version, every command has its own --help, `info --json` is one JSON document with the
// build, CPU and CUDA sections (devices, or a status such as "no CUDA device"), and bad
// command lines go to stderr with exit code 2 and nothing on stdout.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "tests/app/cli_test_util.h"

namespace {
lwtest::CliResult llmwb(const QStringList& args) { return lwtest::run_cli(LW_LLMWB, args, 120000); }
}  // namespace

class TestCliInfo : public QObject {
  Q_OBJECT
 private slots:
  void helpAndVersion() {
    auto help = llmwb({"--help"});
    QCOMPARE(help.code, 0);
    for (const char* cmd : {"info", "runs", "model", "tokenize", "forward", "generate", "fill-mask", "train",
                            "eval", "predict", "attention", "bench"})
      QVERIFY2(help.out.find(std::string("  ") + cmd) != std::string::npos, cmd);
    auto version = llmwb({"--version"});
    QCOMPARE(version.code, 0);
    QVERIFY2(version.out.find("0.") != std::string::npos, version.out.c_str());
  }

  void perCommandHelp_data() {
    QTest::addColumn<QString>("command");
    for (const char* c : {"info", "runs", "model", "tokenize", "generate", "train", "attention", "bench"})
      QTest::newRow(c) << QString(c);
  }
  void perCommandHelp() {
    QFETCH(QString, command);
    auto r = llmwb({command, "--help"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.find("llmwb " + command.toStdString()) != std::string::npos, r.out.c_str());
  }

  void infoJson() {
    auto r = llmwb({"info", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    auto j = nlohmann::json::parse(r.out, nullptr, false);  // one document, nothing else on stdout
    QVERIFY2(!j.is_discarded(), r.out.c_str());
    QVERIFY(j["version"].is_string() && !j["version"].get<std::string>().empty());
    QVERIFY(j["build"]["cuda"].is_boolean() && j["build"]["nccl"].is_boolean());
    QVERIFY(j["cpu"]["threads"].get<int>() > 0 && j["cpu"]["memory_bytes"].get<int64_t>() > 0);
    const auto& cuda = j["cuda"];
    QVERIFY(cuda["devices"].is_array());
    if (cuda["devices"].empty()) {
      QVERIFY2(!cuda["status"].get<std::string>().empty(), cuda.dump().c_str());  // e.g. "no CUDA device"
    } else {
      for (const auto& d : cuda["devices"]) {
        QVERIFY(!d["name"].get<std::string>().empty());
        QVERIFY(d["total_memory_bytes"].get<int64_t>() > 0);
        QVERIFY(d["compute_capability"].get<std::string>().find('.') != std::string::npos);
      }
    }
    auto text = llmwb({"info"});
    QCOMPARE(text.code, 0);
    QVERIFY(text.out.find("GPU") != std::string::npos);  // a device line or the status line
  }

  void badCommandLines_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("error");
    QTest::newRow("unknown command") << QStringList{"frobnicate"} << "unknown command 'frobnicate'";
    QTest::newRow("unknown option") << QStringList{"info", "--colour", "red"} << "unknown option --colour";
    QTest::newRow("extra argument") << QStringList{"info", "now"} << "unexpected argument 'now'";
  }
  void badCommandLines() {
    QFETCH(QStringList, args);
    QFETCH(QString, error);
    auto r = llmwb(args);
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.find(error.toStdString()) != std::string::npos, r.err.c_str());
    QVERIFY2(r.out.empty(), r.out.c_str());
  }
};

QTEST_GUILESS_MAIN(TestCliInfo)
#include "test_cli_info.moc"
