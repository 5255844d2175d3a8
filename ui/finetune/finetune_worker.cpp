// The worker turns engine results into queued signals. Engine errors arrive as lw::Status
// and are shown as their message (they already name the file, line or field at fault).
#include "ui/finetune/finetune_worker.h"

#include <QMutexLocker>

#include "engine/api/experiment_store.h"

void LiveBuffer::pushStep(const lw::api::FinetuneProgress& p) {
  QMutexLocker lock(&m_mutex);
  m_batch.steps.push_back(p);
}

void LiveBuffer::pushEval(const lw::api::EvalMetrics& e) {
  QMutexLocker lock(&m_mutex);
  m_batch.evals.push_back(e);
}

void LiveBuffer::pushMessage(const QString& line) {
  QMutexLocker lock(&m_mutex);
  m_batch.messages.push_back(line);
}

LiveBuffer::Batch LiveBuffer::take() {
  QMutexLocker lock(&m_mutex);
  Batch out = std::move(m_batch);
  m_batch = Batch();
  return out;
}

FinetuneWorker::FinetuneWorker(LiveBuffer* live, QObject* parent) : QObject(parent), m_live(live) {
  qRegisterMetaType<lw::api::DatasetPreview>();
  qRegisterMetaType<lw::api::FinetuneReport>();
  qRegisterMetaType<lw::api::Prediction>();
}

FinetuneWorker::~FinetuneWorker() = default;

void FinetuneWorker::preview(int requestId, const PreviewRequest& r) {
  auto result = lw::api::preview_dataset(r.task, r.file.toStdString(), r.classify, r.ner,
                                         r.tokenizerDir.toStdString(), r.maxLen, 12);
  if (result.is_ok()) emit previewReady(requestId, result.value());
  else emit previewFailed(requestId, QString::fromStdString(result.status().message()));
}

lw::api::FinetuneCallbacks FinetuneWorker::callbacks() {
  lw::api::FinetuneCallbacks cb;
  cb.on_step = [this](const lw::api::FinetuneProgress& p) { m_live->pushStep(p); };
  cb.on_eval = [this](const lw::api::EvalMetrics& e) { m_live->pushEval(e); };
  cb.on_message = [this](const std::string& line) { m_live->pushMessage(QString::fromStdString(line)); };
  cb.cancel = [this] { return m_stop.load(); };
  return cb;
}

void FinetuneWorker::finish(const lw::Result<lw::api::FinetuneReport>& result) {
  const bool stopped = m_stop.exchange(false);
  if (result.is_ok()) {
    emit trainingFinished(result.value());
  } else {
    const bool cancelled = stopped || result.status().code() == lw::StatusCode::kCancelled;
    emit trainingFailed(QString::fromStdString(result.status().message()), cancelled);
  }
}

void FinetuneWorker::train(const lw::api::FinetuneConfig& config) {
  m_stop = false;
  emit trainingStarted(0);
  finish(lw::api::run_finetune(config, callbacks()));
}

void FinetuneWorker::resume(const QString& projectDir, qint64 runId) {
  m_stop = false;
  if (runId <= 0) {
    auto latest = lw::api::latest_resumable_finetune_run(projectDir.toStdString());
    if (!latest.is_ok()) {
      emit trainingFailed(QString::fromStdString(latest.status().message()), false);
      return;
    }
    runId = latest.value();
    if (runId <= 0) {
      emit trainingFailed(tr("No stopped or interrupted fine-tuning run to resume in %1.").arg(projectDir), false);
      return;
    }
  }
  emit trainingStarted(runId);
  finish(lw::api::resume_finetune(projectDir.toStdString(), runId, callbacks()));
}

void FinetuneWorker::loadPredictor(const QString& modelDir, const QString& device) {
  m_predictor.reset();
  auto p = lw::api::load_predictor(modelDir.toStdString(), device.toStdString());
  if (!p.is_ok()) {
    emit predictorFailed(QString::fromStdString(p.status().message()));
    return;
  }
  m_predictor = std::move(p.value());
  emit predictorLoaded(modelDir, QString::fromUtf8(lw::api::finetune_task_name(lw::api::predictor_task(*m_predictor))));
}

void FinetuneWorker::predict(const QString& text) {
  if (!m_predictor) {
    emit predictFailed(tr("No model is loaded: train one, or choose a fine-tuned folder."));
    return;
  }
  auto p = lw::api::predict(*m_predictor, text.toStdString());
  if (p.is_ok()) emit predicted(text, p.value());
  else emit predictFailed(QString::fromStdString(p.status().message()));
}
