// HeatmapView::Layout: where each part of the map goes for one target size and
// cell size; computed per paint and per mouse event (label widths are cached).
#pragma once
#include <QRectF>
#include <QSizeF>

#include "widgets/heatmap_view.h"

struct HeatmapView::Layout {
  QRectF grid;      // the visible cell area (clip), target coordinates
  QRectF title;     // band above the grid
  QRectF colorBar;  // the gradient strip
  QSizeF total;     // everything, when drawn at full content size
  double cell = 16;
  double availW = 0, availH = 0;  // room for cells in the target
  double colLabelH = 0;           // depth of the column label band
  bool rotateCols = true;         // column labels read bottom-to-top
};
