// HeatmapView: data, rendering (off-thread above kAsyncCells), zoom, pan,
// hover read-out, clicks and export. Painting lives in heatmap_view_paint.cpp.
#include "widgets/heatmap_view.h"

#include <QBuffer>
#include <QFontMetricsF>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPromise>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollBar>
#include <QSvgGenerator>
#include <QThreadPool>
#include <QToolTip>
#include <QWheelEvent>
#include <cmath>
#include <memory>

#include "widgets/heatmap_layout.h"
#include "widgets/heatmap_render.h"

namespace {

constexpr double kMinCell = 0.25, kMaxCell = 128, kMaxLabelWidth = 150;
constexpr double kMaxExportSide = 8192;

// Tokens may be whitespace or control characters; show them, and elide long ones.
QString displayLabel(QString s, const QFontMetricsF& fm) {
  s.replace('\n', QChar(0x21B5)).replace('\t', QChar(0x21E5)).replace('\r', QChar(0x240D));
  if (s.isEmpty()) s = QStringLiteral("\u2205");
  return fm.elidedText(s, Qt::ElideRight, kMaxLabelWidth);
}

QString csvField(const QString& s) {
  if (!s.contains(QRegularExpression(QStringLiteral("[,\"\\r\\n]"))) && s.trimmed() == s) return s;
  return '"' + QString(s).replace('"', QStringLiteral("\"\"")) + '"';
}

bool fail(QString* error, const QString& message) {
  if (error) *error = message;
  return false;
}

}  // namespace

HeatmapView::HeatmapView(QWidget* parent) : QAbstractScrollArea(parent) {
  viewport()->setMouseTracking(true);
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setFrameShape(QFrame::NoFrame);
  m_watcher = new QFutureWatcher<QImage>(this);
  connect(m_watcher, &QFutureWatcher<QImage>::finished, this, [this] {
    if (m_watchGeneration != m_generation || m_watcher->future().resultCount() == 0) return;
    m_image = m_watcher->result();
    m_pending = false;
    viewport()->update();
    emit rendered();
  });
}

HeatmapView::~HeatmapView() = default;

bool HeatmapView::setData(const HeatmapData& data, QString* error) {
  const qsizetype n = qsizetype(data.rows) * data.cols;
  if (data.rows < 0 || data.cols < 0)
    return fail(error,
                QStringLiteral("HeatmapData: negative size %1 x %2").arg(data.rows).arg(data.cols));
  if (data.values.size() != n)
    return fail(error, QStringLiteral("HeatmapData.values: %1 values for %2 x %3 = %4 cells")
                           .arg(data.values.size())
                           .arg(data.rows)
                           .arg(data.cols)
                           .arg(n));
  if (!data.rowLabels.isEmpty() && data.rowLabels.size() != data.rows)
    return fail(error, QStringLiteral("HeatmapData.rowLabels: %1 labels for %2 rows")
                           .arg(data.rowLabels.size())
                           .arg(data.rows));
  if (!data.colLabels.isEmpty() && data.colLabels.size() != data.cols)
    return fail(error, QStringLiteral("HeatmapData.colLabels: %1 labels for %2 columns")
                           .arg(data.colLabels.size())
                           .arg(data.cols));
  if (!data.mask.isEmpty() && data.mask.size() != n)
    return fail(
        error,
        QStringLiteral("HeatmapData.mask: %1 entries for %2 cells").arg(data.mask.size()).arg(n));
  if (!data.annotations.isEmpty() && data.annotations.size() != n)
    return fail(error, QStringLiteral("HeatmapData.annotations: %1 entries for %2 cells")
                           .arg(data.annotations.size())
                           .arg(n));
  m_data = data;
  const QFontMetricsF fm(font());
  m_rowText.clear();
  m_colText.clear();
  m_rowTextW = m_colTextW = 0;
  for (int r = 0; r < data.rows; ++r) {
    m_rowText.append(displayLabel(rowLabel(r), fm));
    m_rowTextW = std::max(m_rowTextW, fm.horizontalAdvance(m_rowText.back()));
  }
  for (int c = 0; c < data.cols; ++c) {
    m_colText.append(displayLabel(colLabel(c), fm));
    m_colTextW = std::max(m_colTextW, fm.horizontalAdvance(m_colText.back()));
  }
  m_hover = {-1, -1};
  m_hoverText.clear();
  if (m_autoRange) {
    const auto r =
        heatmapAutoRange({data.rows, data.cols, data.values, data.mask}, m_scale.isDiverging());
    m_lo = r.first;
    m_hi = r.second;
  }
  if (m_fit) m_cell = fitCellSize();
  updateScrollBars();
  startRender();
  return true;
}

