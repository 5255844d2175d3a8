// Formatting rules for the runs table: times in local time, durations short
// ("3m 12s"), metrics with 4 significant digits; a running run's duration
// counts up to now.
#include "ui/experiments/run_table_model.h"

#include <QColor>
#include <QDateTime>
#include <QFont>
#include <cmath>
#include <set>

namespace {

QString formatDuration(double seconds) {
  if (seconds <= 0) return QString();
  const qint64 s = qint64(std::llround(seconds));
  if (s < 60) return QStringLiteral("%1s").arg(s);
  if (s < 3600) return QStringLiteral("%1m %2s").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
  return QStringLiteral("%1h %2m").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QChar('0'));
}

QColor statusColor(lw::RunStatus s) {
  switch (s) {
    case lw::RunStatus::kOk: return QColor(46, 160, 67);
    case lw::RunStatus::kFailed: return QColor(215, 58, 73);
    case lw::RunStatus::kRunning: return QColor(42, 130, 218);
    case lw::RunStatus::kInterrupted: return QColor(219, 135, 20);
    case lw::RunStatus::kCancelled: return QColor(140, 140, 140);
    case lw::RunStatus::kCreated: break;
  }
  return QColor();
}

const double* finalMetric(const lw::RunRecord& run, const QString& name) {
  const std::string key = name.toStdString();
  for (const auto& [n, v] : run.final_metrics)
    if (n == key) return &v;
  return nullptr;
}

}  // namespace

RunTableModel::RunTableModel(QObject* parent) : QAbstractTableModel(parent) {}

QString RunTableModel::runLabel(const lw::RunRecord& run) {
  const std::string& name = run.name.empty() ? run.kind : run.name;
  return QStringLiteral("#%1 %2").arg(run.id).arg(QString::fromStdString(name));
}

void RunTableModel::setRuns(const QVector<lw::RunRecord>& runs) {
  bool sameIds = runs.size() == m_runs.size();
  for (int i = 0; sameIds && i < runs.size(); ++i) sameIds = runs[i].id == m_runs[i].id;
  if (sameIds) {
    m_runs = runs;
    if (!m_runs.isEmpty()) emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
    return;
  }
  beginResetModel();
  m_runs = runs;
  endResetModel();
}

void RunTableModel::setMetricColumns(const QStringList& names) {
  if (names == m_metricColumns) return;
  beginResetModel();
  m_metricColumns = names;
  endResetModel();
}

QStringList RunTableModel::allMetricNames() const {
  std::set<QString> names;
  for (const auto& run : m_runs)
    for (const auto& m : run.final_metrics) names.insert(QString::fromStdString(m.first));
  return QStringList(names.begin(), names.end());
}

int RunTableModel::rowOfRun(qint64 id) const {
  for (int i = 0; i < m_runs.size(); ++i)
    if (m_runs[i].id == id) return i;
  return -1;
}

int RunTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : m_runs.size();
}

int RunTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kFixedColumns + m_metricColumns.size();
}

double RunTableModel::duration(const lw::RunRecord& run) const {
  if (run.started <= 0) return 0;
  double end = run.ended;
  if (end <= 0) end = run.status == lw::RunStatus::kRunning
                          ? QDateTime::currentMSecsSinceEpoch() / 1000.0
                          : run.heartbeat;
  return std::max(0.0, end - run.started);
}

QVariant RunTableModel::displayValue(const lw::RunRecord& run, int column) const {
  switch (column) {
    case kId: return QVariant::fromValue(run.id);
    case kKind: return QString::fromStdString(run.kind);
    case kName: return QString::fromStdString(run.name);
    case kModel: return QString::fromStdString(run.model);
    case kStatus: return QString::fromLatin1(lw::run_status_name(run.status));
    case kStarted: {
      const double t = run.started > 0 ? run.started : run.created;
      if (t <= 0) return QString();
      return QDateTime::fromMSecsSinceEpoch(qint64(t * 1000)).toString("yyyy-MM-dd HH:mm");
    }
    case kDuration: return formatDuration(duration(run));
    default: {
      const double* v = finalMetric(run, m_metricColumns.value(column - kFixedColumns));
      return v ? QString::number(*v, 'g', 4) : QString();
    }
  }
}

QVariant RunTableModel::sortValue(const lw::RunRecord& run, int column) const {
  switch (column) {
    case kId: return QVariant::fromValue(run.id);
    case kStarted: return run.started > 0 ? run.started : run.created;
    case kDuration: return duration(run);
    case kStatus: return int(run.status);
    default:
      if (column >= kFixedColumns) {
        const double* v = finalMetric(run, m_metricColumns.value(column - kFixedColumns));
        return v ? *v : -std::numeric_limits<double>::infinity();  // runs without it sort first
      }
      return displayValue(run, column).toString().toLower();
  }
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= m_runs.size()) return {};
  const lw::RunRecord& run = m_runs[index.row()];
  const int col = index.column();
  switch (role) {
    case Qt::DisplayRole: return displayValue(run, col);
    case SortRole: return sortValue(run, col);
    case RunIdRole: return QVariant::fromValue(run.id);
    case Qt::TextAlignmentRole:
      if (col == kId || col == kDuration || col >= kFixedColumns)
        return int(Qt::AlignRight | Qt::AlignVCenter);
      return int(Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::ForegroundRole:
      if (col == kStatus) return statusColor(run.status);
      return {};
    case Qt::ToolTipRole:
      if (col == kStatus && !run.error_message.empty())
        return QString::fromStdString(run.error_message);
      if (col == kName || col == kModel)
        return QStringLiteral("%1\nmodel: %2\ndataset: %3")
            .arg(runLabel(run), QString::fromStdString(run.model), QString::fromStdString(run.dataset));
      return {};
    default: return {};
  }
}

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* kHeaders[] = {"ID", "Kind", "Name", "Model", "Status", "Started", "Duration"};
  if (section < kFixedColumns) return tr(kHeaders[section]);
  return m_metricColumns.value(section - kFixedColumns);
}
