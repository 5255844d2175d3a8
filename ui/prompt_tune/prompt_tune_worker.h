// PromptTuneWorker: the Prompt-tune page's engine side. It lives on its own QThread and runs
// every engine/api/prompt_tune.h call there (training, loading the Try-it model and table,
// generating), so the GUI thread never waits on the engine. Training progress goes into a
// mutex-guarded buffer the page drains on a timer (coalesced updates); one-off results come
// back as queued signals.
#pragma once
#include <QMap>
#include <QMetaType>
#include <QStringList>
#include <QMutex>
#include <QObject>
#include <QString>
#include <QVector>
#include <atomic>
#include <memory>

#include "engine/api/prompt_tune.h"

// What the page's form asks for; request() turns it into the engine's request.
struct PromptTuneJob {
  QString modelDir, tasksText, trainPath, devPath, projectDir, outPath;
  QString method = "prompt-tuning";  // or "p-tuning"
  QString encoder = "mlp";           // p-tuning: "mlp" or "lstm"
  int encoderHidden = 0;             // 0 = the model's width
  int encoderLayers = 2;
  double encoderDropout = 0;
  int epochs = 3, batch = 8;
  double lr = 0.03;
  QString init = "random";  // random | text | vocab (new tasks)
  QString initText;         // init = text
  QString initFrom;         // a prompt table to extend ("" = start empty)
  QString peftDir;          // also export a PEFT adapter folder ("" = no)
  QString device = "cpu";   // "cpu" or "cuda:N" (bf16 there, f32 on the CPU)
  int seed = 0;
  int warmupSteps = -1;     // -1: 10% of the steps
  lw::api::PromptTuneRequest request() const;
};
Q_DECLARE_METATYPE(PromptTuneJob)

using TaskFields = QMap<QString, QStringList>;

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
  void train(const PromptTuneJob& job);
  void loadTryIt(const QString& modelDir, const QString& tablePath);
  void generate(const QString& task, const QString& fieldsJson, int maxNewTokens);

 signals:
  void trainFinished(bool ok, const QString& message, double accBefore, double accAfter);
  // tasks in table order; fields: each task's template fields, the answer field left out.
  void tryItLoaded(bool ok, const QString& message, const QStringList& tasks, const TaskFields& fields);
  void generated(bool ok, const QString& text);

 private:
  QMutex m_mutex;
  QVector<PromptPoint> m_points;
  std::atomic<bool> m_stop{false};
  std::unique_ptr<lw::api::PlaygroundModel> m_model;
  std::unique_ptr<lw::train::PromptTable> m_table;
};
