// ExperimentsPage implementation. Requests to the worker carry a sequence
// number; answers to an older request (the selection moved on meanwhile) are
// dropped, so fast clicking never shows curves of runs no longer selected.
#include "ui/experiments/experiments_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QSplitter>
#include <QTableView>
#include <QThread>
#include <QToolButton>
#include <QVBoxLayout>

#include "ui/app_settings.h"
#include "ui/experiments/run_details_view.h"
#include "ui/experiments/run_filter_proxy.h"
#include "ui/experiments/run_table_model.h"
#include "widgets/metric_plot.h"

namespace {

bool askToDelete(QWidget* parent, const QString& text, bool* deleteFiles) {
  QMessageBox box(QMessageBox::Warning, QObject::tr("Delete runs"), text,
                  QMessageBox::Yes | QMessageBox::Cancel, parent);
  box.setDefaultButton(QMessageBox::Cancel);
  auto* files = new QCheckBox(QObject::tr("Also delete artifact files inside the project folder"));
  box.setCheckBox(files);
  const bool yes = box.exec() == QMessageBox::Yes;
  *deleteFiles = files->isChecked();
  return yes;
}

QString askSavePath(QWidget* parent, const QString& title, const QString& suggested) {
  return QFileDialog::getSaveFileName(parent, title, suggested, QObject::tr("CSV files (*.csv)"));
}

QString csvField(QString s) {
  if (s.contains(',') || s.contains('"') || s.contains('\n')) s = '"' + s.replace("\"", "\"\"") + '"';
  return s;
}

}  // namespace

ExperimentsPage::ExperimentsPage(QWidget* parent, int pollMs)
    : QWidget(parent), m_confirm(askToDelete), m_choosePath(askSavePath) {
  m_thread = new QThread(this);
  m_thread->setObjectName("ExperimentsStore");
  m_worker = new StoreWorker(pollMs);
  m_worker->moveToThread(m_thread);
  connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  m_thread->start();

  m_model = new RunTableModel(this);
  m_proxy = new RunFilterProxy(this);
  m_proxy->setSourceModel(m_model);
  m_table = new QTableView(this);
  m_table->setModel(m_proxy);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(RunTableModel::kId, Qt::DescendingOrder);
  m_table->setAlternatingRowColors(true);
  m_table->setWordWrap(false);
  m_table->verticalHeader()->hide();
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
  m_table->horizontalHeader()->setStretchLastSection(false);
  m_table->horizontalHeader()->setHighlightSections(false);
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);

  m_metricList = new QListWidget(this);
  m_metricList->setToolTip(tr("Check the metrics to plot; each gets its own panel"));
  m_plot = new MetricPlot(this);
  m_details = new RunDetailsView(this);

  auto* metricPanel = new QWidget(this);
  auto* metricLayout = new QVBoxLayout(metricPanel);
  metricLayout->setContentsMargins(0, 0, 0, 0);
  metricLayout->addWidget(new QLabel(tr("<b>Metrics</b>"), metricPanel));
  metricLayout->addWidget(m_metricList);

  auto* bottom = new QSplitter(Qt::Horizontal, this);
  bottom->addWidget(metricPanel);
  bottom->addWidget(m_plot);
  bottom->addWidget(m_details);
  bottom->setStretchFactor(1, 1);
  bottom->setSizes({170, 700, 330});
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(m_table);
  split->addWidget(bottom);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(buildToolbar());
  layout->addWidget(split, 1);

  connect(m_worker, &StoreWorker::runsLoaded, this, &ExperimentsPage::onRunsLoaded);
  connect(m_worker, &StoreWorker::curvesLoaded, this, &ExperimentsPage::onCurvesLoaded);
  connect(m_worker, &StoreWorker::detailsLoaded, this, [this](quint64 req, const RunDetails& d) {
    if (req != m_detailsRequest) return;
    m_details->showDetails(d);
    emit detailsShown(d.run.id);
  });
  connect(m_worker, &StoreWorker::runsDeleted, this, [this](const QList<qint64>& ids, const QString& error) {
    emit statusMessage(error.isEmpty() ? tr("Deleted %n run(s)", nullptr, int(ids.size())) : error);
    emit runsDeleted(ids);
  });
  connect(m_worker, &StoreWorker::notesSaved, this, [this](qint64 id, const QString& error) {
    if (error.isEmpty() && id == m_details->runId()) m_details->markNotesSaved();
    emit statusMessage(error.isEmpty() ? tr("Notes saved") : error);
  });
  connect(m_worker, &StoreWorker::runExported, this, [this](const QString& path, const QString& error) {
    emit statusMessage(error.isEmpty() ? tr("Exported %1").arg(path) : error);
  });
  connect(m_worker, &StoreWorker::failed, this, &ExperimentsPage::statusMessage);
  connect(m_details, &RunDetailsView::saveNotesRequested, this, [this](qint64 id, const QString& notes) {
    QMetaObject::invokeMethod(m_worker, [w = m_worker, id, notes] { w->saveNotes(id, notes); });
  });
  connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &ExperimentsPage::onSelectionChanged);
  connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          &ExperimentsPage::onSelectionChanged);
  connect(m_metricList, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
    m_checkedMetrics.removeAll(item->text());
    if (item->checkState() == Qt::Checked) m_checkedMetrics.append(item->text());
    updatePlot();
  });
}

