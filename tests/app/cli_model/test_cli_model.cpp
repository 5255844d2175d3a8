// `llmwb model inspect|init` and `llmwb forward` as a user runs them: forward on the golden
// LLaMA-family inputs matches transformers (logits and last hidden 1e-4 relative, attentions
// 1e-5 absolute), inspect reads a sharded folder and a tokenizer, init writes a folder with
// transformers' initializer statistics that loads back, and bad command lines and inputs fail
// with the exact message.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"

using Json = nlohmann::json;

#include "tests/app/cli_test_util.h"

namespace {

std::string golden(const std::string& c) {
  return std::string(LW_SOURCE_DIR) + "/tests/golden/data_llama/" + c;
}

using Run = lwtest::CliResult;

Run run(const QStringList& args) {
  return lwtest::run_cli(LW_LLMWB_MODEL_CLI, args, 120000);
}

std::vector<float> get(const lw::io::SafeTensorsFile& f, const std::string& name) {
  const auto* t = f.find(name);
  if (!t) return {};
  std::vector<float> v(static_cast<size_t>(t->numel));
  if (!lw::io::copy_as_f32(name, t->dtype, f.data(*t), t->numel, v.data()).is_ok()) return {};
  return v;
}

double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float x : a) m = std::max(m, double(std::fabs(x)));
  return m;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

const char* kTinyLlama = R"({"vocab_size": 300, "hidden_size": 64, "intermediate_size": 96,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "max_position_embeddings": 32, "initializer_range": 0.05, "pad_token_id": 0})";

}  // namespace

