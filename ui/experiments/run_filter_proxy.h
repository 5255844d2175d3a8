// RunFilterProxy: sorts the runs table and filters it by free text (name,
// model, dataset, kind, tags), kind and status.
#pragma once
#include <QSortFilterProxyModel>

class RunFilterProxy : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  explicit RunFilterProxy(QObject* parent = nullptr);
  void setText(const QString& text);
  void setKind(const QString& kind);      // empty = any
  void setStatus(const QString& status);  // run_status_name or empty = any

 protected:
  bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

 private:
  QString m_text, m_kind, m_status;
};
