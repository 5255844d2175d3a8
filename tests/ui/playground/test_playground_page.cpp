// PlaygroundPage on tiny random-weight models built here (GPT-2 and BertForMaskedLM shapes
// with the real GPT-2 / bert-base-uncased vocabularies): streamed generation (several
// updates, one chip per token), alternatives equal to the engine's, continuing from a
// clicked alternative, Stop, fill-mask, presets and the bad-input messages; screenshots.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

#include "engine/api/generate.h"
#include "engine/core/rng.h"
#include "engine/io/hf_config.h"
#include "tests/ui/gui_test_support.h"
#include "ui/playground/fill_mask_view.h"
#include "ui/playground/model_picker.h"
#include "ui/playground/playground_page.h"
#include "ui/playground/sampling_panel.h"
#include "widgets/token_alternatives_popup.h"
#include "widgets/token_view.h"

namespace {

const char* kGpt2Config = R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
  "activation_function": "gelu_new", "n_embd": 64, "n_head": 4, "n_layer": 2,
  "n_positions": 1024, "vocab_size": 50257, "bos_token_id": 50256, "eos_token_id": 50256,
  "layer_norm_epsilon": 1e-05, "tie_word_embeddings": true})";

const char* kBertConfig = R"({"architectures": ["BertForMaskedLM"], "model_type": "bert",
  "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128,
  "hidden_act": "gelu", "max_position_embeddings": 128, "type_vocab_size": 2,
  "vocab_size": 30522, "pad_token_id": 0, "layer_norm_eps": 1e-12, "tie_word_embeddings": true})";

// A random-weight model folder: config, weights (larger than transformers' init so the
// distributions are peaked enough to read), and the given tokenizer files.
QString makeModel(const QString& dir, const char* config, const QString& tokDir,
                  const QStringList& tokFiles) {
  auto hf = lw::io::HfConfig::parse(dir.toStdString() + "/config.json", config);
  if (!hf.is_ok()) return QString::fromStdString(hf.status().to_string());
  auto model = lw::models::create_model(*hf, {});
  if (!model.is_ok()) return QString::fromStdString(model.status().to_string());
  lw::PhiloxStream rng(7);
  for (auto& p : (*model)->params()) {
    std::vector<float> v(size_t(lw::shape_numel(p.spec.shape)), 0.0f);
    using lw::models::Role;
    if (p.spec.role == Role::kNormWeight) std::fill(v.begin(), v.end(), 1.0f);
    const double std = p.spec.role == Role::kEmbedding ? 0.5 : p.spec.role == Role::kWeight ? 0.15 : 0;
    if (std > 0)
      for (auto& x : v) x = float(std * rng.normal());
    auto t = lw::Tensor::from_floats(v, p.spec.shape, lw::DType::kF32, (*model)->device());
    if (!t.is_ok() || !p.weights().copy_from(*t).is_ok()) return "cannot fill " + QString::fromStdString(p.spec.name);
  }
  if (auto st = (*model)->save(dir.toStdString()); !st.is_ok()) return QString::fromStdString(st.to_string());
  for (const QString& f : tokFiles)
    if (!QFile::copy(tokDir + "/" + f, dir + "/" + f)) return "cannot copy " + f;
  return {};
}

}  // namespace

