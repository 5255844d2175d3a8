// FinetuneWorker: the Fine-tune page's engine side. It lives on its own QThread and runs
// every engine/api/finetune.h call there (dataset preview, training, resume, loading the
// Try-it model, predicting), so the GUI thread never waits on the engine. Training steps
// and evaluations go into a LiveBuffer the page drains on a timer (coalesced updates);
// one-off results come back as queued signals.
#pragma once
#include <QMutex>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <atomic>

#include "engine/api/finetune.h"

Q_DECLARE_METATYPE(lw::api::DatasetPreview)
Q_DECLARE_METATYPE(lw::api::FinetuneReport)
Q_DECLARE_METATYPE(lw::api::Prediction)

// Filled by the worker thread while training, drained by the GUI thread.
class LiveBuffer {
 public:
  void pushStep(const lw::api::FinetuneProgress& p);
  void pushEval(const lw::api::EvalMetrics& e);
  void pushMessage(const QString& line);
  struct Batch {
    QVector<lw::api::FinetuneProgress> steps;
    QVector<lw::api::EvalMetrics> evals;
    QStringList messages;
    bool empty() const { return steps.isEmpty() && evals.isEmpty() && messages.isEmpty(); }
  };
  Batch take();

 private:
  QMutex m_mutex;
  Batch m_batch;
};

struct PreviewRequest {
  lw::api::FinetuneTask task = lw::api::FinetuneTask::kClassify;
  QString file;
  lw::train::ClassifyOptions classify;
  lw::train::NerOptions ner;
  QString tokenizerDir;  // empty: no truncation report
  qint64 maxLen = 128;
};

class FinetuneWorker : public QObject {
  Q_OBJECT
 public:
  explicit FinetuneWorker(LiveBuffer* live, QObject* parent = nullptr);
  ~FinetuneWorker() override;

  // Thread-safe: asks a running training to stop at the next step (last checkpoint kept).
  void requestStop() { m_stop = true; }

  // Run on the worker thread (the page posts them with QMetaObject::invokeMethod).
  void preview(int requestId, const PreviewRequest& request);
  void train(const lw::api::FinetuneConfig& config);
  // runId 0: the newest cancelled or interrupted classify/NER run of the project.
  void resume(const QString& projectDir, qint64 runId);
  void loadPredictor(const QString& modelDir, const QString& device);
  void predict(const QString& text);

 signals:
  void previewReady(int requestId, const lw::api::DatasetPreview& preview);
  void previewFailed(int requestId, const QString& error);
  void trainingStarted(qint64 resumedRunId);
  void trainingFinished(const lw::api::FinetuneReport& report);
  void trainingFailed(const QString& error, bool cancelled);
  void predictorLoaded(const QString& modelDir, const QString& task);
  void predictorFailed(const QString& error);
  void predicted(const QString& text, const lw::api::Prediction& prediction);
  void predictFailed(const QString& error);

 private:
  lw::api::FinetuneCallbacks callbacks();
  void finish(const lw::Result<lw::api::FinetuneReport>& result);

  LiveBuffer* m_live;
  std::atomic<bool> m_stop{false};
  lw::api::PredictorPtr m_predictor;
};
