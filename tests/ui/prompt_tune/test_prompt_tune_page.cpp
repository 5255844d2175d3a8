// The Prompt-tune page driven as a user would: edit the task (the preview shows the virtual
// tokens where the markers sit, and template errors), press Train on a tiny prompt-tuning run
// (golden GPT-2, tiny byte-level tokenizer), watch the curve fill, then generate in Try-it;
// a YAML tasks file and data typed into the path fields (no file dialogs), the task summary,
// the preview per task, the data table; p-tuning's encoder settings shown only for p-tuning
// and reaching the request and the recorded run. Screenshots: preview, YAML + p-tuning, trained.
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGroupBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/api/experiment_store.h"
#include "tests/engine/generate_loop/tiny_tokenizer.h"
#include "tests/ui/gui_test_support.h"
#include "ui/prompt_tune/prompt_tune_page.h"

namespace {

QPushButton* button(QWidget* page, const QString& text) {
  for (auto* b : page->findChildren<QPushButton*>())
    if (b->text() == text) return b;
  return nullptr;
}

const char* kTasks = R"({"taskname": "pairs", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text}:{label}",
  "total_virtual_tokens": 4, "answer_only_loss": true, "add_eos": false})";

}  // namespace

class TestPromptTunePage : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  QString path(const char* n) { return m_dir.path() + "/" + n; }

 private slots:
  void initTestCase() {
    guitest::isolateSettings(path("settings"));
    QDir().mkpath(path("model"));
    QDir().mkpath(path("project"));
    QVERIFY(tiny_tokenizer::make_gpt2_folder(LW_SOURCE_DIR "/tests/golden/data/gpt2/model",
                                             path("model").toStdString()));
    std::ofstream t(path("train.jsonl").toStdString());
    for (int i = 0; i < 24; ++i)
      t << "{\"text\": \"" << (i % 2 ? "abcd" : "mnop") << "\", \"label\": \"" << (i % 2 ? "ab" : "cd") << "\"}\n";
  }

  void previewAndErrors() {
    PromptTunePage page;
    page.resize(1200, 800);
    page.setTrainFile(path("train.jsonl"));
    page.setTasksJson(kTasks);
    QCOMPARE(page.preview(), QString("<span style='background:#fde3c0'>[V0][V1][V2][V3]</span>mnop:[answer: cd]"
                                     " <i>(4 virtual tokens)</i>"));
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    guitest::saveScreenshot(&page, "prompt_tune_preview");
    page.setTasksJson(R"({"taskname": "pairs", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text}",
      "total_virtual_tokens": 4, "answer_only_loss": true})");
    QVERIFY2(page.preview().contains("answer_only_loss needs the answer field {label}"), qPrintable(page.preview()));
  }

  // Paths typed into the fields (as Browse… fills them): a YAML tasks file with two tasks, the
  // summary of each, the preview of the chosen task's first example, the data table.
  void yamlTasksAndDataPreview() {
    std::ofstream(path("tasks.yaml").toStdString())
        << "tasks:\n"
           "  - taskname: pairs\n"
           "    prompt_template: \"<|VIRTUAL_PROMPT_0|>{text}:{label}\"\n"
           "    total_virtual_tokens: 4\n"
           "    answer_only_loss: true\n"
           "  - taskname: two\n"
           "    prompt_template: \"<|VIRTUAL_PROMPT_0|>{text}<|VIRTUAL_PROMPT_1|>={label}\"\n"
           "    total_virtual_tokens: 3\n"
           "    virtual_token_splits: [2, 1]\n"
           "    truncate_field: text\n";
    std::ofstream(path("multi.jsonl").toStdString())
        << "{\"taskname\": \"pairs\", \"text\": \"abcd\", \"label\": \"ab\"}\n"
           "{\"taskname\": \"two\", \"text\": \"mnop\", \"label\": 7}\n";
    PromptTunePage page;
    page.resize(1200, 900);
    auto* tasksFile = page.findChild<QLineEdit*>("tasksFile");
    QVERIFY(tasksFile && page.findChild<QPushButton*>("browse_tasksFile"));
    QVERIFY(page.findChild<QPushButton*>("browse_baseModel") && page.findChild<QPushButton*>("browse_trainFile") &&
            page.findChild<QPushButton*>("browse_devFile"));
    tasksFile->setText(path("tasks.yaml"));
    emit tasksFile->editingFinished();
    QVERIFY2(page.status().contains("Loaded 2 task(s)"), qPrintable(page.status()));
    QVERIFY(page.findChild<QPlainTextEdit*>("tasksEditor")->toPlainText().startsWith("tasks:\n"));
    page.findChild<QLineEdit*>("trainFile")->setText(path("multi.jsonl"));
    QVERIFY2(page.taskSummary().contains("<b>pairs</b>: 4 virtual tokens in 1 block [4]") &&
                 page.taskSummary().contains("(answer-only loss)") &&
                 page.taskSummary().contains("<b>two</b>: 3 virtual tokens in 2 blocks [2, 1]") &&
                 page.taskSummary().contains("truncates {text}"),
             qPrintable(page.taskSummary()));
    QCOMPARE(page.previewTaskCombo()->count(), 2);
    QVERIFY(page.preview().contains("abcd:[answer: ab]"));
    page.previewTaskCombo()->setCurrentText("two");
    QVERIFY2(page.preview().startsWith("<span style='background:#fde3c0'>[V0][V1]</span>mnop"
                                       "<span style='background:#fde3c0'>[V2]</span>=[answer: 7]"),
             qPrintable(page.preview()));
    QTableWidget* data = page.dataPreview();
    QCOMPARE(data->rowCount(), 2);
    QCOMPARE(data->columnCount(), 3);
    QCOMPARE(data->horizontalHeaderItem(2)->text(), QString("text"));
    QCOMPARE(data->item(1, 0)->text(), QString("7"));  // label: the keys sort, label first
    // A YAML syntax error names the file and the line in the status line.
    std::ofstream(path("broken.yaml").toStdString()) << "taskname: a\nsplits: [1, 2\n";
    QVERIFY(!page.loadTasksFile(path("broken.yaml")));
    QVERIFY2(page.status().contains(path("broken.yaml") + ":") && page.status().contains("YAML syntax error"),
             qPrintable(page.status()));
  }

  // p-tuning shows the encoder settings (prompt tuning hides them) and they reach the request
  // and the run the store records.
  void pTuningEncoderSettings() {
    PromptTunePage page;
    page.resize(1200, 900);
    page.setProject(path("project-p"));
    QDir().mkpath(path("project-p"));
    page.setModelDir(path("model"));
    page.setTrainFile(path("train.jsonl"));
    page.setTasksJson(kTasks);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QVERIFY(!page.encoderBox()->isVisible());
    page.methodCombo()->setCurrentText("p-tuning");
    QVERIFY(page.encoderBox()->isVisible());
    page.encoderCombo()->setCurrentText("lstm");
    QCOMPARE(page.encoderLayers()->value(), 1);
    page.encoderHidden()->setValue(16);
    page.encoderDropout()->setValue(0.1);
    const lw::api::PromptTuneRequest r = page.job().request();
    QCOMPARE(r.config.encoder.type, lw::train::EncoderType::kLstm);
    QCOMPARE(r.config.encoder.hidden, int64_t(16));
    QCOMPARE(r.config.encoder.layers, int64_t(1));
    QCOMPARE(r.config.encoder.dropout, 0.1f);
    guitest::saveScreenshot(&page, "prompt_tune_ptuning");
    page.encoderDropout()->setValue(0);  // dropout on 4 rows of a tiny run only adds noise
    QSignalSpy finished(&page, &PromptTunePage::trainingFinished);
    QTest::mouseClick(button(&page, "Train"), Qt::LeftButton);
    QVERIFY(finished.wait(120000));
    QVERIFY2(finished.first().first().toBool(), qPrintable(page.status()));
    auto store = lw::ExperimentStore::open(path("project-p").toStdString());
    QVERIFY(store.is_ok());
    auto runs = (*store)->list_runs();
    QCOMPARE(runs->size(), size_t(1));
    const auto params = nlohmann::json::parse(runs->front().parameters_json);
    QCOMPARE(params["method"].get<std::string>(), std::string("p-tuning"));
    QCOMPARE(params["encoder"].get<std::string>(), std::string("lstm"));
    QCOMPARE(params["encoder_hidden"].get<int>(), 16);
    QCOMPARE(params["encoder_layers"].get<int>(), 1);
    // Back to prompt tuning: the settings hide and leave the request.
    page.methodCombo()->setCurrentText("prompt-tuning");
    QVERIFY(!page.encoderBox()->isVisible());
    QCOMPARE(page.job().request().config.encoder.type, lw::train::EncoderType::kNone);
  }

  // Init, seed, warm-up, device, a table to extend and a PEFT export reach the request.
  void trainingSettingsReachTheRequest() {
    PromptTunePage page;
    page.setProject(path("project-s"));
    page.setModelDir(path("model"));
    page.setTasksJson(kTasks);
    auto* init = page.findChild<QComboBox*>("init");
    auto* initText = page.findChild<QLineEdit*>("initText");
    QVERIFY(init && initText && !initText->isEnabled());
    init->setCurrentText("text");
    QVERIFY(initText->isEnabled());
    initText->setText("Is this review positive");
    page.findChild<QSpinBox*>("seed")->setValue(7);
    page.findChild<QSpinBox*>("warmup")->setValue(3);
    page.findChild<QLineEdit*>("initFromTable")->setText(path("old_table.safetensors"));
    page.findChild<QLineEdit*>("peftDir")->setText(path("peft-out"));
    QVERIFY(page.findChild<QPushButton*>("browse_initFromTable") && page.findChild<QPushButton*>("browse_peftDir"));
    auto* device = page.findChild<QComboBox*>("device");
    QVERIFY(device && device->findText("cpu") >= 0);
    device->setCurrentText("cpu");
    const lw::api::PromptTuneRequest r = page.job().request();
    QCOMPARE(r.config.init, std::string("text"));
    QCOMPARE(r.config.init_text, std::string("Is this review positive"));
    QCOMPARE(r.config.seed, uint64_t(7));
    QCOMPARE(r.config.warmup_steps, int64_t(3));
    QCOMPARE(r.init_from, path("old_table.safetensors").toStdString());
    QCOMPARE(r.peft_dir, path("peft-out").toStdString());
    QVERIFY(r.device.is_cpu());
    QCOMPARE(r.dtype, lw::DType::kF32);
  }

  void trainThenTryIt() {
    PromptTunePage page;
    page.resize(1200, 800);
    page.setProject(path("project"));
    page.setModelDir(path("model"));
    page.setTrainFile(path("train.jsonl"));
    page.setDevFile(path("train.jsonl"));
    page.setTasksJson(kTasks);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QSignalSpy finished(&page, &PromptTunePage::trainingFinished);
    QSignalSpy ready(&page, &PromptTunePage::tryItReady);
    QTest::mouseClick(button(&page, "Train"), Qt::LeftButton);
    QVERIFY(page.isTraining());
    QVERIFY(finished.wait(120000));
    QVERIFY2(finished.first().first().toBool(), qPrintable(page.status()));
    QTRY_COMPARE_WITH_TIMEOUT(page.curvePoints(), 9, 5000);  // 3 epochs x 3 batches of 8
    QVERIFY(QFile::exists(path("project") + "/prompt_table.safetensors"));
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 60000);
    QVERIFY(ready.last().first().toBool());
    QVERIFY(page.tryItField("text") && !page.tryItField("label"));  // the answer is generated
    page.setTryItFields(R"({"text": "abcd"})");
    QCOMPARE(page.tryItField("text")->text(), QString("abcd"));
    QSignalSpy generated(&page, &PromptTunePage::generatedText);
    QTest::mouseClick(button(&page, "Generate"), Qt::LeftButton);
    QVERIFY(generated.wait(60000));
    QVERIFY2(page.tryItOutput() != "..." && !page.tryItOutput().startsWith("Error"), qPrintable(page.tryItOutput()));
    guitest::saveScreenshot(&page, "prompt_tune_trained");
    auto store = lw::ExperimentStore::open(path("project").toStdString());
    QVERIFY(store.is_ok());
    auto runs = (*store)->list_runs();
    QCOMPARE(runs->size(), size_t(1));
    QCOMPARE(runs->front().kind, std::string("prompt"));
    QCOMPARE(runs->front().status, lw::RunStatus::kOk);
  }
};

QTEST_MAIN(TestPromptTunePage)
#include "test_prompt_tune_page.moc"
