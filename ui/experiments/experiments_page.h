// ExperimentsPage: browse a project's runs. A sortable, filterable runs table;
// the selected runs' metric curves overlaid in a MetricPlot (one panel per
// checked metric); the current run's details; delete and CSV export. All store
// access goes through a StoreWorker on its own thread, which also polls for
// changes so runs written by another process appear live.
#pragma once
#include <QHash>
#include <QWidget>
#include <functional>

#include "ui/experiments/store_worker.h"

class MetricPlot;
class QComboBox;
class QLineEdit;
class QListWidget;
class QPushButton;
class QTableView;
class QThread;
class QToolButton;
class RunDetailsView;
class RunFilterProxy;
class RunTableModel;

class ExperimentsPage : public QWidget {
  Q_OBJECT
 public:
  // Asks before deleting; returns true to delete. *deleteFiles: also remove artifact files.
  using Confirmer = std::function<bool(QWidget* parent, const QString& text, bool* deleteFiles)>;
  // Asks for a file to write; empty = cancelled.
  using SavePathChooser = std::function<QString(QWidget* parent, const QString& title, const QString& suggested)>;

  explicit ExperimentsPage(QWidget* parent = nullptr, int pollMs = 1000);
  ~ExperimentsPage() override;

  void setProject(const QString& dir);  // empty = close
  QString projectDir() const { return m_dir; }
  void setConfirmer(Confirmer c) { m_confirm = std::move(c); }
  void setSavePathChooser(SavePathChooser c) { m_choosePath = std::move(c); }

  // Selects these runs in the table (by id), as a user would.
  void selectRuns(const QList<qint64>& ids);
  QList<qint64> selectedRunIds() const;  // in table order
  void setCheckedMetrics(const QStringList& names);
  QStringList checkedMetrics() const;

  void deleteSelectedRuns();
  bool exportTableCsv(const QString& path, QString* error = nullptr) const;
  void exportSelectedRunCsv();

  RunTableModel* model() const { return m_model; }
  RunFilterProxy* proxy() const { return m_proxy; }
  QTableView* table() const { return m_table; }
  MetricPlot* plot() const { return m_plot; }
  QListWidget* metricList() const { return m_metricList; }
  RunDetailsView* details() const { return m_details; }

 signals:
  void runsReloaded(int count);      // the table now shows the store's runs
  void plotUpdated(int seriesCount); // the plot now shows the selection's curves
  void detailsShown(qint64 runId);
  void runsDeleted(const QList<qint64>& ids);
  void statusMessage(const QString& text);

 private:
  QWidget* buildToolbar();
  void onRunsLoaded(const RunRecordList& runs);
  void onCurvesLoaded(quint64 request, const RunCurvesList& curves);
  void onSelectionChanged();
  void requestSelectionData();
  void rebuildMetricList();
  void updatePlot();
  void updateFilterChoices();
  void updateMetricColumnsMenu();
  void fitColumns();

  QString m_dir;
  QThread* m_thread = nullptr;
  StoreWorker* m_worker = nullptr;
  RunTableModel* m_model = nullptr;
  RunFilterProxy* m_proxy = nullptr;
  QTableView* m_table = nullptr;
  QLineEdit* m_search = nullptr;
  QComboBox* m_kindFilter = nullptr;
  QComboBox* m_statusFilter = nullptr;
  QToolButton* m_columnsButton = nullptr;
  QPushButton* m_deleteButton = nullptr;
  QToolButton* m_exportButton = nullptr;
  QListWidget* m_metricList = nullptr;
  MetricPlot* m_plot = nullptr;
  RunDetailsView* m_details = nullptr;

  QHash<qint64, RunCurves> m_curves;  // of the selected runs, as last loaded
  QStringList m_checkedMetrics;       // remembered across selections
  quint64 m_curvesRequest = 0, m_detailsRequest = 0;
  bool m_fittedOnce = false;
  Confirmer m_confirm;
  SavePathChooser m_choosePath;
};
