// The Playground's "Prompt table" group on a tiny random-weight GPT-2 (real GPT-2 tokenizer)
// with a two-task table written through the engine API: load it, pick the task, fill its
// fields (generated from the template), Generate: the virtual tokens show as [Vn] chips, the
// tokens stream and equal generate_with_table's; continuing from an alternative goes through
// the table; a PEFT adapter folder loads as task "peft"; a table of another model shows the
// engine's message. Screenshot: playground_prompt_table.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "engine/api/prompt_tune.h"
#include "engine/core/rng.h"
#include "engine/io/hf_config.h"
#include "tests/ui/gui_test_support.h"
#include "ui/playground/playground_page.h"
#include "ui/playground/prompt_table_panel.h"
#include "ui/playground/sampling_panel.h"
#include "widgets/token_alternatives_popup.h"
#include "widgets/token_view.h"

namespace {

const char* kGpt2Config = R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
  "activation_function": "gelu_new", "n_embd": 64, "n_head": 4, "n_layer": 2,
  "n_positions": 1024, "vocab_size": 50257, "bos_token_id": 50256, "eos_token_id": 50256,
  "layer_norm_epsilon": 1e-05, "tie_word_embeddings": true})";

// "pairs": one leading block (PEFT's form); "pair2": two markers, two fields.
const char* kTasks = R"({"tasks": [
  {"taskname": "pairs", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text}:{label}", "total_virtual_tokens": 4},
  {"taskname": "pair2", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text} and {more}<|VIRTUAL_PROMPT_1|> = {label}",
   "total_virtual_tokens": 3, "virtual_token_splits": [2, 1]}]})";

// A random-weight GPT-2 folder with the real GPT-2 tokenizer (weights scaled so the
// distributions are peaked enough to read); `seed` makes different models.
QString makeModel(const QString& dir, uint64_t seed) {
  auto hf = lw::io::HfConfig::parse(dir.toStdString() + "/config.json", kGpt2Config);
  if (!hf.is_ok()) return QString::fromStdString(hf.status().to_string());
  auto model = lw::models::create_model(*hf, {});
  if (!model.is_ok()) return QString::fromStdString(model.status().to_string());
  lw::PhiloxStream rng(seed);
  for (auto& p : (*model)->params()) {
    std::vector<float> v(size_t(lw::shape_numel(p.spec.shape)), 0.0f);
    using lw::models::Role;
    if (p.spec.role == Role::kNormWeight) std::fill(v.begin(), v.end(), 1.0f);
    const double std = p.spec.role == Role::kEmbedding ? 0.5
                       : p.spec.role == Role::kWeight  ? 0.15
                                                       : 0;
    if (std > 0)
      for (auto& x : v) x = float(std * rng.normal());
    auto t = lw::Tensor::from_floats(v, p.spec.shape, lw::DType::kF32, (*model)->device());
    if (!t.is_ok() || !p.weights().copy_from(*t).is_ok())
      return "cannot fill " + QString::fromStdString(p.spec.name);
  }
  if (auto st = (*model)->save(dir.toStdString()); !st.is_ok())
    return QString::fromStdString(st.to_string());
  const QString tok = QStringLiteral(LW_SHARED_DATA) + "/tokenizers/gpt2";
  for (const QString& f : {"vocab.json", "merges.txt"})
    if (!QFile::copy(tok + "/" + f, dir + "/" + f)) return "cannot copy " + f;
  return {};
}

// A table of kTasks for the model in `modelDir`, random rows, written with save_prompt_table.
QString writeTable(const QString& modelDir, const QString& path, uint64_t seed) {
  auto m = lw::api::load_playground_model(modelDir.toStdString());
  if (!m.is_ok()) return QString::fromStdString(m.status().to_string());
  auto id = lw::train::model_identity(*(*m)->model);
  auto tasks = lw::train::parse_tasks(kTasks, "tasks");
  if (!id.is_ok() || !tasks.is_ok()) return "cannot make the table";
  lw::train::PromptTable table;
  table.model = *id;
  lw::PhiloxStream rng(seed);
  for (const auto& t : *tasks) {
    lw::train::PromptTableEntry e{
        t, std::vector<float>(size_t(t.total_virtual_tokens * id->hidden_size))};
    for (float& x : e.table) x = float(0.5 * rng.normal());
    table.put(std::move(e));
  }
  if (auto st = lw::train::save_prompt_table(table, path.toStdString()); !st.is_ok())
    return QString::fromStdString(st.to_string());
  return {};
}

}  // namespace

