// The alternatives panel of TokenView: painted by hand (a few rows, no child widgets) so
// it is cheap to refill on every hover.
#include "widgets/token_alternatives_popup.h"

#include <QMouseEvent>
#include <QPainter>
#include <algorithm>

#include "widgets/token_view.h"

namespace {
constexpr int kPad = 8;
constexpr int kBarWidth = 90;
constexpr int kTextWidth = 150;
constexpr int kPercentWidth = 58;

QString percent(double p) {
  if (p >= 0.1) return QString::number(p * 100, 'f', 1) + " %";
  if (p >= 0.001) return QString::number(p * 100, 'f', 2) + " %";
  return QString::number(p, 'e', 1);
}
}  // namespace

TokenAlternativesPopup::TokenAlternativesPopup(QWidget* parent) : QFrame(parent) {
  setFrameShape(QFrame::StyledPanel);
  setMouseTracking(true);
  setAutoFillBackground(true);
  setBackgroundRole(QPalette::ToolTipBase);
  setForegroundRole(QPalette::ToolTipText);
  setCursor(Qt::PointingHandCursor);
}

void TokenAlternativesPopup::setContent(const QString& token, double probability,
                                        const QVector<TokenAlternative>& alternatives) {
  m_token = token;
  m_probability = probability;
  m_alternatives = alternatives;
  m_hoverRow = -1;
  resize(sizeHint());
  update();
}

int TokenAlternativesPopup::headerHeight() const { return fontMetrics().height() * 2 + kPad; }
int TokenAlternativesPopup::rowHeight() const { return fontMetrics().height() + 6; }

QSize TokenAlternativesPopup::sizeHint() const {
  const int rows = std::max<int>(1, int(m_alternatives.size()));
  return {2 * kPad + kTextWidth + kBarWidth + kPercentWidth + 12,
          kPad + headerHeight() + rows * rowHeight() + kPad};
}

QRect TokenAlternativesPopup::rowRect(int i) const {
  if (i < 0 || i >= m_alternatives.size()) return {};
  return {kPad / 2, kPad + headerHeight() + i * rowHeight(), width() - kPad, rowHeight()};
}

int TokenAlternativesPopup::rowAt(const QPoint& pos) const {
  for (int i = 0; i < m_alternatives.size(); ++i)
    if (rowRect(i).contains(pos)) return i;
  return -1;
}

void TokenAlternativesPopup::paintEvent(QPaintEvent* event) {
  QFrame::paintEvent(event);
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  const QPalette& pal = palette();
  const QFontMetrics fm = fontMetrics();
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  p.setPen(pal.color(QPalette::ToolTipText));
  const int x0 = kPad;
  int y = kPad;
  p.drawText(QRect(x0, y, width() - 2 * kPad, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
             fm.elidedText("“" + TokenView::displayText(m_token) + "”  " + percent(m_probability),
                           Qt::ElideRight, width() - 2 * kPad));
  p.setFont(font());
  QColor dim = pal.color(QPalette::ToolTipText);
  dim.setAlphaF(0.6);
  p.setPen(dim);
  p.drawText(QRect(x0, y + fm.height(), width() - 2 * kPad, fm.height()),
             Qt::AlignLeft | Qt::AlignVCenter,
             m_alternatives.isEmpty() ? tr("no alternatives recorded")
                                      : tr("alternatives — click one to continue from it"));
  const QColor bar = pal.color(QPalette::Highlight);
  for (int i = 0; i < m_alternatives.size(); ++i) {
    const QRect r = rowRect(i);
    if (i == m_hoverRow) {
      QColor h = pal.color(QPalette::Highlight);
      h.setAlphaF(0.18);
      p.fillRect(r, h);
    }
    const auto& a = m_alternatives[i];
    p.setPen(pal.color(QPalette::ToolTipText));
    p.drawText(QRect(x0, r.y(), kTextWidth, r.height()), Qt::AlignLeft | Qt::AlignVCenter,
               fm.elidedText(TokenView::displayText(a.text), Qt::ElideRight, kTextWidth));
    const QRectF track(x0 + kTextWidth + 6, r.y() + r.height() * 0.3, kBarWidth, r.height() * 0.4);
    QColor trackColor = dim;
    trackColor.setAlphaF(0.15);
    p.fillRect(track, trackColor);
    p.fillRect(QRectF(track.x(), track.y(), track.width() * std::clamp(a.probability, 0.0, 1.0),
                      track.height()),
               bar);
    p.setPen(dim);
    p.drawText(QRect(int(track.right()) + 6, r.y(), kPercentWidth, r.height()),
               Qt::AlignRight | Qt::AlignVCenter, percent(a.probability));
  }
}

void TokenAlternativesPopup::mouseMoveEvent(QMouseEvent* event) {
  const int row = rowAt(event->position().toPoint());
  if (row != m_hoverRow) {
    m_hoverRow = row;
    update();
  }
}

// Accepted so the press does not fall through to the view (which would end the hover).
void TokenAlternativesPopup::mousePressEvent(QMouseEvent* event) { event->accept(); }

void TokenAlternativesPopup::mouseReleaseEvent(QMouseEvent* event) {
  const int row = rowAt(event->position().toPoint());
  if (event->button() == Qt::LeftButton && row >= 0) emit alternativeClicked(row);
}

void TokenAlternativesPopup::leaveEvent(QEvent* event) {
  m_hoverRow = -1;
  update();
  emit mouseLeft();
  QFrame::leaveEvent(event);
}
