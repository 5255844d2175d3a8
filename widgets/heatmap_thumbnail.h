// HeatmapThumbnail: a small, label-free heatmap for small-multiples grids (the
// Attention page's layers × heads overview). It renders its cells once, paints
// them scaled into a square with an optional caption, and says when clicked.
#pragma once
#include <QImage>
#include <QWidget>

#include "widgets/color_scale.h"
#include "widgets/heatmap_render.h"

class HeatmapThumbnail : public QWidget {
  Q_OBJECT
 public:
  explicit HeatmapThumbnail(QWidget* parent = nullptr);

  // Sizes must match (values = rows × cols, mask empty or the same); lo < hi
  // fixes the range (share one across a grid to compare heads), else auto.
  bool setCells(const HeatmapCells& cells, ColorScaleKind kind = ColorScaleKind::Viridis,
                double lo = 0, double hi = 0, QString* error = nullptr);
  void setCaption(const QString& caption);
  QString caption() const { return m_caption; }
  void setSelected(bool selected);
  bool isSelected() const { return m_selected; }
  const QImage& cellImage() const { return m_image; }
  QRectF mapRect() const;  // where the cells are drawn

  QSize sizeHint() const override { return {76, 90}; }
  QSize minimumSizeHint() const override { return {24, 24}; }

 signals:
  void clicked();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void enterEvent(QEnterEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  QImage m_image;
  QString m_caption;
  bool m_selected = false;
  bool m_hovered = false;
};
