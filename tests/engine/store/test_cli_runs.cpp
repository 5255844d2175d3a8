// `llmwb runs` end to end: a store seeded through the API, then list / show /
// delete / export driven as a user would, text and --json, plus the errors
// (stderr, exit codes). Runs the llmwb entry point built with only the runs
// command (llmwb_runs_cli), so the test does not wait on other engine modules.
#include <sys/stat.h>

#include <QProcess>
#include <QtTest>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "tests/engine/store/store_test_util.h"

#include "tests/app/cli_test_util.h"

namespace fs = std::filesystem;
using lw::ExperimentStore;

namespace {

using lwtest::CliResult;

CliResult llmwb(const QStringList& args) {
  return lwtest::run_cli(LW_LLMWB_RUNS_CLI, args, 30000);
}

}  // namespace

class TestCliRuns : public QObject {
  Q_OBJECT

  std::unique_ptr<QTemporaryDir> tmp_;
  QString dir_;

  void seed() {
    auto s = ExperimentStore::open(dir_.toStdString());
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    auto a = (*s)->create_run({"classify", "sst2 baseline", "bert-tiny", "sst2", R"({"lr":0.001})"});
    LW_VERIFY_OK((*s)->log_metrics(*a, {{0, "train/loss", 0.7, 0}, {10, "train/loss", 0.3, 0},
                                         {10, "eval/accuracy", 0.91, 0}}));
    LW_VERIFY_OK((*s)->finish_run(*a, lw::RunStatus::kOk));
    auto b = (*s)->create_run({"causal-lm", "story gpt", "gpt2-tiny", "stories", "{}"});
    LW_VERIFY_OK((*s)->log_metrics(*b, {{0, "train/loss", 9.0, 0}}));
    fs::create_directories(dir_.toStdString() + "/runs/2");
    storetest::write_bytes(dir_.toStdString() + "/runs/2/ckpt.safetensors", "weights");
    LW_VERIFY_OK((*s)->add_artifact(*b, "checkpoint/last", "runs/2/ckpt.safetensors"));
    LW_VERIFY_OK((*s)->finish_run(*b, lw::RunStatus::kFailed, "out of memory"));
  }

 private slots:
  void init() {
    tmp_ = std::make_unique<QTemporaryDir>();
    dir_ = tmp_->path();
    seed();
  }
  void cleanup() {
    chmod((dir_.toStdString() + "/experiments.sqlite").c_str(), 0600);
    tmp_.reset();
  }

