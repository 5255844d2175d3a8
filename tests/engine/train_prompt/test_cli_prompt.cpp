// `llmwb train prompt` and `llmwb generate --prompt-table` end to end (child processes) on the
// golden GPT-2 with the tiny byte-level tokenizer: p-tuning with the LSTM encoder trains and
// writes a table and a PEFT folder, generate uses the table and the PEFT folder, and bad
// command lines and bad files fail with the exit code and the message they should.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/app/cli_test_util.h"
#include "tests/engine/generate_loop/tiny_tokenizer.h"

namespace {

lwtest::CliResult llmwb(const QStringList& args) { return lwtest::run_cli(LW_LLMWB_PROMPT_CLI, args, 300000); }

}  // namespace

class TestCliPrompt : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString p(const char* n) { return dir_.path() + "/" + n; }
  QStringList base() {
    return {"train", "prompt", "--model", p("model"), "--tasks", p("tasks.json"), "--train", p("train.jsonl"),
            "--project", p("project"), "--out", p("table.safetensors")};
  }

 private slots:
  void initTestCase() {
    QDir().mkpath(p("model"));
    QDir().mkpath(p("project"));
    QVERIFY(tiny_tokenizer::make_gpt2_folder(std::string(LW_SOURCE_DIR) + "/tests/golden/data/gpt2/model",
                                             p("model").toStdString()));
    std::ofstream(p("tasks.json").toStdString())
        << R"({"taskname": "pairs", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text}:{label}",
              "total_virtual_tokens": 4, "answer_only_loss": true, "add_eos": false})";
    std::ofstream t(p("train.jsonl").toStdString());
    for (int i = 0; i < 16; ++i)
      t << "{\"text\": \"" << (i % 2 ? "abcd" : "mnop") << "\", \"label\": \"" << (i % 2 ? "ab" : "cd") << "\"}\n";
  }

  void trainAndGenerate() {
    QStringList a = base();
    a << "--method" << "p-tuning" << "--encoder" << "lstm" << "--encoder-hidden" << "16" << "--epochs" << "2"
      << "--batch" << "4" << "--lr" << "0.01" << "--dev" << p("train.jsonl") << "--max-new-tokens" << "1"
      << "--peft-dir" << p("peft") << "--json";
    auto r = llmwb(a);
    QVERIFY2(r.code == 0, r.err.c_str());
    auto j = nlohmann::json::parse(r.out);
    QCOMPARE(j["steps"].get<int>(), 8);
    QCOMPARE(j["tasks"][0].get<std::string>(), std::string("pairs"));
    QVERIFY(j["run_id"].get<int>() >= 1);
    QVERIFY(j["dev"].contains("accuracy_before"));
    auto g = llmwb({"generate", "--model", p("model"), "--prompt-table", p("table.safetensors"), "--task", "pairs",
                    "--field", "text=abcd", "--greedy", "--max-new-tokens", "2", "--json"});
    QVERIFY2(g.code == 0, g.err.c_str());
    QCOMPARE(nlohmann::json::parse(g.out)["generated_ids"].size(), size_t(2));
    // The PEFT folder holds the same prompt under the template <|VIRTUAL_PROMPT_0|>{text}: with
    // the ':' in the text the tokens are the same, so is the greedy continuation.
    auto gp = llmwb({"generate", "--model", p("model"), "--prompt-table", p("peft"), "--task", "peft",
                     "--field", "text=abcd:", "--greedy", "--max-new-tokens", "2", "--json"});
    QVERIFY2(gp.code == 0, gp.err.c_str());
    QCOMPARE(nlohmann::json::parse(gp.out)["generated_ids"], nlohmann::json::parse(g.out)["generated_ids"]);
  }

  void badCommandLines_data() {
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("error");
    QTest::newRow("no method") << QStringList{} << 2 << "--method is required";
    QTest::newRow("bad method") << QStringList{"--method", "lora"} << 2 << "--method must be prompt-tuning or p-tuning";
    QTest::newRow("encoder with prompt tuning") << QStringList{"--method", "prompt-tuning", "--encoder", "mlp"} << 2
                                                << "belong to --method p-tuning";
    QTest::newRow("init and init-from") << QStringList{"--method", "prompt-tuning", "--init", "vocab", "--init-from", "x"}
                                        << 2 << "give --init or --init-from, not both";
    QTest::newRow("text without text") << QStringList{"--method", "prompt-tuning", "--init", "text"} << 2
                                       << "--init text needs --init-text TEXT";
    QTest::newRow("unknown option") << QStringList{"--method", "prompt-tuning", "--epoch", "2"} << 2
                                    << "unknown option --epoch";
    QTest::newRow("wrong model table") << QStringList{"--method", "prompt-tuning", "--init-from", "@other"} << 1
                                       << "this prompt table was trained on";
  }
  void badCommandLines() {
    QFETCH(QStringList, extra);
    QFETCH(int, code);
    QFETCH(QString, error);
    if (extra.contains("@other")) {
      // A table whose model identity differs: rewrite the metadata hash of a real table.
      std::ifstream in(p("table.safetensors").toStdString(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), {});
      size_t at = bytes.find("embedding_sha256");
      QVERIFY(at != std::string::npos);
      size_t h = bytes.find_first_of("0123456789abcdef", at + 20);
      bytes[h] = bytes[h] == '0' ? '1' : '0';
      std::ofstream(p("other.safetensors").toStdString(), std::ios::binary) << bytes;
      extra.replaceInStrings("@other", p("other.safetensors"));
    }
    auto r = llmwb(base() + extra);
    QVERIFY2(r.code == code, (std::to_string(r.code) + ": " + r.err).c_str());
    QVERIFY2(r.err.find(error.toStdString()) != std::string::npos, r.err.c_str());
  }

  void badData() {
    std::ofstream(p("bad.jsonl").toStdString()) << "{\"text\": \"ab\", \"label\": \"cd\"}\nnot json\n";
    QStringList a = base();
    a[7] = p("bad.jsonl");
    a << "--method" << "prompt-tuning";
    auto r = llmwb(a);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.find("bad.jsonl:2: not JSON") != std::string::npos, r.err.c_str());
    // A YAML tasks file: read as YAML by its extension, a syntax error names file and line.
    std::ofstream(p("tasks.yaml").toStdString()) << "taskname: pairs\ntotal_virtual_tokens: [4\n";
    a = base();
    a[5] = p("tasks.yaml");
    a << "--method" << "prompt-tuning";
    r = llmwb(a);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.find((p("tasks.yaml") + ":3:").toStdString()) != std::string::npos, r.err.c_str());
    QVERIFY2(r.err.find("YAML syntax error") != std::string::npos, r.err.c_str());
    auto g = llmwb({"generate", "--model", p("model"), "--prompt-table", p("table.safetensors"), "--task", "pairs"});
    QCOMPARE(g.code, 1);
    QVERIFY2(g.err.find("needs field 'text'") != std::string::npos, g.err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestCliPrompt)
#include "test_cli_prompt.moc"
