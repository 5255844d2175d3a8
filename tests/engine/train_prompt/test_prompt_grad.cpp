// Gradients of prompt tuning: the prompt encoders' explicit backward (MLP, bidirectional LSTM)
// against finite differences, and the frozen-model backward (input gradient only, no weight
// gradients allocated) of the golden GPT-2 against finite differences of its loss and against
// the ordinary backward's token-embedding gradient.
#include <QtTest>

#include <cmath>

#include "engine/core/rng.h"
#include "engine/models/model.h"
#include "engine/train/prompt_encoder.h"
#include "engine/train/prompt_table.h"

using namespace lw;
using namespace lw::train;

namespace {

// loss = sum(out * weights): d loss / d out = weights.
double weighted(const std::vector<float>& out, const std::vector<float>& w) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += double(out[i]) * w[i];
  return s;
}

}  // namespace

class TestPromptGrad : public QObject {
  Q_OBJECT

 private slots:
  void encoderGradients_data() {
    QTest::addColumn<int>("type");
    QTest::addColumn<int>("layers");
    QTest::addColumn<double>("dropout");
    QTest::newRow("mlp 2 layers") << int(EncoderType::kMlp) << 2 << 0.0;
    QTest::newRow("mlp 3 layers dropout") << int(EncoderType::kMlp) << 3 << 0.3;
    QTest::newRow("lstm 1 layer") << int(EncoderType::kLstm) << 1 << 0.0;
    QTest::newRow("lstm 2 layers dropout") << int(EncoderType::kLstm) << 2 << 0.25;
  }
  void encoderGradients() {
    QFETCH(int, type);
    QFETCH(int, layers);
    QFETCH(double, dropout);
    const int64_t N = 4, C = 5;
    PhiloxStream rng(3);
    std::vector<float> init(N * C);
    for (auto& v : init) v = rng.normal();
    EncoderConfig cfg{EncoderType(type), 6, layers, float(dropout)};
    auto src = make_prompt_source(cfg, N, C, init, 11);
    QVERIFY2(src.is_ok(), src.status().message().c_str());
    PromptSource& s = **src;
    std::vector<float> w(N * C);
    for (auto& v : w) v = rng.normal();
    const uint64_t seed = 5;  // the same dropout masks in every evaluation
    auto out = s.forward(true, seed);
    QVERIFY(out.is_ok());
    s.zero_grad();
    QVERIFY(s.backward(w).is_ok());
    int checked = 0;
    for (auto& p : s.params()) {
      for (size_t i = 0; i < p.w.size(); i += std::max<size_t>(1, p.w.size() / 7)) {
        const float keep = p.w[i], h = 2e-3f;  // small: ReLU kinks stay uncrossed
        p.w[i] = keep + h;
        double up = weighted(*s.forward(true, seed), w);
        p.w[i] = keep - h;
        double down = weighted(*s.forward(true, seed), w);
        p.w[i] = keep;
        const double fd = (up - down) / (2 * h), an = p.g[i];
        QVERIFY2(std::abs(fd - an) <= 2e-3 + 2e-2 * std::abs(fd),
                 (p.name + "[" + std::to_string(i) + "]: analytic " + std::to_string(an) +
                  ", finite difference " + std::to_string(fd)).c_str());
        ++checked;
      }
    }
    QVERIFY(checked > 10);
  }

