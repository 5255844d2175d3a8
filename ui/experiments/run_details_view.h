// RunDetailsView: the selected run's parameters (a tree of the parameters
// JSON), artifacts, editable notes, and facts (dataset, times, error, machine).
#pragma once
#include <QTabWidget>

#include "ui/experiments/store_worker.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTableWidget;
class QTreeWidget;

class RunDetailsView : public QTabWidget {
  Q_OBJECT
 public:
  explicit RunDetailsView(QWidget* parent = nullptr);
  void showDetails(const RunDetails& details);
  void clear();
  qint64 runId() const { return m_runId; }
  bool notesModified() const;
  QTreeWidget* parametersTree() const { return m_params; }
  QTableWidget* artifactsTable() const { return m_artifacts; }
  QPlainTextEdit* notesEdit() const { return m_notes; }
  void markNotesSaved();

 signals:
  void saveNotesRequested(qint64 runId, const QString& notes);

 private:
  void showInfo(const RunDetails& d);

  qint64 m_runId = 0;
  QLabel* m_info = nullptr;
  QTreeWidget* m_params = nullptr;
  QTableWidget* m_artifacts = nullptr;
  QPlainTextEdit* m_notes = nullptr;
  QPushButton* m_saveNotes = nullptr;
};