class TestPlaygroundPromptTable : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_gpt2, m_other, m_table, m_otherTable, m_peft;

  void load(PlaygroundPage& page, const QString& dir) {
    QSignalSpy loaded(&page, &PlaygroundPage::modelLoaded);
    page.loadModel(dir);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
  }
  static lw::SamplingParams greedy(int maxNew) {
    lw::SamplingParams p;
    p.greedy = true;
    p.max_new_tokens = maxNew;
    p.top_logprobs = 5;
    p.ignore_eos = true;
    return p;
  }
  static QPlainTextEdit* promptEditor(PlaygroundPage& page) {
    return page.findChild<QPlainTextEdit*>("promptEdit");
  }

 private slots:
  void initTestCase() {
    guitest::isolateSettings(m_tmp.filePath("settings"));
    m_gpt2 = m_tmp.filePath("gpt2-tiny");
    m_other = m_tmp.filePath("gpt2-other");
    for (const QString& d : {m_gpt2, m_other}) QVERIFY(QDir().mkpath(d));
    QString err = makeModel(m_gpt2, 7);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    err = makeModel(m_other, 11);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    m_table = m_tmp.filePath("table.safetensors");
    m_otherTable = m_tmp.filePath("other.safetensors");
    err = writeTable(m_gpt2, m_table, 3);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    err = writeTable(m_other, m_otherTable, 5);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    m_peft = m_tmp.filePath("peft");
    QVERIFY(QDir().mkpath(m_peft));
    auto t = lw::train::load_prompt_table(m_table.toStdString());
    QVERIFY(t.is_ok());
    QVERIFY(lw::train::export_peft_adapter(*t, "pairs", m_peft.toStdString(), m_gpt2.toStdString())
                .is_ok());
  }

  void generateThroughTable() {
    PlaygroundPage page;
    page.resize(1200, 760);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    load(page, m_gpt2);
    PromptTablePanel* panel = page.promptTablePanel();
    QVERIFY(!panel->isChecked());  // off by default: the free prompt
    QVERIFY(promptEditor(page)->isVisible());
    QVERIFY(!panel->fieldsWidget()->isVisible());

    panel->setChecked(true);
    panel->setPath(m_table);
    QTRY_VERIFY_WITH_TIMEOUT(panel->isActive(), 30000);
    QCOMPARE(panel->taskCombo()->count(), 2);
    QCOMPARE(panel->taskCombo()->itemText(1), QString("pair2"));
    QVERIFY(!promptEditor(page)->isVisible());
    QVERIFY(panel->fieldsWidget()->isVisible());
    // The fields come from the template, the answer field left out.
    QVERIFY(panel->setCurrentTask("pair2"));
    QVERIFY(panel->fieldEdit("text") && panel->fieldEdit("more"));
    QVERIFY(!panel->fieldEdit("label"));
    QVERIFY(panel->setCurrentTask("pairs"));
    QVERIFY(panel->fieldEdit("text") && !panel->fieldEdit("more"));
    QTest::keyClicks(panel->fieldEdit("text"), "The quick brown fox");
    QVERIFY(!page.attentionButton()->isEnabled());  // the Attention page has no virtual tokens

    page.samplingPanel()->setParams(greedy(48));
    QSignalSpy streamed(&page, &PlaygroundPage::tokenStreamed);
    QSignalSpy finished(&page, &PlaygroundPage::generationFinished);
    QTest::mouseClick(page.generateButton(), Qt::LeftButton);
    QVERIFY(page.isGenerating());
    QVERIFY(page.stopButton()->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    QCOMPARE(finished[0][0].toString(), QString("length"));
    QCOMPARE(streamed.count(), 48);  // streamed token by token (screen updates batch them)
    TokenView* view = page.tokenView();
    QCOMPARE(int(page.generatedIds().size()), 48);
    QCOMPARE(view->generatedCount(), 48);
    // 4 virtual tokens, "The quick brown fox" (4 tokens), ":".
    QCOMPARE(page.promptTokenCount(), 4 + 4 + 1);
    for (int i = 0; i < 4; ++i) QCOMPARE(view->item(i).text, QString("[V%1]").arg(i));
    QCOMPARE(view->item(8).text, QString(":"));
    QVERIFY(page.metricsText().contains("tok/s") && page.metricsText().contains("first token"));

    // The same through the engine: same ids and text.
    auto m = lw::api::load_playground_model(m_gpt2.toStdString());
    QVERIFY(m.is_ok());
    auto table = lw::api::load_table_for(**m, m_table.toStdString());
    QVERIFY(table.is_ok());
    lw::GenerateRequest req;
    req.params = greedy(48);
    const std::map<std::string, std::string> fields{{"text", "The quick brown fox"}};
    auto r = lw::api::generate_with_table(**m, *table, "pairs", fields, req);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    const auto& seq = r->sequences[0];
    QCOMPARE(seq.ids, page.generatedIds());
    QCOMPARE(page.outputText(), QString::fromStdString(seq.text));
    guitest::saveScreenshot(&page, "playground_prompt_table");

    // Continuing from an alternative keeps the table's prompt: what the engine gives with
    // the kept tokens and the alternative prefilled after it.
    const int at = page.promptTokenCount() + 3;
    QTest::mouseMove(view->viewport(), view->tokenRect(at).center());
    QCOMPARE(view->hoveredIndex(), at);
    QCOMPARE(int(view->shownAlternatives().size()), 5);
    const int altId = page.alternativeIds()[3][2];
    QCOMPARE(altId, seq.tokens[3].top[2].id);
    panel->fieldEdit("text")->setText("edited after the run");  // not what the run continues
    finished.clear();
    QTest::mouseClick(view->popup(), Qt::LeftButton, {},
                      view->popup()->mapFrom(view->viewport(), view->alternativeRect(2).center()));
    QVERIFY(page.isGenerating());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    const auto& ids = page.generatedIds();
    QCOMPARE(int(ids.size()), 3 + 1 + 48);
    for (int i = 0; i < 3; ++i) QCOMPARE(ids[i], seq.ids[i]);
    QCOMPARE(ids[3], altId);
    QCOMPARE(view->item(0).text, QString("[V0]"));
    const std::vector<int32_t> kept(ids.begin(), ids.begin() + 4);
    auto r2 = lw::api::generate_with_table(**m, *table, "pairs", fields, req, {}, kept);
    QVERIFY2(r2.is_ok(), r2.status().message().c_str());
    QCOMPARE(std::vector<int32_t>(ids.begin() + 4, ids.end()), r2->sequences[0].ids);

    // Off again: the free prompt is back and so is the Attention button.
    panel->setChecked(false);
    QVERIFY(promptEditor(page)->isVisible());
    QVERIFY(page.attentionButton()->isEnabled());
  }

  void peftFolderAndErrors() {
    PlaygroundPage page;
    page.resize(1200, 760);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    PromptTablePanel* panel = page.promptTablePanel();
    // Before a model: the table waits for one.
    panel->setChecked(true);
    panel->setPath(m_table);
    QVERIFY(panel->statusLabel()->text().contains("Load a model first"));
    // Once the model is in, the checked table loads against it.
    load(page, m_gpt2);
    QTRY_VERIFY_WITH_TIMEOUT(panel->isActive(), 30000);
    // A PEFT adapter folder: one task "peft" with the field {text}.
    panel->setPath(m_peft);
    QTRY_VERIFY_WITH_TIMEOUT(panel->isActive(), 30000);
    QCOMPARE(panel->taskCombo()->count(), 1);
    QCOMPARE(panel->currentTask(), QString("peft"));
    QVERIFY(panel->fieldEdit("text"));
    panel->fieldEdit("text")->setText("Hello");
    page.samplingPanel()->setParams(greedy(5));
    QSignalSpy finished(&page, &PlaygroundPage::generationFinished);
    page.generate();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(page.errorText().isEmpty(), qPrintable(page.errorText()));
    QCOMPARE(int(page.generatedIds().size()), 5);
    QCOMPARE(page.tokenView()->item(0).text, QString("[V0]"));

    // A table trained on another model: the engine's message, on the page and in the group.
    panel->setPath(m_otherTable);
    QTRY_VERIFY_WITH_TIMEOUT(!page.errorText().isEmpty(), 30000);
    QVERIFY2(page.errorText().contains("this prompt table was trained on") &&
                 page.errorText().contains(m_otherTable),
             qPrintable(page.errorText()));
    QVERIFY(panel->statusLabel()->text().contains("trained on"));
    QVERIFY(!panel->isActive());
    QVERIFY(!promptEditor(page)->isVisible());  // still the table's fields: it is checked
    page.generate();
    QVERIFY2(page.errorText().contains("Load a prompt table"), qPrintable(page.errorText()));
    QVERIFY(!page.isGenerating());
    guitest::saveScreenshot(&page, "playground_prompt_table_wrong_model");
    // Loading the other model makes that table fit, and the checked path reloads against it.
    load(page, m_other);
    QTRY_VERIFY_WITH_TIMEOUT(panel->isActive(), 30000);
    QCOMPARE(panel->taskCombo()->count(), 2);
    // A path that is not there: named.
    const QString missing = m_tmp.filePath("no-such-table.safetensors");
    panel->setPath(missing);
    QTRY_VERIFY_WITH_TIMEOUT(page.errorText().contains(missing), 30000);
    QVERIFY(!panel->isActive());
  }
};

QTEST_MAIN(TestPlaygroundPromptTable)
#include "test_playground_prompt_table.moc"
