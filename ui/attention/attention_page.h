// AttentionPage: see what every layer and head attends to, for any model folder and text. The
// model view is a layers x heads grid of thumbnails; a click opens the head view (large heatmap
// and bertviz-style lines, or the average over heads); rollout and head statistics have their
// own tabs. Capture runs on a worker thread; every view exports as PNG, SVG and CSV.
#pragma once
#include <QThread>
#include <QWidget>

#include "ui/attention/attention_worker.h"

class AttentionHeadPanel;
class AttentionModelGrid;
class AttentionRolloutPanel;
class AttentionStatsPanel;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTabWidget;

class AttentionPage : public QWidget {
  Q_OBJECT
 public:
  enum Tab { ModelTab = 0, HeadTab = 1, RolloutTab = 2, StatsTab = 3 };

  explicit AttentionPage(QWidget* parent = nullptr);
  ~AttentionPage() override;

  void setModelDir(const QString& dir);
  QString modelDir() const;
  AttentionResultPtr result() const { return m_result; }
  bool isBusy() const { return m_busy; }
  QString statusText() const;

  AttentionModelGrid* modelGrid() const { return m_grid; }
  AttentionHeadPanel* headPanel() const { return m_head; }
  AttentionRolloutPanel* rolloutPanel() const { return m_rollout; }
  AttentionStatsPanel* statsPanel() const { return m_stats; }
  QTabWidget* tabs() const { return m_tabs; }
  QPlainTextEdit* textEdit() const { return m_text; }
  QLineEdit* layersEdit() const { return m_layers; }
  QLineEdit* headsEdit() const { return m_heads; }

  // Export what the current tab shows: the picture (PNG at 2x, SVG) or the numbers (CSV:
  // the model view writes layer,head,query,key,query_token,key_token,weight rows).
  bool exportPng(const QString& path, QString* error = nullptr) const;
  bool exportSvg(const QString& path, QString* error = nullptr) const;
  bool exportCsv(const QString& path, QString* error = nullptr) const;

 public slots:
  // The playground's "Show attention": open this folder and text and capture at once.
  void showText(const QString& modelDir, const QString& text);
  // Token ids instead of text (a folder without a tokenizer, or exact ids from elsewhere).
  void showIds(const QString& modelDir, const QVector<int>& ids);
  void capture();  // from the fields
  void openHead(int layerSlice, int headSlice);

 signals:
  void captureFinished(bool ok, const QString& message);
  void requestCapture(const AttentionJob& job);  // to the worker (queued)

 private:
  void start(AttentionJob job);
  void setBusy(bool busy, const QString& stage = {});
  void onFinished(AttentionResultPtr result);
  void onFailed(const QString& message);
  void exportDialog(const QString& format);
  QWidget* currentPicture() const;
  bool parseSelection(AttentionJob* job, QString* error) const;

  QThread m_thread;
  AttentionWorker* m_worker = nullptr;
  AttentionResultPtr m_result;
  bool m_busy = false;
  bool m_hasPending = false;
  AttentionJob m_pending;

  QLineEdit* m_model = nullptr;
  QPlainTextEdit* m_text = nullptr;
  QLineEdit* m_layers = nullptr;
  QLineEdit* m_heads = nullptr;
  QPushButton* m_captureButton = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QTabWidget* m_tabs = nullptr;
  AttentionModelGrid* m_grid = nullptr;
  AttentionHeadPanel* m_head = nullptr;
  AttentionRolloutPanel* m_rollout = nullptr;
  AttentionStatsPanel* m_stats = nullptr;
};
