// The fine-tuning loop end to end on tiny random-init BERTs: the schedules, a classify and an
// NER run recorded in the store with checkpoints transformers can load, resume after a
// cancel reaching exactly the uninterrupted run's weights, an injected NaN stopping with a
// clear message while the last good checkpoint survives, bad dataset lines rejected (file
// and line named) before any run starts, and the Try-it predictor on the NER checkpoint.
#include <QTest>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "engine/api/finetune.h"
#include "engine/train/schedule.h"
#include "tests/engine/train_loop/finetune_test_util.h"

using namespace lw;
using api::FinetuneTask;

class TestFinetuneLoop : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::string dir() const { return tmp_.path().toStdString(); }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    fttest::write_tiny_data(dir());
  }

  void schedules() {
    train::Schedule s{train::ScheduleKind::kLinear, 1.0, 10, 2};
    QCOMPARE(s.lr_at(0), 0.0);
    QCOMPARE(s.lr_at(1), 0.5);
    QCOMPARE(s.lr_at(2), 1.0);
    QCOMPARE(s.lr_at(6), 0.5);
    QCOMPARE(s.lr_at(10), 0.0);
    s.kind = train::ScheduleKind::kCosine;
    QVERIFY(std::abs(s.lr_at(6) - 0.5) < 1e-12);
    QVERIFY(std::abs(s.lr_at(4) - 0.5 * (1 + std::cos(M_PI * 0.25))) < 1e-12);
    QCOMPARE(train::warmup_steps_for(12, 0.1), int64_t(2));  // ceil, as transformers
  }

  void classify_run_is_recorded() {
    auto c = fttest::tiny_config(dir(), FinetuneTask::kClassify);
    c.run_name = "cls";
    int steps = 0, evals = 0;
    api::FinetuneCallbacks cb;
    cb.on_step = [&](const api::FinetuneProgress& p) { steps = int(p.step); QVERIFY(p.total_steps == 12); };
    cb.on_eval = [&](const api::EvalMetrics&) { ++evals; };
    auto r = api::run_finetune(c, cb);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->status, std::string("ok"));
    QCOMPARE(steps, 12);  // 24 examples / batch 4 = 6 steps per epoch, 2 epochs
    QCOMPARE(evals, 4);   // steps 3, 6 (epoch end), 9, 12
    QVERIFY(r->classify_report.has_value());
    QCOMPARE(r->labels, (std::vector<std::string>{"book", "music", "weather"}));
    auto st = ExperimentStore::open(c.project_dir);
    QVERIFY(st.is_ok());
    auto run = (*st)->get_run(r->run_id);
    QVERIFY(run.is_ok());
    QCOMPARE(run->status, RunStatus::kOk);
    QCOMPARE(run->kind, std::string("classify"));
    auto loss = (*st)->read_metric(r->run_id, "train/loss");
    QCOMPARE(int(loss->steps.size()), 12);
    QCOMPARE(int((*st)->read_metric(r->run_id, "train/lr")->steps.size()), 12);
    QCOMPARE(int((*st)->read_metric(r->run_id, "eval/accuracy")->steps.size()), 4);
    auto arts = (*st)->artifacts(r->run_id);
    std::set<std::string> kinds;
    for (const auto& a : *arts) kinds.insert(a.kind);
    QVERIFY(kinds.count("checkpoint/best") && kinds.count("checkpoint/last") && kinds.count("report"));
    // The checkpoint names its labels as transformers reads them.
    std::ifstream cfg(r->best_checkpoint + "/config.json");
    std::string text((std::istreambuf_iterator<char>(cfg)), {});
    QVERIFY(text.find("\"BertForSequenceClassification\"") != std::string::npos);
    QVERIFY(text.find("\"0\": \"book\"") != std::string::npos);
    QVERIFY(text.find("\"weather\": 2") != std::string::npos);
    QVERIFY(std::filesystem::exists(r->best_checkpoint + "/vocab.txt"));
  }

  void resume_equals_uninterrupted_data() {
    QTest::addColumn<int>("task");
    QTest::addColumn<double>("dropout");
    QTest::addColumn<int>("accum");
    QTest::newRow("classify") << 0 << 0.0 << 1;
    QTest::newRow("classify-dropout-accum") << 0 << 0.1 << 2;
    QTest::newRow("ner-dropout") << 1 << 0.1 << 1;
  }
  void resume_equals_uninterrupted() {
    QFETCH(int, task);
    QFETCH(double, dropout);
    QFETCH(int, accum);
    auto c = fttest::tiny_config(dir(), task ? FinetuneTask::kNer : FinetuneTask::kClassify);
    c.dropout = dropout;
    c.grad_accum = accum;
    c.batch_size = 2;
    c.eval_every = 2;
    c.project_dir = dir() + "/resume-" + QTest::currentDataTag();
    auto full = api::run_finetune(c);
    QVERIFY2(full.is_ok(), full.status().to_string().c_str());
    api::FinetuneCallbacks stop;
    stop.cancel = [&, n = 0]() mutable { return ++n == 5; };  // mid-epoch
    auto part = api::run_finetune(c, stop);
    QVERIFY2(part.is_ok(), part.status().to_string().c_str());
    QCOMPARE(part->status, std::string("cancelled"));
    QVERIFY(part->steps < full->steps);
    auto resumed = api::resume_finetune(c.project_dir, part->run_id);
    QVERIFY2(resumed.is_ok(), resumed.status().to_string().c_str());
    QCOMPARE(resumed->steps, full->steps);
    auto a = fttest::weights(full->last_checkpoint), b = fttest::weights(resumed->last_checkpoint);
    QCOMPARE(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      QCOMPARE(a[i].first, b[i].first);
      QVERIFY2(a[i].second == b[i].second, ("weights differ in " + a[i].first).c_str());
    }
    auto st = ExperimentStore::open(c.project_dir);
    QCOMPARE((*st)->get_run(part->run_id)->status, RunStatus::kCancelled);
    auto arts = (*st)->artifacts(resumed->run_id);
    QVERIFY(arts.is_ok());
    std::set<std::string> kinds;
    for (const auto& a : *arts) kinds.insert(a.kind);
    QVERIFY(kinds.count("checkpoint/best") && kinds.count("checkpoint/last") && kinds.count("report"));
    QVERIFY((*st)->get_run(resumed->run_id)->parameters_json.find("\"resumed_from\":" +
                                                                  std::to_string(part->run_id)) != std::string::npos);
    // The continued run is not continued twice: its continuation is the one to resume.
    st->reset();
    auto again = api::resume_finetune(c.project_dir, part->run_id);
    QVERIFY(!again.is_ok());
    QVERIFY2(again.status().message().find("already resumed as run " + std::to_string(resumed->run_id)) !=
                 std::string::npos,
             again.status().message().c_str());
    QCOMPARE(*api::latest_resumable_finetune_run(c.project_dir), int64_t{0});
    // The report names the step of the best checkpoint, chosen before or after the resume.
    QVERIFY(resumed->best.step > 0 && resumed->best.step <= resumed->steps);
    std::ifstream rep(resumed->report_path);
    auto report = nlohmann::json::parse(rep);
    QCOMPARE(report["validation"]["metrics"]["step"].get<int64_t>(), resumed->best.step);
  }

  // A project folder given relative to the working directory (as on a command line) still
  // gets its checkpoints and report recorded as artifacts.
  void relative_project_records_artifacts() {
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir());
    auto c = fttest::tiny_config(dir(), FinetuneTask::kClassify);
    c.project_dir = "relative-project";
    std::vector<std::string> messages;
    api::FinetuneCallbacks cb;
    cb.on_message = [&](const std::string& m) { messages.push_back(m); };
    auto r = api::run_finetune(c, cb);
    std::filesystem::current_path(cwd);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    for (const auto& m : messages) QVERIFY2(m.find("not recorded") == std::string::npos, m.c_str());
    auto st = ExperimentStore::open(dir() + "/relative-project");
    QVERIFY(st.is_ok());
    auto arts = (*st)->artifacts(r->run_id);
    QVERIFY(arts.is_ok());
    std::set<std::string> kinds;
    for (const auto& a : *arts) kinds.insert(a.kind);
    QVERIFY(kinds.count("checkpoint/best") && kinds.count("checkpoint/last") && kinds.count("report"));
  }

  void nan_stops_and_keeps_last_good_checkpoint() {
    auto c = fttest::tiny_config(dir(), FinetuneTask::kClassify);
    c.project_dir = dir() + "/nan";
    c.eval_every = 2;
    ::setenv("LW_FINETUNE_INJECT_NAN_STEP", "5", 1);
    auto r = api::run_finetune(c);
    ::unsetenv("LW_FINETUNE_INJECT_NAN_STEP");
    QVERIFY(!r.is_ok());
    QCOMPARE(r.status().code(), StatusCode::kNumerical);
    const std::string msg = r.status().message();
    QVERIFY2(msg.find("step 6") != std::string::npos && msg.find("not finite") != std::string::npos &&
                 msg.find("last good checkpoint") != std::string::npos,
             msg.c_str());
    auto st = ExperimentStore::open(c.project_dir);
    auto runs = (*st)->list_runs();
    QCOMPARE(int(runs->size()), 1);
    QCOMPARE(runs->front().status, RunStatus::kFailed);
    QVERIFY(runs->front().error_message.find("not finite") != std::string::npos);
    std::string last;
    auto arts = (*st)->artifacts(runs->front().id);
    QVERIFY(arts.is_ok());
    for (const auto& a : *arts)
      if (a.kind == "checkpoint/last") last = a.path;
    QVERIFY(!last.empty());
    if (std::filesystem::path(last).is_relative()) last = c.project_dir + "/" + last;  // store keeps project-relative paths
    QVERIFY2(msg.find(std::filesystem::path(last).parent_path().filename().string() + "/last") != std::string::npos, msg.c_str());
    for (const auto& [name, v] : fttest::weights(last))
      for (float x : v) QVERIFY2(std::isfinite(x), name.c_str());
    std::ifstream s(last + "/trainer_state.json");
    std::string state((std::istreambuf_iterator<char>(s)), {});
    QVERIFY2(state.find("\"step\": 4") != std::string::npos, state.c_str());
  }

  void bad_data_fails_before_training_data() {
    QTest::addColumn<int>("task");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expect");
    QTest::newRow("wrong-columns") << 0 << "cols.tsv" << QByteArray("text\tlabel\nplay music\tmusic\nbook\ta\tb\n") << ":3";
    QTest::newRow("unknown-tag-in-dev") << 1 << "tags.conll" << QByteArray("play\tO\nrome\tB-planet\n\n") << ":2";
    QTest::newRow("empty-file") << 0 << "empty.tsv" << QByteArray() << "empty";
    QTest::newRow("10MB-line") << 0 << "long.tsv" << (QByteArray("text\tlabel\n") + QByteArray(10 << 20, 'a') + "\tmusic\n") << ":2";
    QTest::newRow("invalid-utf8") << 0 << "utf8.tsv" << QByteArray("text\tlabel\nplay\xff music\tmusic\n") << ":2";
    QTest::newRow("ner-bad-iob") << 1 << "iob.conll" << QByteArray("play\tO\nrome\tX-city\n\n") << ":2";
  }
  void bad_data_fails_before_training() {
    QFETCH(int, task);
    QFETCH(QString, file);
    QFETCH(QByteArray, content);
    QFETCH(QString, expect);
    const std::string path = dir() + "/" + file.toStdString();
    fttest::write_file(path, content.toStdString());
    auto c = fttest::tiny_config(dir(), task ? FinetuneTask::kNer : FinetuneTask::kClassify);
    c.project_dir = dir() + "/bad-" + QTest::currentDataTag();
    if (std::string(QTest::currentDataTag()) == "unknown-tag-in-dev") c.files.validation = path;
    else c.files.train = path;
    auto r = api::run_finetune(c);
    QVERIFY(!r.is_ok());
    const std::string msg = r.status().message();
    QVERIFY2(msg.find(file.toStdString()) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find(expect.toStdString()) != std::string::npos, msg.c_str());
    // Nothing was recorded: the data is checked before a run exists.
    QVERIFY(!std::filesystem::exists(c.project_dir + "/experiments.sqlite"));
  }

  void dataset_preview() {
    auto p = api::preview_dataset(FinetuneTask::kClassify, dir() + "/train.tsv", {}, {}, dir(), 6);
    QVERIFY2(p.is_ok(), p.status().to_string().c_str());
    QCOMPARE(p->columns, (std::vector<std::string>{"text", "label"}));
    QCOMPARE(p->classify->n_examples, int64_t(24));
    QCOMPARE(int(p->classify->label_counts.size()), 3);
    QCOMPARE(p->truncation.n_examples, int64_t(24));
    QVERIFY(p->truncation.n_truncated > 0);  // "what is the weather in london tomorrow" is 8+ tokens, max 6
    auto n = api::preview_dataset(FinetuneTask::kNer, dir() + "/train.conll", {}, {}, dir(), 64);
    QVERIFY2(n.is_ok(), n.status().to_string().c_str());
    QCOMPARE(n->ner->n_sentences, int64_t(20));
    QCOMPARE(n->truncation.n_truncated, int64_t(0));
    QVERIFY(n->to_json().find("\"entity_types\"") != std::string::npos);
  }

  void ner_predictor_spans() {
    auto c = fttest::tiny_config(dir(), FinetuneTask::kNer);
    c.project_dir = dir() + "/ner";
    c.epochs = 15;
    c.lr = 5e-3;
    c.eval_every = 0;
    auto r = api::run_finetune(c);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QVERIFY(r->entity_report.has_value());
    QVERIFY2(r->best.get("f1") > 0.5, std::to_string(r->best.get("f1")).c_str());
    auto p = api::load_predictor(r->best_checkpoint);
    QVERIFY2(p.is_ok(), p.status().to_string().c_str());
    QCOMPARE(api::predictor_task(**p), FinetuneTask::kNer);
    const std::string text = "book  a table in paris";
    auto pred = api::predict(**p, text);
    QVERIFY2(pred.is_ok(), pred.status().to_string().c_str());
    QCOMPARE(int(pred->words.size()), 5);
    QCOMPARE(int(pred->word_tags.size()), 5);
    for (const auto& e : pred->entities) {
      QCOMPARE(text.substr(size_t(e.byte_begin), size_t(e.byte_end - e.byte_begin)), e.text);
      QVERIFY(e.char_begin < e.char_end);
    }
    QVERIFY(!pred->entities.empty());
    QCOMPARE(pred->entities.back().text, std::string("paris"));
    QCOMPARE(pred->entities.back().type, std::string("city"));
    QCOMPARE(pred->entities.back().char_begin, int64_t(17));
  }
};

QTEST_GUILESS_MAIN(TestFinetuneLoop)
#include "test_finetune_loop.moc"
