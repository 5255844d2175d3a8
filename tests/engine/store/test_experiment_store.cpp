// The experiment store's API end to end on a fresh project: runs, metric
// batches (NaN included), final metrics, filters, notes/tags/system info,
// artifacts (hash and size), the change counter, delete (with and without
// files) and the CSV / JSON exports.
#include <QtTest>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "tests/engine/store/store_test_util.h"

namespace fs = std::filesystem;
using lw::ExperimentStore;
using lw::RunStatus;

class TestExperimentStore : public QObject {
  Q_OBJECT

  std::unique_ptr<QTemporaryDir> tmp_;
  std::unique_ptr<ExperimentStore> store_;
  std::string dir_;

  int64_t make_run(const std::string& kind, const std::string& name, const std::string& model) {
    auto id = store_->create_run({kind, name, model, "data/x", R"({"lr": 0.001, "batch": 8})"});
    return id.is_ok() ? *id : -1;
  }

 private slots:
  void init() {
    tmp_ = std::make_unique<QTemporaryDir>();
    dir_ = tmp_->path().toStdString();
    auto s = ExperimentStore::open(dir_);
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    store_ = std::move(*s);
  }
  void cleanup() {
    store_.reset();
    tmp_.reset();
  }

  void fresh_database_settings() {
    QCOMPARE(store_->path(), dir_ + "/experiments.sqlite");
    storetest::RawDb raw(store_->path());
    QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("wal"));
    QCOMPARE(*store_->synchronous_level(), int64_t{2});  // FULL
    QCOMPARE(raw.integer("PRAGMA user_version"), (long long)ExperimentStore::schema_version());
    auto missing = ExperimentStore::open((fs::path(dir_) / "no-such").string());
    QVERIFY(!missing.is_ok());
    QCOMPARE(missing.status().code(), lw::StatusCode::kNotFound);
  }

  void create_log_and_read() {
    int64_t id = make_run("classify", "sst2 a", "bert-tiny");
    QVERIFY(id > 0);
    std::vector<lw::MetricPoint> batch;
    for (int step = 0; step < 5; ++step) {
      batch.push_back({step, "train/loss", 1.0 / (step + 1), 0});
      batch.push_back({step, "lr", 0.001, 1234.5});
    }
    LW_VERIFY_OK(store_->log_metrics(id, batch));
    LW_VERIFY_OK(store_->log_metrics(id, {{5, "train/loss", NAN, 0}, {5, "eval/acc", 0.9, 0}}));

    auto names = store_->metric_names(id);
    LW_VERIFY_OK(names);
    QCOMPARE(*names, (std::vector<std::string>{"eval/acc", "lr", "train/loss"}));
    auto loss = store_->read_metric(id, "train/loss");
    LW_VERIFY_OK(loss);
    QCOMPARE(loss->steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
    QCOMPARE(loss->values[1], 0.5);
    QVERIFY(std::isnan(loss->values[5]));
    QVERIFY(loss->wall_times[0] > 1.6e9);  // 0 means "now"
    auto lr = store_->read_metric(id, "lr");
    QCOMPARE(lr->wall_times[0], 1234.5);
    auto none = store_->read_metric(id, "never");
    LW_VERIFY_OK(none);
    QVERIFY(none->steps.empty());
    QCOMPARE(store_->read_metric(id + 100, "lr").status().code(), lw::StatusCode::kNotFound);

    auto run = store_->get_run(id);
    LW_VERIFY_OK(run);
    QCOMPARE(run->status, RunStatus::kRunning);  // the writer (this process) is alive
    QCOMPARE(run->kind, std::string("classify"));
    QCOMPARE(nlohmann::json::parse(run->parameters_json)["batch"].get<int>(), 8);
    QVERIFY(run->created > 0 && run->started > 0 && run->ended == 0 && run->heartbeat > 0);
    QCOMPARE(run->final_metrics.size(), size_t(3));
    QCOMPARE(run->final_metrics[0].first, std::string("eval/acc"));
    QCOMPARE(run->final_metrics[0].second, 0.9);
    QCOMPARE(run->final_metrics[1].second, 0.001);
    QVERIFY(std::isnan(run->final_metrics[2].second));  // last train/loss was NaN

    LW_VERIFY_OK(store_->finish_run(id, RunStatus::kFailed, "loss became NaN"));
    run = store_->get_run(id);
    QCOMPARE(run->status, RunStatus::kFailed);
    QCOMPARE(run->error_message, std::string("loss became NaN"));
    QVERIFY(run->ended >= run->started);
  }

  void bad_input() {
    QCOMPARE(store_->create_run({"", "x", "m", "d", "{}"}).status().code(),
             lw::StatusCode::kInvalidArgument);
    auto bad_json = store_->create_run({"classify", "x", "m", "d", "[1,2"});
    QVERIFY(!bad_json.is_ok());
    QVERIFY(bad_json.status().message().find("parameters_json") != std::string::npos);
    int64_t id = make_run("classify", "x", "m");
    QCOMPARE(store_->log_metrics(id, {{0, "", 1.0, 0}}).code(), lw::StatusCode::kInvalidArgument);
    QCOMPARE(store_->log_metrics(id + 7, {{0, "a", 1.0, 0}}).code(), lw::StatusCode::kNotFound);
    QCOMPARE(store_->finish_run(id, RunStatus::kRunning).code(), lw::StatusCode::kInvalidArgument);
    QCOMPARE(store_->heartbeat(id + 7).code(), lw::StatusCode::kNotFound);
    LW_VERIFY_OK(store_->heartbeat(id));
    QVERIFY(!lw::parse_run_status("done").is_ok());
    QCOMPARE(*lw::parse_run_status("interrupted"), RunStatus::kInterrupted);
  }

  void list_and_filter() {
    int64_t a = make_run("classify", "sst2 baseline", "bert-tiny");
    int64_t b = make_run("causal-lm", "story gpt", "gpt2-tiny");
    int64_t c = make_run("classify", "imdb", "bert-small");
    LW_VERIFY_OK(store_->set_tags(c, {"sweep", "Best"}));
    LW_VERIFY_OK(store_->finish_run(a, RunStatus::kOk));
    auto all = store_->list_runs();
    LW_VERIFY_OK(all);
    QCOMPARE(all->size(), size_t(3));
    QCOMPARE((*all)[0].id, c);  // newest first
    QCOMPARE((*all)[0].tags, (std::vector<std::string>{"Best", "sweep"}));

    lw::RunFilter f;
    f.kind = "classify";
    QCOMPARE(store_->list_runs(f)->size(), size_t(2));
    f.status = RunStatus::kOk;
    QCOMPARE(store_->list_runs(f)->size(), size_t(1));
    QCOMPARE(store_->list_runs(f)->at(0).id, a);
    lw::RunFilter t;
    t.text = "GPT2";  // case-insensitive, matches the model
    QCOMPARE(store_->list_runs(t)->size(), size_t(1));
    QCOMPARE(store_->list_runs(t)->at(0).id, b);
    t.text = "best";  // matches a tag only
    QCOMPARE(store_->list_runs(t)->size(), size_t(1));
    QCOMPARE(store_->list_runs(t)->at(0).id, c);
    t.text = "bert";  // two models
    QCOMPARE(store_->list_runs(t)->size(), size_t(2));
    lw::RunFilter lim;
    lim.limit = 2;
    QCOMPARE(store_->list_runs(lim)->size(), size_t(2));
    lim.limit = -1;
    QVERIFY(!store_->list_runs(lim).is_ok());
  }

  void notes_tags_system() {
    int64_t id = make_run("ner", "conll", "bert-tiny");
    LW_VERIFY_OK(store_->set_notes(id, "first try, lr maybe high"));
    LW_VERIFY_OK(store_->set_tags(id, {"a", "b", "a"}));
    LW_VERIFY_OK(store_->set_tags(id, {"c"}));  // replaces
    LW_VERIFY_OK(store_->record_system_info(id, {"host1", "Xeon", "H100", "580", "v0.1 abc"}));
    auto run = store_->get_run(id);
    QCOMPARE(run->notes, std::string("first try, lr maybe high"));
    QCOMPARE(run->tags, std::vector<std::string>{"c"});
    auto si = store_->system_info(id);
    LW_VERIFY_OK(si);
    QCOMPARE(si->gpu, std::string("H100"));
    QCOMPARE(si->build, std::string("v0.1 abc"));
    QCOMPARE(store_->set_notes(id + 9, "x").code(), lw::StatusCode::kNotFound);
  }

  void artifacts_hash_and_size() {
    int64_t id = make_run("classify", "x", "m");
    fs::create_directories(fs::path(dir_) / "runs/1/ckpt/sub");
    storetest::write_bytes(dir_ + "/runs/1/report.json", "abc");
    storetest::write_bytes(dir_ + "/runs/1/ckpt/a.bin", std::string(1000, 'a'));
    storetest::write_bytes(dir_ + "/runs/1/ckpt/sub/b.bin", std::string(24, 'b'));
    auto f = store_->add_artifact(id, "report", "runs/1/report.json");
    LW_VERIFY_OK(f);
    auto d = store_->add_artifact(id, "checkpoint/best", dir_ + "/runs/1/ckpt");
    LW_VERIFY_OK(d);
    auto missing = store_->add_artifact(id, "report", "runs/1/nope.json");
    QCOMPARE(missing.status().code(), lw::StatusCode::kNotFound);
    QVERIFY(missing.status().message().find("nope.json") != std::string::npos);

    auto arts = store_->artifacts(id);
    LW_VERIFY_OK(arts);
    QCOMPARE(arts->size(), size_t(2));
    QCOMPARE((*arts)[0].path, std::string("runs/1/report.json"));
    QCOMPARE((*arts)[0].sha256,
             std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    QCOMPARE((*arts)[0].bytes, int64_t(3));
    QCOMPARE((*arts)[1].sha256, std::string());
    QCOMPARE((*arts)[1].bytes, int64_t(1024));
    QCOMPARE((*arts)[1].kind, std::string("checkpoint/best"));
  }

  void change_counter_moves() {
    auto c0 = store_->change_counter();
    LW_VERIFY_OK(c0);
    int64_t id = make_run("classify", "x", "m");
    auto c1 = store_->change_counter();
    QVERIFY(*c1 > *c0);
    LW_VERIFY_OK(store_->log_metrics(id, {{0, "loss", 1.0, 0}}));
    auto c2 = store_->change_counter();
    QVERIFY(*c2 > *c1);
    // A second connection (the GUI's read-only view) sees the writer's commits.
    auto reader = ExperimentStore::open_read_only(dir_);
    LW_VERIFY_OK(reader);
    auto r0 = (*reader)->change_counter();
    LW_VERIFY_OK(store_->log_metrics(id, {{1, "loss", 0.5, 0}}));
    QVERIFY(*(*reader)->change_counter() > *r0);
    QCOMPARE((*reader)->read_metric(id, "loss")->steps.size(), size_t(2));
    // The read-only view refuses writes.
    QCOMPARE((*reader)->log_metrics(id, {{2, "loss", 0.1, 0}}).code(),
             lw::StatusCode::kInvalidArgument);
    QVERIFY((*reader)->read_only());
    LW_VERIFY_OK((*reader)->mark_dead_runs_interrupted());
  }

  void delete_run_and_files() {
    int64_t keep = make_run("classify", "keep", "m");
    int64_t gone = make_run("classify", "gone", "m");
    fs::create_directories(fs::path(dir_) / "runs/gone/ckpt");
    storetest::write_bytes(dir_ + "/runs/gone/ckpt/w.bin", "weights");
    storetest::write_bytes(dir_ + "/runs/gone/report.json", "{}");
    QTemporaryDir outside;
    std::string outside_file = outside.filePath("shared.bin").toStdString();
    storetest::write_bytes(outside_file, "shared");
    LW_VERIFY_OK(store_->add_artifact(gone, "checkpoint", "runs/gone/ckpt"));
    LW_VERIFY_OK(store_->add_artifact(gone, "report", "runs/gone/report.json"));
    LW_VERIFY_OK(store_->add_artifact(gone, "engine", outside_file));
    LW_VERIFY_OK(store_->log_metrics(gone, {{0, "loss", 1.0, 0}}));
    LW_VERIFY_OK(store_->log_metrics(keep, {{0, "loss", 2.0, 0}}));
    LW_VERIFY_OK(store_->set_tags(gone, {"t"}));

    // Without files: rows go, files stay.
    int64_t plain = make_run("classify", "plain", "m");
    storetest::write_bytes(dir_ + "/plain.txt", "p");
    LW_VERIFY_OK(store_->add_artifact(plain, "report", "plain.txt"));
    LW_VERIFY_OK(store_->delete_run(plain));
    QVERIFY(fs::exists(dir_ + "/plain.txt"));
    QCOMPARE(store_->get_run(plain).status().code(), lw::StatusCode::kNotFound);

    LW_VERIFY_OK(store_->delete_run(gone, /*delete_files=*/true));
    QVERIFY(!fs::exists(dir_ + "/runs/gone/ckpt"));
    QVERIFY(!fs::exists(dir_ + "/runs/gone/report.json"));
    QVERIFY(fs::exists(outside_file));  // outside the project: never touched
    QCOMPARE(store_->get_run(gone).status().code(), lw::StatusCode::kNotFound);
    storetest::RawDb raw(store_->path());
    for (const char* table : {"metric_points", "artifacts", "run_tags"})
      QCOMPARE(raw.integer(std::string("SELECT count(*) FROM ") + table + " WHERE run_id = " +
                           std::to_string(gone)), 0LL);
    QCOMPARE(store_->read_metric(keep, "loss")->values, std::vector<double>{2.0});
    QCOMPARE(store_->delete_run(gone).code(), lw::StatusCode::kNotFound);
  }

  void export_csv_and_json() {
    int64_t id = make_run("classify", "exp", "m");
    LW_VERIFY_OK(store_->log_metrics(id, {{0, "loss", 1.5, 100.0}, {1, "loss", 0.25, 101.0},
                                          {1, "f1, macro", NAN, 101.0}}));
    storetest::write_bytes(dir_ + "/r.txt", "abc");
    LW_VERIFY_OK(store_->add_artifact(id, "report", "r.txt"));
    LW_VERIFY_OK(store_->record_system_info(id, {"h", "c", "g", "d", "b"}));
    std::string csv = dir_ + "/out.csv";
    storetest::write_bytes(csv, "old content");
    LW_VERIFY_OK(store_->export_run_csv(id, csv));
    QCOMPARE(storetest::read_bytes(csv),
             std::string("step,name,value,wall_time\n"
                         "1,\"f1, macro\",nan,101\n"
                         "0,loss,1.5,100\n"
                         "1,loss,0.25,101\n"));
    std::string js = dir_ + "/out.json";
    LW_VERIFY_OK(store_->export_run_json(id, js));
    auto doc = nlohmann::json::parse(storetest::read_bytes(js));
    QCOMPARE(doc["run"]["name"].get<std::string>(), std::string("exp"));
    QCOMPARE(doc["run"]["parameters"]["lr"].get<double>(), 0.001);
    QCOMPARE(doc["metrics"]["loss"]["values"][1].get<double>(), 0.25);
    QVERIFY(doc["metrics"]["f1, macro"]["values"][0].is_null());
    QCOMPARE(doc["artifacts"][0]["bytes"].get<int>(), 3);
    QCOMPARE(doc["system"]["gpu"].get<std::string>(), std::string("g"));
    // No temporary file is left beside the exports.
    int n_files = 0;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().find(".tmp-") != std::string::npos) ++n_files;
    QCOMPARE(n_files, 0);
    // Errors name the target; a failed export leaves no file.
    auto bad = store_->export_run_csv(id, dir_ + "/no/such/folder/out.csv");
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.message().find("no/such/folder/out.csv") != std::string::npos);
    QCOMPARE(store_->export_run_json(id + 50, js).code(), lw::StatusCode::kNotFound);
  }
};

QTEST_GUILESS_MAIN(TestExperimentStore)
#include "test_experiment_store.moc"
