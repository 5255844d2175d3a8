// HeatmapView: a reusable, zoomable matrix view fed with plain data (values,
// row/column labels, an optional "not applicable" mask and cell annotations).
// Used by the Attention page (query × key weights, causal mask hatched) and
// the fine-tune page's confusion matrix (counts in cells). It renders the
// cells once into an image (off the GUI thread for large matrices), paints it
// scaled with frozen axis labels and a colour bar, and emits user intent.
#pragma once
#include <QAbstractScrollArea>
#include <QFutureWatcher>
#include <QImage>
#include <QSize>
#include <QStringList>
#include <QVector>

#include "widgets/color_scale.h"

struct HeatmapData {
  int rows = 0, cols = 0;
  QVector<float> values;    // [rows * cols], row-major
  QStringList rowLabels;    // [rows] or empty (then 0 … rows-1)
  QStringList colLabels;    // [cols] or empty (then 0 … cols-1)
  QVector<quint8> mask;     // empty or [rows * cols]; nonzero = not applicable (hatched grey)
  QStringList annotations;  // empty or [rows * cols]; text drawn in cells that fit it
  QString title;
  QString rowAxisTitle, colAxisTitle;  // e.g. "True" / "Predicted", "Query" / "Key"
};

class HeatmapView : public QAbstractScrollArea {
  Q_OBJECT
 public:
  // Matrices with more cells than this render on a pool thread.
  static constexpr int kAsyncCells = 128 * 128;

  explicit HeatmapView(QWidget* parent = nullptr);
  ~HeatmapView() override;

  // Checks the sizes; on a mismatch keeps the old data and says which field.
  bool setData(const HeatmapData& data, QString* error = nullptr);
  const HeatmapData& data() const { return m_data; }
  void setColorScale(ColorScaleKind kind);
  const ColorScale& colorScale() const { return m_scale; }
  void setValueRange(double lo, double hi);  // fixed range
  void setAutoValueRange();                  // min/max of the data (symmetric if diverging)
  double rangeMin() const { return m_lo; }
  double rangeMax() const { return m_hi; }

  // Zoom: the side of one cell in pixels. Fit mode refits on every resize.
  double cellSize() const { return m_cell; }
  void setCellSize(double pixels);
  void zoomIn();
  void zoomOut();
  void fitToWindow();
  bool isFitToWindow() const { return m_fit; }
  void scrollToCell(int row, int col);

  // Geometry in viewport coordinates (for tests and overlays).
  QRectF cellRect(int row, int col) const;
  QPoint cellAt(const QPointF& viewportPos) const;  // (row, col) as (x=col, y=row); (-1,-1) outside
  QString hoverText() const { return m_hoverText; }
  QPoint hoveredCell() const { return m_hover; }
  const QImage& cellImage() const { return m_image; }  // one pixel per cell
  bool isRenderPending() const { return m_pending; }

  // The whole map (not only the visible part) at the current cell size times
  // `scale`, capped at 8192 px per side.
  QImage renderImage(double scale = 1.0) const;
  bool exportPng(const QString& path, double scale = 2.0, QString* error = nullptr) const;
  bool exportSvg(const QString& path, QString* error = nullptr) const;
  // Header: an empty corner then the column labels; each line: row label, values
  // (%.9g, exact for float); masked cells are empty fields.
  bool exportCsv(const QString& path, QString* error = nullptr) const;

 signals:
  void hovered(int row, int col, double value);
  void hoverLeft();
  void clicked(int row, int col);
  void rendered();  // the cell image for the current data is ready
  void zoomChanged(double cellSize);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void scrollContentsBy(int dx, int dy) override;

 private:
  struct Layout;
  Layout computeLayout(QSizeF target, double cell, bool fullContent) const;
  double fitCellSize() const;
  void paintMap(QPainter& p, const Layout& l, QPointF scroll, bool interactive, bool vector) const;
  void paintCells(QPainter& p, const Layout& l, QPointF scroll, bool vector) const;
  void paintLabels(QPainter& p, const Layout& l, QPointF scroll) const;
  void paintColorBar(QPainter& p, const Layout& l) const;
  void startRender();
  void updateScrollBars();
  void zoomAround(double cell, QPointF anchor);
  void setHover(QPoint cell, QPoint globalPos);
  QString rowLabel(int r) const;
  QString colLabel(int c) const;
  QPointF scrollOffset() const;

  HeatmapData m_data;
  ColorScale m_scale;
  bool m_autoRange = true;
  double m_lo = 0, m_hi = 1;
  double m_cell = 16;
  bool m_fit = true;
  QStringList m_rowText, m_colText;       // labels as drawn: control characters shown, elided
  double m_rowTextW = 0, m_colTextW = 0;  // widest drawn label of each axis
  QImage m_image;
  bool m_pending = false;
  int m_generation = 0, m_watchGeneration = -1;
  QFutureWatcher<QImage>* m_watcher = nullptr;
  QPoint m_hover{-1, -1};
  QString m_hoverText;
  QPoint m_pressCell{-1, -1};
  QPoint m_panStart{-1, -1};
  QPoint m_panScroll;
  bool m_panned = false;
};
