// Cell rendering for HeatmapView: a straight loop over the matrix writing
// RGB32 scanlines, safe to run off the GUI thread (it touches only its input).
#include "widgets/heatmap_render.h"

#include <algorithm>
#include <cmath>

QRgb heatmapMaskColor() {
  return qRgb(0xd4, 0xd4, 0xd4);
}

QImage renderHeatmapCells(const HeatmapCells& cells, const ColorScale& scale, double lo,
                          double hi) {
  if (cells.rows <= 0 || cells.cols <= 0) return {};
  QImage image(cells.cols, cells.rows, QImage::Format_RGB32);
  const bool masked = cells.mask.size() == cells.values.size();
  const QRgb maskColor = heatmapMaskColor();
  const double inv = hi > lo ? 1.0 / (hi - lo) : 0.0;
  for (int r = 0; r < cells.rows; ++r) {
    auto* line = reinterpret_cast<QRgb*>(image.scanLine(r));
    const float* v = cells.values.constData() + qsizetype(r) * cells.cols;
    const quint8* m = masked ? cells.mask.constData() + qsizetype(r) * cells.cols : nullptr;
    for (int c = 0; c < cells.cols; ++c) {
      if ((m && m[c]) || !std::isfinite(v[c]))
        line[c] = maskColor;
      else
        line[c] = inv > 0 ? scale.at((v[c] - lo) * inv) : scale.at(0.5);
    }
  }
  return image;
}

QPair<double, double> heatmapAutoRange(const HeatmapCells& cells, bool symmetric) {
  const bool masked = cells.mask.size() == cells.values.size();
  double lo = INFINITY, hi = -INFINITY;
  for (qsizetype i = 0; i < cells.values.size(); ++i) {
    const float v = cells.values[i];
    if ((masked && cells.mask[i]) || !std::isfinite(v)) continue;
    lo = std::min(lo, double(v));
    hi = std::max(hi, double(v));
  }
  if (!(lo <= hi)) return {0.0, 1.0};
  if (symmetric) {
    const double a = std::max(std::abs(lo), std::abs(hi));
    return a > 0 ? qMakePair(-a, a) : qMakePair(-1.0, 1.0);
  }
  if (lo == hi) return {lo - 0.5, hi + 0.5};
  return {lo, hi};
}
