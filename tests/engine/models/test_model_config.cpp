// Model folders that must fail with a clear error: the fixtures in tests/data/bad/models
// (missing and absurd config fields, unknown architectures, missing or LFS-pointer weights),
// plus weights that disagree with the config (built here from the golden GPT-2).
#include <QTemporaryDir>
#include <QtTest>

#include "engine/io/safetensors.h"
#include "engine/models/model.h"
#include "tests/golden/golden_util.h"

using namespace lw;

namespace {
const std::string kBad = std::string(LW_SOURCE_DIR) + "/tests/data/bad/models/";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_error(const Status& st, const std::string& what) {
  QVERIFY2(!st.is_ok(), "expected an error");
  QVERIFY2(st.message().find(what) != std::string::npos, st.message().c_str());
}
}  // namespace

class TestModelConfig : public QObject {
  Q_OBJECT
 private slots:
  void badFolders_data() {
    QTest::addColumn<QString>("dir");
    QTest::addColumn<QString>("error");
    auto cases = nlohmann::json::parse(slurp(kBad + "expected.json"));
    QVERIFY(cases.size() >= 10);
    for (const auto& c : cases)
      QTest::newRow(c["dir"].get<std::string>().c_str())
          << QString::fromStdString(c["dir"]) << QString::fromStdString(c["error"]);
  }
  void badFolders() {
    QFETCH(QString, dir);
    QFETCH(QString, error);
    auto m = models::load_model(kBad + dir.toStdString());
    expect_error(m.status(), error.toStdString());
    QVERIFY2(m.status().message().find(dir.toStdString()) != std::string::npos,
             m.status().message().c_str());
  }

  void notAFolder() {
    expect_error(models::load_model(kBad + "does_not_exist").status(), "not a model folder");
  }

  void weightsDisagreeWithConfig() {
    QTemporaryDir tmp;
    std::string d = tmp.path().toStdString();
    auto cfg = nlohmann::json::parse(slurp(golden::dir("gpt2") + "/model/config.json"));
    cfg["vocab_size"] = 500;
    QVERIFY(io::write_file_atomic(d + "/config.json", cfg.dump()).is_ok());
    QVERIFY(io::write_file_atomic(d + "/model.safetensors",
                                  slurp(golden::dir("gpt2") + "/model/model.safetensors")).is_ok());
    expect_error(models::load_model(d).status(),
                 "tensor 'transformer.wte.weight' has shape [512, 64], the config implies [500, 64]");
  }

  void missingTensor() {
    QTemporaryDir tmp;
    std::string d = tmp.path().toStdString();
    QVERIFY(io::write_file_atomic(d + "/config.json",
                                  slurp(golden::dir("gpt2") + "/model/config.json")).is_ok());
    auto src = io::SafeTensorsFile::open(golden::dir("gpt2") + "/model/model.safetensors");
    QVERIFY(src.is_ok());
    std::vector<io::StTensorData> keep;
    for (const auto& t : src->tensors())
      if (t.name != "transformer.ln_f.weight")
        keep.push_back({t.name, t.dtype, t.shape, src->data(t), t.nbytes()});
    QVERIFY(io::write_safetensors(d + "/model.safetensors", keep).is_ok());
    expect_error(models::load_model(d).status(), "tensor 'transformer.ln_f.weight' (ln_f.w) is missing");
  }

  // bf16 / f16 checkpoints load converted; a bare GPT2Model (no "transformer." prefix) loads too.
  void narrowAndBareCheckpoints() {
    QTemporaryDir tmp;
    std::string d = tmp.path().toStdString();
    auto cfg = nlohmann::json::parse(slurp(golden::dir("gpt2") + "/model/config.json"));
    cfg["architectures"] = {"GPT2Model"};
    QVERIFY(io::write_file_atomic(d + "/config.json", cfg.dump()).is_ok());
    auto src = io::SafeTensorsFile::open(golden::dir("gpt2") + "/model/model.safetensors");
    QVERIFY(src.is_ok());
    std::vector<std::vector<uint16_t>> halves;
    std::vector<io::StTensorData> out;
    halves.reserve(src->tensors().size());
    for (const auto& t : src->tensors()) {
      std::vector<float> f(t.numel);
      QVERIFY(io::copy_as_f32(t.name, t.dtype, src->data(t), t.numel, f.data()).is_ok());
      std::vector<uint16_t> h(t.numel);
      for (int64_t i = 0; i < t.numel; ++i) h[i] = f32_to_bf16_bits(f[i]);
      halves.push_back(std::move(h));
      out.push_back({t.name.substr(std::string("transformer.").size()), io::StDtype::kBF16,
                     t.shape, halves.back().data(), uint64_t(t.numel) * 2});
    }
    QVERIFY(io::write_safetensors(d + "/model.safetensors", out).is_ok());
    auto m = models::load_model(d);
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QCOMPARE((*m)->head(), models::Head::kNone);
    auto* wte = (*m)->find("wte");
    QVERIFY(wte);
    auto ours = wte->value.to_float_vector();
    const auto* t = src->find("transformer.wte.weight");
    std::vector<float> ref(t->numel);
    QVERIFY(io::copy_as_f32("wte", t->dtype, src->data(*t), t->numel, ref.data()).is_ok());
    QCOMPARE(ours->size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i)
      QCOMPARE((*ours)[i], bf16_bits_to_f32(f32_to_bf16_bits(ref[i])));
  }
};

QTEST_GUILESS_MAIN(TestModelConfig)
#include "test_model_config.moc"
