// `llmwb generate` / `llmwb fill-mask` end to end on the golden models: --json ids equal the
// no-cache reference run, log-probabilities and timing are reported, --stream prints the same
// text as the JSON, and each bad input of issue 5 fails with its exit code and clear text.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "tests/engine/generate_loop/tiny_tokenizer.h"
#include "tests/app/cli_test_util.h"
#include "tests/golden/golden_util.h"

namespace {

using lwtest::CliResult;

CliResult llmwb(const QStringList& args) {
  return lwtest::run_cli(LW_LLMWB_GENERATE_CLI, args, 120000);
}

QString gpt2() { return QString::fromStdString(golden::dir("gpt2") + "/model"); }

}  // namespace

class TestCliGenerate : public QObject {
  Q_OBJECT
 private slots:
  void json_ids_equal_reference() {
    QStringList a = {"generate", "--model", gpt2(), "--ids", "3,1,4,1,5", "--max-new-tokens",
                     "12", "--greedy", "--ignore-eos", "--top-logprobs", "2", "--json"};
    auto cached = llmwb(a);
    QVERIFY2(cached.code == 0, cached.err.c_str());
    auto full = llmwb(a << "--no-cache");
    QVERIFY2(full.code == 0, full.err.c_str());
    auto j = nlohmann::json::parse(cached.out), k = nlohmann::json::parse(full.out);
    QCOMPARE(j["generated_ids"].size(), size_t(12));
    QCOMPARE(j["generated_ids"], k["generated_ids"]);
    QCOMPARE(j["finish_reason"].get<std::string>(), std::string("length"));
    QCOMPARE(j["tokens"].size(), size_t(12));
    QCOMPARE(j["tokens"][0]["top"].size(), size_t(2));
    QVERIFY(j["tokens"][0]["logprob"].get<double>() <= 0);
    QVERIFY(j["timing"]["decode_tokens_per_s"].get<double>() > 0);
    QVERIFY(j["timing"]["time_to_first_token_s"].get<double>() > 0);
  }

  void stream_matches_json_text() {
    QTemporaryDir tmp;
    QVERIFY(tiny_tokenizer::make_gpt2_folder(gpt2().toStdString(), tmp.path().toStdString()));
    QStringList a = {"generate", "--model", tmp.path(), "--prompt", "hello abc",
                     "--max-new-tokens", "16", "--seed", "5", "--temperature", "0.9",
                     "--ignore-eos"};
    auto streamed = llmwb(QStringList(a) << "--stream");
    QVERIFY2(streamed.code == 0, streamed.err.c_str());
    auto json = llmwb(QStringList(a) << "--json");
    QVERIFY2(json.code == 0, json.err.c_str());
    auto j = nlohmann::json::parse(json.out);
    QCOMPARE(streamed.out, j["text"].get<std::string>() + "\n");
  }

  void bad_input_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    const QString g = gpt2();
    QTest::newRow("unknown folder") << QStringList{"generate", "--model", "/no/such/model", "--ids", "1"}
                                    << 1 << "/no/such/model: not a model folder";
    QString long_ids;
    for (int i = 0; i < 40; ++i) long_ids += (i ? "," : "") + QString::number(i);
    QTest::newRow("prompt longer than context")
        << QStringList{"generate", "--model", g, "--ids", long_ids} << 1
        << "the prompt has 40 tokens; the model's context holds 32";
    QTest::newRow("top-p 2") << QStringList{"generate", "--model", g, "--ids", "1", "--top-p", "2"}
                             << 2 << "--top-p must be in (0, 1], got 2";
    QTest::newRow("no tokenizer") << QStringList{"generate", "--model", g, "--prompt", "hi"} << 1
                                  << "has no tokenizer";
    QTest::newRow("greedy and sampling")
        << QStringList{"generate", "--model", g, "--ids", "1", "--greedy", "--temperature", "2"}
        << 2 << "--greedy cannot be combined";
    QTest::newRow("bad ids") << QStringList{"generate", "--model", g, "--ids", "1,x"} << 2
                             << "--ids: item 2 ('x') is not a token id";
    QTest::newRow("fill-mask on gpt2 without tokenizer")
        << QStringList{"fill-mask", "--model", g, "--text", "a [MASK] b"} << 1 << "has no tokenizer";
  }
  void bad_input() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, message);
    auto r = llmwb(args);
    QCOMPARE(r.code, code);
    QVERIFY2(r.err.find(message.toStdString()) != std::string::npos, r.err.c_str());
  }

  void invalid_utf8_prompt_file() {
    QTemporaryDir tmp;
    const std::string path = tmp.filePath("prompt.txt").toStdString();
    std::ofstream(path, std::ios::binary) << "fine\nbad \xff byte\n";
    auto r = llmwb({"generate", "--model", gpt2(), "--prompt-file", QString::fromStdString(path)});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.find("prompt.txt: invalid UTF-8 at line 2") != std::string::npos, r.err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestCliGenerate)
#include "test_cli_generate.moc"
