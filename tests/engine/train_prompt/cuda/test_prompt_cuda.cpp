// Prompt tuning on the GPU: the same prompt-tuning and p-tuning (MLP) steps on the golden
// GPT-2 on cuda:0 as on the CPU reference, f32 losses within 1e-3 relative (TF32 GEMMs) and
// bf16 within 3e-2; the frozen backward allocates no weight gradient on the device; and the
// KV-cache prefill from embeddings gives the CPU's last-position logits.
#include <QtTest>

#include <cmath>

#include "engine/core/rng.h"
#include "engine/models/model.h"
#include "engine/train/prompt_trainer.h"

using namespace lw;
using namespace lw::train;

namespace {

const std::string kModel = std::string(LW_SOURCE_DIR) + "/tests/golden/data/gpt2/model";
constexpr int64_t kN = 6, kC = 64;

std::vector<PromptLayout> layouts() {
  PhiloxStream rng(17);
  std::vector<PromptLayout> out;
  for (int b = 0; b < 4; ++b) {
    PromptLayout l;
    l.task = 0;
    for (int t = 0; t < 3; ++t) l.ids.push_back(int32_t(1 + rng.below(511))), l.virtual_row.push_back(-1), l.labels.push_back(-100);
    for (int r = 0; r < kN; ++r) l.ids.push_back(0), l.virtual_row.push_back(r), l.labels.push_back(-100);
    for (int t = 0; t < 8 - b; ++t) {  // ragged: padding and a mask
      const int32_t id = int32_t(1 + rng.below(511));
      l.ids.push_back(id), l.virtual_row.push_back(-1), l.labels.push_back(id);
    }
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<float>> run(Device device, DType dtype, EncoderType type, int steps) {
  LW_ASSIGN_OR_RETURN(auto model, models::load_model(kModel, {device, dtype}));
  std::vector<float> init(kN * kC);
  PhiloxStream rng(5);
  for (auto& v : init) v = 0.05f * rng.normal();
  LW_ASSIGN_OR_RETURN(auto src, make_prompt_source({type, 32, 2, 0.0f}, kN, kC, init, 3));
  std::vector<std::unique_ptr<PromptSource>> sources;
  sources.push_back(std::move(src));
  PromptStepper st(*model, std::move(sources), {}, 0.01f);
  auto ls = layouts();
  std::vector<const PromptLayout*> batch;
  for (const auto& l : ls) batch.push_back(&l);
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s) {
    LW_ASSIGN_OR_RETURN(float loss, st.step(batch, 1e-2f, s + 1));
    losses.push_back(loss);
  }
  for (const auto& p : model->params())
    LW_CHECK(!p.grad.defined(), "the frozen backward allocated a gradient for " + p.spec.name);
  LW_ASSIGN_OR_RETURN(std::vector<float> rows, st.rows(0));
  // The prefill from embeddings: last-position logits appended after the losses.
  LW_ASSIGN_OR_RETURN(models::KvLayout kv, model->kv_layout());
  std::vector<models::KvLayer> cache(size_t(kv.n_layer));
  for (auto& c : cache) {
    LW_ASSIGN_OR_RETURN(c.k, Tensor::zeros({kv.max_positions, kv.n_kv_head * kv.head_dim}, dtype, device));
    LW_ASSIGN_OR_RETURN(c.v, Tensor::zeros({kv.max_positions, kv.n_kv_head * kv.head_dim}, dtype, device));
  }
  LW_ASSIGN_OR_RETURN(models::Batch b, assemble_batch(*model, {&ls[0]}, {&rows}));
  LW_ASSIGN_OR_RETURN(Tensor logits, model->forward_cached_embeds(b.inputs_embeds, 0, cache));
  LW_ASSIGN_OR_RETURN(std::vector<float> lv, logits.to_float_vector());
  losses.insert(losses.end(), lv.begin(), lv.end());
  return losses;
}

}  // namespace

class TestPromptCuda : public QObject {
  Q_OBJECT
 private slots:
  void matchesCpu_data() {
    QTest::addColumn<int>("type");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<double>("tol");
    QTest::newRow("prompt f32") << int(EncoderType::kNone) << "f32" << 1e-3;
    QTest::newRow("p-tuning mlp f32") << int(EncoderType::kMlp) << "f32" << 1e-3;
    QTest::newRow("prompt bf16") << int(EncoderType::kNone) << "bf16" << 3e-2;
  }
  void matchesCpu() {
    QFETCH(int, type);
    QFETCH(QString, dtype);
    QFETCH(double, tol);
    if (!Tensor::zeros({1}, DType::kF32, Device::cuda(0)).is_ok()) QSKIP("no CUDA device");
    const int steps = 5;
    auto cpu = run(Device::cpu(), DType::kF32, EncoderType(type), steps);
    QVERIFY2(cpu.is_ok(), cpu.status().message().c_str());
    auto gpu = run(Device::cuda(0), *parse_dtype(dtype.toStdString()), EncoderType(type), steps);
    QVERIFY2(gpu.is_ok(), gpu.status().message().c_str());
    for (int s = 0; s < steps; ++s)
      QVERIFY2(std::abs((*gpu)[s] - (*cpu)[s]) <= tol * std::abs((*cpu)[s]),
               ("step " + std::to_string(s) + ": cuda " + std::to_string((*gpu)[s]) + ", cpu " +
                std::to_string((*cpu)[s])).c_str());
    QCOMPARE(gpu->size(), cpu->size());
    double worst = 0;
    for (size_t i = steps; i < cpu->size(); ++i) worst = std::max(worst, double(std::abs((*gpu)[i] - (*cpu)[i])));
    QVERIFY2(worst <= (dtype == "f32" ? 2e-3 : 5e-2), ("prefill logits differ by " + std::to_string(worst)).c_str());
  }
};

QTEST_GUILESS_MAIN(TestPromptCuda)
#include "test_prompt_cuda.moc"
