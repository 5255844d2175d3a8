// Shared fixtures of the heatmap widget tests: realistic matrices (a causal
// attention head over GPT-2 style tokens, a confusion matrix) and screenshots.
#pragma once
#include <QDir>
#include <QTest>
#include <QWidget>
#include <cmath>

#include "widgets/heatmap_view.h"

namespace heatmaptest {

inline QStringList tokens24() {
  return {"<|endoftext|>", "The",  "Ġquick", "Ġbrown", "Ġfox",  "Ġjumps", "Ġover",   "Ġthe",
          "Ġlazy",         "Ġdog", ".",      "ĠIt",    "Ġwas",  "Ġnot",   "Ġamused", "Ġ—",
          "Ġ東京",         "Ġis",  "Ġfar",   ",",      "Ġsaid", "Ġthe",   "Ġcat",    "."};
}

// Row-softmax over the causal prefix of deterministic scores; the seed picks
// how strongly the head attends to the first token (a "sink"), the previous
// token and itself, as real heads do in different mixes.
inline QVector<float> causalAttention(int n, unsigned seed) {
  QVector<float> w(n * n, 0.0f);
  unsigned s = seed;
  auto noise = [&s] {
    s = s * 1103515245u + 12345u;
    return ((s >> 8) % 1000) / 1000.0;
  };
  const double sink = seed == 7 ? 2.0 : 3.0 * (seed % 5) / 4.0;
  const double prev = seed == 7 ? 1.6 : 3.5 * ((seed / 5) % 3) / 2.0;
  const double self = seed == 7 ? 0.0 : 3.0 * ((seed / 3) % 4 == 0);
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int j = 0; j <= i; ++j) {
      const double score =
          1.5 * noise() + (j == 0 ? sink : 0) + (j == i - 1 ? prev : 0) + (j == i ? self : 0);
      w[i * n + j] = float(std::exp(score));
      sum += w[i * n + j];
    }
    for (int j = 0; j <= i; ++j) w[i * n + j] = float(w[i * n + j] / sum);
  }
  return w;
}

inline QVector<quint8> causalMask(int n) {
  QVector<quint8> m(n * n, 0);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) m[i * n + j] = 1;
  return m;
}

inline HeatmapData attentionData(int n = 24) {
  HeatmapData d;
  d.rows = d.cols = n;
  d.values = causalAttention(n, 7);
  d.mask = causalMask(n);
  const QStringList t = tokens24();
  for (int i = 0; i < n; ++i) d.rowLabels.append(t.value(i % t.size()));
  d.colLabels = d.rowLabels;
  d.title = QStringLiteral("Layer 3 · Head 5 (causal)");
  d.rowAxisTitle = QStringLiteral("Query");
  d.colAxisTitle = QStringLiteral("Key");
  return d;
}

inline HeatmapData confusionData() {
  const QStringList classes{"World", "Sports", "Business", "Sci/Tech", "Health", "Arts", "Other"};
  const int counts[7][7] = {{412, 8, 21, 9, 3, 5, 2},  {6, 455, 4, 3, 1, 9, 2},
                            {25, 5, 371, 44, 6, 3, 6}, {11, 2, 39, 398, 12, 2, 6},
                            {4, 1, 7, 15, 301, 1, 3},  {9, 12, 3, 4, 2, 188, 21},
                            {7, 5, 11, 9, 6, 24, 97}};
  HeatmapData d;
  d.rows = d.cols = 7;
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 7; ++c) {
      d.values.append(float(counts[r][c]));
      d.annotations.append(QString::number(counts[r][c]));
    }
  d.rowLabels = d.colLabels = classes;
  d.title = QStringLiteral("Confusion matrix (validation, n = 2,878)");
  d.rowAxisTitle = QStringLiteral("True class");
  d.colAxisTitle = QStringLiteral("Predicted class");
  return d;
}

inline void saveScreenshot(QWidget* w, const QString& name) {
  QString dir = qEnvironmentVariable("LW_SCREENSHOT_DIR");
  if (dir.isEmpty()) dir = QStringLiteral(LW_BINARY_DIR "/screenshots");
  QVERIFY(QDir().mkpath(dir));
  const QString path = QDir(dir).filePath(name + ".png");
  QVERIFY2(w->grab().save(path), qPrintable("cannot save " + path));
}

}  // namespace heatmaptest