  void list() {
    auto r = llmwb({"runs", "list", "--project", dir_, "--json"});
    QCOMPARE(r.code, 0);
    auto doc = nlohmann::json::parse(r.out);
    QCOMPARE(doc["runs"].size(), size_t(2));
    QCOMPARE(doc["runs"][0]["name"].get<std::string>(), std::string("story gpt"));
    QCOMPARE(doc["runs"][0]["status"].get<std::string>(), std::string("failed"));
    QCOMPARE(doc["runs"][1]["final_metrics"]["eval/accuracy"].get<double>(), 0.91);
    QCOMPARE(doc["runs"][1]["parameters"]["lr"].get<double>(), 0.001);

    r = llmwb({"runs", "list", "--project", dir_, "--status", "ok", "--json"});
    QCOMPARE(nlohmann::json::parse(r.out)["runs"].size(), size_t(1));
    r = llmwb({"runs", "list", "--project", dir_, "--text", "GPT2", "--json"});
    QCOMPARE(nlohmann::json::parse(r.out)["runs"][0]["id"].get<int>(), 2);

    r = llmwb({"runs", "list", "--project", dir_});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.find("sst2 baseline") != std::string::npos);
    QVERIFY(r.out.find("eval/accuracy=0.91") != std::string::npos);
    QVERIFY(r.err.empty());
  }

  void show() {
    auto r = llmwb({"runs", "show", "2", "--project", dir_, "--json"});
    QCOMPARE(r.code, 0);
    auto doc = nlohmann::json::parse(r.out);
    QCOMPARE(doc["error_message"].get<std::string>(), std::string("out of memory"));
    QCOMPARE(doc["artifacts"][0]["bytes"].get<int>(), 7);
    QCOMPARE(doc["metrics"]["train/loss"]["points"].get<int>(), 1);
    r = llmwb({"runs", "show", "1", "--project", dir_});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.find("train/loss") != std::string::npos);
    QVERIFY(r.out.find("2 points") != std::string::npos);
  }

  void export_files() {
    std::string csv = dir_.toStdString() + "/run1.csv";
    auto r = llmwb({"runs", "export", "1", "--project", dir_, "--format", "csv", "--out",
                    QString::fromStdString(csv)});
    QCOMPARE(r.code, 0);
    std::string text = storetest::read_bytes(csv);
    QVERIFY(text.rfind("step,name,value,wall_time\n10,eval/accuracy,0.91,", 0) == 0);
    std::string js = dir_.toStdString() + "/run1.json";
    r = llmwb({"runs", "export", "1", "--project", dir_, "--format", "json", "--out",
               QString::fromStdString(js), "--json"});
    QCOMPARE(r.code, 0);
    QCOMPARE(nlohmann::json::parse(r.out)["out"].get<std::string>(), js);
    auto doc = nlohmann::json::parse(storetest::read_bytes(js));
    QCOMPARE(doc["metrics"]["train/loss"]["steps"][1].get<int>(), 10);
    r = llmwb({"runs", "export", "1", "--project", dir_, "--format", "xml", "--out", "x"});
    QCOMPARE(r.code, 2);
  }

  void delete_run() {
    std::string ckpt = dir_.toStdString() + "/runs/2/ckpt.safetensors";
    auto r = llmwb({"runs", "delete", "2", "--project", dir_, "--delete-files", "--json"});
    QCOMPARE(r.code, 0);
    QCOMPARE(nlohmann::json::parse(r.out)["deleted"].get<int>(), 2);
    QVERIFY(!fs::exists(ckpt));
    r = llmwb({"runs", "list", "--project", dir_, "--json"});
    QCOMPARE(nlohmann::json::parse(r.out)["runs"].size(), size_t(1));
    r = llmwb({"runs", "delete", "2", "--project", dir_});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.find("no run with id 2") != std::string::npos);
  }

  void read_only_project() {
    std::string db = dir_.toStdString() + "/experiments.sqlite";
    QCOMPARE(chmod(db.c_str(), 0444), 0);
    auto r = llmwb({"runs", "list", "--project", dir_, "--json"});
    QCOMPARE(r.code, 0);  // browsing needs no write access
    QCOMPARE(nlohmann::json::parse(r.out)["runs"].size(), size_t(2));
    r = llmwb({"runs", "delete", "1", "--project", dir_});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.find(db) != std::string::npos);
    QVERIFY(r.err.find("read-only") != std::string::npos);
  }

  void errors_and_help() {
    auto r = llmwb({"runs", "--help"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.find("llmwb runs export ID") != std::string::npos);
    r = llmwb({"runs", "list", "--project", dir_ + "/nowhere"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.find("nowhere") != std::string::npos);
    QVERIFY(r.out.empty());
    r = llmwb({"runs", "show", "abc", "--project", dir_});
    QCOMPARE(r.code, 2);
    r = llmwb({"runs", "show", "--project", dir_});
    QCOMPARE(r.code, 2);
    r = llmwb({"runs", "frobnicate", "--project", dir_});
    QCOMPARE(r.code, 2);
    r = llmwb({"runs", "list"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.find("--project") != std::string::npos);
    r = llmwb({"runs", "list", "--project", dir_, "--status", "bogus"});
    QCOMPARE(r.code, 2);
    r = llmwb({"runs", "list", "--project", dir_, "--colour", "red"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.find("--colour") != std::string::npos);
    r = llmwb({"runs", "show", "99", "--project", dir_});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.find("no run with id 99") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestCliRuns)
#include "test_cli_runs.moc"
