// The Prompt-tune page's worker (see prompt_tune_worker.h): engine calls on its own thread.
#include "ui/prompt_tune/prompt_tune_worker.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QMutexLocker>
#include <QVariant>

QVector<PromptPoint> PromptTuneWorker::takePoints() {
  QMutexLocker lock(&m_mutex);
  QVector<PromptPoint> out;
  out.swap(m_points);
  return out;
}

lw::api::PromptTuneRequest PromptTuneJob::request() const {
  lw::api::PromptTuneRequest r;
  r.model_dir = modelDir.toStdString();
  r.tasks_json = tasksText.toStdString();
  r.train_path = trainPath.toStdString();
  r.dev_path = devPath.toStdString();
  r.project_dir = projectDir.toStdString();
  r.out_path = outPath.toStdString();
  auto& e = r.config.encoder;
  e.type = method == "prompt-tuning" ? lw::train::EncoderType::kNone
           : encoder == "lstm"       ? lw::train::EncoderType::kLstm
                                     : lw::train::EncoderType::kMlp;
  if (e.type != lw::train::EncoderType::kNone) {  // encoder settings belong to p-tuning only
    e.hidden = encoderHidden;
    e.layers = encoderLayers;
    e.dropout = float(encoderDropout);
  }
  r.config.epochs = epochs;
  r.config.lr = float(lr);
  r.config.batch = batch;
  r.config.init = init.toStdString();
  r.config.init_text = initText.toStdString();
  r.config.seed = uint64_t(seed);
  r.config.warmup_steps = warmupSteps;
  r.init_from = initFrom.toStdString();
  r.peft_dir = peftDir.toStdString();
  // The page's combo offers only parsable names (cpu, cuda:N); anything else stays on the CPU.
  if (auto d = lw::parse_device(device.toStdString()); d.is_ok()) r.device = *d;
  r.dtype = r.device.is_cuda() ? lw::DType::kBF16 : lw::DType::kF32;
  r.config.max_new_tokens = 4;
  return r;
}

void PromptTuneWorker::train(const PromptTuneJob& job) {
  m_stop.store(false);
  const lw::api::PromptTuneRequest r = job.request();
  const QString outPath = job.outPath;
  auto out = lw::api::tune_prompt(r, [this](const lw::train::PromptProgress& p) {
    QMutexLocker lock(&m_mutex);
    m_points.push_back({p.step, p.eval, p.loss, p.val_loss, p.val_accuracy});
    return !m_stop.load();
  });
  if (!out.is_ok()) {
    emit trainFinished(false, QString::fromStdString(out.status().message()), 0, 0);
    return;
  }
  const auto& res = out->result;
  QString msg = QString("%1 after %2 steps, final loss %3; table written to %4")
                    .arg(res.cancelled ? "Stopped" : "Trained")
                    .arg(res.steps)
                    .arg(res.losses.empty() ? 0.0 : res.losses.back(), 0, 'f', 4)
                    .arg(outPath);
  emit trainFinished(true, msg, res.val_accuracy_before, res.val_accuracy);
}

void PromptTuneWorker::loadTryIt(const QString& modelDir, const QString& tablePath) {
  auto m = lw::api::load_playground_model(modelDir.toStdString());
  if (!m.is_ok()) {
    emit tryItLoaded(false, QString::fromStdString(m.status().message()), {}, {});
    return;
  }
  auto t = lw::api::load_table_for(**m, tablePath.toStdString());
  if (!t.is_ok()) {
    emit tryItLoaded(false, QString::fromStdString(t.status().message()), {}, {});
    return;
  }
  m_model = std::move(*m);
  m_table = std::make_unique<lw::train::PromptTable>(std::move(*t));
  QStringList tasks;
  TaskFields fields;
  for (const auto& e : m_table->tasks) {
    tasks << QString::fromStdString(e.task.taskname);
    for (const auto& f : e.task.fields())
      if (f != e.task.answer_field) fields[tasks.back()] << QString::fromStdString(f);
  }
  emit tryItLoaded(true, QString("Loaded %1 task(s)").arg(tasks.size()), tasks, fields);
}

void PromptTuneWorker::generate(const QString& task, const QString& fieldsJson, int maxNewTokens) {
  if (!m_model || !m_table) {
    emit generated(false, "Load a model and a prompt table first");
    return;
  }
  const QJsonDocument doc = QJsonDocument::fromJson(fieldsJson.toUtf8());
  if (!doc.isObject()) {
    emit generated(false, "Fields must be a JSON object, e.g. {\"sentence\": \"great phone\"}");
    return;
  }
  std::map<std::string, std::string> fields;
  const QJsonObject obj = doc.object();
  for (auto it = obj.begin(); it != obj.end(); ++it)
    fields[it.key().toStdString()] = it.value().toVariant().toString().toStdString();
  lw::GenerateRequest req;
  req.params.greedy = true;
  req.params.max_new_tokens = maxNewTokens;
  auto r = lw::api::generate_with_table(*m_model, *m_table, task.toStdString(), fields, req);
  if (!r.is_ok()) {
    emit generated(false, QString::fromStdString(r.status().message()));
    return;
  }
  const auto& s = r->sequences[0];
  QString text = QString::fromStdString(s.text);
  if (!m_model->tokenizer) {
    QStringList ids;
    for (int32_t id : s.ids) ids << QString::number(id);
    text = ids.join(',');
  }
  emit generated(true, text);
}
