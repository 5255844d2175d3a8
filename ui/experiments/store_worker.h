// StoreWorker: the Experiments page's own ExperimentStore connection, living in
// a worker QThread so the GUI thread never waits on SQLite. It polls the
// store's change_counter about once a second (live refresh while another
// process writes) and answers requests with queued signals. Writes (delete,
// notes) go through a short-lived writable connection.
#pragma once
#include <QList>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QVector>
#include <memory>
#include <vector>

#include "engine/api/experiment_store.h"

class QTimer;

struct MetricCurve {
  QString name;
  QVector<double> steps, values;
};

struct RunCurves {
  qint64 runId = 0;
  QVector<MetricCurve> curves;
};

struct RunDetails {
  lw::RunRecord run;
  std::vector<lw::Artifact> artifacts;
  lw::SystemInfo system;
};

using RunRecordList = QVector<lw::RunRecord>;
using RunCurvesList = QVector<RunCurves>;
Q_DECLARE_METATYPE(RunRecordList)
Q_DECLARE_METATYPE(RunCurvesList)
Q_DECLARE_METATYPE(RunDetails)

class StoreWorker : public QObject {
  Q_OBJECT
 public:
  explicit StoreWorker(int pollMs = 1000);
  ~StoreWorker() override;

  // All of these run in the worker thread (call through QMetaObject::invokeMethod).
  void openProject(const QString& dir);
  void closeProject();
  void reloadRuns();
  void loadCurves(quint64 request, const QList<qint64>& runIds);
  void loadDetails(quint64 request, qint64 runId);
  void deleteRuns(const QList<qint64>& runIds, bool deleteFiles);
  void saveNotes(qint64 runId, const QString& notes);
  void exportRunCsv(qint64 runId, const QString& path);
  void poll();

 signals:
  void projectOpened(const QString& dir, const QString& error);  // error empty = ok
  void runsLoaded(const RunRecordList& runs);
  void curvesLoaded(quint64 request, const RunCurvesList& curves);
  void detailsLoaded(quint64 request, const RunDetails& details);
  void runsDeleted(const QList<qint64>& runIds, const QString& error);
  void notesSaved(qint64 runId, const QString& error);
  void runExported(const QString& path, const QString& error);
  void failed(const QString& message);  // also sent to the engine log

 private:
  // A writable connection for one operation; null (and failed emitted) on error.
  std::unique_ptr<lw::ExperimentStore> openWriter();
  void fail(const QString& message);

  QString m_dir;
  std::unique_ptr<lw::ExperimentStore> m_reader;
  QTimer* m_timer = nullptr;
  int m_pollMs;
  int64_t m_lastCounter = -1;
  int m_pollsSinceLivenessCheck = 0;
};
