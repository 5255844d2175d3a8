// HeatmapThumbnail: rendering is synchronous (a thumbnail of a 256-token head
// is 64k pixels, well under a millisecond); downscaling is smoothed so a
// thumbnail shows the average pattern rather than an aliased sample.
#include "widgets/heatmap_thumbnail.h"

#include <QFontMetricsF>
#include <QMouseEvent>
#include <QPainter>

HeatmapThumbnail::HeatmapThumbnail(QWidget* parent) : QWidget(parent) {
  setCursor(Qt::PointingHandCursor);
  setAttribute(Qt::WA_Hover);
}

bool HeatmapThumbnail::setCells(const HeatmapCells& cells, ColorScaleKind kind, double lo,
                                double hi, QString* error) {
  const qsizetype n = qsizetype(cells.rows) * cells.cols;
  if (cells.rows < 0 || cells.cols < 0 || cells.values.size() != n ||
      (!cells.mask.isEmpty() && cells.mask.size() != n)) {
    if (error)
      *error = QStringLiteral("HeatmapThumbnail: %1 values and %2 mask entries for %3 x %4 cells")
                   .arg(cells.values.size())
                   .arg(cells.mask.size())
                   .arg(cells.rows)
                   .arg(cells.cols);
    return false;
  }
  const ColorScale scale(kind);
  if (!(hi > lo)) {
    const auto r = heatmapAutoRange(cells, scale.isDiverging());
    lo = r.first;
    hi = r.second;
  }
  m_image = renderHeatmapCells(cells, scale, lo, hi);
  update();
  return true;
}

void HeatmapThumbnail::setCaption(const QString& caption) {
  m_caption = caption;
  update();
}

void HeatmapThumbnail::setSelected(bool selected) {
  m_selected = selected;
  update();
}

QRectF HeatmapThumbnail::mapRect() const {
  const double captionH = m_caption.isEmpty() ? 0 : QFontMetricsF(font()).height() + 2;
  const QRectF area = QRectF(rect()).adjusted(3, 3, -3, -3 - captionH);
  if (m_image.isNull() || area.isEmpty()) return area;
  const QSizeF s = QSizeF(m_image.size()).scaled(area.size(), Qt::KeepAspectRatio);
  return QRectF(area.left() + (area.width() - s.width()) / 2, area.top(), s.width(), s.height());
}

void HeatmapThumbnail::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QRectF map = mapRect();
  if (!m_image.isNull()) {
    p.setRenderHint(QPainter::SmoothPixmapTransform, m_image.width() > map.width());
    p.drawImage(map, m_image);
  }
  const QColor edge = m_selected  ? palette().color(QPalette::Highlight)
                      : m_hovered ? QColor(0x40, 0x40, 0x40)
                                  : QColor(0xc0, 0xc0, 0xc0);
  p.setPen(QPen(edge, m_selected ? 2.5 : 1));
  p.drawRect(map.adjusted(-1, -1, 1, 1));
  if (!m_caption.isEmpty()) {
    p.setPen(m_selected ? palette().color(QPalette::Highlight) : QColor(0x40, 0x40, 0x40));
    p.drawText(QRectF(0, map.bottom() + 2, width(), QFontMetricsF(font()).height()),
               Qt::AlignHCenter | Qt::AlignTop, m_caption);
  }
}

void HeatmapThumbnail::mouseReleaseEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton && rect().contains(e->position().toPoint())) emit clicked();
}

void HeatmapThumbnail::enterEvent(QEnterEvent*) {
  m_hovered = true;
  update();
}

void HeatmapThumbnail::leaveEvent(QEvent*) {
  m_hovered = false;
  update();
}
