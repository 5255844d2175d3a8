// The Experiments page in the real main window, over a project seeded through
// the store API: table rows, filtering and sorting, overlay of two runs,
// smoothing, metric panels, run details and notes, CSV export, deletion with
// an injected confirmation, and live refresh while another connection writes.
#include <QFile>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>
#include <qcustomplot.h>

#include "tests/ui/gui_test_support.h"
#include "ui/experiments/experiments_page.h"
#include "ui/experiments/run_details_view.h"
#include "ui/experiments/run_filter_proxy.h"
#include "ui/experiments/run_table_model.h"
#include "ui/main_window.h"
#include "ui/project.h"
#include "widgets/metric_plot.h"

class TestExperimentsPage : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir m_settings, m_root;
  QString m_dir;
  QList<qint64> m_ids;  // seeded runs, oldest first
  MainWindow* m_window = nullptr;
  ExperimentsPage* m_page = nullptr;

  std::unique_ptr<lw::ExperimentStore> openStore() {
    auto store = lw::ExperimentStore::open(m_dir.toStdString(), false);
    if (!store.is_ok()) qFatal("%s", store.status().to_string().c_str());
    return std::move(store).value();
  }

  qint64 seedRun(lw::ExperimentStore& store, const lw::RunSpec& spec, double scale, unsigned seed,
                 lw::RunStatus end, const std::string& error = "") {
    auto id = store.create_run(spec);
    if (!id.is_ok()) qFatal("%s", id.status().to_string().c_str());
    if (!store.log_metrics(*id, guitest::makeCurves(240, scale, seed)).is_ok()) qFatal("log_metrics");
    if (!store.finish_run(*id, end, error).is_ok()) qFatal("finish_run");
    return *id;
  }

  int rows() const { return m_page->proxy()->rowCount(); }

 private slots:
  void initTestCase() {
    QVERIFY(m_settings.isValid() && m_root.isValid());
    QCoreApplication::setOrganizationName("LLM Workbench Tests");
    guitest::isolateSettings(m_settings.path());
    m_dir = m_root.filePath("demo");
    QString error;
    QVERIFY2(Project::create(m_dir, "demo", &error), qPrintable(error));
    auto store = openStore();
    m_ids << seedRun(*store, {"classify", "sst2 lr=3e-5", "bert-small", "sst2/train.jsonl",
                              R"({"lr": 3e-5, "batch_size": 32, "optimizer": {"name": "adamw", "betas": [0.9, 0.999]}})"},
                     1.0, 1, lw::RunStatus::kOk);
    m_ids << seedRun(*store, {"classify", "sst2 lr=1e-4", "bert-small", "sst2/train.jsonl", R"({"lr": 1e-4})"},
                     1.3, 2, lw::RunStatus::kFailed, "loss became NaN at step 240");
    m_ids << seedRun(*store, {"causal-lm", "tiny stories", "gpt2-tiny", "tinystories.txt", R"({"lr": 6e-4})"},
                     0.8, 3, lw::RunStatus::kOk);
    QVERIFY(store->set_notes(m_ids[0], "baseline: keep").is_ok());
    QFile artifact(QDir(m_dir).filePath("report.txt"));
    QVERIFY(artifact.open(QIODevice::WriteOnly));
    artifact.write("accuracy 0.91\n");
    artifact.close();
    QVERIFY(store->add_artifact(m_ids[0], "report", "report.txt").is_ok());

    m_window = new MainWindow;
    m_window->resize(1400, 900);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window));
    m_page = m_window->experimentsPage();
    m_page->setConfirmer([](QWidget*, const QString&, bool*) {
      qFatal("unexpected confirmation");
      return false;
    });
    QVERIFY2(m_window->openProject(m_dir, &error), qPrintable(error));
    QTRY_COMPARE(m_page->model()->rowCount(), 3);
  }

  void cleanupTestCase() { delete m_window; }

  void showsTheWorkingPages() {
    QStringList titles;
    for (int i = 0; i < m_window->sidebar()->count(); ++i) titles << m_window->sidebar()->item(i)->text();
    QCOMPARE(titles, QStringList({"Playground", "Attention", "Fine-tune", "Prompt-tune", "Experiments"}));
    m_window->sidebar()->setCurrentRow(titles.indexOf("Experiments"));
    QCOMPARE(m_window->pages()->currentWidget(), static_cast<QWidget*>(m_page));
  }

  void tableRows() {
    QCOMPARE(rows(), 3);
    // Newest first by default.
    QCOMPARE(m_page->proxy()->index(0, RunTableModel::kId).data(RunTableModel::RunIdRole).toLongLong(), m_ids[2]);
    QStringList names, statuses;
    for (int r = 0; r < rows(); ++r) {
      names << m_page->proxy()->index(r, RunTableModel::kName).data().toString();
      statuses << m_page->proxy()->index(r, RunTableModel::kStatus).data().toString();
    }
    QCOMPARE(names, (QStringList{"tiny stories", "sst2 lr=1e-4", "sst2 lr=3e-5"}));
    QCOMPARE(statuses, (QStringList{"ok", "failed", "ok"}));
    // Final metrics appear as columns, with the last logged value.
    const int lossCol = RunTableModel::kFixedColumns + m_page->model()->metricColumns().indexOf("train/loss");
    QVERIFY(lossCol >= RunTableModel::kFixedColumns);
    QVERIFY(!m_page->proxy()->index(0, lossCol).data().toString().isEmpty());
    QCOMPARE(m_page->proxy()->headerData(lossCol, Qt::Horizontal).toString(), QString("train/loss"));
  }

  void sortAndFilter() {
    m_page->table()->sortByColumn(RunTableModel::kName, Qt::AscendingOrder);
    QCOMPARE(m_page->proxy()->index(0, RunTableModel::kName).data().toString(), QString("sst2 lr=1e-4"));
    m_page->proxy()->setText("gpt2");
    QCOMPARE(rows(), 1);
    m_page->proxy()->setText("");
    m_page->proxy()->setStatus("failed");
    QCOMPARE(rows(), 1);
    m_page->proxy()->setStatus("");
    m_page->proxy()->setKind("classify");
    QCOMPARE(rows(), 2);
    m_page->proxy()->setKind("");
    QCOMPARE(rows(), 3);
    m_page->table()->sortByColumn(RunTableModel::kId, Qt::DescendingOrder);
  }

  void overlayTwoRuns() {
    QSignalSpy plotted(m_page, &ExperimentsPage::plotUpdated);
    m_page->selectRuns({m_ids[0], m_ids[1]});
    QTRY_COMPARE(m_page->plot()->seriesCount(), 2);
    QCOMPARE(m_page->plot()->legendItemCount(), 2);
    QCOMPARE(m_page->checkedMetrics(), QStringList{"train/loss"});
    QCOMPARE(m_page->metricList()->count(), 2);
    QCOMPARE(m_page->plot()->plottedValues(0).size(), 240);
  }

  void smoothingChangesValues() {
    QTRY_COMPARE(m_page->plot()->seriesCount(), 2);
    const QVector<double> before = m_page->plot()->plottedValues(0);
    m_page->plot()->setSmoothing(0.8);
    const QVector<double> after = m_page->plot()->plottedValues(0);
    QCOMPARE(after.size(), before.size());
    QVERIFY(after != before);
    QCOMPARE(after, MetricPlot::emaSmooth(before, 0.8));
  }

  void metricPanels() {
    m_page->setCheckedMetrics({"train/loss", "eval/accuracy"});
    QCOMPARE(m_page->plot()->panelCount(), 2);
    QCOMPARE(m_page->plot()->seriesCount(), 4);
    QCOMPARE(m_page->plot()->legendItemCount(), 2);
  }

  void runDetails() {
    m_page->selectRuns({m_ids[0], m_ids[1]});
    QTRY_COMPARE(m_page->details()->runId(), m_ids[0]);
    QTreeWidget* params = m_page->details()->parametersTree();
    QVERIFY(!params->findItems("lr", Qt::MatchExactly).isEmpty());
    QCOMPARE(params->findItems("betas", Qt::MatchExactly | Qt::MatchRecursive).size(), 1);
    QCOMPARE(m_page->details()->artifactsTable()->rowCount(), 1);
    QCOMPARE(m_page->details()->notesEdit()->toPlainText(), QString("baseline: keep"));
    // Edit the notes and save them through the worker's writable connection.
    m_page->details()->notesEdit()->setPlainText("baseline: keep (best so far)");
    QSignalSpy saved(m_page, &ExperimentsPage::statusMessage);
    emit m_page->details()->saveNotesRequested(m_ids[0], m_page->details()->notesEdit()->toPlainText());
    QTRY_VERIFY(!saved.isEmpty());
    QCOMPARE(openStore()->get_run(m_ids[0])->notes, std::string("baseline: keep (best so far)"));
    m_page->setCheckedMetrics({"train/loss"});
    guitest::saveScreenshot(m_window, "ui_experiments_page");
  }

  void exportTable() {
    const QString path = m_root.filePath("runs.csv");
    QString error;
    QVERIFY2(m_page->exportTableCsv(path, &error), qPrintable(error));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).trimmed().split('\n');
    QCOMPARE(lines.size(), 4);
    QVERIFY(lines[0].startsWith("ID,Kind,Name,Model,Status,Started,Duration"));
    QVERIFY(lines[1].contains("tiny stories"));
    // The current run's metrics through the store's exporter.
    const QString runCsv = m_root.filePath("run.csv");
    m_page->setSavePathChooser([runCsv](QWidget*, const QString&, const QString&) { return runCsv; });
    m_page->exportSelectedRunCsv();
    QTRY_VERIFY(QFile::exists(runCsv));
  }

  void deleteRun() {
    m_page->selectRuns({m_ids[1]});
    // Declined: nothing happens.
    int asked = 0;
    m_page->setConfirmer([&asked](QWidget*, const QString& text, bool*) {
      ++asked;
      return !text.isEmpty() && false;
    });
    m_page->deleteSelectedRuns();
    QCOMPARE(asked, 1);
    QTest::qWait(200);
    QCOMPARE(m_page->model()->rowCount(), 3);
    // Accepted.
    QString shown;
    m_page->setConfirmer([&shown](QWidget*, const QString& text, bool* files) {
      shown = text;
      *files = false;
      return true;
    });
    QSignalSpy deleted(m_page, &ExperimentsPage::runsDeleted);
    m_page->deleteSelectedRuns();
    QVERIFY(shown.contains("sst2 lr=1e-4"));
    QTRY_COMPARE(m_page->model()->rowCount(), 2);
    QCOMPARE(deleted.count(), 1);
    QCOMPARE(m_page->model()->rowOfRun(m_ids[1]), -1);
    QCOMPARE(openStore()->get_run(m_ids[1]).status().code(), lw::StatusCode::kNotFound);
    m_ids.removeAt(1);
  }

  void liveRefresh() {
    // Another connection (as another process would) writes a new run.
    auto writer = openStore();
    auto id = writer->create_run({"classify", "live run", "bert-small", "sst2", "{}"});
    QVERIFY(id.is_ok());
    QVERIFY(writer->log_metrics(*id, guitest::makeCurves(50, 1.1, 9)).is_ok());
    QTRY_COMPARE_WITH_TIMEOUT(m_page->model()->rowCount(), 3, 5000);
    const int row = m_page->model()->rowOfRun(*id);
    QVERIFY(row >= 0);
    QCOMPARE(m_page->model()->index(row, RunTableModel::kStatus).data().toString(), QString("running"));
    // Watching it: new points show up in the plot without any click.
    m_page->selectRuns({*id});
    QTRY_COMPARE(m_page->plot()->plottedValues(0).size(), 50);
    QVERIFY(writer->log_metrics(*id, guitest::makeCurves(30, 1.1, 9, 50)).is_ok());
    QTRY_COMPARE_WITH_TIMEOUT(m_page->plot()->plottedValues(0).size(), 80, 5000);
    QVERIFY(writer->finish_run(*id, lw::RunStatus::kOk).is_ok());
    QTRY_COMPARE_WITH_TIMEOUT(m_page->model()->index(m_page->model()->rowOfRun(*id), RunTableModel::kStatus)
                                  .data().toString(), QString("ok"), 5000);
    guitest::saveScreenshot(m_page, "ui_experiments_live");
  }
};

QTEST_MAIN(TestExperimentsPage)
#include "test_experiments_page.moc"
