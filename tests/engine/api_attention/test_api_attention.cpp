// The attention facade on the golden models of every architecture: probabilities equal
// transformers' output_attentions (1e-5 absolute) per sequence, BERT and the LLaMA family with
// their padding masks; layer/head selection keeps the right slices; rollout and head statistics
// equal the numpy reference; and bad requests fail with messages that say what to change.
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>
#include "engine/analysis/attention_memory.h"
#include "engine/api/attention.h"
#include "engine/io/checkpoint.h"
#include "engine/io/hf_config.h"
#include "tests/golden/golden_util.h"

using namespace lw;

namespace {

std::string case_dir(const std::string& name) {
  const bool llama = name == "llama" || name == "mistral" || name == "qwen2";
  return std::string(LW_SOURCE_DIR) +
         (llama ? "/tests/golden/data_llama/" : "/tests/golden/data/") + name;
}

// An integer tensor of a golden file as i32, [B,T].
std::vector<int32_t> ints(const golden::Tensors& f, const std::string& name,
                          std::vector<int64_t>* shape) {
  const auto* t = f.file.find(name);
  if (!t) return {};
  *shape = t->shape;
  std::vector<int32_t> v(size_t(t->numel));
  if (!io::copy_as_i32(name, t->dtype, f.file.data(*t), t->numel, v.data()).is_ok()) return {};
  return v;
}

struct GoldenCase {
  std::vector<int32_t> ids, mask;  // [B*T]; mask empty when the golden batch has none
  int64_t B = 0, T = 0;
  std::shared_ptr<golden::Tensors> forward;  // forward.safetensors (not default-constructible)
};

Result<GoldenCase> golden_case(const std::string& name) {
  const std::string dir = case_dir(name);
  const bool llama = dir.find("data_llama") != std::string::npos;
  LW_ASSIGN_OR_RETURN(auto in, io::SafeTensorsFile::open(
                                   dir + (llama ? "/inputs.safetensors" : "/batches.safetensors")));
  golden::Tensors inputs{std::move(in)};
  GoldenCase c;
  std::vector<int64_t> shape, mshape;
  const std::string prefix = llama ? "" : "batch0.";
  c.ids = ints(inputs, prefix + "input_ids", &shape);
  c.mask = ints(inputs, prefix + "attention_mask", &mshape);
  LW_CHECK(!c.ids.empty() && shape.size() == 2, dir + ": no input_ids");
  c.B = shape[0];
  c.T = shape[1];
  LW_ASSIGN_OR_RETURN(auto fwd, io::SafeTensorsFile::open(dir + "/forward.safetensors"));
  c.forward = std::make_shared<golden::Tensors>(golden::Tensors{std::move(fwd)});
  return c;
}

api::AttentionRequest row_request(const GoldenCase& g, int64_t b) {
  api::AttentionRequest r;
  r.ids.assign(g.ids.begin() + b * g.T, g.ids.begin() + (b + 1) * g.T);
  if (!g.mask.empty())
    for (int64_t t = 0; t < g.T; ++t)
      r.key_valid.push_back(uint8_t(g.mask[size_t(b * g.T + t)] != 0));
  return r;
}

// Golden attn.<layer>[b, head] as [T,T].
std::vector<float> golden_head(const GoldenCase& g, int64_t layer, int64_t b, int64_t head) {
  std::vector<int64_t> shape;
  auto all = g.forward->get("attn." + std::to_string(layer), &shape);
  const int64_t H = shape[1], TT = g.T * g.T;
  return std::vector<float>(all.begin() + (b * H + head) * TT,
                            all.begin() + (b * H + head + 1) * TT);
}

std::vector<float> capture_head(const api::AttentionCapture& c, int64_t li, int64_t hi) {
  const int64_t TT = c.n_tok * c.n_tok;
  return std::vector<float>(c.probs.begin() + (li * c.n_head() + hi) * TT,
                            c.probs.begin() + (li * c.n_head() + hi + 1) * TT);
}

std::unique_ptr<api::AttentionModel> load(const std::string& name) {
  auto m = api::load_attention_model(case_dir(name) + "/model");
  if (!m.is_ok()) qWarning("%s", m.status().to_string().c_str());
  return m.is_ok() ? std::move(*m) : nullptr;
}

}  // namespace