class TestCliModel : public QObject {
  Q_OBJECT
 private slots:
  void forwardMatchesTransformers_data() {
    QTest::addColumn<QString>("name");
    for (const char* c : {"llama", "qwen2", "mistral"}) QTest::newRow(c) << QString(c);
  }
  void forwardMatchesTransformers() {
    QFETCH(QString, name);
    std::string n = name.toStdString();
    QTemporaryDir tmp;
    std::string out = tmp.path().toStdString() + "/out.safetensors";
    Run r = run({"forward", "--model", QString::fromStdString(golden(n) + "/model"), "--inputs",
                 QString::fromStdString(golden(n) + "/inputs.safetensors"), "--dump",
                 "logits,hidden,attentions", "--out", QString::fromStdString(out), "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    Json j = Json::parse(r.out);
    QCOMPARE(j["tensors"].size(), size_t(4));
    auto ours = lw::io::SafeTensorsFile::open(out);
    auto ref = lw::io::SafeTensorsFile::open(golden(n) + "/forward.safetensors");
    QVERIFY(ours.is_ok() && ref.is_ok());
    for (const char* t : {"logits", "last_hidden"}) {
      auto theirs = get(*ref, t);
      double e = max_diff(get(*ours, t), theirs) / max_abs(theirs);
      QVERIFY2(e <= 1e-4, (std::string(t) + " rel error " + std::to_string(e)).c_str());
      QCOMPARE(ours->find(t)->shape, ref->find(t)->shape);
    }
    for (const char* t : {"attn.0", "attn.1"}) {
      double d = max_diff(get(*ours, t), get(*ref, t));
      QVERIFY2(d <= 1e-5, (std::string(t) + " max abs diff " + std::to_string(d)).c_str());
    }
  }

  void forwardDefaultsToLogits() {
    QTemporaryDir tmp;
    std::string out = tmp.path().toStdString() + "/o.safetensors";
    Run r = run({"forward", "--model", QString::fromStdString(golden("qwen2") + "/model"),
                 "--inputs", QString::fromStdString(golden("qwen2") + "/inputs.safetensors"),
                 "--out", QString::fromStdString(out)});
    QVERIFY2(r.code == 0, r.err.c_str());
    auto f = lw::io::SafeTensorsFile::open(out);
    QVERIFY(f.is_ok());
    QCOMPARE(f->tensors().size(), size_t(1));
    QCOMPARE(f->find("logits")->shape, (std::vector<int64_t>{4, 16, 512}));
  }

  void inspectShardedFolder() {
    Run r =
        run({"model", "inspect", QString::fromStdString(golden("mistral") + "/model"), "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    Json j = Json::parse(r.out);
    QCOMPARE(j["architecture"].get<std::string>(), std::string("MistralForCausalLM"));
    QVERIFY(j["supported"].get<bool>());
    QVERIFY(j["tokenizer"].is_null());
    auto ckpt = lw::io::Checkpoint::open(golden("mistral") + "/model");
    QVERIFY(ckpt.is_ok());
    int64_t n = 0;
    for (const auto& name : ckpt->names()) n += ckpt->find(name)->info->numel;
    QCOMPARE(j["parameters"].get<int64_t>(), n);
    QCOMPARE(j["tensors"].size(), ckpt->names().size());
    QCOMPARE(j["dtypes"]["F32"].get<int64_t>(), n);
    QCOMPARE(j["config"]["num_key_value_heads"].get<int>(), 1);
    bool found = false;
    for (const auto& t : j["tensors"])
      if (t["name"] == "model.layers.1.self_attn.k_proj.weight") {
        found = true;
        QCOMPARE(t["shape"], Json({16, 64}));
        QCOMPARE(t["dtype"].get<std::string>(), std::string("F32"));
      }
    QVERIFY(found);
  }

  void initThenInspectWithTokenizer() {
    QTemporaryDir tmp;
    std::string dir = tmp.path().toStdString();
    write(dir + "/cfg.json", kTinyLlama);
    QString out = QString::fromStdString(dir + "/m");
    Run r = run({"model", "init", "--arch", "llama", "--config",
                 QString::fromStdString(dir + "/cfg.json"), "--out", out, "--seed", "7", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    Json j = Json::parse(r.out);
    QCOMPARE(j["architecture"].get<std::string>(), std::string("LlamaForCausalLM"));
    // embed 300*64, per layer 2*64 + 64*64*2 + 2*32*64 + 3*64*96, final norm 64, lm_head 300*64
    const int64_t per_layer = 2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 96;
    QCOMPARE(j["parameters"].get<int64_t>(), 2 * 300 * 64 + 2 * per_layer + 64);
    auto f = lw::io::SafeTensorsFile::open(dir + "/m/model.safetensors");
    QVERIFY(f.is_ok());
    auto w = get(*f, "model.layers.0.mlp.up_proj.weight");
    double s = 0, s2 = 0;
    for (float x : w) s += x, s2 += double(x) * x;
    double mean = s / w.size(), sd = std::sqrt(s2 / w.size() - mean * mean);
    QVERIFY2(std::fabs(mean) < 0.003 && std::fabs(sd - 0.05) < 0.003, std::to_string(sd).c_str());
    auto norm = get(*f, "model.layers.1.input_layernorm.weight");
    QCOMPARE(max_diff(norm, std::vector<float>(64, 1.0f)), 0.0);
    auto emb = get(*f, "model.embed_tokens.weight");
    QCOMPARE(max_abs(std::vector<float>(emb.begin(), emb.begin() + 64)), 0.0);  // pad row
    QVERIFY(max_abs(std::vector<float>(emb.begin() + 64, emb.begin() + 128)) > 0);
    // Same seed, same bytes; the folder is never overwritten.
    Run again = run({"model", "init", "--arch", "llama", "--config",
                     QString::fromStdString(dir + "/cfg.json"), "--out",
                     QString::fromStdString(dir + "/m2"), "--seed", "7"});
    QVERIFY2(again.code == 0, again.err.c_str());
    auto f2 = lw::io::SafeTensorsFile::open(dir + "/m2/model.safetensors");
    QVERIFY(f2.is_ok());
    QCOMPARE(max_diff(get(*f2, "lm_head.weight"), get(*f, "lm_head.weight")), 0.0);
    Run over = run({"model", "init", "--arch", "llama", "--config",
                    QString::fromStdString(dir + "/cfg.json"), "--out", out});
    QCOMPARE(over.code, 1);
    QCOMPARE(over.err,
             "llmwb model: " + dir + "/m: already exists (init never overwrites a folder)\n");
    // A tokenizer beside the weights is reported.
    QVERIFY(QFile::copy(QString(LW_SHARED_DATA) + "/tokenizers/llama2/tokenizer.model",
                        out + "/tokenizer.model"));
    Run ins = run({"model", "inspect", out, "--json"});
    QVERIFY2(ins.code == 0, ins.err.c_str());
    Json ij = Json::parse(ins.out);
    QCOMPARE(ij["tokenizer"]["kind"].get<std::string>(), std::string("sentencepiece"));
    QCOMPARE(ij["tokenizer"]["vocab_size"].get<int>(), 32000);
    QCOMPARE(ij["parameters"], j["parameters"]);
    Run text = run({"model", "inspect", out});
    QVERIFY2(text.code == 0, text.err.c_str());
    QVERIFY(text.out.find("tokenizer     sentencepiece, vocabulary 32000") != std::string::npos);
  }

  void initGpt2AndBert() {
    QTemporaryDir tmp;
    std::string dir = tmp.path().toStdString();
    write(dir + "/g.json",
          R"({"vocab_size": 100, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 2})");
    write(dir + "/b.json", R"({"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 1,
      "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 16})");
    Run g =
        run({"model", "init", "--arch", "gpt2", "--config", QString::fromStdString(dir + "/g.json"),
             "--out", QString::fromStdString(dir + "/g")});
    QVERIFY2(g.code == 0, g.err.c_str());
    Run b =
        run({"model", "init", "--arch", "bert", "--config", QString::fromStdString(dir + "/b.json"),
             "--out", QString::fromStdString(dir + "/b")});
    QVERIFY2(b.code == 0, b.err.c_str());
    Run bi = run({"model", "inspect", QString::fromStdString(dir + "/b"), "--json"});
    QVERIFY2(bi.code == 0, bi.err.c_str());
    QCOMPARE(Json::parse(bi.out)["architecture"].get<std::string>(),
             std::string("BertForMaskedLM"));
    auto f = lw::io::SafeTensorsFile::open(dir + "/g/model.safetensors");
    QVERIFY(f.is_ok());
    auto proj = get(*f, "transformer.h.0.attn.c_proj.weight");  // 0.02 / sqrt(2 * 2)
    double s2 = 0;
    for (float x : proj) s2 += double(x) * x;
    QVERIFY2(std::fabs(std::sqrt(s2 / proj.size()) - 0.01) < 0.001,
             std::to_string(std::sqrt(s2 / proj.size())).c_str());
    // BERT's config names no pad token: BertConfig's default 0 applies, so row 0 is zero.
    auto fb = lw::io::SafeTensorsFile::open(dir + "/b/model.safetensors");
    QVERIFY(fb.is_ok());
    auto emb = get(*fb, "bert.embeddings.word_embeddings.weight");
    QCOMPARE(max_abs(std::vector<float>(emb.begin(), emb.begin() + 32)), 0.0);
    QVERIFY(max_abs(std::vector<float>(emb.begin() + 32, emb.begin() + 64)) > 0);
  }

  void badInput_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    QString model = QString::fromStdString(golden("llama") + "/model");
    QTest::newRow("no subcommand")
        << QStringList{"model"} << 2 << "llmwb model: expected a subcommand: inspect or init";
    QTest::newRow("bad arch") << QStringList{"model",    "init", "--arch", "t5",
                                             "--config", "x",    "--out",  "y"}
                              << 2 << "llmwb model: --arch must be bert, gpt2 or llama, got 't5'";
    QTest::newRow("bad dump")
        << QStringList{"forward", "--model", model,    "--inputs",    "x",
                       "--out",   "y",       "--dump", "logits,probs"}
        << 2 << "llmwb forward: --dump takes logits, hidden, attentions; got 'probs'";
    QTest::newRow("missing inputs file") << QStringList{"forward", "--model", model, "--out", "y"}
                                         << 2 << "llmwb forward: --inputs is required";
    QTest::newRow("not a folder") << QStringList{"model", "inspect", "/nonexistent/m"} << 1
                                  << "llmwb model: /nonexistent/m: not a model folder (expected "
                                     "config.json and safetensors weights)\n";
  }
  void badInput() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, message);
    Run r = run(args);
    QCOMPARE(r.code, code);
    QCOMPARE(QString::fromStdString(r.err).split('\n').front(), message.trimmed());
  }

  void badInputsFile() {
    QTemporaryDir tmp;
    std::string path = tmp.path().toStdString() + "/in.safetensors";
    std::vector<float> ids(8, 1.0f);
    QVERIFY(lw::io::write_safetensors(
                path, {{"input_ids", lw::io::StDtype::kF32, {2, 4}, ids.data(), 32}})
                .is_ok());
    Run r = run({"forward", "--model", QString::fromStdString(golden("llama") + "/model"),
                 "--inputs", QString::fromStdString(path), "--out",
                 QString::fromStdString(tmp.path().toStdString() + "/o")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.find(path + ": tensor 'input_ids' must be int32 or int64, got F32") !=
                 std::string::npos,
             r.err.c_str());
    std::vector<int32_t> ok(8, 1), mask(6, 1);
    QVERIFY(lw::io::write_safetensors(
                path, {{"input_ids", lw::io::StDtype::kI32, {2, 4}, ok.data(), 32},
                       {"attention_mask", lw::io::StDtype::kI32, {2, 3}, mask.data(), 24}})
                .is_ok());
    r = run({"forward", "--model", QString::fromStdString(golden("llama") + "/model"), "--inputs",
             QString::fromStdString(path), "--out",
             QString::fromStdString(tmp.path().toStdString() + "/o")});
    QCOMPARE(r.code, 1);
    QVERIFY2(
        r.err.find(path + ": tensor 'attention_mask' has shape [2, 3], input_ids has [2, 4]") !=
            std::string::npos,
        r.err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestCliModel)
#include "test_cli_model.moc"
