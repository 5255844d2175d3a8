// Fault test: `llmwb train classify` killed with SIGKILL mid-epoch. The store must stay
// readable with the run marked interrupted and its committed metrics intact, and
// `llmwb train classify --resume ID` must end with exactly the weights of an uninterrupted
// run of the same command.
#include <QProcess>
#include <QTest>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "tests/engine/train_loop/finetune_test_util.h"

using namespace lw;

class TestFinetuneKill : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::string dir() const { return tmp_.path().toStdString(); }

  QStringList args(const std::string& project) const {
    return {"train", "classify", "--vocab", QString::fromStdString(dir()), "--layers", "1", "--hidden", "64",
            "--train", QString::fromStdString(dir() + "/train.tsv"), "--dev", QString::fromStdString(dir() + "/dev.tsv"),
            "--epochs", "3", "--batch", "2", "--lr", "2e-3", "--max-len", "16", "--eval-every", "2",
            "--dropout", "0.1", "--project", QString::fromStdString(project), "--json"};
  }

  nlohmann::json run_json(const QStringList& a) {
    QProcess p;
    p.start(LW_LLMWB, a);
    if (!p.waitForFinished(300000)) return {};
    QByteArray out = p.readAllStandardOutput();
    if (p.exitCode() != 0) qWarning("%s", p.readAllStandardError().constData());
    return nlohmann::json::parse(out.toStdString(), nullptr, false);
  }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    fttest::write_tiny_data(dir());
  }

  // Columns by index on a file with a header row: --header yes skips the header (without it
  // the header row would be a training example labelled "label"); a bad mode is a usage error.
  void header_option() {
    QStringList a = args(dir() + "/header");
    a << "--text-col" << "0" << "--label-col" << "1" << "--header" << "yes";
    nlohmann::json rep = run_json(a);
    QVERIFY2(rep.is_object() && rep.contains("labels"), rep.dump().c_str());
    QVERIFY2(rep["labels"] == nlohmann::json::array({"book", "music", "weather"}), rep["labels"].dump().c_str());
    QProcess bad;
    QStringList b = args(dir() + "/header-bad");
    b << "--header" << "maybe";
    bad.start(LW_LLMWB, b);
    QVERIFY(bad.waitForFinished(60000));
    QCOMPARE(bad.exitCode(), 2);
    QVERIFY(bad.readAllStandardError().contains("header mode must be auto, yes or no, got 'maybe'"));
  }

  void sigkill_then_resume() {
    const std::string project = dir() + "/killed";
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("LW_FINETUNE_STEP_DELAY_MS", "150");
    child.setProcessEnvironment(env);
    child.start(LW_LLMWB, args(project));
    QVERIFY(child.waitForStarted());
    // Wait for the first checkpoint with some steps behind it, then kill mid-epoch.
    bool ready = false;
    for (int i = 0; i < 600 && !ready; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!std::filesystem::exists(project + "/runs")) continue;
      for (const auto& e : std::filesystem::directory_iterator(project + "/runs"))
        ready |= std::filesystem::exists(e.path() / "last" / "trainer_state.json");
    }
    QVERIFY2(ready, "no checkpoint appeared");
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // a few more steps, not another eval
    QCOMPARE(child.state(), QProcess::Running);
    child.kill();  // SIGKILL
    QVERIFY(child.waitForFinished());
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);

    auto st = ExperimentStore::open(project);
    QVERIFY2(st.is_ok(), st.status().to_string().c_str());
    auto runs = (*st)->list_runs();
    QVERIFY(runs.is_ok());
    QCOMPARE(int(runs->size()), 1);
    const int64_t id = runs->front().id;
    QCOMPARE(runs->front().status, RunStatus::kInterrupted);
    auto loss = (*st)->read_metric(id, "train/loss");
    QVERIFY(loss.is_ok());
    QVERIFY(!loss->steps.empty());
    st->reset();

    nlohmann::json resumed = run_json({"train", "classify", "--resume", QString::number(id), "--project",
                                       QString::fromStdString(project), "--json"});
    QVERIFY2(resumed.is_object(), "resume failed");
    nlohmann::json full = run_json(args(dir() + "/full"));
    QVERIFY2(full.is_object(), "uninterrupted run failed");
    QCOMPARE(resumed["steps"].get<int>(), full["steps"].get<int>());
    auto a = fttest::weights(full["last_checkpoint"].get<std::string>());
    auto b = fttest::weights(resumed["last_checkpoint"].get<std::string>());
    QCOMPARE(a.size(), b.size());
    QVERIFY(!a.empty());
    for (size_t i = 0; i < a.size(); ++i) QVERIFY2(a[i].second == b[i].second, a[i].first.c_str());
    best_ = full["best_checkpoint"].get<std::string>();
  }

  // The eval and predict twins on the checkpoint the command line wrote.
  void eval_and_predict_json() {
    if (best_.empty()) QSKIP("needs the checkpoint of sigkill_then_resume");
    auto e = run_json({"eval", "--model", QString::fromStdString(best_), "--task", "classify", "--data",
                       QString::fromStdString(dir() + "/dev.tsv"), "--json"});
    QVERIFY(e.is_object());
    QVERIFY(e["accuracy"].get<double>() >= 0 && e["accuracy"].get<double>() <= 1);
    QCOMPARE(e["report"]["confusion"].size(), size_t(3));
    auto p = run_json({"predict", "--model", QString::fromStdString(best_), "--text", "book a table in rome", "--json"});
    QVERIFY(p.is_object());
    QCOMPARE(p["probabilities"].size(), size_t(3));
    double sum = 0;
    for (auto& [k, v] : p["probabilities"].items()) sum += v.get<double>();
    QVERIFY(std::abs(sum - 1) < 1e-6);
    QVERIFY(p["probabilities"].contains(p["label"].get<std::string>()));
    // a wrong task is a clear error
    QProcess bad;
    bad.start(LW_LLMWB, {"eval", "--model", QString::fromStdString(best_), "--task", "ner", "--data",
                         QString::fromStdString(dir() + "/dev.conll")});
    QVERIFY(bad.waitForFinished());
    QCOMPARE(bad.exitCode(), 1);
    QVERIFY(bad.readAllStandardError().contains("is a classify model, not ner"));
  }

 private:
  std::string best_;
};

QTEST_GUILESS_MAIN(TestFinetuneKill)
#include "test_finetune_kill.moc"