ExperimentsPage::~ExperimentsPage() {
  m_thread->quit();  // the worker (and its poll timer) is deleted in its own thread
  m_thread->wait();
}

QWidget* ExperimentsPage::buildToolbar() {
  auto* bar = new QWidget(this);
  m_search = new QLineEdit(bar);
  m_search->setPlaceholderText(tr("Filter by name, model, dataset, tag…"));
  m_search->setClearButtonEnabled(true);
  m_search->setMinimumWidth(260);
  m_kindFilter = new QComboBox(bar);
  m_kindFilter->addItem(tr("All kinds"), QString());
  m_kindFilter->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  m_statusFilter = new QComboBox(bar);
  m_statusFilter->addItem(tr("All statuses"), QString());
  for (auto s : {lw::RunStatus::kRunning, lw::RunStatus::kOk, lw::RunStatus::kFailed,
                 lw::RunStatus::kCancelled, lw::RunStatus::kInterrupted, lw::RunStatus::kCreated})
    m_statusFilter->addItem(QString::fromLatin1(lw::run_status_name(s)), QString::fromLatin1(lw::run_status_name(s)));
  m_columnsButton = new QToolButton(bar);
  m_columnsButton->setText(tr("Metric columns"));
  m_columnsButton->setPopupMode(QToolButton::InstantPopup);
  m_columnsButton->setMenu(new QMenu(m_columnsButton));
  connect(m_columnsButton->menu(), &QMenu::aboutToShow, this, &ExperimentsPage::updateMetricColumnsMenu);
  m_exportButton = new QToolButton(bar);
  m_exportButton->setText(tr("Export CSV"));
  m_exportButton->setPopupMode(QToolButton::InstantPopup);
  auto* exportMenu = new QMenu(m_exportButton);
  exportMenu->addAction(tr("Runs table as CSV…"), this, [this] {
    const QString path = m_choosePath(this, tr("Export runs table"), QDir(m_dir).filePath("runs.csv"));
    QString error;
    if (!path.isEmpty()) emit statusMessage(exportTableCsv(path, &error) ? tr("Exported %1").arg(path) : error);
  });
  exportMenu->addAction(tr("Current run's metrics as CSV…"), this, &ExperimentsPage::exportSelectedRunCsv);
  m_exportButton->setMenu(exportMenu);
  m_deleteButton = new QPushButton(tr("Delete…"), bar);
  m_deleteButton->setEnabled(false);

  auto* layout = new QHBoxLayout(bar);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_search, 1);
  layout->addWidget(m_kindFilter);
  layout->addWidget(m_statusFilter);
  layout->addWidget(m_columnsButton);
  layout->addStretch(1);
  layout->addWidget(m_exportButton);
  layout->addWidget(m_deleteButton);

  connect(m_search, &QLineEdit::textChanged, m_proxy, &RunFilterProxy::setText);
  connect(m_kindFilter, &QComboBox::currentIndexChanged, this,
          [this] { m_proxy->setKind(m_kindFilter->currentData().toString()); });
  connect(m_statusFilter, &QComboBox::currentIndexChanged, this,
          [this] { m_proxy->setStatus(m_statusFilter->currentData().toString()); });
  connect(m_deleteButton, &QPushButton::clicked, this, &ExperimentsPage::deleteSelectedRuns);
  return bar;
}

void ExperimentsPage::setProject(const QString& dir) {
  m_dir = dir;
  m_curves.clear();
  m_model->setRuns({});
  m_details->clear();
  m_fittedOnce = false;
  updatePlot();
  rebuildMetricList();
  QMetaObject::invokeMethod(m_worker, [w = m_worker, dir] {
    if (dir.isEmpty())
      w->closeProject();
    else
      w->openProject(dir);
  });
}

