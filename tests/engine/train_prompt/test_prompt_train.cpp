// Prompt tuning end to end through the engine/api facade on the golden GPT-2 with the tiny
// byte-level tokenizer: a one-token-answer task trains (loss falls, validation loss falls),
// the run, its metrics and artifacts land in the project's store, the table and PEFT folder
// are written, a second task extends the table without touching the first, generation with
// the table through the ordinary generator equals the trainer's greedy decoder, and cancel
// stops a run and records it.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "engine/api/experiment_store.h"
#include "engine/api/prompt_tune.h"
#include "engine/core/rng.h"
#include "tests/engine/generate_loop/tiny_tokenizer.h"

using namespace lw;

namespace {

// Answers "ab" when the text starts with a letter pair from a..h, else "cd" (one token each).
void write_data(const std::string& path, int n, uint64_t seed, const std::string& task = "") {
  std::ofstream out(path);
  PhiloxStream rng(seed);
  const std::string letters = "abcdefghijklmnop";
  for (int i = 0; i < n; ++i) {
    std::string text;
    for (int k = 0; k < 3; ++k) text += letters[rng.below(16)], text += letters[rng.below(16)];
    const bool first = text[0] < 'i';
    out << "{" << (task.empty() ? "" : "\"taskname\": \"" + task + "\", ") << "\"text\": \"" << text
        << "\", \"label\": \"" << (first ? "ab" : "cd") << "\"}\n";
  }
}

}  // namespace

