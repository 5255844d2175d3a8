// The LLaMA family against transformers (tests/golden/data_llama, made by
// make_golden_llama.py): LLaMA (GQA, untied), Qwen2 (q/k/v bias, tied) and Mistral (one
// key/value head, sharded checkpoint) on a right-padded batch: logits and last hidden state
// within 1e-4 relative, attention probabilities within 1e-5 absolute; LLaMA's first-step
// gradients and 20 AdamW steps (losses 1e-4 relative, final weights 1e-4); save/reload.
#include <QTemporaryDir>
#include <QtTest>

#include "engine/models/model.h"
#include "engine/train/fixed_batches.h"
#include "tests/golden/golden_forward_check.h"
#include "tests/golden/golden_util.h"

using namespace lw;

namespace {

const char* kCases[] = {"llama", "qwen2", "mistral"};

std::string case_dir(const std::string& name) {
  return std::string(LW_SOURCE_DIR) + "/tests/golden/data_llama/" + name;
}

lw::Result<golden::Tensors> open_file(const std::string& name, const std::string& file) {
  auto f = io::SafeTensorsFile::open(case_dir(name) + "/" + file);
  if (!f.is_ok()) return f.status();
  return golden::Tensors{std::move(*f)};
}

nlohmann::json train_json() {
  std::ifstream f(case_dir("llama") + "/train.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

using golden::floats;

// inputs.safetensors as a Batch (input_ids and attention_mask, i64 on disk).
Result<models::Batch> load_inputs(const std::string& name) {
  LW_ASSIGN_OR_RETURN(io::SafeTensorsFile f,
                      io::SafeTensorsFile::open(case_dir(name) + "/inputs.safetensors"));
  models::Batch b;
  for (const char* key : {"input_ids", "attention_mask"}) {
    const auto* t = f.find(key);
    LW_CHECK(t, std::string("inputs.safetensors has no ") + key);
    std::vector<int32_t> v(static_cast<size_t>(t->numel));
    LW_TRY(io::copy_as_i32(key, t->dtype, f.data(*t), t->numel, v.data()));
    LW_ASSIGN_OR_RETURN(Tensor x, Tensor::from_ints(v, t->shape, Device::cpu()));
    (std::string(key) == "input_ids" ? b.input_ids : b.attention_mask) = x;
  }
  return b;
}

}  // namespace

class TestLlamaGolden : public QObject {
  Q_OBJECT
 private slots:
  void forward_data() { cases(); }
  void forward() {
    QFETCH(QString, name);
    std::string n = name.toStdString();
    auto model = models::load_model(case_dir(n) + "/model");
    QVERIFY2(model.is_ok(), model.status().to_string().c_str());
    auto batch = load_inputs(n);
    QVERIFY2(batch.is_ok(), batch.status().to_string().c_str());
    auto ref = open_file(n, "forward.safetensors");
    QVERIFY(ref.is_ok());
    models::ForwardOptions fo;
    fo.capture_attention = true;
    auto out = (*model)->forward(*batch, fo);
    QVERIFY2(out.is_ok(), out.status().to_string().c_str());
    golden::check_forward(n, *out, *ref, 2);
  }

  void gradients() {
    auto model = models::load_model(case_dir("llama") + "/model");
    QVERIFY2(model.is_ok(), model.status().to_string().c_str());
    auto batches = train::load_batches(case_dir("llama") + "/batches.safetensors", Device::cpu());
    QVERIFY2(batches.is_ok(), batches.status().to_string().c_str());
    auto ref = open_file("llama", "grads0.safetensors");
    QVERIFY(ref.is_ok());
    double loss0 = train_json()["losses"][0].get<double>();
    models::ForwardOptions fo;
    fo.keep_activations = true;
    auto out = (*model)->forward((*batches)[0], fo);
    QVERIFY2(out.is_ok(), out.status().to_string().c_str());
    QVERIFY2(std::fabs(out->loss - loss0) <= 1e-4 * loss0, std::to_string(out->loss).c_str());
    QVERIFY((*model)->backward().is_ok());
    QCOMPARE(ref->file.tensors().size(), (*model)->params().size());
    int64_t golden_count = 0;
    for (const auto& t : ref->file.tensors()) golden_count += t.numel;
    QCOMPARE((*model)->num_parameters(), golden_count);
    for (const auto& p : (*model)->params()) {
      const std::string& hf = p.spec.hf_names[0];
      auto theirs = ref->get(hf);
      QVERIFY2(!theirs.empty(), ("no golden gradient for " + hf).c_str());
      double e = golden::rel_error(golden::hf_layout_grad(p), theirs);
      QVERIFY2(e <= 1e-4, (hf + " gradient rel error " + std::to_string(e)).c_str());
    }
  }

  void trajectory() {
    auto model = models::load_model(case_dir("llama") + "/model");
    QVERIFY2(model.is_ok(), model.status().to_string().c_str());
    auto batches = train::load_batches(case_dir("llama") + "/batches.safetensors", Device::cpu());
    QVERIFY(batches.is_ok());
    auto tj = train_json();
    train::FixedBatchOptions opts;
    opts.steps = tj["steps"].get<int>();
    opts.adamw.lr = tj["lr"].get<float>();
    opts.adamw.beta1 = tj["betas"][0].get<float>();
    opts.adamw.beta2 = tj["betas"][1].get<float>();
    opts.adamw.eps = tj["eps"].get<float>();
    opts.adamw.weight_decay = tj["weight_decay"].get<float>();
    auto losses = train::train_fixed_batches(**model, *batches, opts);
    QVERIFY2(losses.is_ok(), losses.status().to_string().c_str());
    QCOMPARE(losses->size(), tj["losses"].size());
    for (size_t s = 0; s < losses->size(); ++s) {
      double theirs = tj["losses"][s].get<double>();
      QVERIFY2(std::fabs((*losses)[s] - theirs) <= 1e-4 * theirs,
               ("step " + std::to_string(s) + ": " + std::to_string((*losses)[s]) + " vs " +
                std::to_string(theirs))
                   .c_str());
    }
    auto ref = open_file("llama", "final.safetensors");
    QVERIFY(ref.is_ok());
    for (const auto& p : (*model)->params()) {
      const std::string& hf = p.spec.hf_names[0];
      double e = golden::rel_error(golden::hf_layout(p), ref->get(hf));
      QVERIFY2(e <= 1e-4, (hf + " final rel error " + std::to_string(e)).c_str());
    }
  }

  // KV-cache decoding of row 0 (no padding): a 10-token prefill, then one token at a time;
  // each step's last-position logits match transformers' full forward at that position.
  void cachedForward_data() { cases(); }
  void cachedForward() {
    QFETCH(QString, name);
    std::string n = name.toStdString();
    auto model = models::load_model(case_dir(n) + "/model");
    QVERIFY(model.is_ok());
    auto batch = load_inputs(n);
    auto ref = open_file(n, "forward.safetensors");
    QVERIFY(batch.is_ok() && ref.is_ok());
    auto layout = (*model)->kv_layout();
    QVERIFY2(layout.is_ok(), layout.status().to_string().c_str());
    std::vector<models::KvLayer> cache(static_cast<size_t>(layout->n_layer));
    for (auto& c : cache) {
      c.k = *Tensor::zeros({layout->max_positions, layout->n_kv_head * layout->head_dim},
                           DType::kF32, Device::cpu());
      c.v = *Tensor::zeros({layout->max_positions, layout->n_kv_head * layout->head_dim},
                           DType::kF32, Device::cpu());
    }
    auto ids = *batch->input_ids.to_int_vector();
    auto logits = ref->get("logits");
    const int64_t T = batch->input_ids.size(1), V = int64_t(logits.size()) / (4 * T);
    int64_t past = 0;
    for (int64_t end : {int64_t(10), int64_t(11), int64_t(12), int64_t(13), int64_t(14),
                        int64_t(15), int64_t(16)}) {
      std::vector<int32_t> chunk(ids.begin() + past, ids.begin() + end);
      auto x = Tensor::from_ints(chunk, {1, end - past}, Device::cpu());
      auto out = (*model)->forward_cached(*x, past, cache);
      QVERIFY2(out.is_ok(), out.status().to_string().c_str());
      std::vector<float> theirs(logits.begin() + (end - 1) * V, logits.begin() + end * V);
      double e = golden::rel_error(floats(*out), theirs);
      QVERIFY2(
          e <= 1e-4,
          (n + " position " + std::to_string(end - 1) + " rel error " + std::to_string(e)).c_str());
      past = end;
    }
  }

  // Our folder holds exactly transformers' tensors (a sharded checkpoint comes back as one
  // file) and loads back to the same logits.
  void saveAndReload_data() { cases(); }
  void saveAndReload() {
    QFETCH(QString, name);
    std::string n = name.toStdString();
    auto model = models::load_model(case_dir(n) + "/model");
    QVERIFY(model.is_ok());
    QTemporaryDir tmp;
    std::string out = tmp.path().toStdString() + "/saved";
    auto st = (*model)->save(out);
    QVERIFY2(st.is_ok(), st.to_string().c_str());
    auto theirs = io::Checkpoint::open(case_dir(n) + "/model");
    auto ours = io::SafeTensorsFile::open(out + "/model.safetensors");
    QVERIFY(theirs.is_ok() && ours.is_ok());
    QCOMPARE(ours->tensors().size(), theirs->names().size());
    for (const auto& hf : theirs->names()) {
      const auto* t = theirs->find(hf);
      const auto* o = ours->find(hf);
      QVERIFY2(o, hf.c_str());
      QCOMPARE(o->shape, t->info->shape);
      QCOMPARE(std::memcmp(ours->data(*o), t->data(), t->info->nbytes()), 0);
    }
    auto again = models::load_model(out);
    QVERIFY2(again.is_ok(), again.status().to_string().c_str());
    QCOMPARE((*again)->architecture(), (*model)->architecture());
    auto batch = load_inputs(n);
    QVERIFY(batch.is_ok());
    auto a = (*model)->forward(*batch, {});
    auto b = (*again)->forward(*batch, {});
    QVERIFY(a.is_ok() && b.is_ok());
    QCOMPARE(golden::max_abs_diff(floats(a->logits), floats(b->logits)), 0.0);
  }

 private:
  void cases() {
    QTest::addColumn<QString>("name");
    for (const char* c : kCases) QTest::newRow(c) << QString(c);
  }
};

QTEST_GUILESS_MAIN(TestLlamaGolden)
#include "test_llama_golden.moc"
