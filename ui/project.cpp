// Project folders: project.json is small and written atomically (QSaveFile) so
// a crash never leaves a half-written file that would stop the app starting.
#include "ui/project.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include "engine/api/experiment_store.h"

QString Project::storePath() const { return QDir(m_dir).filePath(kStoreName); }

bool Project::looksLikeProject(const QString& dir) {
  return QFileInfo(QDir(dir).filePath(kFileName)).isFile();
}

std::optional<Project> Project::create(const QString& dir, const QString& name, QString* error) {
  const QString file = QDir(dir).filePath(kFileName);
  if (name.trimmed().isEmpty()) {
    *error = QObject::tr("A project needs a name.");
    return std::nullopt;
  }
  if (QFileInfo::exists(file)) {
    *error = QObject::tr("%1 already exists: open it instead of creating a project there.").arg(file);
    return std::nullopt;
  }
  if (!QDir().mkpath(dir)) {
    *error = QObject::tr("Cannot create the folder %1.").arg(dir);
    return std::nullopt;
  }
  Project p;
  p.m_dir = QFileInfo(dir).absoluteFilePath();
  p.m_name = name.trimmed();
  p.m_created = QDateTime::currentDateTimeUtc();
  QJsonObject obj{{"name", p.m_name}, {"created", p.m_created.toString(Qt::ISODate)}};
  QSaveFile out(file);
  if (!out.open(QIODevice::WriteOnly) ||
      out.write(QJsonDocument(obj).toJson(QJsonDocument::Indented)) < 0 || !out.commit()) {
    *error = QObject::tr("Cannot write %1: %2").arg(file, out.errorString());
    return std::nullopt;
  }
  // The store is created now so the folder is a complete project at once.
  auto store = lw::ExperimentStore::open(p.m_dir.toStdString(), true);
  if (!store.is_ok()) {
    *error = QString::fromStdString(store.status().to_string());
    return std::nullopt;
  }
  return p;
}

std::optional<Project> Project::open(const QString& dir, QString* error) {
  const QString file = QDir(dir).filePath(kFileName);
  QFile in(file);
  if (!in.open(QIODevice::ReadOnly)) {
    *error = QObject::tr("%1: not a workbench project (cannot read project.json: %2)")
                 .arg(dir, in.errorString());
    return std::nullopt;
  }
  QJsonParseError parse{};
  const QJsonDocument doc = QJsonDocument::fromJson(in.readAll(), &parse);
  if (parse.error != QJsonParseError::NoError || !doc.isObject()) {
    *error = QObject::tr("%1: invalid JSON at offset %2: %3")
                 .arg(file).arg(parse.offset).arg(parse.errorString());
    return std::nullopt;
  }
  const QJsonObject obj = doc.object();
  if (!obj.value("name").isString() || obj.value("name").toString().trimmed().isEmpty()) {
    *error = QObject::tr("%1: field \"name\" must be a non-empty string").arg(file);
    return std::nullopt;
  }
  Project p;
  p.m_dir = QFileInfo(dir).absoluteFilePath();
  p.m_name = obj.value("name").toString();
  if (obj.contains("created")) {
    p.m_created = QDateTime::fromString(obj.value("created").toString(), Qt::ISODate);
    if (!p.m_created.isValid()) {
      *error = QObject::tr("%1: field \"created\" must be an ISO 8601 date").arg(file);
      return std::nullopt;
    }
  }
  return p;
}
