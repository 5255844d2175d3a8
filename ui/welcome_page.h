// WelcomePage: what the window shows while no project is open: create a
// project, open one, or pick a recent one. Not a navigation page.
#pragma once
#include <QWidget>

class QLabel;
class QListWidget;

class WelcomePage : public QWidget {
  Q_OBJECT
 public:
  explicit WelcomePage(QWidget* parent = nullptr);
  void setRecentProjects(const QStringList& dirs);
  void setMessage(const QString& text);  // e.g. why the last project did not open

 signals:
  void newProjectRequested();
  void openProjectRequested();
  void recentProjectRequested(const QString& dir);

 private:
  QLabel* m_message = nullptr;
  QListWidget* m_recent = nullptr;
};
