// Shared bits of the GUI tests: an isolated QSettings location (tests never
// touch the user's settings), screenshots under $LW_SCREENSHOT_DIR, and a
// seeded workbench project written through the real store API.
#pragma once
#include <QDir>
#include <QSettings>
#include <QStandardPaths>
#include <QTest>
#include <QWidget>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/api/experiment_store.h"

namespace guitest {

// Call before anything reads QSettings.
inline void isolateSettings(const QString& dir) {
  QStandardPaths::setTestModeEnabled(true);
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir);
  QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir);
  QSettings().clear();
}

// Saves w as <LW_SCREENSHOT_DIR>/<name>.png and checks it was written.
inline void saveScreenshot(QWidget* w, const QString& name) {
  QString dir = qEnvironmentVariable("LW_SCREENSHOT_DIR");
  if (dir.isEmpty()) dir = QStringLiteral(LW_BINARY_DIR "/screenshots");
  QVERIFY(QDir().mkpath(dir));
  const QString path = QDir(dir).filePath(name + ".png");
  QVERIFY2(w->grab().save(path), qPrintable("cannot save " + path));
}

// A loss curve that falls with noise, and an accuracy curve every 20 steps.
inline std::vector<lw::MetricPoint> makeCurves(int steps, double scale, unsigned seed, int first = 0) {
  std::vector<lw::MetricPoint> points;
  unsigned s = seed;
  auto noise = [&s] {
    s = s * 1103515245u + 12345u;
    return ((s >> 8) % 1000) / 1000.0 - 0.5;
  };
  for (int i = first; i < first + steps; ++i) {
    const double loss = scale * (0.4 + 2.0 * std::exp(-i / 60.0)) + 0.25 * noise();
    points.push_back({i, "train/loss", loss, 1.7e9 + i});
    if (i % 20 == 0)
      points.push_back({i, "eval/accuracy", 0.5 + 0.42 * (1 - std::exp(-i / 80.0)) / std::max(1.0, scale) + 0.03 * noise(), 1.7e9 + i});
  }
  return points;
}

}  // namespace guitest
