// The LLaMA family on cuda:0 against transformers (tests/golden/data_llama): forward logits,
// last hidden state and attention probabilities in bf16 (2e-2 relative / absolute) and f32
// (1e-3, TF32 GEMMs allowed), KV-cache decoding in bf16, and LLaMA's 20 AdamW steps in bf16
// (every loss within 2e-2 relative).
#include <QtTest>

#include <fstream>
#include <sstream>

#include "engine/backend/cuda/caching_allocator.h"
#include "engine/models/model.h"
#include "engine/train/fixed_batches.h"
#include "tests/golden/golden_util.h"

using namespace lw;

namespace {

std::string case_dir(const std::string& name) {
  return std::string(LW_SOURCE_DIR) + "/tests/golden/data_llama/" + name;
}

Result<golden::Tensors> open_file(const std::string& name, const std::string& file) {
  LW_ASSIGN_OR_RETURN(io::SafeTensorsFile f,
                      io::SafeTensorsFile::open(case_dir(name) + "/" + file));
  return golden::Tensors{std::move(f)};
}

std::vector<float> floats(const Tensor& t) {
  auto v = t.to_float_vector();
  return v.is_ok() ? *v : std::vector<float>{};
}

Result<models::Batch> load_inputs(const std::string& name, Device device) {
  LW_ASSIGN_OR_RETURN(io::SafeTensorsFile f,
                      io::SafeTensorsFile::open(case_dir(name) + "/inputs.safetensors"));
  models::Batch b;
  for (const char* key : {"input_ids", "attention_mask"}) {
    const auto* t = f.find(key);
    LW_CHECK(t, std::string("inputs.safetensors has no ") + key);
    std::vector<int32_t> v(static_cast<size_t>(t->numel));
    LW_TRY(io::copy_as_i32(key, t->dtype, f.data(*t), t->numel, v.data()));
    LW_ASSIGN_OR_RETURN(Tensor x, Tensor::from_ints(v, t->shape, device));
    (std::string(key) == "input_ids" ? b.input_ids : b.attention_mask) = x;
  }
  return b;
}

}  // namespace

class TestLlamaCuda : public QObject {
  Q_OBJECT
 private slots:
  // A cuda-labelled test runs on the GPU machine: no device there is a failure, not a skip.
  void initTestCase() {
    Status st = cuda::init_backend();
    QVERIFY2(st.is_ok(), st.to_string().c_str());
  }

