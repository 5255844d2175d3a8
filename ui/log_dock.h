// LogDock: the dock that shows engine and workbench messages (lw::log_*), with
// a level filter and a clear button. Fed by LogRelay.
#pragma once
#include <QDateTime>
#include <QDockWidget>

class QComboBox;
class QPlainTextEdit;

class LogDock : public QDockWidget {
  Q_OBJECT
 public:
  explicit LogDock(QWidget* parent = nullptr);
  QString text() const;  // everything shown, for tests and copy

 public slots:
  void appendMessage(int level, const QString& message, const QDateTime& when);

 private:
  QPlainTextEdit* m_view = nullptr;
  QComboBox* m_level = nullptr;
};
