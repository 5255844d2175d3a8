// The workbench shell: first start (welcome page, no pages without a project),
// creating a project (project.json + experiments.sqlite, recent list, last
// project reopened on the next start), bad project folders, the engine log in
// the dock (from another thread), the settings dialog with a real dark theme,
// and the device in the status bar.
#include <QApplication>
#include <QComboBox>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QListWidget>
#include <QStackedWidget>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <thread>

#include "engine/core/log.h"
#include "tests/ui/gui_test_support.h"
#include "ui/app_settings.h"
#include "ui/attention/attention_page.h"
#include "ui/playground/playground_page.h"
#include "ui/experiments/experiments_page.h"
#include "ui/experiments/run_table_model.h"
#include "widgets/metric_plot.h"
#include "ui/log_dock.h"
#include "ui/main_window.h"
#include "ui/project.h"
#include "ui/settings_dialog.h"
#include "ui/theme.h"
#include "ui/welcome_page.h"

class TestMainWindow : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir m_settings, m_root;

 private slots:
  void initTestCase() {
    QVERIFY(m_settings.isValid() && m_root.isValid());
    QCoreApplication::setOrganizationName("LLM Workbench Tests");
    guitest::isolateSettings(m_settings.path());
    qputenv("LW_SAMPLE_PROJECT", m_root.filePath("no-sample-here").toUtf8());
  }

  void firstStartShowsWelcome() {
    MainWindow w;
    w.resize(1100, 700);
    w.show();
    w.startup();
    QVERIFY(!w.project());
    QVERIFY(qobject_cast<WelcomePage*>(w.pages()->currentWidget()));
    QVERIFY(!w.sidebar()->isEnabled());
    guitest::saveScreenshot(&w, "ui_main_window_welcome");
  }

  // The first start opens the sample project that packaging/run.sh prepared.
  void firstStartOpensPreparedSample() {
    const QString sample = m_root.filePath("sample");
    QString why;
    QVERIFY2(Project::create(sample, "Spam or ham (sample)", &why), qPrintable(why));
    qputenv("LW_SAMPLE_PROJECT", sample.toUtf8());
    {
      MainWindow w;
      w.startup();
      QVERIFY(w.project());
      QCOMPARE(w.project()->dir(), QFileInfo(sample).canonicalFilePath());
    }
    qputenv("LW_SAMPLE_PROJECT", m_root.filePath("no-sample-here").toUtf8());
  }

  // The playground's Attention button opens the Attention page on the same model and text.
  void playgroundHandsTextToAttention() {
    const QString dir = m_root.filePath("attention project");
    MainWindow w;
    w.resize(1100, 700);
    QString error;
    QVERIFY2(w.createProject(dir, "Attention", &error), qPrintable(error));
    QCOMPARE(w.pages()->currentWidget(), static_cast<QWidget*>(w.playgroundPage()));
    QSignalSpy done(w.attentionPage(), &AttentionPage::captureFinished);
    emit w.playgroundPage()->attentionRequested(m_root.filePath("no such model"), "Hello there");
    QCOMPARE(w.pages()->currentWidget(), static_cast<QWidget*>(w.attentionPage()));
    QVERIFY(w.sidebar()->currentItem() && w.sidebar()->currentItem()->text() == "Attention");
    QTRY_COMPARE(done.count(), 1);
    QCOMPARE(done.first().at(0).toBool(), false);  // a clear error for the missing folder
    QVERIFY2(done.first().at(1).toString().contains("no such model"),
             qPrintable(done.first().at(1).toString()));
  }

  void createProjectThenReopenOnStart() {
    const QString dir = m_root.filePath("first project");
    {
      MainWindow w;
      QString error;
      QVERIFY2(w.createProject(dir, "First project", &error), qPrintable(error));
      QVERIFY(w.project());
      QCOMPARE(w.project()->name(), QString("First project"));
      QCOMPARE(w.pages()->currentWidget(), static_cast<QWidget*>(w.playgroundPage()));
      QVERIFY(w.sidebar()->isEnabled());
      QFile json(QDir(dir).filePath("project.json"));
      QVERIFY(json.open(QIODevice::ReadOnly));
      const QJsonObject obj = QJsonDocument::fromJson(json.readAll()).object();
      QCOMPARE(obj.value("name").toString(), QString("First project"));
      QVERIFY(QDateTime::fromString(obj.value("created").toString(), Qt::ISODate).isValid());
      QVERIFY(QFile::exists(QDir(dir).filePath("experiments.sqlite")));
      // Creating twice in the same folder is refused with the file named.
      QVERIFY(!w.createProject(dir, "again", &error));
      QVERIFY2(error.contains("project.json"), qPrintable(error));
    }
    QCOMPARE(AppSettings::recentProjects().value(0), QFileInfo(dir).absoluteFilePath());
    MainWindow again;
    again.startup();
    QVERIFY(again.project());
    QCOMPARE(again.project()->dir(), QFileInfo(dir).absoluteFilePath());
  }

  void badProjectFolders_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expected");
    QTest::newRow("missing") << QByteArray() << "not a workbench project";
    QTest::newRow("not json") << QByteArray("{name: oops") << "invalid JSON";
    QTest::newRow("no name") << QByteArray(R"({"created": "2026-01-01T00:00:00Z"})") << "field \"name\"";
    QTest::newRow("bad date") << QByteArray(R"({"name": "x", "created": "yesterday"})") << "field \"created\"";
  }
  void badProjectFolders() {
    QFETCH(QByteArray, content);
    QFETCH(QString, expected);
    const QString dir = m_root.filePath(QString("bad-%1").arg(QTest::currentDataTag()).replace(' ', '_'));
    QVERIFY(QDir().mkpath(dir));
    if (!content.isEmpty()) {
      QFile f(QDir(dir).filePath("project.json"));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(content);
    }
    MainWindow w;
    QString error;
    QVERIFY(!w.openProject(dir, &error));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QVERIFY(!w.project());
  }

  void engineLogReachesDock() {
    MainWindow w;
    std::thread worker([] { lw::log_warn("hello from an engine thread"); });
    worker.join();
    lw::log_info("hello from the GUI thread");
    QTRY_VERIFY(w.logDock()->text().contains("hello from an engine thread"));
    QVERIFY(w.logDock()->text().contains("warn"));
    QTRY_VERIFY(w.logDock()->text().contains("hello from the GUI thread"));
    w.logDock()->resize(900, 200);
    guitest::saveScreenshot(w.logDock(), "ui_log_dock");
  }

  void deviceInStatusBar() {
    MainWindow w;
    QTRY_VERIFY_WITH_TIMEOUT(!w.deviceText().contains("detecting"), 10000);
    QVERIFY2(w.deviceText().startsWith("Device: "), qPrintable(w.deviceText()));
    AppSettings::setDefaultDevice("cpu");
    w.applySettings();
    QCOMPARE(w.deviceText(), QString("Device: cpu"));
    AppSettings::setDefaultDevice("auto");
  }

  void settingsDialogAndDarkTheme() {
    MainWindow w;
    w.resize(1100, 700);
    w.show();
    const QString dir = m_root.filePath("first project");
    {
      auto store = lw::ExperimentStore::open(dir.toStdString(), false);
      QVERIFY(store.is_ok());
      auto id = store.value()->create_run({"causal-lm", "dark run", "gpt2-tiny", "tinystories.txt", "{}"});
      QVERIFY(id.is_ok());
      QVERIFY(store.value()->log_metrics(*id, guitest::makeCurves(200, 1.0, 4)).is_ok());
      QVERIFY(store.value()->finish_run(*id, lw::RunStatus::kOk).is_ok());
    }
    QVERIFY(w.openProject(dir));
    QTRY_COMPARE(w.experimentsPage()->model()->rowCount(), 1);
    w.experimentsPage()->selectRuns({w.experimentsPage()->model()->runAt(0).id});
    QTRY_COMPARE(w.experimentsPage()->plot()->seriesCount(), 1);
    SettingsDialog dialog({}, &w);
    dialog.themeBox()->setCurrentIndex(dialog.themeBox()->findData("dark"));
    dialog.deviceBox()->setCurrentIndex(dialog.deviceBox()->findData("cpu"));
    dialog.folderEdit()->setText(m_root.filePath("projects"));
    guitest::saveScreenshot(&dialog, "ui_settings_dialog");
    dialog.save();
    QCOMPARE(AppSettings::theme(), QString("dark"));
    QCOMPARE(AppSettings::defaultDevice(), QString("cpu"));
    QCOMPARE(AppSettings::projectsFolder(), m_root.filePath("projects"));
    w.applySettings();
    QVERIFY(qApp->palette().color(QPalette::Window).lightness() < 80);
    QVERIFY(qApp->palette().color(QPalette::WindowText).lightness() > 180);
    QTRY_VERIFY(w.experimentsPage()->palette().color(QPalette::Base).lightness() < 80);
    guitest::saveScreenshot(&w, "ui_main_window_dark");
    AppSettings::setTheme("light");
    w.applySettings();
    QVERIFY(qApp->palette().color(QPalette::Window).lightness() > 180);
  }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