  void forward_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<double>("tol");
    for (const char* c : {"llama", "qwen2", "mistral"}) {
      QTest::newRow((std::string(c) + "/bf16").c_str()) << QString(c) << "bf16" << 2e-2;
      QTest::newRow((std::string(c) + "/f32").c_str()) << QString(c) << "f32" << 1e-3;
    }
  }
  void forward() {
    QFETCH(QString, name);
    QFETCH(QString, dtype);
    QFETCH(double, tol);
    std::string n = name.toStdString();
    auto dt = parse_dtype(dtype.toStdString());
    QVERIFY(dt.is_ok());
    auto model = models::load_model(case_dir(n) + "/model", {Device::cuda(0), *dt});
    QVERIFY2(model.is_ok(), model.status().to_string().c_str());
    auto batch = load_inputs(n, Device::cuda(0));
    auto ref = open_file(n, "forward.safetensors");
    QVERIFY2(batch.is_ok(), batch.status().to_string().c_str());
    QVERIFY(ref.is_ok());
    models::ForwardOptions fo;
    fo.capture_attention = true;
    auto out = (*model)->forward(*batch, fo);
    QVERIFY2(out.is_ok(), out.status().to_string().c_str());
    double e = golden::rel_error(floats(out->logits), ref->get("logits"));
    qInfo("%s %s logits rel error %.3g", n.c_str(), dtype.toUtf8().constData(), e);
    QVERIFY2(e <= tol, std::to_string(e).c_str());
    e = golden::rel_error(floats(out->last_hidden), ref->get("last_hidden"));
    qInfo("%s %s last_hidden rel error %.3g", n.c_str(), dtype.toUtf8().constData(), e);
    QVERIFY2(e <= tol, std::to_string(e).c_str());
    QCOMPARE(out->attn_probs.size(), size_t(2));
    for (size_t l = 0; l < out->attn_probs.size(); ++l) {
      double d =
          golden::max_abs_diff(floats(out->attn_probs[l]), ref->get("attn." + std::to_string(l)));
      qInfo("%s %s attn.%zu max abs diff %.3g", n.c_str(), dtype.toUtf8().constData(), l, d);
      QVERIFY2(d <= tol, std::to_string(d).c_str());
    }
  }

  void cachedForwardBf16() {
    auto model = models::load_model(case_dir("llama") + "/model", {Device::cuda(0), DType::kBF16});
    QVERIFY2(model.is_ok(), model.status().to_string().c_str());
    auto batch = load_inputs("llama", Device::cpu());
    auto ref = open_file("llama", "forward.safetensors");
    QVERIFY(batch.is_ok() && ref.is_ok());
    auto layout = (*model)->kv_layout();
    QVERIFY(layout.is_ok());
    std::vector<models::KvLayer> cache(static_cast<size_t>(layout->n_layer));
    const Shape shape{layout->max_positions, layout->n_kv_head * layout->head_dim};
    for (auto& c : cache) {
      c.k = *Tensor::zeros(shape, DType::kBF16, Device::cuda(0));
      c.v = *Tensor::zeros(shape, DType::kBF16, Device::cuda(0));
    }
    auto ids = *batch->input_ids.to_int_vector();
    auto logits = ref->get("logits");
    const int64_t T = batch->input_ids.size(1), V = int64_t(logits.size()) / (4 * T);
    int64_t past = 0;
    for (int64_t end = 10; end <= T; ++end) {
      std::vector<int32_t> chunk(ids.begin() + past, ids.begin() + end);
      auto x = Tensor::from_ints(chunk, {1, end - past}, Device::cuda(0));
      auto out = (*model)->forward_cached(*x, past, cache);
      QVERIFY2(out.is_ok(), out.status().to_string().c_str());
      std::vector<float> theirs(logits.begin() + (end - 1) * V, logits.begin() + end * V);
      double e = golden::rel_error(floats(*out), theirs);
      QVERIFY2(e <= 2e-2,
               ("position " + std::to_string(end - 1) + " rel error " + std::to_string(e)).c_str());
      past = end;
    }
  }

  void trajectoryBf16() {
    auto model = models::load_model(case_dir("llama") + "/model", {Device::cuda(0), DType::kBF16});
    QVERIFY2(model.is_ok(), model.status().to_string().c_str());
    auto batches = train::load_batches(case_dir("llama") + "/batches.safetensors", Device::cuda(0));
    QVERIFY2(batches.is_ok(), batches.status().to_string().c_str());
    std::ifstream f(case_dir("llama") + "/train.json");
    std::stringstream ss;
    ss << f.rdbuf();
    auto tj = nlohmann::json::parse(ss.str());
    train::FixedBatchOptions opts;
    opts.steps = tj["steps"].get<int>();
    opts.adamw = {tj["lr"].get<float>(), tj["betas"][0].get<float>(), tj["betas"][1].get<float>(),
                  tj["eps"].get<float>(), tj["weight_decay"].get<float>()};
    auto losses = train::train_fixed_batches(**model, *batches, opts);
    QVERIFY2(losses.is_ok(), losses.status().to_string().c_str());
    for (size_t s = 0; s < losses->size(); ++s) {
      double theirs = tj["losses"][s].get<double>();
      QVERIFY2(std::fabs((*losses)[s] - theirs) <= 2e-2 * theirs,
               ("step " + std::to_string(s) + ": " + std::to_string((*losses)[s]) + " vs " +
                std::to_string(theirs))
                   .c_str());
    }
  }
};

QTEST_GUILESS_MAIN(TestLlamaCuda)
#include "test_llama_cuda.moc"
