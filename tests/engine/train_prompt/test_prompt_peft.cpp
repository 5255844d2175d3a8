// Parity with PEFT (tests/golden/make_golden_peft.py, made on the GPU machine): prompt tuning
// (random and text init) and p-tuning (MLP and LSTM encoders) on the golden GPT-2 from PEFT's
// initial weights, every step's loss within 1e-4 relative; the text init from the same
// tokenizer; and PEFT's logits for the adapter folder our exporter wrote.
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/train/prompt_trainer.h"

using namespace lw;
using namespace lw::train;

namespace {

const std::string kData = std::string(LW_SOURCE_DIR) + "/tests/golden/data_peft";
const std::string kModel = std::string(LW_SOURCE_DIR) + "/tests/golden/data/gpt2/model";
constexpr int64_t kC = 64;

std::map<std::string, std::vector<float>> read_floats(const std::string& path) {
  std::map<std::string, std::vector<float>> out;
  auto f = io::SafeTensorsFile::open(path);
  if (!f.is_ok()) qFatal("%s", f.status().message().c_str());
  for (const auto& t : f->tensors()) {
    if (t.dtype == io::StDtype::kI64 || t.dtype == io::StDtype::kI32) continue;
    std::vector<float> v(size_t(t.numel));
    Status st = io::copy_as_f32(path, t.dtype, f->data(t), t.numel, v.data());
    if (!st.is_ok()) qFatal("%s", st.message().c_str());
    out[t.name] = std::move(v);
  }
  return out;
}

std::map<std::string, std::vector<int32_t>> read_ints(const std::string& path) {
  std::map<std::string, std::vector<int32_t>> out;
  auto f = io::SafeTensorsFile::open(path);
  if (!f.is_ok()) qFatal("%s", f.status().message().c_str());
  for (const auto& t : f->tensors()) {
    if (t.dtype != io::StDtype::kI64 && t.dtype != io::StDtype::kI32) continue;
    std::vector<int32_t> v(size_t(t.numel));
    Status st = io::copy_as_i32(path, t.dtype, f->data(t), t.numel, v.data());
    if (!st.is_ok()) qFatal("%s", st.message().c_str());
    out[t.name] = std::move(v);
  }
  return out;
}

// The deterministic table whose PEFT export is committed as data_peft/llmwb_adapter.
PromptTable adapter_table(const models::Model& m) {
  PromptTable t;
  t.model = *model_identity(m);
  PromptTableEntry e;
  e.task.taskname = "golden";
  e.task.prompt_template = "<|VIRTUAL_PROMPT_0|>{text}{label}";
  e.task.total_virtual_tokens = 6;
  (void)validate_task(e.task, "test");
  e.table.resize(6 * kC);
  for (size_t i = 0; i < e.table.size(); ++i) e.table[i] = 0.05f * std::sin(0.71f * float(i) + 0.3f);
  t.put(std::move(e));
  return t;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

class TestPromptPeft : public QObject {
  Q_OBJECT
  std::unique_ptr<models::Model> model_;
  nlohmann::json manifest_;

 private slots:
  void initTestCase() {
    auto m = models::load_model(kModel);
    QVERIFY2(m.is_ok(), m.status().message().c_str());
    model_ = std::move(*m);
  }

  // Our exporter's output is the folder the golden script loads with PeftModel.from_pretrained.
  void exportedAdapterIsCommitted() {
    const std::string committed = kData + "/llmwb_adapter";
    const std::string fresh = std::string(LW_BINARY_DIR) + "/prompt_peft_adapter";
    std::filesystem::create_directories(fresh);
    QVERIFY(export_peft_adapter(adapter_table(*model_), "golden", fresh, "tests/golden/data/gpt2/model").is_ok());
    if (std::getenv("LW_WRITE_PEFT_ADAPTER")) {
      std::filesystem::create_directories(committed);
      QVERIFY(export_peft_adapter(adapter_table(*model_), "golden", committed, "tests/golden/data/gpt2/model").is_ok());
    }
    QVERIFY2(std::filesystem::exists(committed + "/adapter_model.safetensors"),
             "tests/golden/data_peft/llmwb_adapter is missing: run this test once with LW_WRITE_PEFT_ADAPTER=1");
    QCOMPARE(slurp(fresh + "/adapter_model.safetensors"), slurp(committed + "/adapter_model.safetensors"));
    QCOMPARE(slurp(fresh + "/adapter_config.json"), slurp(committed + "/adapter_config.json"));
  }

  void goldensPresent() {
    const std::string p = kData + "/peft.json";
    if (!std::filesystem::exists(p))
      QSKIP("tests/golden/data_peft/peft.json is missing: PEFT parity is unchecked until "
            "tests/golden/make_golden_peft.py runs on the GPU machine (request prompt-1)");
    manifest_ = nlohmann::json::parse(slurp(p));
    QVERIFY(manifest_.contains("cases"));
  }

  void lossParity_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("type");
    for (const char* c : {"prompt_random", "prompt_text"}) QTest::newRow(c) << c << int(EncoderType::kNone);
    QTest::newRow("ptuning_mlp") << "ptuning_mlp" << int(EncoderType::kMlp);
    QTest::newRow("ptuning_lstm") << "ptuning_lstm" << int(EncoderType::kLstm);
  }
  void lossParity() {
    QFETCH(QString, name);
    QFETCH(int, type);
    if (manifest_.is_null()) QSKIP("no PEFT goldens yet (see goldensPresent)");
    const std::string n = name.toStdString();
    const auto& cs = manifest_["cases"][n];
    const int64_t N = manifest_["num_virtual_tokens"].get<int64_t>();
    auto init = read_floats(kData + "/" + n + ".safetensors");
    std::map<std::string, std::vector<float>> state;
    for (auto& [k, v] : init)
      if (k.rfind("init.", 0) == 0) state[k.substr(5)] = v;
    EncoderConfig ec{EncoderType(type), manifest_["encoder_hidden"].get<int64_t>(),
                     type == int(EncoderType::kLstm) ? 2 : 2, 0.0f};
    auto src = make_prompt_source(ec, N, kC, state.at("embedding.weight"), 0);
    QVERIFY2(src.is_ok(), src.status().message().c_str());
    QCOMPARE((*src)->params().size(), state.size());  // the same parameters, by PEFT's names
    QVERIFY((*src)->load_state(state, n).is_ok());
    for (const auto& p : (*src)->params()) QCOMPARE(p.w, state.at(p.name));
    std::vector<std::unique_ptr<PromptSource>> sources;
    sources.push_back(std::move(*src));
    const auto& opt = manifest_["optimizer"];
    PromptStepper st(*model_, std::move(sources), {}, opt["weight_decay"].get<float>());
    auto ints = read_ints(kData + "/batches.safetensors");
    const int64_t nb = manifest_["num_batches"].get<int64_t>();
    std::vector<std::vector<PromptLayout>> batches(static_cast<size_t>(nb));
    for (int64_t i = 0; i < nb; ++i) {
      const auto& ids = ints.at("batch" + std::to_string(i) + ".input_ids");
      const auto& labels = ints.at("batch" + std::to_string(i) + ".labels");
      const int64_t B = 4, T = int64_t(ids.size()) / B;
      for (int64_t b = 0; b < B; ++b) {
        PromptLayout l;
        l.task = 0;
        for (int64_t r = 0; r < N; ++r) l.ids.push_back(0), l.virtual_row.push_back(int32_t(r)), l.labels.push_back(-100);
        for (int64_t t = 0; t < T; ++t)
          l.ids.push_back(ids[b * T + t]), l.virtual_row.push_back(-1), l.labels.push_back(labels[b * T + t]);
        batches[i].push_back(std::move(l));
      }
    }
    const auto& losses = cs["losses"];
    for (size_t s = 0; s < losses.size(); ++s) {
      std::vector<const PromptLayout*> b;
      for (const auto& l : batches[s % size_t(nb)]) b.push_back(&l);
      auto loss = st.step(b, opt["lr"].get<float>(), s + 1);
      QVERIFY2(loss.is_ok(), loss.status().message().c_str());
      const double want = losses[s].get<double>();
      QVERIFY2(std::abs(*loss - want) <= 1e-4 * std::abs(want),
               (n + " step " + std::to_string(s) + ": ours " + std::to_string(*loss) + ", PEFT " +
                std::to_string(want)).c_str());
    }
    auto rows = st.rows(0);
    const auto& final = init.at("final.prompt_embeddings");
    QCOMPARE(rows->size(), final.size());
    double worst = 0;
    for (size_t i = 0; i < final.size(); ++i) worst = std::max(worst, double(std::abs((*rows)[i] - final[i])));
    QVERIFY2(worst <= 1e-3, (n + ": final prompt differs by " + std::to_string(worst)).c_str());
  }

  void textInit() {
    if (manifest_.is_null()) QSKIP("no PEFT goldens yet (see goldensPresent)");
    auto tok = load_tokenizer(kData + "/tokenizer");
    QVERIFY2(tok.is_ok(), tok.status().message().c_str());
    const std::string text = manifest_["init_text"].get<std::string>();
    auto enc = (*tok)->encode(text, false);
    QVERIFY(enc.is_ok());
    QCOMPARE(enc->ids, manifest_["init_text_ids"].get<std::vector<int32_t>>());
    auto rows = initial_rows(*model_, tok->get(), "text", text, manifest_["num_virtual_tokens"].get<int64_t>(), 0);
    QVERIFY2(rows.is_ok(), rows.status().message().c_str());
    QCOMPARE(*rows, read_floats(kData + "/prompt_text.safetensors").at("init.embedding.weight"));
  }

  void adapterLogits() {
    if (manifest_.is_null()) QSKIP("no PEFT goldens yet (see goldensPresent)");
    const std::string p = kData + "/adapter_check.safetensors";
    QVERIFY2(std::filesystem::exists(p), "the golden run made no adapter check");
    auto e = import_peft_adapter(kData + "/llmwb_adapter", "golden", kC);
    QVERIFY2(e.is_ok(), e.status().message().c_str());
    const auto ids = read_ints(p).at("input_ids");
    const auto want = read_floats(p).at("logits");
    PromptLayout l;
    l.task = 0;
    for (int32_t r = 0; r < e->task.total_virtual_tokens; ++r) l.ids.push_back(0), l.virtual_row.push_back(r), l.labels.push_back(-100);
    for (int32_t id : ids) l.ids.push_back(id), l.virtual_row.push_back(-1), l.labels.push_back(-100);
    auto b = assemble_batch(*model_, {&l}, {&e->table});
    QVERIFY(b.is_ok());
    b->labels = Tensor();
    auto r = model_->forward(*b, {});
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    auto got = *r->logits.to_float_vector();
    QCOMPARE(got.size(), want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, double(std::abs(got[i] - want[i])));
    QVERIFY2(worst <= 1e-4, ("logits differ from PEFT's by " + std::to_string(worst)).c_str());
  }
};

QTEST_GUILESS_MAIN(TestPromptPeft)
#include "test_prompt_peft.moc"