void ExperimentsPage::onRunsLoaded(const RunRecordList& runs) {
  const QList<qint64> keep = selectedRunIds();
  m_model->setRuns(runs);  // same ids: in place; otherwise a reset that drops the selection
  const QStringList all = m_model->allMetricNames();
  QStringList columns;
  if (AppSettings::hasMetricColumns()) {
    for (const QString& c : AppSettings::metricColumns())
      if (all.contains(c)) columns << c;
  } else {
    columns = all.mid(0, 4);
  }
  m_model->setMetricColumns(columns);
  updateFilterChoices();
  if (!m_fittedOnce && !runs.isEmpty()) {
    fitColumns();
    m_fittedOnce = true;
  }
  if (selectedRunIds() != keep)
    selectRuns(keep);  // restores what survived (a deleted run simply drops out)
  else if (!keep.isEmpty())
    requestSelectionData();  // same runs, new values: refresh curves and details
  emit runsReloaded(int(runs.size()));
}

void ExperimentsPage::fitColumns() {
  m_table->resizeColumnsToContents();
  for (int c = 0; c < m_model->columnCount(); ++c)
    m_table->setColumnWidth(c, std::clamp(m_table->columnWidth(c) + 12, 56, 280));
}

void ExperimentsPage::updateFilterChoices() {
  QStringList kinds;
  for (int r = 0; r < m_model->rowCount(); ++r) {
    const QString k = QString::fromStdString(m_model->runAt(r).kind);
    if (!kinds.contains(k)) kinds << k;
  }
  kinds.sort();
  const QString current = m_kindFilter->currentData().toString();
  const QSignalBlocker block(m_kindFilter);
  while (m_kindFilter->count() > 1) m_kindFilter->removeItem(1);
  for (const QString& k : kinds) m_kindFilter->addItem(k, k);
  m_kindFilter->setCurrentIndex(std::max(0, m_kindFilter->findData(current)));
}

void ExperimentsPage::updateMetricColumnsMenu() {
  QMenu* menu = m_columnsButton->menu();
  menu->clear();
  const QStringList all = m_model->allMetricNames();
  if (all.isEmpty()) menu->addAction(tr("No metrics recorded yet"))->setEnabled(false);
  for (const QString& name : all) {
    QAction* a = menu->addAction(name);
    a->setCheckable(true);
    a->setChecked(m_model->metricColumns().contains(name));
    connect(a, &QAction::toggled, this, [this, name](bool on) {
      QStringList cols = m_model->metricColumns();
      cols.removeAll(name);
      if (on) cols << name;
      AppSettings::setMetricColumns(cols);
      const QList<qint64> keep = selectedRunIds();
      m_model->setMetricColumns(cols);
      fitColumns();
      selectRuns(keep);
    });
  }
}

void ExperimentsPage::selectRuns(const QList<qint64>& ids) {
  QItemSelection selection;
  QModelIndex first;
  for (qint64 id : ids) {
    const int row = m_model->rowOfRun(id);
    if (row < 0) continue;
    const QModelIndex idx = m_proxy->mapFromSource(m_model->index(row, 0));
    if (!idx.isValid()) continue;  // filtered out
    selection.select(idx, idx.siblingAtColumn(m_proxy->columnCount() - 1));
    if (!first.isValid()) first = idx;
  }
  auto* sm = m_table->selectionModel();
  const QSignalBlocker block(sm);  // one refresh below, not one per step
  sm->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  if (first.isValid()) sm->setCurrentIndex(first, QItemSelectionModel::NoUpdate);
  m_table->viewport()->update();
  onSelectionChanged();
}

