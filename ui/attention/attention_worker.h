// AttentionWorker: runs on its own QThread; loads a model folder (kept until another folder is
// asked for) and captures attention through engine/api/attention.h, then prepares the page's
// data. The page talks to it only through queued signals, so the GUI thread never waits.
#pragma once
#include <QObject>
#include <QString>
#include <QVector>
#include <memory>

#include "ui/attention/attention_result.h"

struct AttentionJob {
  QString modelDir;
  QString text;             // used when ids is empty
  QVector<int> ids;         // token ids instead of text
  QVector<qint64> layers;   // empty = all
  QVector<qint64> heads;    // empty = all
  quint64 budgetBytes = 0;  // 0 = the engine's default
};
Q_DECLARE_METATYPE(AttentionJob)

class AttentionWorker : public QObject {
  Q_OBJECT
 public:
  explicit AttentionWorker(QObject* parent = nullptr);
  ~AttentionWorker() override;

  // Builds the page's view of a capture (labels, mask, pooled thumbnails); public for tests.
  static AttentionResultPtr prepare(lw::api::AttentionCapture capture, const QString& modelDir);

 public slots:
  void run(const AttentionJob& job);

 signals:
  void progress(const QString& stage);
  void finished(AttentionResultPtr result);
  void failed(const QString& message);

 private:
  std::unique_ptr<lw::api::AttentionModel> m_model;
  QString m_modelDir;
};
