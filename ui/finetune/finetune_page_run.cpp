// FinetunePage, the run side: starting, stopping and resuming a run on the worker thread,
// draining its live updates into the progress line, the curves and the evaluations table,
// and showing the report and loading the Try-it model when it ends.
#include <QDir>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>

#include "ui/finetune/eval_report_view.h"
#include "ui/finetune/finetune_form.h"
#include "ui/finetune/finetune_page.h"
#include "ui/finetune/try_it_box.h"
#include "widgets/metric_plot.h"

namespace {
QString clock(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return QStringLiteral("–");
  const qint64 s = qint64(seconds + 0.5);
  return s >= 3600 ? QStringLiteral("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QChar('0')).arg(s % 60, 2, 10, QChar('0'))
                   : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}
// Metrics worth a curve in the validation panel.
bool plottedMetric(const QString& name) {
  return name == "accuracy" || name == "macro_f1" || name == "f1";
}
}  // namespace

void FinetunePage::beginRun(const QString& what) {
  m_training = true;
  m_steps.clear();
  m_evals.clear();
  m_evalColumns.clear();
  m_evalTable->clear();
  m_evalTable->setRowCount(0);
  m_evalTable->setColumnCount(0);
  m_log->clear();
  m_live.take();
  m_plot->setSeries({});
  m_progress->setRange(0, 0);  // busy until the first step says how many there are
  m_progressLabel->setText(tr("Preparing the data and the model …"));
  m_report->clear(tr("Training …"));
  m_tabs->setCurrentIndex(kTrainingTab);
  m_runClock.start();
  m_liveTimer->start();
  setStatus(what);
  updateButtons();
}

bool FinetunePage::startTraining() {
  if (m_training) return false;
  if (m_dir.isEmpty()) {
    setStatus(tr("Open a project first: every run is recorded in its experiment store."), true);
    return false;
  }
  const QString problem = m_form->validate();
  if (!problem.isEmpty()) {
    setStatus(problem, true);
    return false;
  }
  lw::api::FinetuneConfig config = m_form->config();
  config.project_dir = m_dir.toStdString();
  beginRun(tr("Training on %1 …").arg(QString::fromStdString(config.device)));
  QMetaObject::invokeMethod(m_worker, [w = m_worker, config] { w->train(config); }, Qt::QueuedConnection);
  return true;
}

bool FinetunePage::resumeTraining(qint64 runId) {
  if (m_training || m_dir.isEmpty()) return false;
  beginRun(runId > 0 ? tr("Resuming run #%1 …").arg(runId) : tr("Resuming the newest stopped run …"));
  QMetaObject::invokeMethod(m_worker, [w = m_worker, dir = m_dir, runId] { w->resume(dir, runId); },
                            Qt::QueuedConnection);
  return true;
}

void FinetunePage::stopTraining() {
  if (!m_training) return;
  m_worker->requestStop();
  m_stop->setEnabled(false);
  setStatus(tr("Stopping after the current step (the last checkpoint is kept) …"));
}

void FinetunePage::drainLive() {
  LiveBuffer::Batch batch = m_live.take();
  if (batch.empty()) return;
  for (const QString& line : batch.messages) m_log->appendPlainText(line);
  for (const auto& e : batch.evals) {
    m_evals.push_back(e);
    addEvalRow(e);
  }
  if (!batch.steps.isEmpty()) {
    m_steps += batch.steps;
    const auto& p = batch.steps.last();
    m_progress->setRange(0, int(std::max<int64_t>(1, p.total_steps)));
    m_progress->setValue(int(p.step));
    m_progressLabel->setText(tr("step %1 / %2 · epoch %3 · loss %4 · lr %5 · %6 steps/s · %7 elapsed · %8 left")
                                 .arg(p.step).arg(p.total_steps).arg(p.epoch_progress, 0, 'f', 2)
                                 .arg(p.loss, 0, 'f', 4).arg(p.lr, 0, 'g', 3).arg(p.steps_per_s, 0, 'f', 1)
                                 .arg(clock(m_runClock.elapsed() / 1000.0)).arg(clock(p.eta_s)));
  }
  refreshPlot();
}

void FinetunePage::refreshPlot() {
  PlotSeries loss{tr("train loss"), tr("loss"), {}, {}, {}};
  PlotSeries lr{tr("learning rate"), tr("learning rate"), {}, {}, {}};
  for (const auto& s : m_steps) {
    loss.x << double(s.step);
    loss.y << s.loss;
    lr.x << double(s.step);
    lr.y << s.lr;
  }
  QList<PlotSeries> series{loss, lr};
  PlotSeries evalLoss{tr("validation loss"), tr("loss"), {}, {}, {}};
  QMap<QString, PlotSeries> metrics;
  for (const auto& e : m_evals) {
    if (e.split != "validation") continue;
    evalLoss.x << double(e.step);
    evalLoss.y << e.loss;
    for (const auto& [name, value] : e.values) {
      const QString n = QString::fromStdString(name);
      if (!plottedMetric(n)) continue;
      PlotSeries& s = metrics[n];
      s.name = tr("validation %1").arg(n);
      s.panel = tr("validation");
      s.x << double(e.step);
      s.y << value;
    }
  }
  if (!evalLoss.x.isEmpty()) series.insert(1, evalLoss);
  for (const auto& s : metrics) series << s;
  m_plot->setSeries(series);
}

void FinetunePage::addEvalRow(const lw::api::EvalMetrics& e) {
  for (const auto& [name, value] : e.values) {
    const QString n = QString::fromStdString(name);
    if (!m_evalColumns.contains(n)) m_evalColumns << n;
  }
  QStringList headers{tr("step"), tr("epoch"), tr("split"), tr("loss")};
  headers += m_evalColumns;
  m_evalTable->setColumnCount(headers.size());
  m_evalTable->setHorizontalHeaderLabels(headers);
  const int row = m_evalTable->rowCount();
  m_evalTable->insertRow(row);
  auto cell = [this, row](int col, const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_evalTable->setItem(row, col, item);
  };
  cell(0, QString::number(e.step));
  cell(1, QString::number(e.epoch, 'f', 2));
  cell(2, QString::fromStdString(e.split));
  cell(3, QString::number(e.loss, 'f', 4));
  for (const auto& [name, value] : e.values)
    cell(4 + int(m_evalColumns.indexOf(QString::fromStdString(name))), QString::number(value, 'f', 4));
  m_evalTable->resizeColumnsToContents();
  m_evalTable->scrollToBottom();
}

void FinetunePage::onFinished(const lw::api::FinetuneReport& report) {
  drainLive();
  m_liveTimer->stop();
  m_training = false;
  m_lastReport = report;
  m_progress->setRange(0, int(std::max<int64_t>(1, report.steps)));
  m_progress->setValue(int(report.steps));
  m_report->setReport(report);
  const QString how = report.early_stopped ? tr(" (early stop)") : QString();
  const QString best = QDir(m_dir).relativeFilePath(QString::fromStdString(report.best_checkpoint));
  setStatus(tr("Run #%1 %2%3: %4 steps in %5. Best checkpoint: %6")
                .arg(report.run_id).arg(QString::fromStdString(report.status), how).arg(report.steps)
                .arg(clock(report.seconds), best));
  updateButtons();
  if (report.status == "ok") m_tabs->setCurrentIndex(kReportTab);
  const std::string& model = report.best_checkpoint.empty() ? report.last_checkpoint : report.best_checkpoint;
  if (!model.empty()) loadTryItModel(QString::fromStdString(model));
  emit runRecorded(report.run_id);
  emit trainingFinished(report.status == "ok");
}

void FinetunePage::onFailed(const QString& error, bool cancelled) {
  drainLive();
  m_liveTimer->stop();
  m_training = false;
  m_progress->setRange(0, 1);
  m_report->clear(cancelled ? tr("Stopped before the end: press Resume to continue from the last checkpoint.")
                            : tr("The run failed: %1").arg(error.toHtmlEscaped()));
  setStatus(cancelled ? tr("Stopped. %1").arg(error) : error, !cancelled);
  m_log->appendPlainText(error);
  updateButtons();
  emit runRecorded(0);
  emit trainingFinished(false);
}

void FinetunePage::loadTryItModel(const QString& modelDir) {
  m_tryIt->setLoading(modelDir);
  QMetaObject::invokeMethod(m_worker, [w = m_worker, modelDir, dev = m_form->device()] { w->loadPredictor(modelDir, dev); },
                            Qt::QueuedConnection);
}
