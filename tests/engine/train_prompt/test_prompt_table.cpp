// Prompt tables: save / load round trip (tables, templates, model identity), refusal on a
// different model, PEFT adapter export / import, and the bad-input errors of both formats.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "engine/models/model.h"
#include "engine/train/prompt_table.h"
#include "engine/train/prompt_trainer.h"

using namespace lw;
using namespace lw::train;

namespace {

std::string golden_model() { return std::string(LW_SOURCE_DIR) + "/tests/golden/data/gpt2/model"; }

PromptTask task(const std::string& name, const std::string& tmpl, int32_t n, std::vector<int32_t> splits = {}) {
  PromptTask t;
  t.taskname = name;
  t.prompt_template = tmpl;
  t.total_virtual_tokens = n;
  t.virtual_token_splits = std::move(splits);
  Status st = validate_task(t, "test");
  if (!st.is_ok()) qFatal("%s", st.message().c_str());
  return t;
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(float(i) * 0.37f);
  return v;
}

}  // namespace

class TestPromptTable : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<models::Model> model_;

  std::string path(const std::string& name) { return dir_.path().toStdString() + "/" + name; }
  static void expect_error(const Status& st, const std::string& part) {
    QVERIFY2(!st.is_ok(), ("expected an error containing: " + part).c_str());
    QVERIFY2(st.message().find(part) != std::string::npos, st.message().c_str());
  }
  PromptTable two_tasks() {
    PromptTable t;
    t.model = *model_identity(*model_);
    t.put({task("sentiment", "<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}", 4), ramp(4 * 64, 0.1f)});
    t.put({task("intent", "<|VIRTUAL_PROMPT_0|> Predict <|VIRTUAL_PROMPT_1|> :\n{utterance}{label}", 5, {3, 2}),
           ramp(5 * 64, -0.2f)});
    t.training_json = R"({"method":"prompt-tuning","steps":3})";
    return t;
  }

 private slots:
  void initTestCase() {
    auto m = models::load_model(golden_model());
    QVERIFY2(m.is_ok(), m.status().message().c_str());
    model_ = std::move(*m);
  }

  void identity() {
    auto a = model_identity(*model_);
    QVERIFY(a.is_ok());
    QCOMPARE(a->architecture, std::string("GPT2LMHeadModel"));
    QCOMPARE(a->hidden_size, int64_t(64));
    QCOMPARE(a->vocab_size, int64_t(512));
    QCOMPARE(a->embedding_sha256.size(), size_t(64));
    auto b = model_identity(*model_);
    QCOMPARE(a->embedding_sha256, b->embedding_sha256);
  }

  void roundTrip() {
    PromptTable t = two_tasks();
    QVERIFY(save_prompt_table(t, path("table.safetensors")).is_ok());
    auto back = load_prompt_table(path("table.safetensors"));
    QVERIFY2(back.is_ok(), back.status().message().c_str());
    QCOMPARE(back->model.embedding_sha256, t.model.embedding_sha256);
    QCOMPARE(back->model.architecture, t.model.architecture);
    QCOMPARE(back->tasks.size(), size_t(2));
    for (const auto& e : t.tasks) {
      const PromptTableEntry* b = back->find(e.task.taskname);
      QVERIFY(b);
      QCOMPARE(b->table, e.table);
      QCOMPARE(b->task.prompt_template, e.task.prompt_template);
      QCOMPARE(b->task.virtual_token_splits, e.task.virtual_token_splits);
    }
    QVERIFY(back->training_json.find("\"steps\":3") != std::string::npos);
    QVERIFY(check_table_fits(*back, *model_identity(*model_), "table").is_ok());
    // No temporary file is left behind by the atomic write.
    int files = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir_.path().toStdString())) files += f.is_regular_file();
    QCOMPARE(files, 1);
  }

  void refusesOtherModel() {
    PromptTable t = two_tasks();
    // Same architecture and sizes, different weights: only the embedding hash tells them apart.
    auto other = models::load_model(golden_model());
    QVERIFY(other.is_ok());
    auto& wte = (*other)->find("wte")->value;
    std::vector<float> v = *wte.to_float_vector();
    v[7] += 0.5f;
    QVERIFY(wte.copy_from(*Tensor::from_floats(v, wte.shape())).is_ok());
    expect_error(check_table_fits(t, *model_identity(**other), "t.safetensors"),
                 "t.safetensors: this prompt table was trained on GPT2LMHeadModel (hidden 64, vocabulary 512");
    ModelIdentity wider = t.model;
    wider.hidden_size = 128;
    expect_error(check_table_fits(t, wider, "t.safetensors"), "not on the loaded model GPT2LMHeadModel (hidden 128");
  }

  void peftExportImport() {
    PromptTable t = two_tasks();
    const std::string dir = path("peft");
    QVERIFY2(export_peft_adapter(t, "sentiment", dir, "gpt2-golden").is_ok(), "export");
    std::ifstream in(dir + "/adapter_config.json");
    std::string cfg((std::istreambuf_iterator<char>(in)), {});
    QVERIFY(cfg.find("\"peft_type\": \"PROMPT_TUNING\"") != std::string::npos);
    QVERIFY(cfg.find("\"num_virtual_tokens\": 4") != std::string::npos);
    QVERIFY(cfg.find("\"token_dim\": 64") != std::string::npos);
    auto e = import_peft_adapter(dir, "imported", 64);
    QVERIFY2(e.is_ok(), e.status().message().c_str());
    QCOMPARE(e->table, t.find("sentiment")->table);
    QCOMPARE(e->task.total_virtual_tokens, 4);
    QVERIFY(e->task.single_leading_block());
    // Two blocks cannot be a PEFT adapter.
    expect_error(export_peft_adapter(t, "intent", path("peft2"), "x"), "PEFT prepends one block of virtual tokens");
    expect_error(import_peft_adapter(dir, "x", 128).status(), "token_dim 64 does not match the model's hidden size 128");
    std::ofstream(path("lora_config.json")) << "{}";
    std::filesystem::create_directory(path("lora"));
    std::ofstream(path("lora") + "/adapter_config.json") << R"({"peft_type": "LORA", "task_type": "CAUSAL_LM"})";
    expect_error(import_peft_adapter(path("lora"), "x", 64).status(), "peft_type 'LORA' is not a prompt-tuning adapter");
  }

  void badTableFiles() {
    // A PEFT adapter's safetensors is not a prompt table.
    PromptTable t = two_tasks();
    QVERIFY(export_peft_adapter(t, "sentiment", path("peft3"), "x").is_ok());
    expect_error(load_prompt_table(path("peft3") + "/adapter_model.safetensors").status(), "not a prompt table");
    expect_error(load_prompt_table(path("missing.safetensors")).status(), "missing.safetensors");
    PromptTable empty;
    empty.model = t.model;
    expect_error(save_prompt_table(empty, path("empty.safetensors")), "at least one task");
  }

  // The embeddings of a batch: token rows from wte, virtual rows from the task's table.
  void assembleBatch() {
    PromptTable t = two_tasks();
    const PromptTableEntry* e = t.find("intent");
    PromptLayout l;
    l.task = 0;
    l.ids = {0, 0, 0, 17, 0, 0, 42};
    l.virtual_row = {0, 1, 2, -1, 3, 4, -1};
    l.labels = {-100, -100, -100, -100, -100, -100, 42};
    auto b = assemble_batch(*model_, {&l}, {&e->table});
    QVERIFY2(b.is_ok(), b.status().message().c_str());
    auto emb = *b->inputs_embeds.to_float_vector();
    auto wte = *model_->find("wte")->value.to_float_vector();
    for (int64_t c = 0; c < 64; ++c) {
      QCOMPARE(emb[3 * 64 + c], wte[17 * 64 + c]);
      QCOMPARE(emb[4 * 64 + c], e->table[3 * 64 + c]);
      QCOMPARE(emb[0 * 64 + c], e->table[c]);
    }
    QVERIFY(!b->attention_mask.defined());
  }
};

QTEST_GUILESS_MAIN(TestPromptTable)
#include "test_prompt_table.moc"
