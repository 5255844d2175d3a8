// HeatmapView's layout and painting, shared by the screen, PNG and SVG paths:
// frozen row labels on the left, column labels below (rotated when they do not
// fit a cell), title above, colour bar at the right, the cells clipped between.
#include <QFontMetricsF>
#include <QPainter>
#include <QScrollBar>
#include <cmath>

#include "widgets/heatmap_layout.h"
#include "widgets/heatmap_render.h"
#include "widgets/heatmap_view.h"

namespace {

constexpr double kBarWidth = 14;
constexpr double kGap = 6;

QFont titleFont(QFont f) {
  f.setBold(true);
  f.setPointSizeF(f.pointSizeF() * 1.15);
  return f;
}

QString tickText(double v) {
  return QString::number(v, 'g', 4);
}

}  // namespace

HeatmapView::Layout HeatmapView::computeLayout(QSizeF target, double cell, bool fullContent) const {
  Layout l;
  l.cell = cell;
  const QFontMetricsF fm(font());
  const double fh = fm.height();
  l.rotateCols = m_colTextW + 6 > cell;
  l.colLabelH = l.rotateCols ? m_colTextW + kGap : fh + 4;
  double left = 10 + (m_data.rowAxisTitle.isEmpty() ? 0 : fh + 8) + m_rowTextW + kGap;
  const double top =
      10 + (m_data.title.isEmpty() ? 0 : QFontMetricsF(titleFont(font())).height() + 8);
  const double bottom = 4 + l.colLabelH + (m_data.colAxisTitle.isEmpty() ? 0 : fh + 6) + 10;
  double tickW = 0;
  for (double t : ColorScale::niceTicks(m_lo, m_hi))
    tickW = std::max(tickW, fm.horizontalAdvance(tickText(t)));
  const double right = 16 + kBarWidth + 5 + tickW + 12;
  const double contentW = m_data.cols * cell, contentH = m_data.rows * cell;
  l.availW = std::max(0.0, target.width() - left - right);
  l.availH = std::max(0.0, target.height() - top - bottom);
  const double w = fullContent ? contentW : std::min(contentW, l.availW);
  const double h = fullContent ? contentH : std::min(contentH, l.availH);
  if (!fullContent && w < l.availW) left += (l.availW - w) / 2;  // centred when it all fits
  l.grid = QRectF(left, top, w, h);
  l.title = QRectF(left, 8, std::max(w, 1.0), top - 14);
  const double barH = std::max(h, std::min(100.0, fullContent ? 100.0 : l.availH));
  l.colorBar = QRectF(l.grid.right() + 16, top, kBarWidth, barH);
  l.total = QSizeF(left + w + right, top + std::max(h, barH) + bottom);
  return l;
}

void HeatmapView::paintMap(QPainter& p, const Layout& l, QPointF scroll, bool interactive,
                           bool vector) const {
  p.setFont(font());
  if (!m_data.title.isEmpty()) {
    p.setFont(titleFont(font()));
    p.setPen(QColor(0x20, 0x20, 0x20));
    const QRectF r(0, l.title.top(), std::max(l.total.width(), l.title.right() + 10),
                   l.title.height());
    // Centred over the grid, but never pushed off the left edge.
    const double tw = QFontMetricsF(p.font()).horizontalAdvance(m_data.title);
    const double x = std::max(8.0, l.grid.center().x() - tw / 2);
    p.drawText(QRectF(x, r.top(), r.width() - x, r.height()), Qt::AlignLeft | Qt::AlignVCenter,
               m_data.title);
    p.setFont(font());
  }
  if (m_data.rows > 0 && m_data.cols > 0) {
    p.save();
    p.setClipRect(l.grid);
    paintCells(p, l, scroll, vector);
    if (interactive && m_hover.x() >= 0) {
      const QRectF r = QRectF(l.grid.left() - scroll.x() + m_hover.x() * l.cell,
                              l.grid.top() - scroll.y() + m_hover.y() * l.cell, l.cell, l.cell);
      p.setPen(QPen(Qt::white, 3));
      p.drawRect(r.adjusted(-1, -1, 1, 1));
      p.setPen(QPen(Qt::black, 1.5));
      p.drawRect(r.adjusted(-1, -1, 1, 1));
    }
    p.restore();
    p.setPen(QColor(0x90, 0x90, 0x90));
    p.drawRect(l.grid.adjusted(-0.5, -0.5, 0.5, 0.5));
    paintLabels(p, l, scroll);
  }
  paintColorBar(p, l);
}

