// PromptTuneWorker: the Prompt-tune page's engine side. It lives on its own QThread and runs
// every engine/api/prompt_tune.h call there (training, loading the Try-it model and table,
// generating), so the GUI thread never waits on the engine. Training progress goes into a
// mutex-guarded buffer the page drains on a timer (coalesced updates); one-off results come
// back as queued signals.
#pragma once
#include <QMutex>
#include <QObject>
#include <QString>
#include <QVector>
#include <atomic>
#include <memory>

#include "engine/api/prompt_tune.h"

struct PromptPoint {
  qint64 step = 0;
  bool eval = false;
  double loss = 0, valLoss = 0, valAccuracy = 0;
};

class PromptTuneWorker : public QObject {
  Q_OBJECT
 public:
  // Thread-safe: what arrived since the last call.
  QVector<PromptPoint> takePoints();
  void requestStop() { m_stop.store(true); }

 public slots:
  void train(const QString& modelDir, const QString& tasksJson, const QString& trainPath,
             const QString& devPath, const QString& projectDir, const QString& outPath,
             const QString& method, const QString& encoder, int epochs, double lr, int batch);
  void loadTryIt(const QString& modelDir, const QString& tablePath);
  void generate(const QString& task, const QString& fieldsJson, int maxNewTokens);

 signals:
  void trainFinished(bool ok, const QString& message, double accBefore, double accAfter);
  void tryItLoaded(bool ok, const QString& message, const QStringList& tasks);
  void generated(bool ok, const QString& text);

 private:
  QMutex m_mutex;
  QVector<PromptPoint> m_points;
  std::atomic<bool> m_stop{false};
  std::unique_ptr<lw::api::PlaygroundModel> m_model;
  std::unique_ptr<lw::train::PromptTable> m_table;
};