class TestApiAttention : public QObject {
  Q_OBJECT
 private slots:
  void matchesTransformers_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("causal");
    QTest::addColumn<bool>("padded");
    QTest::newRow("gpt2") << "gpt2" << true << false;
    QTest::newRow("bert_cls") << "bert_cls" << false << true;
    QTest::newRow("bert_mlm") << "bert_mlm" << false << true;
    QTest::newRow("llama") << "llama" << true << true;
    QTest::newRow("mistral") << "mistral" << true << true;
    QTest::newRow("qwen2") << "qwen2" << true << true;
  }
  void matchesTransformers() {
    QFETCH(QString, name);
    QFETCH(bool, causal);
    QFETCH(bool, padded);
    const std::string n = name.toStdString();
    auto m = load(n);
    QVERIFY(m);
    QCOMPARE(m->causal, causal);
    auto g = golden_case(n);
    QVERIFY2(g.is_ok(), g.status().to_string().c_str());
    bool saw_padding = false;
    for (int64_t b = 0; b < g->B; ++b) {
      auto req = row_request(*g, b);
      saw_padding |=
          std::find(req.key_valid.begin(), req.key_valid.end(), 0) != req.key_valid.end();
      auto c = api::capture_attention(*m, req);
      QVERIFY2(c.is_ok(), c.status().to_string().c_str());
      QCOMPARE(c->n_tok, g->T);
      QCOMPARE(c->n_layer(), m->n_layer);
      QCOMPARE(c->n_head(), m->n_head);
      QCOMPARE(c->probs.size(), size_t(m->n_layer * m->n_head * g->T * g->T));
      QCOMPARE(int64_t(c->tokens.size()), g->T);
      for (int64_t l = 0; l < m->n_layer; ++l)
        for (int64_t h = 0; h < m->n_head; ++h) {
          const double d = golden::max_abs_diff(capture_head(*c, l, h), golden_head(*g, l, b, h));
          QVERIFY2(d <= 1e-5,
                   qPrintable(QString("b=%1 layer %2 head %3: %4").arg(b).arg(l).arg(h).arg(d)));
        }
      // Masked cells carry no weight: the model really applies the mask we report.
      for (int64_t q = 0; q < c->n_tok; ++q) {
        if (!c->key_valid[size_t(q)]) continue;
        for (int64_t k = 0; k < c->n_tok; ++k)
          if (c->masked(q, k)) QVERIFY(c->at(0, 0, q, k) <= 1e-6f);
      }
      QVERIFY(c->capture_ms > 0);
    }
    QCOMPARE(saw_padding, padded);
  }

  // Rollout and head statistics through the facade equal the numpy reference.
  void derivedViewsMatchNumpy_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QVector<int>>("special");
    QTest::newRow("gpt2") << "gpt2" << QVector<int>{0};
    QTest::newRow("bert_cls") << "bert_cls" << QVector<int>{1, 2};
  }
  void derivedViewsMatchNumpy() {
    QFETCH(QString, name);
    QFETCH(QVector<int>, special);
    const std::string n = name.toStdString();
    auto m = load(n);
    QVERIFY(m);
    auto g = golden_case(n);
    QVERIFY(g.is_ok());
    auto ref = golden::open(n, "attention_views.safetensors");
    QVERIFY2(ref.is_ok(), ref.status().to_string().c_str());
    const auto roll = ref->get("rollout"), ent = ref->get("entropy"), dist = ref->get("distance"),
               share = ref->get("special_share");
    const int64_t L = m->n_layer, H = m->n_head, T = g->T;
    for (int64_t b = 0; b < g->B; ++b) {
      auto req = row_request(*g, b);
      req.special_ids.assign(special.begin(), special.end());
      auto c = api::capture_attention(*m, req);
      QVERIFY2(c.is_ok(), c.status().to_string().c_str());
      const std::vector<float> want(roll.begin() + b * L * T * T,
                                    roll.begin() + (b + 1) * L * T * T);
      QVERIFY(golden::max_abs_diff(c->rollout.values, want) < 1e-5);
      for (int64_t k = 0; k < L * H; ++k) {
        QVERIFY(std::fabs(c->entropy.values[size_t(k)] - ent[size_t(b * L * H + k)]) < 1e-5);
        QVERIFY(std::fabs(c->distance.values[size_t(k)] - dist[size_t(b * L * H + k)]) < 1e-4);
        QVERIFY(std::fabs(c->special_share.values[size_t(k)] - share[size_t(b * L * H + k)]) <
                1e-5);
      }
    }
  }

  void selectsLayersAndHeads() {
    auto m = load("bert_cls");
    QVERIFY(m);
    auto g = golden_case("bert_cls");
    QVERIFY(g.is_ok());
    auto req = row_request(*g, 1);
    req.layers = {1};
    req.heads = {3, 0};  // kept in ascending order
    auto c = api::capture_attention(*m, req);
    QVERIFY2(c.is_ok(), c.status().to_string().c_str());
    QCOMPARE(c->layers, (std::vector<int64_t>{1}));
    QCOMPARE(c->heads, (std::vector<int64_t>{0, 3}));
    QCOMPARE(c->probs.size(), size_t(2 * g->T * g->T));
    QVERIFY(golden::max_abs_diff(capture_head(*c, 0, 0), golden_head(*g, 1, 1, 0)) <= 1e-5);
    QVERIFY(golden::max_abs_diff(capture_head(*c, 0, 1), golden_head(*g, 1, 1, 3)) <= 1e-5);
    // The average over kept heads is the mean of the two slices.
    const auto avg = c->head_average(0);
    QVERIFY(std::fabs(avg[5] - 0.5f * (c->at(0, 0, 0, 5) + c->at(0, 1, 0, 5))) < 1e-7f);
    QCOMPARE(c->entropy.n_layer, int64_t(1));
    QCOMPARE(c->entropy.n_head, int64_t(2));
  }

  void refusesTooLongForBudget() {
    auto m = load("gpt2");
    QVERIFY(m);
    api::AttentionRequest req;
    req.ids.assign(20, 5);
    // All 2 layers, 4 heads captured + 4 kept: 2*8*4 bytes per T^2 = 64 B; 20 tokens = 25600 B.
    req.memory_budget_bytes = 10000;  // fits T^2 <= 156: 12 tokens
    auto c = api::capture_attention(*m, req);
    QVERIFY(!c.is_ok());
    const std::string msg = c.status().message();
    QVERIFY2(msg.find("a 20-token input needs 25.0 KiB") != std::string::npos, msg.c_str());
    QVERIFY2(msg.find("the largest that fits in 9.8 KiB is 12 tokens") != std::string::npos,
             msg.c_str());
    req.ids.assign(12, 5);
    auto ok = api::capture_attention(*m, req);
    QVERIFY2(ok.is_ok(), ok.status().to_string().c_str());
    QCOMPARE(ok->capture_bytes, uint64_t(64 * 144));
  }

  void badRequests_data() {
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("expected");
    QTest::newRow("layer") << "layer"
                           << "layer 2 is out of range: the model has 2 layers (0-1)";
    QTest::newRow("head") << "head"
                          << "head 4 is out of range: the model has 4 heads (0-3)";
    QTest::newRow("empty") << "empty"
                           << "the text is empty";
    QTest::newRow("no-tokenizer") << "text"
                                  << "has no tokenizer";
    QTest::newRow("mask-size") << "mask"
                               << "attention mask has 2 entries for 3 token ids";
    QTest::newRow("too-long") << "long"
                              << "the input has 33 tokens; GPT2LMHeadModel takes at most 32";
    QTest::newRow("all-padding") << "allpad"
                                 << "marks every token as padding";
  }
  void badRequests() {
    QFETCH(QString, what);
    QFETCH(QString, expected);
    auto m = load("gpt2");
    QVERIFY(m);
    api::AttentionRequest req;
    req.ids = {1, 2, 3};
    if (what == "layer") req.layers = {0, 2};
    if (what == "head") req.heads = {4};
    if (what == "empty" || what == "text") req.ids.clear();
    if (what == "text") req.text = "hello";
    if (what == "mask") req.key_valid = {1, 1};
    if (what == "long") req.ids.assign(33, 1);
    if (what == "allpad") req.key_valid = {0, 0, 0};
    auto c = api::capture_attention(*m, req);
    QVERIFY(!c.is_ok());
    QVERIFY2(c.status().message().find(expected.toStdString()) != std::string::npos,
             c.status().message().c_str());
  }

  void unknownFolder() {
    auto m = api::load_attention_model("/nonexistent/model");
    QVERIFY(!m.is_ok());
    QVERIFY2(m.status().message().find("/nonexistent/model does not exist") != std::string::npos,
             m.status().message().c_str());
    QTemporaryDir tmp;
    auto e = api::load_attention_model(tmp.path().toStdString());
    QVERIFY(!e.is_ok());
    QVERIFY2(e.status().message().find("config.json") != std::string::npos,
             e.status().message().c_str());
  }

  void parsesIndexLists() {
    auto a = api::parse_index_list("3-5,0,4", "--layers");
    QVERIFY(a.is_ok());
    QCOMPARE(*a, (std::vector<int64_t>{0, 3, 4, 5}));
    for (const char* bad : {"", "1,,2", "5-3", "x", "-1", "1-"}) {
      auto b = api::parse_index_list(bad, "--layers");
      QVERIFY2(!b.is_ok(), bad);
      QVERIFY(b.status().message().rfind("--layers", 0) == 0);
    }
  }

  // Text input through the folder's tokenizer: labels decoded and special tokens marked.
  void textWithTokenizer() {
    const std::string tok_dir = std::string(LW_SHARED_DATA) + "/tokenizers/bert-base-uncased";
    QTemporaryDir tmp;
    const QString dir = tmp.path();
    // A BERT model config with the real vocabulary size and the golden model's small shape.
    QFile cfg(QString::fromStdString(case_dir("bert_mlm") + "/model/config.json"));
    QVERIFY(cfg.open(QIODevice::ReadOnly));
    auto j = nlohmann::json::parse(cfg.readAll().toStdString());
    j["vocab_size"] = 30522;
    QFile out(dir + "/config.json");
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(QByteArray::fromStdString(j.dump()));
    out.close();
    auto hf = io::HfConfig::read((dir + "/config.json").toStdString());
    QVERIFY(hf.is_ok());
    auto model = models::create_model(*hf, {});
    QVERIFY2(model.is_ok(), model.status().to_string().c_str());
    QVERIFY((*model)->save(dir.toStdString()).is_ok());
    for (const char* f : {"vocab.txt", "tokenizer_config.json", "tokenizer.json"})
      QFile::copy(QString::fromStdString(tok_dir + "/" + f), dir + "/" + f);
    auto m = api::load_attention_model(dir.toStdString());
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    api::AttentionRequest req;
    req.text = "Attention is all you need";
    auto c = api::capture_attention(**m, req);
    QVERIFY2(c.is_ok(), c.status().to_string().c_str());
    QCOMPARE(c->tokens.front(), std::string("[CLS]"));
    QCOMPARE(c->tokens.back(), std::string("[SEP]"));
    QCOMPARE(c->tokens[1], std::string("attention"));
    QCOMPARE(int(c->special.front()), 1);
    QCOMPARE(int(c->special[1]), 0);
    QCOMPARE(int(c->special.back()), 1);
    QVERIFY(!c->causal);
  }
};

QTEST_GUILESS_MAIN(TestApiAttention)
#include "test_api_attention.moc"
