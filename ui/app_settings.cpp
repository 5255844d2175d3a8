// QSettings-backed preferences (organisation/application names are set in main()).
#include "ui/app_settings.h"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>

namespace AppSettings {

QString theme() { return QSettings().value("ui/theme", "light").toString(); }
void setTheme(const QString& theme) { QSettings().setValue("ui/theme", theme); }

QString defaultDevice() { return QSettings().value("engine/defaultDevice", "auto").toString(); }
void setDefaultDevice(const QString& device) { QSettings().setValue("engine/defaultDevice", device); }

QString projectsFolder() {
  const QString docs = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
  const QString fallback = QDir(docs.isEmpty() ? QDir::homePath() : docs).filePath("LLM Workbench");
  return QSettings().value("projects/folder", fallback).toString();
}
void setProjectsFolder(const QString& dir) { QSettings().setValue("projects/folder", dir); }

QStringList recentProjects() { return QSettings().value("projects/recent").toStringList(); }

void addRecentProject(const QString& dir) {
  QStringList list = recentProjects();
  list.removeAll(dir);
  list.prepend(dir);
  while (list.size() > kMaxRecentProjects) list.removeLast();
  QSettings().setValue("projects/recent", list);
}

void removeRecentProject(const QString& dir) {
  QStringList list = recentProjects();
  list.removeAll(dir);
  QSettings().setValue("projects/recent", list);
}

QString lastProject() { return QSettings().value("projects/last").toString(); }
void setLastProject(const QString& dir) { QSettings().setValue("projects/last", dir); }

bool hasMetricColumns() { return QSettings().contains("experiments/metricColumns"); }
QStringList metricColumns() { return QSettings().value("experiments/metricColumns").toStringList(); }
void setMetricColumns(const QStringList& names) {
  QSettings().setValue("experiments/metricColumns", names);
}

}  // namespace AppSettings
