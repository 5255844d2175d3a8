// The Prompt-tune page driven as a user would: edit the task (the preview shows the virtual
// tokens where the markers sit, and template errors), press Train on a tiny prompt-tuning run
// (golden GPT-2, tiny byte-level tokenizer), watch the curve fill, then generate in Try-it.
// Screenshots: the task preview, the finished run with Try-it.
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <fstream>

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
    page.setTryItFields(R"({"text": "abcd"})");
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