class TestPromptTrain : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string model_dir_;

  std::string path(const std::string& n) { return dir_.path().toStdString() + "/" + n; }
  api::PromptTuneRequest request() {
    api::PromptTuneRequest r;
    r.model_dir = model_dir_;
    r.tasks_json = R"({"taskname": "pairs", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text}:{label}",
                      "total_virtual_tokens": 4, "answer_only_loss": true, "add_eos": false})";
    r.train_path = path("train.jsonl");
    r.dev_path = path("dev.jsonl");
    r.project_dir = path("project");
    r.out_path = path("table.safetensors");
    r.config.epochs = 4;
    r.config.batch = 8;
    r.config.lr = 5e-2f;
    r.config.max_new_tokens = 1;
    return r;
  }

 private slots:
  void initTestCase() {
    model_dir_ = path("model");
    QDir().mkpath(QString::fromStdString(model_dir_));
    QDir().mkpath(QString::fromStdString(path("project")));
    QVERIFY(tiny_tokenizer::make_gpt2_folder(std::string(LW_SOURCE_DIR) + "/tests/golden/data/gpt2/model", model_dir_));
    write_data(path("train.jsonl"), 64, 1);
    write_data(path("dev.jsonl"), 16, 2);
  }

  void trainsAndRecords() {
    api::PromptTuneRequest r = request();
    r.peft_dir = path("peft");
    int evals = 0;
    auto out = api::tune_prompt(r, [&](const train::PromptProgress& p) {
      evals += p.eval;
      return true;
    });
    QVERIFY2(out.is_ok(), out.status().message().c_str());
    const auto& res = out->result;
    QCOMPARE(res.steps, int64_t(32));
    QCOMPARE(evals, 4);
    QVERIFY(res.has_dev);
    auto mean = [](const std::vector<float>& v, size_t a, size_t b) {
      double s = 0;
      for (size_t i = a; i < b; ++i) s += v[i];
      return s / double(b - a);
    };
    QVERIFY2(mean(res.losses, 24, 32) < mean(res.losses, 0, 8),
             ("loss " + std::to_string(mean(res.losses, 0, 8)) + " -> " + std::to_string(mean(res.losses, 24, 32))).c_str());
    QVERIFY2(res.val_loss < res.val_loss_before,
             ("val loss " + std::to_string(res.val_loss_before) + " -> " + std::to_string(res.val_loss)).c_str());
    // The store: one ok run of kind prompt with its curves and both artifacts.
    auto store = ExperimentStore::open(path("project"));
    QVERIFY(store.is_ok());
    auto run = (*store)->get_run(out->run_id);
    QVERIFY(run.is_ok());
    QCOMPARE(run->kind, std::string("prompt"));
    QCOMPARE(run->status, RunStatus::kOk);
    // Named after its tasks, with their templates in the parameters the Experiments page shows.
    QCOMPARE(run->name, std::string("prompt pairs"));
    QVERIFY2(run->parameters_json.find(R"("task_list":[{"taskname":"pairs","prompt_template":"<|VIRTUAL_PROMPT_0|>{text}:{label}")") !=
                 std::string::npos,
             run->parameters_json.c_str());
    QCOMPARE((*store)->read_metric(out->run_id, "train/loss")->values.size(), size_t(32));
    QCOMPARE((*store)->read_metric(out->run_id, "eval/accuracy")->values.size(), size_t(5));  // before + 4 epochs
    auto arts = (*store)->artifacts(out->run_id);
    QCOMPARE(arts->size(), size_t(2));
    auto table = train::load_prompt_table(r.out_path);
    QVERIFY2(table.is_ok(), table.status().message().c_str());
    QVERIFY(table->find("pairs"));
    QVERIFY(table->training_json.find("\"val_accuracy\"") != std::string::npos);
    auto peft = train::import_peft_adapter(r.peft_dir, "pairs", 64);
    QVERIFY2(peft.is_ok(), peft.status().message().c_str());
    QCOMPARE(peft->table, table->find("pairs")->table);
  }

  void extendsTable() {
    write_data(path("train2.jsonl"), 16, 3, "second");
    api::PromptTuneRequest r = request();
    r.tasks_json = R"({"taskname": "second", "prompt_template": "{text}<|VIRTUAL_PROMPT_0|>{label}",
                      "total_virtual_tokens": 3, "add_eos": false})";
    r.train_path = path("train2.jsonl");
    r.dev_path.clear();
    r.init_from = path("table.safetensors");
    r.out_path = path("table2.safetensors");
    r.config.epochs = 1;
    auto out = api::tune_prompt(r);
    QVERIFY2(out.is_ok(), out.status().message().c_str());
    auto before = train::load_prompt_table(path("table.safetensors"));
    auto after = train::load_prompt_table(path("table2.safetensors"));
    QVERIFY(before.is_ok() && after.is_ok());
    QCOMPARE(after->tasks.size(), size_t(2));
    QCOMPARE(after->find("pairs")->table, before->find("pairs")->table);  // untouched
    QCOMPARE(after->find("second")->table.size(), size_t(3 * 64));
  }

  void generateWithTable() {
    auto m = api::load_playground_model(model_dir_);
    QVERIFY(m.is_ok());
    auto table = api::load_table_for(**m, path("table.safetensors"));
    QVERIFY2(table.is_ok(), table.status().message().c_str());
    const std::map<std::string, std::string> fields = {{"text", "abcdef"}};
    GenerateRequest req;
    req.params.greedy = true;
    req.params.max_new_tokens = 3;
    req.params.ignore_eos = true;
    auto g = api::generate_with_table(**m, *table, "pairs", fields, req);
    QVERIFY2(g.is_ok(), g.status().message().c_str());
    auto fp = api::format_task_prompt(**m, table->find("pairs")->task, fields);
    QVERIFY(fp.is_ok());
    QCOMPARE(fp->preview, std::string("[V0][V1][V2][V3]abcdef:"));
    auto ours = train::greedy_generate(*(*m)->model, fp->layout, table->find("pairs")->table, 3, -1);
    QVERIFY(ours.is_ok());
    QCOMPARE(g->sequences[0].ids, *ours);
    auto bad = api::generate_with_table(**m, *table, "nope", fields, req);
    QVERIFY(!bad.is_ok() && bad.status().message().find("has no task 'nope' (it has: pairs)") != std::string::npos);
  }

  void cancelIsRecorded() {
    api::PromptTuneRequest r = request();
    r.out_path = path("cancelled.safetensors");
    auto out = api::tune_prompt(r, [](const train::PromptProgress& p) { return p.step < 3; });
    QVERIFY2(out.is_ok(), out.status().message().c_str());
    QVERIFY(out->result.cancelled);
    QCOMPARE(out->result.steps, int64_t(3));
    auto store = ExperimentStore::open(path("project"));
    QCOMPARE((*store)->get_run(out->run_id)->status, RunStatus::kCancelled);
  }

  void badRequests() {
    api::PromptTuneRequest r = request();
    r.tasks_json = R"({"taskname": "x", "prompt_template": "{text}<|VIRTUAL_PROMPT_0|>{label}", "total_virtual_tokens": 2})";
    r.peft_dir = path("nopeft");
    auto out = api::tune_prompt(r);
    QVERIFY(!out.is_ok());
    QVERIFY2(out.status().message().find("PEFT only prepends one block") != std::string::npos, out.status().message().c_str());
    auto store = ExperimentStore::open(path("project"));
    auto runs = (*store)->list_runs();
    QCOMPARE(runs->front().status, RunStatus::kFailed);  // newest first
  }
};

QTEST_GUILESS_MAIN(TestPromptTrain)
#include "test_prompt_train.moc"
