// The pure part of the heatmap: turning a rows × cols matrix into a rows × cols
// image (one pixel per cell) that the view paints scaled. No widget state, so
// it can run on a pool thread for large matrices while the GUI keeps painting.
#pragma once
#include <QImage>
#include <QVector>

#include "widgets/color_scale.h"

struct HeatmapCells {
  int rows = 0, cols = 0;
  QVector<float> values;  // [rows * cols], row-major
  QVector<quint8> mask;   // empty or [rows * cols]; nonzero = not applicable
};

// The colour of a masked (or NaN) cell: a neutral grey no colour map produces.
QRgb heatmapMaskColor();

// One pixel per cell, Format_RGB32. Values map through `scale` over [lo, hi].
QImage renderHeatmapCells(const HeatmapCells& cells, const ColorScale& scale, double lo, double hi);

// Min and max over the finite, unmasked values; (0, 1) when there are none.
// A diverging scale gets a range symmetric around zero.
QPair<double, double> heatmapAutoRange(const HeatmapCells& cells, bool symmetric);
