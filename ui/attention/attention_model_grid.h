// AttentionModelGrid: the model view: one HeatmapThumbnail per layer (row) and head (column),
// sharing one colour range so heads compare, with layer and head labels on the margins. A click
// on a thumbnail says which head to open.
#pragma once
#include <QScrollArea>
#include <QVector>

#include "ui/attention/attention_result.h"

class HeatmapThumbnail;
class QGridLayout;

class AttentionModelGrid : public QScrollArea {
  Q_OBJECT
 public:
  explicit AttentionModelGrid(QWidget* parent = nullptr);

  void setResult(const AttentionResultPtr& result);
  int rowCount() const { return m_rows; }
  int columnCount() const { return m_cols; }
  int cellCount() const { return int(m_cells.size()); }
  HeatmapThumbnail* thumbnail(int layerSlice, int headSlice) const;
  void setSelected(int layerSlice, int headSlice);
  // Side of one thumbnail in pixels (zoom).
  void setThumbnailSize(int px);
  int thumbnailSize() const { return m_thumbPx; }
  QWidget* canvas() const { return widget(); }

 signals:
  void headClicked(int layerSlice, int headSlice);

 private:
  void relayout();

  QGridLayout* m_grid = nullptr;
  QVector<HeatmapThumbnail*> m_cells;
  QVector<QWidget*> m_labels;
  int m_rows = 0, m_cols = 0, m_thumbPx = 84;
};
