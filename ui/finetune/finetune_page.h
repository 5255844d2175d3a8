// FinetunePage: point-and-click fine-tuning of BERT for text classification and NER.
// Left: the setup form (task, model, data, hyper-parameters, device) with Train / Stop /
// Resume. Right, in tabs: the dataset preview; live training (progress with steps/s and
// time left, loss / learning-rate / validation curves, evaluations as they arrive, log);
// the evaluation report; and a Try-it box on the trained model. Every run is a row of
// the project's experiment store, so it appears in the Experiments page.
#pragma once
#include <QElapsedTimer>
#include <QMap>
#include <QThread>
#include <QVector>
#include <QWidget>

#include "ui/finetune/finetune_worker.h"

class DatasetPreviewView;
class EvalReportView;
class FinetuneForm;
class MetricPlot;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QTableWidget;
class QTimer;
class TryItBox;

class FinetunePage : public QWidget {
  Q_OBJECT
 public:
  enum Tab { kDataTab = 0, kTrainingTab, kReportTab, kTryItTab };

  explicit FinetunePage(QWidget* parent = nullptr);
  ~FinetunePage() override;

  void setProject(const QString& dir);  // empty = no project (training disabled)
  QString projectDir() const { return m_dir; }

  // What the buttons do; start/resume return false (and say why in the status line)
  // when the run cannot start.
  bool startTraining();
  void stopTraining();
  bool resumeTraining(qint64 runId = 0);  // 0: the newest stopped or interrupted run
  bool isTraining() const { return m_training; }
  // Loads a fine-tuned folder into the Try-it box (the page does it after each run).
  void loadTryItModel(const QString& modelDir);

  FinetuneForm* form() const { return m_form; }
  MetricPlot* plot() const { return m_plot; }
  DatasetPreviewView* previewView() const { return m_preview; }
  EvalReportView* reportView() const { return m_report; }
  TryItBox* tryItBox() const { return m_tryIt; }
  QTableWidget* evalTable() const { return m_evalTable; }
  QProgressBar* progressBar() const { return m_progress; }
  QTabWidget* tabs() const { return m_tabs; }
  QString statusText() const;
  QString progressText() const;
  const lw::api::FinetuneReport& lastReport() const { return m_lastReport; }
  int stepPointCount() const { return int(m_steps.size()); }
  int evalPointCount() const { return int(m_evals.size()); }

 signals:
  void previewShown(bool ok);
  void trainingFinished(bool ok);
  void runRecorded(qint64 runId);  // a run row was written (finished, stopped or failed)
  void modelLoaded(bool ok);
  void predictionShown(bool ok);

 private:
  void buildUi();
  QWidget* buildTrainingTab();
  void schedulePreview();
  void requestPreview();
  void beginRun(const QString& what);
  void drainLive();
  void refreshPlot();
  void addEvalRow(const lw::api::EvalMetrics& e);
  void onFinished(const lw::api::FinetuneReport& report);
  void onFailed(const QString& error, bool cancelled);
  void setStatus(const QString& text, bool error = false);
  void updateButtons();

  QString m_dir;
  bool m_training = false;
  LiveBuffer m_live;
  QThread m_thread;
  FinetuneWorker* m_worker = nullptr;
  int m_previewId = 0;
  QTimer* m_previewTimer = nullptr;
  QTimer* m_liveTimer = nullptr;
  bool m_plotDirty = false;
  QElapsedTimer m_runClock;

  QVector<lw::api::FinetuneProgress> m_steps;
  QVector<lw::api::EvalMetrics> m_evals;
  QStringList m_evalColumns;
  lw::api::FinetuneReport m_lastReport;

  FinetuneForm* m_form = nullptr;
  QPushButton* m_train = nullptr;
  QPushButton* m_stop = nullptr;
  QPushButton* m_resume = nullptr;
  QLabel* m_status = nullptr;
  QTabWidget* m_tabs = nullptr;
  DatasetPreviewView* m_preview = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_progressLabel = nullptr;
  MetricPlot* m_plot = nullptr;
  QTableWidget* m_evalTable = nullptr;
  QPlainTextEdit* m_log = nullptr;
  EvalReportView* m_report = nullptr;
  TryItBox* m_tryIt = nullptr;
};
