// StoreWorker implementation. The reader connection is read-only (it never
// migrates or writes); the project is opened once writable so an older schema
// is migrated and runs of dead writers are marked interrupted, and that check
// is repeated every few seconds so a run killed while we watch shows it.
#include "ui/experiments/store_worker.h"

#include <QDir>
#include <QFileInfo>
#include <QTimer>

#include "engine/core/log.h"

namespace {
QString qs(const lw::Status& s) { return QString::fromStdString(s.to_string()); }
constexpr int kLivenessEveryPolls = 5;
}  // namespace

StoreWorker::StoreWorker(int pollMs) : m_pollMs(pollMs) {
  qRegisterMetaType<RunRecordList>();
  qRegisterMetaType<RunCurvesList>();
  qRegisterMetaType<RunDetails>();
  qRegisterMetaType<QList<qint64>>();
}

StoreWorker::~StoreWorker() = default;

void StoreWorker::fail(const QString& message) {
  lw::log_error(message.toStdString());
  emit failed(message);
}

void StoreWorker::openProject(const QString& dir) {
  closeProject();
  m_dir = dir;
  const std::string d = dir.toStdString();
  {
    // Creates a missing store, migrates an old one, marks dead writers' runs.
    auto writer = lw::ExperimentStore::open(d, true);
    if (!writer.is_ok())
      lw::log_warn("opening " + d + " read-only: " + writer.status().to_string());
  }
  auto reader = lw::ExperimentStore::open_read_only(d);
  if (!reader.is_ok()) {
    const QString error = qs(reader.status());
    lw::log_error(error.toStdString());
    emit projectOpened(dir, error);
    return;
  }
  m_reader = std::move(reader).value();
  lw::log_info("opened experiment store " + m_reader->path());
  emit projectOpened(dir, QString());
  if (!m_timer) {
    m_timer = new QTimer(this);  // created here so it lives in the worker thread
    connect(m_timer, &QTimer::timeout, this, &StoreWorker::poll);
  }
  m_timer->start(m_pollMs);
  reloadRuns();
}

void StoreWorker::closeProject() {
  if (m_timer) m_timer->stop();
  m_reader.reset();
  m_dir.clear();
  m_lastCounter = -1;
}

void StoreWorker::reloadRuns() {
  if (!m_reader) return;
  auto counter = m_reader->change_counter();
  auto runs = m_reader->list_runs();
  if (!runs.is_ok()) return fail(qs(runs.status()));
  if (counter.is_ok()) m_lastCounter = counter.value();
  RunRecordList list(runs.value().begin(), runs.value().end());
  emit runsLoaded(list);
}

void StoreWorker::poll() {
  if (!m_reader) return;
  if (++m_pollsSinceLivenessCheck >= kLivenessEveryPolls) {
    m_pollsSinceLivenessCheck = 0;
    // Best effort: a store we may not write to (read-only folder) simply skips this.
    auto writer = lw::ExperimentStore::open(m_dir.toStdString(), false);
    if (writer.is_ok()) (void)writer.value()->mark_dead_runs_interrupted();
  }
  auto counter = m_reader->change_counter();
  if (!counter.is_ok()) return fail(qs(counter.status()));
  if (counter.value() != m_lastCounter) reloadRuns();
}

void StoreWorker::loadCurves(quint64 request, const QList<qint64>& runIds) {
  if (!m_reader) return;
  RunCurvesList out;
  for (qint64 id : runIds) {
    RunCurves rc;
    rc.runId = id;
    auto names = m_reader->metric_names(id);
    if (!names.is_ok()) continue;  // deleted meanwhile: the next runsLoaded drops it
    for (const auto& name : names.value()) {
      auto series = m_reader->read_metric(id, name);
      if (!series.is_ok()) continue;
      MetricCurve c;
      c.name = QString::fromStdString(name);
      c.steps.reserve(int(series->steps.size()));
      for (auto s : series->steps) c.steps.append(double(s));
      c.values = QVector<double>(series->values.begin(), series->values.end());
      rc.curves.append(c);
    }
    out.append(rc);
  }
  emit curvesLoaded(request, out);
}

void StoreWorker::loadDetails(quint64 request, qint64 runId) {
  if (!m_reader) return;
  RunDetails d;
  auto run = m_reader->get_run(runId);
  if (!run.is_ok()) return;  // deleted meanwhile
  d.run = run.value();
  if (auto a = m_reader->artifacts(runId); a.is_ok()) d.artifacts = a.value();
  if (auto s = m_reader->system_info(runId); s.is_ok()) d.system = s.value();
  emit detailsLoaded(request, d);
}

std::unique_ptr<lw::ExperimentStore> StoreWorker::openWriter() {
  auto writer = lw::ExperimentStore::open(m_dir.toStdString(), false);
  if (!writer.is_ok()) {
    fail(qs(writer.status()));
    return nullptr;
  }
  return std::move(writer).value();
}

void StoreWorker::deleteRuns(const QList<qint64>& runIds, bool deleteFiles) {
  auto writer = openWriter();
  if (!writer) return emit runsDeleted({}, tr("cannot open the store for writing"));
  QList<qint64> done;
  QString error;
  for (qint64 id : runIds) {
    lw::Status st = writer->delete_run(id, deleteFiles);
    if (!st.is_ok()) {
      error = qs(st);
      lw::log_error(error.toStdString());
      break;
    }
    lw::log_info("deleted run #" + std::to_string(id));
    done.append(id);
  }
  emit runsDeleted(done, error);
  reloadRuns();
}

void StoreWorker::saveNotes(qint64 runId, const QString& notes) {
  auto writer = openWriter();
  if (!writer) return emit notesSaved(runId, tr("cannot open the store for writing"));
  lw::Status st = writer->set_notes(runId, notes.toStdString());
  if (!st.is_ok()) lw::log_error(st.to_string());
  emit notesSaved(runId, st.is_ok() ? QString() : qs(st));
}

void StoreWorker::exportRunCsv(qint64 runId, const QString& path) {
  if (!m_reader) return;
  lw::Status st = m_reader->export_run_csv(runId, path.toStdString());
  if (st.is_ok())
    lw::log_info("exported run #" + std::to_string(runId) + " to " + path.toStdString());
  else
    lw::log_error(st.to_string());
  emit runExported(path, st.is_ok() ? QString() : qs(st));
}
