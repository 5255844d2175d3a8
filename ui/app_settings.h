// The workbench's persistent preferences, one place for every QSettings key so
// pages and dialogs agree on names and defaults.
#pragma once
#include <QString>
#include <QStringList>

namespace AppSettings {

constexpr int kMaxRecentProjects = 8;

QString theme();  // "light" or "dark"
void setTheme(const QString& theme);
QString defaultDevice();  // "auto", "cpu" or "cuda:N"
void setDefaultDevice(const QString& device);
QString projectsFolder();  // where New Project proposes to create folders
void setProjectsFolder(const QString& dir);

QStringList recentProjects();  // most recent first
void addRecentProject(const QString& dir);
void removeRecentProject(const QString& dir);
QString lastProject();
void setLastProject(const QString& dir);

// Final-metric columns of the Experiments table; empty list + !has = never chosen.
bool hasMetricColumns();
QStringList metricColumns();
void setMetricColumns(const QStringList& names);

}  // namespace AppSettings
