// RunTableModel: the runs of a project as table rows (id, kind, name, model,
// status, start, duration, then one column per chosen final metric). Display
// text is formatted; SortRole holds raw numbers so sorting is numeric.
#pragma once
#include <QAbstractTableModel>
#include <QStringList>
#include <QVector>

#include "engine/api/experiment_store.h"

class RunTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { kId, kKind, kName, kModel, kStatus, kStarted, kDuration, kFixedColumns };
  static constexpr int SortRole = Qt::UserRole;
  static constexpr int RunIdRole = Qt::UserRole + 1;

  explicit RunTableModel(QObject* parent = nullptr);

  // Same run ids in the same order: rows update in place (selection survives);
  // otherwise the model resets.
  void setRuns(const QVector<lw::RunRecord>& runs);
  void setMetricColumns(const QStringList& names);
  QStringList metricColumns() const { return m_metricColumns; }
  QStringList allMetricNames() const;  // every final metric name over all runs, sorted

  const lw::RunRecord& runAt(int row) const { return m_runs[row]; }
  int rowOfRun(qint64 id) const;
  static QString runLabel(const lw::RunRecord& run);  // "#12 sst2-small"

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 private:
  QVariant displayValue(const lw::RunRecord& run, int column) const;
  QVariant sortValue(const lw::RunRecord& run, int column) const;
  double duration(const lw::RunRecord& run) const;

  QVector<lw::RunRecord> m_runs;
  QStringList m_metricColumns;
};