void HeatmapView::paintCells(QPainter& p, const Layout& l, QPointF scroll, bool vector) const {
  const double cell = l.cell;
  const QPointF origin = l.grid.topLeft() - scroll;
  const int c0 = std::clamp(int(std::floor(scroll.x() / cell)), 0, m_data.cols);
  const int c1 = std::clamp(int(std::ceil((scroll.x() + l.grid.width()) / cell)), c0, m_data.cols);
  const int r0 = std::clamp(int(std::floor(scroll.y() / cell)), 0, m_data.rows);
  const int r1 = std::clamp(int(std::ceil((scroll.y() + l.grid.height()) / cell)), r0, m_data.rows);
  const bool current = m_image.width() == m_data.cols && m_image.height() == m_data.rows;
  auto rect = [&](int r, int c, int nr, int nc) {
    return QRectF(origin.x() + c * cell, origin.y() + r * cell, nc * cell, nr * cell);
  };
  if (m_image.isNull()) {
    p.fillRect(l.grid, QColor(heatmapMaskColor()));
  } else if (!current) {
    p.drawImage(rect(0, 0, m_data.rows, m_data.cols), m_image);  // the previous map, until ready
  } else if (vector) {
    for (int r = r0; r < r1; ++r)
      for (int c = c0; c < c1; ++c) p.fillRect(rect(r, c, 1, 1), QColor(m_image.pixel(c, r)));
  } else {
    p.drawImage(rect(r0, c0, r1 - r0, c1 - c0), m_image, QRectF(c0, r0, c1 - c0, r1 - r0));
  }
  if (!current) return;
  if (m_data.mask.size() == m_data.values.size() && cell >= 5) {
    const QBrush hatch(QColor(0x9a, 0x9a, 0x9a), Qt::BDiagPattern);
    for (int r = r0; r < r1; ++r) {
      const quint8* m = m_data.mask.constData() + qsizetype(r) * m_data.cols;
      for (int c = c0; c < c1;) {
        if (!m[c]) {
          ++c;
          continue;
        }
        int e = c;
        while (e < c1 && m[e]) ++e;
        p.fillRect(rect(r, c, 1, e - c), hatch);
        c = e;
      }
    }
  }
  if (cell >= 18) {  // separators make large cells (confusion matrices) easier to read
    p.setPen(QPen(QColor(255, 255, 255, 200), 1));
    for (int c = c0 + 1; c < c1; ++c)
      p.drawLine(QPointF(origin.x() + c * cell, l.grid.top()),
                 QPointF(origin.x() + c * cell, l.grid.bottom()));
    for (int r = r0 + 1; r < r1; ++r)
      p.drawLine(QPointF(l.grid.left(), origin.y() + r * cell),
                 QPointF(l.grid.right(), origin.y() + r * cell));
  }
  if (m_data.annotations.size() == m_data.values.size()) {
    const QFontMetricsF fm(p.font());
    if (fm.height() > cell - 2) return;
    for (int r = r0; r < r1; ++r) {
      for (int c = c0; c < c1; ++c) {
        const QString& text = m_data.annotations[qsizetype(r) * m_data.cols + c];
        if (text.isEmpty() || fm.horizontalAdvance(text) > cell - 4) continue;
        p.setPen(QColor(ColorScale::contrastText(m_image.pixel(c, r))));
        p.drawText(rect(r, c, 1, 1), Qt::AlignCenter, text);
      }
    }
  }
}