  void frozenBackward() {
    auto m = models::load_model(std::string(LW_SOURCE_DIR) + "/tests/golden/data/gpt2/model");
    QVERIFY2(m.is_ok(), m.status().message().c_str());
    models::Model& model = **m;
    const int64_t B = 2, T = 6, C = 64;
    PhiloxStream rng(9);
    std::vector<float> emb(B * T * C);
    for (auto& v : emb) v = 0.1f * rng.normal();
    std::vector<int32_t> labels = {-100, 5, 9, 300, 2, 7, -100, -100, 11, 12, 13, 14};
    auto loss_of = [&](const std::vector<float>& e, bool keep) -> Result<float> {
      models::Batch b;
      LW_ASSIGN_OR_RETURN(b.inputs_embeds, Tensor::from_floats(e, {B, T, C}));
      LW_ASSIGN_OR_RETURN(b.labels, Tensor::from_ints(labels, {B, T}));
      models::ForwardOptions fo;
      fo.keep_activations = keep;
      LW_ASSIGN_OR_RETURN(models::ForwardResult r, model.forward(b, fo));
      return r.loss;
    };
    QVERIFY(loss_of(emb, true).is_ok());
    auto d = model.backward_inputs();
    QVERIFY2(d.is_ok(), d.status().message().c_str());
    QCOMPARE(d->shape(), (Shape{B, T, C}));
    for (const auto& p : model.params()) QVERIFY2(!p.grad.defined(), p.spec.name.c_str());
    auto dv = *d->to_float_vector();
    for (int64_t i : {int64_t(3), int64_t(70), int64_t(200), int64_t(B * T * C - 5), int64_t(T * C + 17)}) {
      auto e = emb;
      const float h = 1e-2f;
      e[i] += h;
      double up = *loss_of(e, false);
      e[i] -= 2 * h;
      double down = *loss_of(e, false);
      const double fd = (up - down) / (2 * h);
      QVERIFY2(std::abs(fd - dv[i]) <= 1e-4 + 2e-2 * std::abs(fd),
               ("element " + std::to_string(i) + ": analytic " + std::to_string(dv[i]) +
                ", finite difference " + std::to_string(fd)).c_str());
    }
    // Through the lookup (tied head): wte's gradient with ids minus its gradient with the same
    // embeddings given as inputs_embeds (the head's share only) is the scatter, by id, of the
    // frozen backward's input gradient.
    std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1};
    auto wte = *model.find("wte")->value.to_float_vector();
    std::vector<float> looked(B * T * C);
    for (int64_t i = 0; i < B * T; ++i)
      std::copy_n(&wte[ids[i] * C], C, &looked[i * C]);
    auto run = [&](int mode) -> Result<std::vector<float>> {  // 0 frozen, 1 ids, 2 embeds
      models::Batch b;
      if (mode == 2) {
        LW_ASSIGN_OR_RETURN(b.inputs_embeds, Tensor::from_floats(looked, {B, T, C}));
      } else {
        LW_ASSIGN_OR_RETURN(b.input_ids, Tensor::from_ints(ids, {B, T}));
      }
      LW_ASSIGN_OR_RETURN(b.labels, Tensor::from_ints(labels, {B, T}));
      models::ForwardOptions fo;
      fo.keep_activations = true;
      LW_TRY(model.forward(b, fo).status());
      if (mode == 0) {
        LW_ASSIGN_OR_RETURN(Tensor g, model.backward_inputs());
        return g.to_float_vector();
      }
      LW_TRY(model.alloc_grads());
      LW_TRY(model.zero_grads());
      LW_TRY(model.backward());
      return model.find("wte")->grad.to_float_vector();
    };
    auto dx = run(0);
    auto g_ids = run(1);
    auto g_emb = run(2);
    QVERIFY(dx.is_ok() && g_ids.is_ok() && g_emb.is_ok());
    std::vector<double> scatter(wte.size(), 0.0);
    for (int64_t i = 0; i < B * T; ++i)
      for (int64_t c = 0; c < C; ++c) scatter[ids[i] * C + c] += (*dx)[i * C + c];
    double worst = 0, norm = 0;
    for (size_t i = 0; i < wte.size(); ++i) {
      worst = std::max(worst, std::abs(double((*g_ids)[i]) - (*g_emb)[i] - scatter[i]));
      norm = std::max(norm, std::abs(scatter[i]));
    }
    QVERIFY(norm > 1e-4);
    QVERIFY2(worst <= 1e-5 + 1e-4 * norm, ("largest difference " + std::to_string(worst)).c_str());
  }
};

QTEST_GUILESS_MAIN(TestPromptGrad)
#include "test_prompt_grad.moc"
