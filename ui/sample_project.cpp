// The sample project is found next to the checkout the workbench runs from: the
// executable sits in <repo>/build*/bin/, the sample in <repo>/projects/samples/.
#include "ui/sample_project.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStringList>

namespace {
bool isPrepared(const QString& dir) {
  return QFileInfo(QDir(dir).filePath("project.json")).isFile() &&
         QFileInfo(QDir(dir).filePath("experiments.sqlite")).isFile();
}
}  // namespace

QString preparedSampleProjectDir() {
  QStringList candidates;
  // $LW_SAMPLE_PROJECT, when set, is the only place looked at (tests point it elsewhere).
  const QString env = qEnvironmentVariable("LW_SAMPLE_PROJECT");
  if (!env.isEmpty()) return isPrepared(env) ? QFileInfo(env).canonicalFilePath() : QString();
  const QString rel = QStringLiteral("projects/samples/spam-ham");
  if (QCoreApplication::instance())
    candidates << QDir(QCoreApplication::applicationDirPath()).filePath("../../" + rel);
  candidates << QDir::current().filePath(rel);
  for (const QString& dir : candidates)
    if (isPrepared(dir)) return QFileInfo(dir).canonicalFilePath();
  return {};
}
