// `llmwb train ... --batches` end to end: for each golden case the command line reproduces
// PyTorch's 20 losses (1e-4 relative) with the optimizer settings from train.json; --save
// writes a folder that trains on; bad command lines fail with exit code 2 and clear text.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "tests/app/cli_test_util.h"
#include "tests/golden/golden_util.h"

namespace {

using lwtest::CliResult;

CliResult llmwb(const QStringList& args) {
  return lwtest::run_cli(LW_LLMWB_TRAIN_CLI, args, 300000);
}

QStringList golden_args(const std::string& name, const std::string& task) {
  auto j = golden::train_json(name);
  auto num = [](const nlohmann::json& v) { return QString::number(v.get<double>(), 'g', 17); };
  return {"train", QString::fromStdString(task),
          "--model", QString::fromStdString(golden::dir(name) + "/model"),
          "--batches", QString::fromStdString(golden::dir(name) + "/batches.safetensors"),
          "--steps", QString::number(j["steps"].get<int>()), "--lr", num(j["lr"]),
          "--betas", num(j["betas"][0]) + "," + num(j["betas"][1]), "--eps", num(j["eps"]),
          "--weight-decay", num(j["weight_decay"]), "--no-dropout", "--device", "cpu", "--json"};
}

}  // namespace

class TestCliTrain : public QObject {
  Q_OBJECT
 private slots:
  void goldenLosses_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("task");
    for (const auto& c : golden::kCases) QTest::newRow(c.name) << c.name << c.task;
  }
  void goldenLosses() {
    QFETCH(QString, name);
    QFETCH(QString, task);
    auto r = llmwb(golden_args(name.toStdString(), task.toStdString()));
    QVERIFY2(r.code == 0, r.err.c_str());
    auto j = nlohmann::json::parse(r.out);
    auto ref = golden::train_json(name.toStdString())["losses"];
    QCOMPARE(j["losses"].size(), ref.size());
    for (size_t s = 0; s < ref.size(); ++s) {
      double ours = j["losses"][s].get<double>(), theirs = ref[s].get<double>();
      QVERIFY2(std::fabs(ours - theirs) <= 1e-4 * std::fabs(theirs),
               ("step " + std::to_string(s)).c_str());
    }
    QCOMPARE(j["task"].get<std::string>(), task.toStdString());
    QCOMPARE(j["device"].get<std::string>(), std::string("cpu"));
  }

  void saveThenContinue() {
    QTemporaryDir tmp;
    QString out = tmp.path() + "/trained";
    auto args = golden_args("bert_cls", "classify");
    args[args.indexOf("--steps") + 1] = "3";
    auto r = llmwb(args + QStringList{"--save", out});
    QVERIFY2(r.code == 0, r.err.c_str());
    // The saved folder loads and trains again: on torch's 4th batch (written here as batch0)
    // its first loss is torch's loss of step 3.
    auto src = lw::io::SafeTensorsFile::open(golden::dir("bert_cls") + "/batches.safetensors");
    QVERIFY(src.is_ok());
    std::vector<lw::io::StTensorData> b3;
    for (const auto& t : src->tensors())
      if (t.name.rfind("batch3.", 0) == 0)
        b3.push_back({"batch0." + t.name.substr(7), t.dtype, t.shape, src->data(t), t.nbytes()});
    QCOMPARE(b3.size(), size_t(3));
    std::string batch3 = tmp.path().toStdString() + "/batch3.safetensors";
    QVERIFY(lw::io::write_safetensors(batch3, b3).is_ok());
    args[args.indexOf("--model") + 1] = out;
    args[args.indexOf("--batches") + 1] = QString::fromStdString(batch3);
    args[args.indexOf("--steps") + 1] = "1";
    auto again = llmwb(args);
    QVERIFY2(again.code == 0, again.err.c_str());
    double next = nlohmann::json::parse(again.out)["losses"][0].get<double>();
    double ref = golden::train_json("bert_cls")["losses"][3].get<double>();
    QVERIFY2(std::fabs(next - ref) <= 1e-4 * std::fabs(ref),
             (std::to_string(next) + " vs " + std::to_string(ref)).c_str());
  }

  void textOutput() {
    auto args = golden_args("gpt2", "causal-lm");
    args.removeAll("--json");
    args[args.indexOf("--steps") + 1] = "2";
    auto r = llmwb(args);
    QVERIFY2(r.code == 0, r.err.c_str());
    QVERIFY2(r.out.find("step    1  loss ") != std::string::npos, r.out.c_str());
  }

  void badCommandLines_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("error");
    QString m = QString::fromStdString(golden::dir("gpt2") + "/model");
    QString b = QString::fromStdString(golden::dir("gpt2") + "/batches.safetensors");
    QTest::newRow("no task") << QStringList{"train", "--model", m, "--batches", b} << 2 << "name one task";
    QTest::newRow("bad task") << QStringList{"train", "seq2seq", "--model", m, "--batches", b} << 2
                              << "unknown task 'seq2seq'";
    QTest::newRow("no batches") << QStringList{"train", "causal-lm", "--model", m} << 2
                                << "--model DIR and --batches FILE are required";
    QTest::newRow("bad betas") << QStringList{"train", "causal-lm", "--model", m, "--batches", b,
                                              "--betas", "0.9"} << 2 << "--betas expects B1,B2";
    QTest::newRow("bad steps") << QStringList{"train", "causal-lm", "--model", m, "--batches", b,
                                              "--steps", "x"} << 2 << "--steps";
    QTest::newRow("typo") << QStringList{"train", "causal-lm", "--model", m, "--batches", b,
                                         "--learning-rate", "1"} << 2 << "unknown option --learning-rate";
    QTest::newRow("bad device") << QStringList{"train", "causal-lm", "--model", m, "--batches", b,
                                               "--device", "tpu"} << 2 << "tpu";
    QTest::newRow("wrong head") << QStringList{"train", "classify", "--model", m, "--batches", b}
                                << 1 << "task 'classify' needs a model with a classify head";
    QTest::newRow("no model") << QStringList{"train", "causal-lm", "--model", "/nonexistent",
                                             "--batches", b} << 1 << "/nonexistent: not a model folder";
  }
  // Training with the config's dropout (0.1 here) is refused with a pointer to --no-dropout.
  void dropoutNeedsFlag() {
    QTemporaryDir tmp;
    std::string d = tmp.path().toStdString();
    std::ifstream f(golden::dir("gpt2") + "/model/config.json");
    std::stringstream ss;
    ss << f.rdbuf();
    auto cfg = nlohmann::json::parse(ss.str());
    cfg["resid_pdrop"] = 0.1;
    QVERIFY(lw::io::write_file_atomic(d + "/config.json", cfg.dump()).is_ok());
    QVERIFY(QFile::copy(QString::fromStdString(golden::dir("gpt2") + "/model/model.safetensors"),
                        QString::fromStdString(d + "/model.safetensors")));
    auto args = golden_args("gpt2", "causal-lm");
    args[args.indexOf("--model") + 1] = QString::fromStdString(d);
    args.removeAll("--no-dropout");
    auto r = llmwb(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.find("use --no-dropout") != std::string::npos, r.err.c_str());
    args << "--no-dropout";
    QCOMPARE(llmwb(args).code, 0);
  }

  void badCommandLines() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, error);
    auto r = llmwb(args);
    QCOMPARE(r.code, code);
    QVERIFY2(r.err.find(error.toStdString()) != std::string::npos, r.err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestCliTrain)
#include "test_cli_train.moc"