void HeatmapView::setColorScale(ColorScaleKind kind) {
  m_scale = ColorScale(kind);
  if (m_autoRange) {
    setAutoValueRange();
    return;
  }
  startRender();
}

void HeatmapView::setValueRange(double lo, double hi) {
  m_autoRange = false;
  m_lo = lo;
  m_hi = hi > lo ? hi : lo + 1;
  startRender();
}

void HeatmapView::setAutoValueRange() {
  m_autoRange = true;
  const auto r = heatmapAutoRange({m_data.rows, m_data.cols, m_data.values, m_data.mask},
                                  m_scale.isDiverging());
  m_lo = r.first;
  m_hi = r.second;
  startRender();
}

void HeatmapView::startRender() {
  const int gen = ++m_generation;
  HeatmapCells cells{m_data.rows, m_data.cols, m_data.values, m_data.mask};
  if (qsizetype(cells.rows) * cells.cols <= kAsyncCells) {
    m_image = renderHeatmapCells(cells, m_scale, m_lo, m_hi);
    m_pending = false;
    viewport()->update();
    emit rendered();
    return;
  }
  // The previous image stays on screen (scaled to the new grid) until this lands.
  m_pending = true;
  auto promise = std::make_shared<QPromise<QImage>>();
  m_watchGeneration = gen;
  m_watcher->setFuture(promise->future());
  promise->start();
  QThreadPool::globalInstance()->start([promise, cells, scale = m_scale, lo = m_lo, hi = m_hi] {
    promise->addResult(renderHeatmapCells(cells, scale, lo, hi));
    promise->finish();
  });
  viewport()->update();
}

QString HeatmapView::rowLabel(int r) const {
  return m_data.rowLabels.value(r, QString::number(r));
}
QString HeatmapView::colLabel(int c) const {
  return m_data.colLabels.value(c, QString::number(c));
}

QPointF HeatmapView::scrollOffset() const {
  return QPointF(horizontalScrollBar()->value(), verticalScrollBar()->value());
}

double HeatmapView::fitCellSize() const {
  if (m_data.rows == 0 || m_data.cols == 0) return m_cell;
  // Twice: the label band depends on the cell size (labels rotate when they do not fit).
  double cell = 1;
  for (int i = 0; i < 2; ++i) {
    const Layout l = computeLayout(viewport()->size(), cell, false);
    cell = std::min(l.availW / m_data.cols, l.availH / m_data.rows);
    cell = std::clamp(cell, kMinCell, kMaxCell);
  }
  return cell;
}

void HeatmapView::updateScrollBars() {
  const Layout l = computeLayout(viewport()->size(), m_cell, false);
  const double w = m_data.cols * m_cell, h = m_data.rows * m_cell;
  horizontalScrollBar()->setRange(0, std::max(0, int(std::ceil(w - l.availW))));
  verticalScrollBar()->setRange(0, std::max(0, int(std::ceil(h - l.availH))));
  horizontalScrollBar()->setPageStep(std::max(1, int(l.availW)));
  verticalScrollBar()->setPageStep(std::max(1, int(l.availH)));
  horizontalScrollBar()->setSingleStep(std::max(1, int(m_cell)));
  verticalScrollBar()->setSingleStep(std::max(1, int(m_cell)));
  viewport()->update();
}

void HeatmapView::setCellSize(double pixels) {
  const Layout l = computeLayout(viewport()->size(), m_cell, false);
  zoomAround(pixels, l.grid.topLeft());
}

void HeatmapView::zoomIn() {
  zoomAround(m_cell * 1.25, computeLayout(viewport()->size(), m_cell, false).grid.center());
}
void HeatmapView::zoomOut() {
  zoomAround(m_cell / 1.25, computeLayout(viewport()->size(), m_cell, false).grid.center());
}