void HeatmapView::paintLabels(QPainter& p, const Layout& l, QPointF scroll) const {
  const QFontMetricsF fm(p.font());
  const double fh = fm.height(), cell = l.cell;
  const QColor ink(0x30, 0x30, 0x30);
  QFont bold = p.font();
  bold.setBold(true);
  // Every k-th label when cells are smaller than a line of text.
  const int k = std::max(1, int(std::ceil((fh + 1) / cell)));
  const int kc = l.rotateCols ? k : 1;
  p.save();
  p.setClipRect(QRectF(0, l.grid.top() - fh / 2, l.grid.left(), l.grid.height() + fh));
  p.setPen(ink);
  const int r0 = std::max(0, int(scroll.y() / cell) / k * k);
  for (int r = r0; r < m_data.rows; r += k) {
    const double cy = l.grid.top() - scroll.y() + (r + 0.5) * cell;
    if (cy > l.grid.bottom() + fh) break;
    if (cy < l.grid.top() || cy > l.grid.bottom()) continue;
    p.setFont(r == m_hover.y() ? bold : font());
    p.drawText(QRectF(0, cy - fh / 2, l.grid.left() - kGap, fh), Qt::AlignRight | Qt::AlignVCenter,
               m_rowText.value(r));
  }
  p.restore();
  p.save();
  p.setClipRect(
      QRectF(l.grid.left() - fh / 2, l.grid.bottom(), l.grid.width() + fh, l.colLabelH + 4));
  p.setPen(ink);
  const int c0 = std::max(0, int(scroll.x() / cell) / kc * kc);
  for (int c = c0; c < m_data.cols; c += kc) {
    const double cx = l.grid.left() - scroll.x() + (c + 0.5) * cell;
    if (cx > l.grid.right() + fh) break;
    if (cx < l.grid.left() || cx > l.grid.right()) continue;
    p.setFont(c == m_hover.x() ? bold : font());
    if (l.rotateCols) {
      p.save();
      p.translate(cx, l.grid.bottom() + 4);
      p.rotate(-90);
      p.drawText(QRectF(-l.colLabelH, -fh / 2, l.colLabelH, fh), Qt::AlignRight | Qt::AlignVCenter,
                 m_colText.value(c));
      p.restore();
    } else {
      p.drawText(QRectF(cx - cell / 2, l.grid.bottom() + 3, cell, fh),
                 Qt::AlignHCenter | Qt::AlignTop, m_colText.value(c));
    }
  }
  p.restore();
  p.setFont(font());
  p.setPen(QColor(0x50, 0x50, 0x50));
  if (!m_data.colAxisTitle.isEmpty())
    p.drawText(QRectF(l.grid.left(), l.grid.bottom() + 4 + l.colLabelH + 2, l.grid.width(), fh),
               Qt::AlignHCenter | Qt::AlignTop, m_data.colAxisTitle);
  if (!m_data.rowAxisTitle.isEmpty()) {
    p.save();
    p.translate(l.grid.left() - kGap - m_rowTextW - 8 - fh / 2, l.grid.center().y());
    p.rotate(-90);
    p.drawText(QRectF(-l.grid.height() / 2, -fh / 2, l.grid.height(), fh), Qt::AlignCenter,
               m_data.rowAxisTitle);
    p.restore();
  }
}

void HeatmapView::paintColorBar(QPainter& p, const Layout& l) const {
  QImage strip(1, 256, QImage::Format_RGB32);
  for (int i = 0; i < 256; ++i) strip.setPixel(0, i, m_scale.at(1.0 - i / 255.0));
  const QRectF bar = l.colorBar;
  p.save();
  p.setRenderHint(QPainter::SmoothPixmapTransform, true);
  p.drawImage(bar, strip);
  p.setPen(QColor(0x90, 0x90, 0x90));
  p.drawRect(bar.adjusted(-0.5, -0.5, 0.5, 0.5));
  const QFontMetricsF fm(p.font());
  p.setPen(QColor(0x30, 0x30, 0x30));
  for (double t : ColorScale::niceTicks(m_lo, m_hi)) {
    const double y = bar.bottom() - (t - m_lo) / (m_hi - m_lo) * bar.height();
    p.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 4, y));
    p.drawText(QRectF(bar.right() + 6, y - fm.height() / 2, 200, fm.height()),
               Qt::AlignLeft | Qt::AlignVCenter, tickText(t));
  }
  p.restore();
}

void HeatmapView::paintEvent(QPaintEvent*) {
  QPainter p(viewport());
  p.fillRect(viewport()->rect(), Qt::white);
  const Layout l = computeLayout(viewport()->size(), m_cell, false);
  paintMap(p, l, scrollOffset(), true, false);
  if (m_pending) {
    p.setPen(QColor(0x60, 0x60, 0x60));
    p.drawText(QRectF(l.grid.left(), 0, l.grid.width(), l.grid.top()),
               Qt::AlignRight | Qt::AlignVCenter, tr("rendering…"));
  }
}
