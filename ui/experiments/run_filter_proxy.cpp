// Filtering reads the RunRecord directly (dataset and tags are not columns).
#include "ui/experiments/run_filter_proxy.h"

#include "ui/experiments/run_table_model.h"

RunFilterProxy::RunFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(RunTableModel::SortRole);
  setDynamicSortFilter(true);
}

void RunFilterProxy::setText(const QString& text) {
  m_text = text.trimmed();
  invalidateFilter();
}

void RunFilterProxy::setKind(const QString& kind) {
  m_kind = kind;
  invalidateFilter();
}

void RunFilterProxy::setStatus(const QString& status) {
  m_status = status;
  invalidateFilter();
}

bool RunFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex&) const {
  auto* model = qobject_cast<RunTableModel*>(sourceModel());
  if (!model) return true;
  const lw::RunRecord& run = model->runAt(sourceRow);
  if (!m_kind.isEmpty() && QString::fromStdString(run.kind) != m_kind) return false;
  if (!m_status.isEmpty() && QString::fromLatin1(lw::run_status_name(run.status)) != m_status)
    return false;
  if (m_text.isEmpty()) return true;
  QStringList hay{QString::fromStdString(run.name), QString::fromStdString(run.model),
                  QString::fromStdString(run.dataset), QString::fromStdString(run.kind),
                  QStringLiteral("#%1").arg(run.id)};
  for (const auto& t : run.tags) hay.append(QString::fromStdString(t));
  for (const auto& h : hay)
    if (h.contains(m_text, Qt::CaseInsensitive)) return true;
  return false;
}
