// `llmwb train lm`'s engine side: chunk packing and the train/validation split on a hand-laid
// token stream, the corpus layout (files sorted, documents joined with EOS), a tiny GPT-2
// that learns a tiny text (loss far below ln V) through the facade with the run, metrics and
// model folder (tokenizer included) checked, determinism in the seed, and every bad input.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "engine/api/pretrain.h"
#include "engine/models/model.h"
#include "engine/tokenize/hf_pipeline.h"
#include "engine/train/lm_data.h"
#include "engine/train/lm_trainer.h"
#include "tests/engine/generate_loop/tiny_tokenizer.h"

using namespace lw;
namespace fs = std::filesystem;

namespace {

// Byte-level BPE: the 256 bytes, merges of two letters a..p (ids 256..511), <|endoftext|> 512.
void write_tokenizer(const std::string& dir) { tiny_tokenizer::write(dir, /*with_eos=*/true); }

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A text with a short period: a small model learns to continue it almost perfectly.
std::string periodic_text(int repeats) {
  std::string s;
  for (int i = 0; i < repeats; ++i) s += "abcd efgh ijkl mnop ponm lkji hgfe dcba\n";
  return s;
}

}  // namespace

class TestTrainLm : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string tok_dir_;
  std::unique_ptr<Tokenizer> tok_;

  std::string path(const std::string& n) { return dir_.path().toStdString() + "/" + n; }

  api::PretrainConfig tiny_config(const std::string& name) {
    api::PretrainConfig c;
    c.text = {path("corpus")};
    c.tokenizer_dir = tok_dir_;
    c.n_layer = 2, c.n_embd = 32, c.n_head = 2, c.context = 32;
    c.batch = 8, c.steps = 80, c.lr = 1e-2, c.warmup_ratio = 0.1, c.weight_decay = 0.0;
    c.val_fraction = 0.1, c.eval_every = 40, c.seed = 7;
    c.project_dir = path("project");
    c.out_dir = path(name);
    return c;
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    tok_dir_ = path("tok");
    fs::create_directories(tok_dir_);
    write_tokenizer(tok_dir_);
    auto t = load_tokenizer(tok_dir_);
    QVERIFY2(t.is_ok(), t.status().to_string().c_str());
    tok_ = std::move(*t);
    QCOMPARE(tok_->special_tokens().eos, 512);
    write_file(path("corpus/b.txt"), periodic_text(40));
    write_file(path("corpus/a.txt"), periodic_text(40));
  }

  // 23 tokens, context 5: 4 chunks (3 tail tokens dropped); val 0.2 of 4 rounds to 1 chunk.
  void packingIsExact() {
    std::vector<int32_t> toks(23);
    for (int i = 0; i < 23; ++i) toks[i] = 100 + i;
    auto c = train::pack_chunks(toks, 5, 0.2);
    QVERIFY2(c.is_ok(), c.status().to_string().c_str());
    QCOMPARE(c->n_train, int64_t(3));
    QCOMPARE(c->n_val, int64_t(1));
    QCOMPARE(c->dropped_tokens, int64_t(3));
    QCOMPARE(c->train, std::vector<int32_t>(toks.begin(), toks.begin() + 15));
    QCOMPARE(c->val, std::vector<int32_t>(toks.begin() + 15, toks.begin() + 20));
    auto none = train::pack_chunks(toks, 5, 0.0);
    QVERIFY(none.is_ok());
    QCOMPARE(none->n_train, int64_t(4));
    QCOMPARE(none->n_val, int64_t(0));
    // A tiny fraction still holds out one chunk; one that leaves no training chunk is an error.
    QCOMPARE(train::pack_chunks(toks, 5, 0.01)->n_val, int64_t(1));
    auto all_val = train::pack_chunks(toks, 12, 0.5);
    QVERIFY(!all_val.is_ok());
    QVERIFY2(all_val.status().message().find("none is left for training") != std::string::npos,
             all_val.status().message().c_str());
  }

  // Files of a folder in sorted order (hidden ones skipped), each followed by EOS.
  void corpusLayout() {
    write_file(path("layout/2.txt"), "ab cd");
    write_file(path("layout/1.txt"), "ef");
    write_file(path("layout/.hidden"), "zz");
    auto files = train::list_text_files({path("layout")});
    QVERIFY2(files.is_ok(), files.status().to_string().c_str());
    QCOMPARE(files->size(), size_t(2));
    QVERIFY(files->at(0).ends_with("1.txt"));
    auto c = train::tokenize_corpus(*files, *tok_);
    QVERIFY2(c.is_ok(), c.status().to_string().c_str());
    // "ef" -> [ef]; "ab cd" -> [ab, ' ', cd] (the space byte is 32 in the byte table order).
    const int32_t ef = 256 + 4 * 16 + 5, ab = 256 + 1, cd = 256 + 2 * 16 + 3;
    auto space = tok_->token_to_id(hf::byte_to_unicode(uint8_t(' ')));
    QVERIFY(space.has_value());
    QCOMPARE(c->tokens, (std::vector<int32_t>{ef, 512, ab, *space, cd, 512}));
    QCOMPARE(c->doc_tokens, (std::vector<int64_t>{1, 3}));
    QCOMPARE(c->bytes, int64_t(7));
  }

  void tinyModelLearns() {
    api::PretrainConfig c = tiny_config("model");
    auto rep = api::run_pretrain(c);
    QVERIFY2(rep.is_ok(), rep.status().to_string().c_str());
    const double ln_v = std::log(513.0);
    QVERIFY2(rep->first_loss > 0.8 * ln_v, std::to_string(rep->first_loss).c_str());
    QCOMPARE(rep->evals.size(), size_t(2));
    QVERIFY2(rep->evals.back().loss < 0.25 * ln_v, std::to_string(rep->evals.back().loss).c_str());
    QVERIFY(rep->evals.back().loss < rep->evals.front().loss);
    QCOMPARE(rep->steps, int64_t(80));
    QCOMPARE(rep->tokens_seen, int64_t(80 * 8 * 32));
    // The folder loads as a model, with its tokenizer beside it.
    for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt"})
      QVERIFY2(fs::exists(c.out_dir + "/" + f), f);
    QVERIFY(!fs::exists(c.out_dir + ".tmp"));
    auto m = models::load_model(c.out_dir);
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QCOMPARE((*m)->architecture(), std::string("GPT2LMHeadModel"));
    QVERIFY(load_tokenizer(c.out_dir).is_ok());
    // The reloaded model gives the report's final validation loss.
    auto files = train::list_text_files(c.text);
    auto corpus = train::tokenize_corpus(*files, *tok_);
    auto chunks = train::pack_chunks(corpus->tokens, c.context, c.val_fraction);
    auto ev = train::evaluate_lm(**m, chunks->val, c.context, 8);
    QVERIFY2(ev.is_ok(), ev.status().to_string().c_str());
    QVERIFY(std::abs(ev->loss - rep->evals.back().loss) < 1e-4);
    // The store has the run: kind lm, every step's loss, the evaluations, the folder.
    auto store = ExperimentStore::open(c.project_dir);
    QVERIFY(store.is_ok());
    auto run = (*store)->get_run(rep->run_id);
    QVERIFY(run.is_ok());
    QCOMPARE(run->kind, std::string("lm"));
    QCOMPARE(run->status, RunStatus::kOk);
    QCOMPARE((*store)->read_metric(rep->run_id, "train/loss")->values.size(), size_t(80));
    QCOMPARE((*store)->read_metric(rep->run_id, "eval/perplexity")->values.size(), size_t(2));
    auto arts = (*store)->artifacts(rep->run_id);
    QVERIFY(arts.is_ok() && arts->size() == 1);
    QCOMPARE(arts->front().kind, std::string("model"));
  }

  // Same seed, same losses (init and data order); another seed, other losses.
  void deterministicInSeed() {
    auto files = train::list_text_files({path("corpus")});
    auto corpus = train::tokenize_corpus(*files, *tok_);
    auto chunks = train::pack_chunks(corpus->tokens, 16, 0.0);
    QVERIFY(chunks.is_ok());
    models::GptConfig g;
    g.vocab_size = 513, g.n_positions = 16, g.n_embd = 16, g.n_layer = 1, g.n_head = 2;
    auto run = [&](uint64_t seed) {
      auto m = train::make_pretrain_gpt(g, Device::cpu(), DType::kF32, seed);
      train::LmTrainOptions o;
      o.steps = 6, o.batch = 4, o.seed = seed;
      o.schedule.lr = 1e-2;
      auto r = train::train_lm(**m, *chunks, o);
      return r.is_ok() ? r->losses : std::vector<double>{};
    };
    auto a = run(3), b = run(3), c = run(4);
    QCOMPARE(a.size(), size_t(6));
    QCOMPARE(a, b);
    QVERIFY(a != c);
  }

  void cancelWritesTheModel() {
    api::PretrainConfig c = tiny_config("cancelled");
    c.run_name = "stop me";
    api::PretrainCallbacks cb;
    int steps = 0;
    cb.on_step = [&](const api::PretrainProgress&) { ++steps; };
    cb.cancel = [&] { return steps >= 3; };
    auto rep = api::run_pretrain(c, cb);
    QVERIFY2(rep.is_ok(), rep.status().to_string().c_str());
    QCOMPARE(rep->status, std::string("cancelled"));
    QCOMPARE(rep->steps, int64_t(3));
    QVERIFY(fs::exists(c.out_dir + "/model.safetensors"));
    auto store = ExperimentStore::open(c.project_dir);
    QCOMPARE((*store)->get_run(rep->run_id)->status, RunStatus::kCancelled);
  }

  void badInputs_data() {
    QTest::addColumn<QString>("file");     // written under bad/ ("" = none)
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("context");
    QTest::addColumn<QString>("expected");
    QTest::newRow("missing") << "" << QByteArray() << 32 << "no_such.txt: no such file or folder";
    QTest::newRow("empty") << "empty.txt" << QByteArray() << 32 << "the corpus is empty";
    QTest::newRow("not utf-8") << "latin1.txt" << QByteArray("abcd caf\xe9 ok") << 32
                               << "latin1.txt: not UTF-8 text (invalid byte 0xE9 at byte offset 8)";
    QTest::newRow("truncated utf-8") << "cut.txt" << QByteArray("ab\xc3") << 32
                                     << "cut.txt: not UTF-8 text (invalid byte 0xC3 at byte offset 2)";
    QTest::newRow("context too large") << "short.txt" << QByteArray("abcd efgh") << 64
                                       << "the context (64 tokens) is larger than the corpus (6 tokens)";
  }
  void badInputs() {
    QFETCH(QString, file);
    QFETCH(QByteArray, bytes);
    QFETCH(int, context);
    QFETCH(QString, expected);
    const std::string tag = QTest::currentDataTag();
    api::PretrainConfig c = tiny_config("bad-out");
    c.project_dir = path("bad-project-" + std::to_string(std::hash<std::string>()(tag)));
    c.context = context;
    c.text = {path(file.isEmpty() ? "no_such.txt" : "bad/" + tag + "/" + file.toStdString())};
    if (!file.isEmpty()) write_file(c.text[0], bytes.toStdString());
    auto rep = api::run_pretrain(c);
    QVERIFY(!rep.is_ok());
    QVERIFY2(rep.status().message().find(expected.toStdString()) != std::string::npos,
             rep.status().message().c_str());
    QVERIFY2(!fs::exists(c.project_dir), "a bad input must fail before a run is recorded");
  }
};

QTEST_GUILESS_MAIN(TestTrainLm)
#include "test_train_lm.moc"