void HeatmapView::fitToWindow() {
  m_fit = true;
  m_cell = fitCellSize();
  updateScrollBars();
  emit zoomChanged(m_cell);
}

void HeatmapView::zoomAround(double cell, QPointF anchor) {
  cell = std::clamp(cell, kMinCell, kMaxCell);
  const Layout before = computeLayout(viewport()->size(), m_cell, false);
  const QPointF content = (anchor - before.grid.topLeft() + scrollOffset()) / m_cell;
  m_fit = false;
  m_cell = cell;
  updateScrollBars();
  const Layout after = computeLayout(viewport()->size(), m_cell, false);
  const QPointF scroll = content * m_cell - (anchor - after.grid.topLeft());
  horizontalScrollBar()->setValue(int(std::lround(scroll.x())));
  verticalScrollBar()->setValue(int(std::lround(scroll.y())));
  viewport()->update();
  emit zoomChanged(m_cell);
}

void HeatmapView::scrollToCell(int row, int col) {
  const Layout l = computeLayout(viewport()->size(), m_cell, false);
  horizontalScrollBar()->setValue(int((col + 0.5) * m_cell - l.availW / 2));
  verticalScrollBar()->setValue(int((row + 0.5) * m_cell - l.availH / 2));
}

QRectF HeatmapView::cellRect(int row, int col) const {
  const Layout l = computeLayout(viewport()->size(), m_cell, false);
  const QPointF o = l.grid.topLeft() - scrollOffset();
  return QRectF(o.x() + col * m_cell, o.y() + row * m_cell, m_cell, m_cell);
}

QPoint HeatmapView::cellAt(const QPointF& pos) const {
  const Layout l = computeLayout(viewport()->size(), m_cell, false);
  if (!l.grid.contains(pos)) return {-1, -1};
  const QPointF p = pos - l.grid.topLeft() + scrollOffset();
  const int c = int(std::floor(p.x() / m_cell)), r = int(std::floor(p.y() / m_cell));
  if (r < 0 || c < 0 || r >= m_data.rows || c >= m_data.cols) return {-1, -1};
  return {c, r};
}

void HeatmapView::setHover(QPoint cell, QPoint globalPos) {
  if (cell == m_hover) return;
  m_hover = cell;
  viewport()->update();
  if (cell.x() < 0) {
    m_hoverText.clear();
    QToolTip::hideText();
    emit hoverLeft();
    return;
  }
  const qsizetype i = qsizetype(cell.y()) * m_data.cols + cell.x();
  const float v = m_data.values[i];
  const bool masked = !m_data.mask.isEmpty() && m_data.mask[i];
  m_hoverText = QStringLiteral("%1 \u2192 %2\n%3")
                    .arg(rowLabel(cell.y()), colLabel(cell.x()),
                         masked ? tr("not applicable") : QString::asprintf("%.6g", double(v)));
  if (!m_data.annotations.isEmpty() && !m_data.annotations[i].isEmpty())
    m_hoverText += QStringLiteral("  (%1)").arg(m_data.annotations[i]);
  QToolTip::showText(globalPos, m_hoverText, viewport(),
                     cellRect(cell.y(), cell.x()).toAlignedRect());
  emit hovered(cell.y(), cell.x(), double(v));
}

void HeatmapView::mouseMoveEvent(QMouseEvent* e) {
  const QPoint pos = e->position().toPoint();
  if ((e->buttons() & Qt::LeftButton) && m_panStart.x() >= 0) {
    const QPoint d = pos - m_panStart;
    if (m_panned || d.manhattanLength() > 4) {
      m_panned = true;
      horizontalScrollBar()->setValue(m_panScroll.x() - d.x());
      verticalScrollBar()->setValue(m_panScroll.y() - d.y());
    }
  }
  setHover(cellAt(pos), e->globalPosition().toPoint());
}

void HeatmapView::mousePressEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton) return QAbstractScrollArea::mousePressEvent(e);
  m_panStart = e->position().toPoint();
  m_panScroll = scrollOffset().toPoint();
  m_panned = false;
  m_pressCell = cellAt(e->position());
}