class TestPlaygroundPage : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_gpt2, m_bert, m_noTok;

  // Loads dir into the page and waits for the worker.
  void load(PlaygroundPage& page, const QString& dir) {
    QSignalSpy loaded(&page, &PlaygroundPage::modelLoaded);
    page.loadModel(dir);
    QVERIFY(page.isLoading());
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
    QVERIFY(!page.isLoading());
  }

  void greedy(PlaygroundPage& page, int maxNew, int alternatives = 5) {
    lw::SamplingParams p;
    p.greedy = true;
    p.max_new_tokens = maxNew;
    p.top_logprobs = alternatives;
    page.samplingPanel()->setParams(p);
  }

 private slots:
  void initTestCase() {
    guitest::isolateSettings(m_tmp.filePath("settings"));
    const QString shared = QStringLiteral(LW_SHARED_DATA) + "/tokenizers";
    m_gpt2 = m_tmp.filePath("gpt2-tiny");
    m_bert = m_tmp.filePath("bert-tiny");
    m_noTok = m_tmp.filePath("gpt2-no-tokenizer");
    for (const QString& d : {m_gpt2, m_bert, m_noTok}) QVERIFY(QDir().mkpath(d));
    QString err = makeModel(m_gpt2, kGpt2Config, shared + "/gpt2", {"vocab.json", "merges.txt"});
    QVERIFY2(err.isEmpty(), qPrintable(err));
    err = makeModel(m_bert, kBertConfig, shared + "/bert-base-uncased", {"vocab.txt"});
    QVERIFY2(err.isEmpty(), qPrintable(err));
    err = makeModel(m_noTok, kGpt2Config, {}, {});
    QVERIFY2(err.isEmpty(), qPrintable(err));
  }

  void loadShowsModelSummary() {
    PlaygroundPage page;
    load(page, m_gpt2);
    QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    QCOMPARE(page.mode(), PlaygroundPage::Mode::Generate);
    QCOMPARE(page.modelInfo().architecture, QString("GPT2LMHeadModel"));
    QVERIFY(page.modelInfo().parameters > 50257 * 64);
    QCOMPARE(page.modelInfo().weightBytes, page.modelInfo().parameters * 4);
    // K and V, 2 layers, 1024 positions, 64 channels, f32.
    QCOMPARE(page.modelInfo().kvCacheBytes, qint64(2) * 2 * 1024 * 64 * 4);
    const QString summary = page.modelPicker()->summaryLabel()->text();
    QVERIFY2(summary.contains("GPT2LMHeadModel") && summary.contains("KV cache"), qPrintable(summary));
    QCOMPARE(page.modelPicker()->recentModels().value(0), m_gpt2);
    QVERIFY(page.modelPicker()->devices().contains("cpu"));
    QVERIFY(page.generateButton()->isEnabled());
  }

  // Streams into the page: several updates, one chip per token, alternatives as the engine's.
  void generateStreamsTokens() {
    PlaygroundPage page;
    page.resize(1200, 760);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    load(page, m_gpt2);
    greedy(page, 48);
    page.setPrompt("The quick brown fox");
    QSignalSpy streamed(&page, &PlaygroundPage::tokenStreamed);
    int streamedWhileGenerating = 0;
    connect(&page, &PlaygroundPage::tokenStreamed, &page,
            [&] { streamedWhileGenerating += page.isGenerating() ? 1 : 0; });
    QSignalSpy updates(&page, &PlaygroundPage::tokensAppended);
    QSignalSpy finished(&page, &PlaygroundPage::generationFinished);
    QTest::mouseClick(page.generateButton(), Qt::LeftButton);
    QVERIFY(page.isGenerating());
    QVERIFY(page.stopButton()->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    QCOMPARE(finished[0][0].toString(), QString("length"));
    // Streaming: every token reached the page on its own, in order, before the run ended.
    // (How many screen updates they made depends on scheduling: tokens arriving within one
    // 16 ms frame, or while the GUI thread is held up on a loaded machine, share one.)
    QCOMPARE(streamed.count(), 48);
    QCOMPARE(streamedWhileGenerating, 48);
    for (int i = 0; i < streamed.count(); ++i) QCOMPARE(streamed[i][0].toLongLong(), qint64(i));
    QVERIFY(updates.count() >= 1);
    QCOMPARE(updates.last()[0].toInt(), 48);
    QCOMPARE(int(page.generatedIds().size()), 48);
    TokenView* view = page.tokenView();
    QCOMPARE(view->generatedCount(), 48);
    QCOMPARE(view->count(), page.promptTokenCount() + 48);
    QCOMPARE(page.promptTokenCount(), 4);  // "The", " quick", " brown", " fox"
    QVERIFY(page.metricsText().contains("tok/s") && page.metricsText().contains("first token"));

    // The same request through the engine facade: same ids, same probabilities.
    auto m = lw::api::load_playground_model(m_gpt2.toStdString());
    QVERIFY(m.is_ok());
    lw::GenerateRequest req;
    req.prompts = {page.promptIds()};
    req.params = page.samplingPanel()->params();
    auto r = lw::api::generate(**m, req);
    QVERIFY(r.is_ok());
    const auto& seq = r->sequences[0];
    QCOMPARE(seq.ids, page.generatedIds());
    QCOMPARE(page.outputText(), QString::fromStdString(seq.text));
    const int at = page.promptTokenCount() + 3;
    QTest::mouseMove(view->viewport(), view->tokenRect(at).center());
    QCOMPARE(view->hoveredIndex(), at);
    const auto shown = view->shownAlternatives();
    const auto& top = seq.tokens[3].top;
    QCOMPARE(int(shown.size()), int(top.size()));
    QCOMPARE(int(shown.size()), 5);
    for (int k = 0; k < shown.size(); ++k) {
      QCOMPARE(shown[k].probability, std::exp(double(top[k].logprob)));
      QCOMPARE(shown[k].text, QString::fromStdString(*(*m)->tokenizer->decode({top[k].id}, false)));
      QCOMPARE(page.alternativeIds()[3][k], top[k].id);
    }
    QCOMPARE(view->item(at).probability, std::exp(double(seq.tokens[3].logprob)));
    guitest::saveScreenshot(&page, "playground_generate_hover");

    // Clicking an alternative continues from it: tokens before stay, the alternative sits
    // at that position, and new tokens follow.
    const int alt = 2;
    const int altId = top[alt].id;
    const std::vector<int32_t> kept(seq.ids.begin(), seq.ids.begin() + 3);
    finished.clear();
    QTest::mouseClick(view->popup(), Qt::LeftButton, {},
                      view->popup()->mapFrom(view->viewport(), view->alternativeRect(alt).center()));
    QVERIFY(page.isGenerating());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    const auto& ids = page.generatedIds();
    QCOMPARE(int(ids.size()), 3 + 1 + 48);
    for (int i = 0; i < 3; ++i) QCOMPARE(ids[i], seq.ids[i]);
    QCOMPARE(ids[3], altId);
    QCOMPARE(view->generatedCount(), int(ids.size()));
    QCOMPARE(view->item(at).text, shown[alt].text);
    std::vector<int32_t> prefix = kept;
    prefix.push_back(altId);
    const QString before = QString::fromStdString(*(*m)->tokenizer->decode(prefix, true));
    QVERIFY2(page.outputText().startsWith(before), qPrintable(page.outputText()));
    QVERIFY(page.outputText().size() > before.size());
    // The continuation is what the engine gives for prompt + kept tokens + the alternative.
    lw::GenerateRequest cont = req;
    cont.prompts[0].insert(cont.prompts[0].end(), ids.begin(), ids.begin() + 4);
    auto r2 = lw::api::generate(**m, cont);
    QVERIFY(r2.is_ok());
    QCOMPARE(std::vector<int32_t>(ids.begin() + 4, ids.end()), r2->sequences[0].ids);
  }

  void stopStops() {
    PlaygroundPage page;
    load(page, m_gpt2);
    greedy(page, 1000, 20);
    page.setPrompt("Once upon a time");
    QSignalSpy updates(&page, &PlaygroundPage::tokensAppended);
    QSignalSpy finished(&page, &PlaygroundPage::generationFinished);
    page.generate();
    QTRY_VERIFY_WITH_TIMEOUT(updates.count() >= 1, 60000);
    QTest::mouseClick(page.stopButton(), Qt::LeftButton);
    QVERIFY(!page.isGenerating());  // idle at once
    QVERIFY(page.generateButton()->isEnabled());
    QVERIFY(!page.stopButton()->isEnabled());
    QCOMPARE(finished.count(), 1);
    QCOMPARE(finished[0][0].toString(), QString("cancelled"));
    const size_t n = page.generatedIds().size();
    QVERIFY(n >= 1 && n < 1000);
    QTest::qWait(200);  // tokens the worker still produced are dropped
    QCOMPARE(page.generatedIds().size(), n);
    QCOMPARE(page.tokenView()->generatedCount(), int(n));
    // The worker is free again: a new run completes.
    greedy(page, 3);
    page.generate();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
    QCOMPARE(page.generatedIds().size(), size_t(3));
  }

  void fillMaskMode() {
    PlaygroundPage page;
    page.resize(1100, 620);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    load(page, m_bert);
    QCOMPARE(page.mode(), PlaygroundPage::Mode::FillMask);
    QCOMPARE(page.generateButton()->text(), QString("Fill mask"));
    page.setPrompt("The capital of France is [MASK]. It is a [MASK] city.");
    page.fillMaskTopK()->setValue(4);
    QSignalSpy done(&page, &PlaygroundPage::fillMaskFinished);
    page.generate();
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
    QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    const MaskResults& res = page.fillMaskView()->results();
    QCOMPARE(int(res.size()), 2);
    auto m = lw::api::load_playground_model(m_bert.toStdString());
    QVERIFY(m.is_ok());
    auto want = lw::api::fill_mask(**m, "The capital of France is [MASK]. It is a [MASK] city.", 4);
    QVERIFY(want.is_ok());
    for (int i = 0; i < 2; ++i) {
      QCOMPARE(res[i].position, (*want)[i].position);
      QCOMPARE(int(res[i].candidates.size()), 4);
      for (int k = 0; k < 4; ++k) {
        QCOMPARE(res[i].candidates[k].token, QString::fromStdString((*want)[i].candidates[k].token));
        QCOMPARE(res[i].candidates[k].probability, (*want)[i].candidates[k].prob);
        // The sentence fills this mask and still shows the other one; no [CLS] / [SEP].
        const QString seq = res[i].candidates[k].sequence;
        QCOMPARE(seq.count("[MASK]"), 1);
        QVERIFY2(!seq.contains("[CLS]") && !seq.contains("[SEP]"), qPrintable(seq));
        QVERIFY2(seq.startsWith("the capital of france is"), qPrintable(seq));
      }
    }
    QCOMPARE(page.fillMaskView()->topLevelItemCount(), 2);
    QCOMPARE(page.fillMaskView()->topLevelItem(0)->childCount(), 4);
    guitest::saveScreenshot(&page, "playground_fill_mask");
    page.setPrompt("no mask here");
    page.generate();
    QTRY_VERIFY_WITH_TIMEOUT(!page.errorText().isEmpty(), 30000);
    QVERIFY2(page.errorText().contains("mask", Qt::CaseInsensitive), qPrintable(page.errorText()));
  }

  void badInputShowsMessages() {
    PlaygroundPage page;
    QSignalSpy errors(&page, &PlaygroundPage::errorShown);
    page.generate();
    QVERIFY(page.errorText().contains("Load a model"));
    // An unknown folder.
    const QString missing = m_tmp.filePath("no-such-model");
    page.loadModel(missing);
    QTRY_VERIFY_WITH_TIMEOUT(!page.isLoading(), 30000);
    QVERIFY2(page.errorText().contains(missing), qPrintable(page.errorText()));
    QVERIFY(!page.hasModel());
    QVERIFY(!page.generateButton()->isEnabled());
    // A model whose tokenizer is missing: loads, then names the problem on Generate.
    load(page, m_noTok);
    QVERIFY(page.modelPicker()->summaryLabel()->text().contains("no tokenizer"));
    page.setPrompt("hello");
    page.generate();
    QTRY_VERIFY_WITH_TIMEOUT(!page.errorText().isEmpty(), 30000);
    QVERIFY2(page.errorText().contains("has no tokenizer"), qPrintable(page.errorText()));
    QVERIFY(!page.isGenerating());
    // Bad sampling values: the engine's own words.
    load(page, m_gpt2);
    lw::SamplingParams p;
    p.top_p = 0;
    p.max_new_tokens = 4;
    page.samplingPanel()->setParams(p);
    page.generate();
    QVERIFY2(page.errorText().contains("--top-p must be in (0, 1]"), qPrintable(page.errorText()));
    QVERIFY(!page.isGenerating());
    // A prompt longer than the context (1024 positions).
    greedy(page, 4);
    page.setPrompt(QString(" hello").repeated(1100));
    page.generate();
    QTRY_VERIFY_WITH_TIMEOUT(!page.errorText().isEmpty(), 60000);
    QVERIFY2(page.errorText().contains("context", Qt::CaseInsensitive) ||
                 page.errorText().contains("longer", Qt::CaseInsensitive),
             qPrintable(page.errorText()));
    QVERIFY(!page.isGenerating());
    // Invalid UTF-8 in a prompt file: file and byte named.
    const QString bad = m_tmp.filePath("bad_prompt.txt");
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("caf\xc3(\n");
    f.close();
    QVERIFY(!page.loadPromptFile(bad));
    QVERIFY2(page.errorText().contains(bad) && page.errorText().contains("UTF-8") &&
                 page.errorText().contains("byte 3"),
             qPrintable(page.errorText()));
    QVERIFY(errors.count() >= 6);
  }

  void presetsAndAttention() {
    PlaygroundPage page;
    SamplingPanel* s = page.samplingPanel();
    QVERIFY(s->presetNames().contains("Greedy"));
    lw::SamplingParams p;
    p.temperature = 0.42f;
    p.top_k = 7;
    p.stop = {"\n\n", "END"};
    s->setParams(p);
    QCOMPARE(s->currentPreset(), QString());  // edited by hand: "custom"
    s->savePreset("mine");
    QCOMPARE(s->currentPreset(), QString("mine"));
    QVERIFY(s->presetNames().contains("mine"));
    QVERIFY(s->applyPreset("Greedy"));
    QVERIFY(s->params().greedy);
    QVERIFY(s->applyPreset("mine"));
    QCOMPARE(s->params().temperature, 0.42f);
    QCOMPARE(s->params().top_k, 7);
    QCOMPARE(s->params().stop, (std::vector<std::string>{"\n\n", "END"}));
    PlaygroundPage other;  // presets live in QSettings
    QVERIFY(other.samplingPanel()->presetNames().contains("mine"));
    s->deletePreset("mine");
    QVERIFY(!s->presetNames().contains("mine"));

    load(page, m_gpt2);
    QSignalSpy att(&page, &PlaygroundPage::attentionRequested);
    page.setPrompt("Hello");
    page.requestAttention();
    QCOMPARE(att.count(), 1);
    QCOMPARE(att[0][0].toString(), m_gpt2);
    QCOMPARE(att[0][1].toString(), QString("Hello"));
  }
};

QTEST_MAIN(TestPlaygroundPage)
#include "test_playground_page.moc"