QList<qint64> ExperimentsPage::selectedRunIds() const {
  QModelIndexList rows = m_table->selectionModel()->selectedRows();
  std::sort(rows.begin(), rows.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
  QList<qint64> ids;
  for (const QModelIndex& idx : rows) ids << idx.data(RunTableModel::RunIdRole).toLongLong();
  return ids;
}

void ExperimentsPage::onSelectionChanged() {
  m_deleteButton->setEnabled(!selectedRunIds().isEmpty());
  requestSelectionData();
}

void ExperimentsPage::requestSelectionData() {
  const QList<qint64> ids = selectedRunIds();
  ++m_curvesRequest;
  ++m_detailsRequest;
  if (ids.isEmpty()) {
    m_curves.clear();
    rebuildMetricList();
    updatePlot();
    m_details->clear();
    return;
  }
  const QModelIndex current = m_table->selectionModel()->currentIndex();
  qint64 detailId = ids.first();
  if (current.isValid() && ids.contains(current.data(RunTableModel::RunIdRole).toLongLong()))
    detailId = current.data(RunTableModel::RunIdRole).toLongLong();
  QMetaObject::invokeMethod(m_worker, [w = m_worker, req = m_curvesRequest, ids] { w->loadCurves(req, ids); });
  QMetaObject::invokeMethod(m_worker, [w = m_worker, req = m_detailsRequest, detailId] { w->loadDetails(req, detailId); });
}

void ExperimentsPage::onCurvesLoaded(quint64 request, const RunCurvesList& curves) {
  if (request != m_curvesRequest) return;
  m_curves.clear();
  for (const RunCurves& rc : curves) m_curves.insert(rc.runId, rc);
  rebuildMetricList();
  updatePlot();
}

void ExperimentsPage::rebuildMetricList() {
  QStringList names;
  for (const RunCurves& rc : m_curves)
    for (const MetricCurve& c : rc.curves)
      if (!names.contains(c.name)) names << c.name;
  names.sort();
  const bool anyChecked = std::any_of(names.begin(), names.end(),
                                      [this](const QString& n) { return m_checkedMetrics.contains(n); });
  if (!anyChecked && !names.isEmpty()) {  // first look at these runs: show the loss if there is one
    auto loss = std::find_if(names.begin(), names.end(), [](const QString& n) { return n.contains("loss"); });
    m_checkedMetrics << (loss != names.end() ? *loss : names.first());
  }
  const QSignalBlocker block(m_metricList);
  m_metricList->clear();
  for (const QString& n : names) {
    auto* item = new QListWidgetItem(n, m_metricList);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
    item->setCheckState(m_checkedMetrics.contains(n) ? Qt::Checked : Qt::Unchecked);
  }
}

void ExperimentsPage::setCheckedMetrics(const QStringList& names) {
  m_checkedMetrics = names;
  rebuildMetricList();
  updatePlot();
}

QStringList ExperimentsPage::checkedMetrics() const {
  QStringList out;
  for (int i = 0; i < m_metricList->count(); ++i)
    if (m_metricList->item(i)->checkState() == Qt::Checked) out << m_metricList->item(i)->text();
  return out;
}

void ExperimentsPage::updatePlot() {
  QList<PlotSeries> series;
  const QList<qint64> ids = selectedRunIds();
  for (const QString& metric : checkedMetrics()) {
    for (qint64 id : ids) {
      const int row = m_model->rowOfRun(id);
      if (row < 0 || !m_curves.contains(id)) continue;
      for (const MetricCurve& c : m_curves[id].curves) {
        if (c.name != metric) continue;
        series.append({RunTableModel::runLabel(m_model->runAt(row)), metric, c.steps, c.values, {}});
      }
    }
  }
  m_plot->setSeries(series);
  emit plotUpdated(m_plot->seriesCount());
}

void ExperimentsPage::deleteSelectedRuns() {
  const QList<qint64> ids = selectedRunIds();
  if (ids.isEmpty()) return;
  QStringList labels;
  for (qint64 id : ids) labels << RunTableModel::runLabel(m_model->runAt(m_model->rowOfRun(id)));
  const QString text = tr("Delete %n run(s)?\n\n%1\n\nTheir metrics, notes and artifact records are removed; "
                          "this cannot be undone.", nullptr, int(ids.size()))
                           .arg(labels.mid(0, 10).join("\n") + (labels.size() > 10 ? "\n…" : ""));
  bool deleteFiles = false;
  if (!m_confirm(this, text, &deleteFiles)) return;
  QMetaObject::invokeMethod(m_worker, [w = m_worker, ids, deleteFiles] { w->deleteRuns(ids, deleteFiles); });
}

bool ExperimentsPage::exportTableCsv(const QString& path, QString* error) const {
  QSaveFile out(path);
  if (!out.open(QIODevice::WriteOnly | QIODevice::Text)) {
    if (error) *error = tr("Cannot write %1: %2").arg(path, out.errorString());
    return false;
  }
  QStringList header;
  for (int c = 0; c < m_proxy->columnCount(); ++c)
    header << csvField(m_proxy->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString());
  QByteArray text = header.join(',').toUtf8() + '\n';
  for (int r = 0; r < m_proxy->rowCount(); ++r) {
    QStringList row;
    for (int c = 0; c < m_proxy->columnCount(); ++c) row << csvField(m_proxy->index(r, c).data().toString());
    text += row.join(',').toUtf8() + '\n';
  }
  if (out.write(text) != text.size() || !out.commit()) {
    if (error) *error = tr("Cannot write %1: %2").arg(path, out.errorString());
    return false;
  }
  return true;
}

void ExperimentsPage::exportSelectedRunCsv() {
  const qint64 id = m_details->runId();
  if (id == 0) return emit statusMessage(tr("Select a run to export its metrics"));
  const QString path = m_choosePath(this, tr("Export run metrics"),
                                    QDir(m_dir).filePath(QStringLiteral("run-%1.csv").arg(id)));
  if (path.isEmpty()) return;
  QMetaObject::invokeMethod(m_worker, [w = m_worker, id, path] { w->exportRunCsv(id, path); });
}
