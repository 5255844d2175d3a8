// A workbench project: a folder holding project.json ({"name", "created"}) and
// the experiment store (experiments.sqlite). This class reads and writes the
// project.json part; the store is opened by the pages through engine/api.
#pragma once
#include <QDateTime>
#include <QString>
#include <optional>

class Project {
 public:
  static constexpr const char* kFileName = "project.json";
  static constexpr const char* kStoreName = "experiments.sqlite";

  // Creates the folder when needed and writes project.json and an empty
  // experiment store; refuses a folder that already holds a project.
  static std::optional<Project> create(const QString& dir, const QString& name, QString* error);
  // Reads <dir>/project.json; errors name the file and the field at fault.
  static std::optional<Project> open(const QString& dir, QString* error);
  static bool looksLikeProject(const QString& dir);

  QString dir() const { return m_dir; }
  QString name() const { return m_name; }
  QDateTime created() const { return m_created; }
  QString storePath() const;

 private:
  QString m_dir, m_name;
  QDateTime m_created;
};