void HeatmapView::mouseReleaseEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton) return QAbstractScrollArea::mouseReleaseEvent(e);
  const QPoint cell = cellAt(e->position());
  if (!m_panned && cell.x() >= 0 && cell == m_pressCell) emit clicked(cell.y(), cell.x());
  m_panStart = m_pressCell = {-1, -1};
  m_panned = false;
}

void HeatmapView::leaveEvent(QEvent* e) {
  setHover({-1, -1}, {});
  QAbstractScrollArea::leaveEvent(e);
}

void HeatmapView::wheelEvent(QWheelEvent* e) {
  if (!(e->modifiers() & Qt::ControlModifier)) return QAbstractScrollArea::wheelEvent(e);
  zoomAround(m_cell * std::pow(1.0015, e->angleDelta().y()), e->position());
  e->accept();
}

void HeatmapView::keyPressEvent(QKeyEvent* e) {
  switch (e->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      zoomIn();
      return;
    case Qt::Key_Minus:
      zoomOut();
      return;
    case Qt::Key_0:
    case Qt::Key_F:
      fitToWindow();
      return;
    default:
      QAbstractScrollArea::keyPressEvent(e);
  }
}

void HeatmapView::resizeEvent(QResizeEvent* e) {
  QAbstractScrollArea::resizeEvent(e);
  if (m_fit) m_cell = fitCellSize();
  updateScrollBars();
}

void HeatmapView::scrollContentsBy(int, int) {
  viewport()->update();
}

QImage HeatmapView::renderImage(double scale) const {
  double cell = m_cell;
  const double side = std::max(m_data.rows, m_data.cols) * cell * scale;
  if (side > kMaxExportSide) cell *= kMaxExportSide / side;
  const Layout l = computeLayout({}, cell, true);
  QImage image(
      QSize(int(std::ceil(l.total.width() * scale)), int(std::ceil(l.total.height() * scale))),
      QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::white);
  QPainter p(&image);
  p.scale(scale, scale);
  paintMap(p, l, {}, false, false);
  return image;
}

bool HeatmapView::exportPng(const QString& path, double scale, QString* error) const {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) return fail(error, path + ": " + file.errorString());
  if (!renderImage(scale).save(&file, "PNG")) return fail(error, path + ": PNG encoding failed");
  if (!file.commit()) return fail(error, path + ": " + file.errorString());
  return true;
}

bool HeatmapView::exportSvg(const QString& path, QString* error) const {
  const Layout l = computeLayout({}, m_cell, true);
  QBuffer buffer;
  buffer.open(QIODevice::WriteOnly);
  QSvgGenerator svg;
  svg.setOutputDevice(&buffer);
  svg.setSize(l.total.toSize());
  svg.setViewBox(QRectF(QPointF(0, 0), l.total));
  svg.setTitle(m_data.title);
  {
    QPainter p(&svg);
    p.fillRect(QRectF(QPointF(0, 0), l.total), Qt::white);
    // Vector cells while the file stays small; an embedded image beyond.
    paintMap(p, l, {}, false, qsizetype(m_data.rows) * m_data.cols <= 64 * 64);
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) return fail(error, path + ": " + file.errorString());
  file.write(buffer.data());
  if (!file.commit()) return fail(error, path + ": " + file.errorString());
  return true;
}

bool HeatmapView::exportCsv(const QString& path, QString* error) const {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
    return fail(error, path + ": " + file.errorString());
  QString out;
  for (int c = 0; c < m_data.cols; ++c) out += ',' + csvField(colLabel(c));
  out += '\n';
  for (int r = 0; r < m_data.rows; ++r) {
    out += csvField(rowLabel(r));
    for (int c = 0; c < m_data.cols; ++c) {
      const qsizetype i = qsizetype(r) * m_data.cols + c;
      out += ',';
      if (m_data.mask.isEmpty() || !m_data.mask[i])
        out += QString::asprintf("%.9g", double(m_data.values[i]));
    }
    out += '\n';
  }
  file.write(out.toUtf8());
  if (!file.commit()) return fail(error, path + ": " + file.errorString());
  return true;
}
