// AttentionLinesView: lines are drawn weakest first so strong links stay on
// top; lines under 1% of the maximum are skipped (they would be invisible and
// cost most of the paint time for long inputs).
#include "widgets/attention_lines_view.h"

#include <QFontMetricsF>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <algorithm>
#include <cmath>

namespace {

constexpr double kMargin = 10, kPad = 6, kGapMin = 120, kMaxLabel = 160, kMinOpacity = 0.01;

QString shown(QString s) {
  s.replace('\n', QChar(0x21B5)).replace('\t', QChar(0x21E5));
  return s.isEmpty() ? QStringLiteral("\u2205") : s;
}

}  // namespace

AttentionLinesView::AttentionLinesView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setBackgroundRole(QPalette::Base);
  setAutoFillBackground(true);
}

bool AttentionLinesView::setData(const QStringList& left, const QStringList& right,
                                 const QVector<float>& weights, QString* error) {
  if (weights.size() != qsizetype(left.size()) * right.size()) {
    if (error)
      *error = QStringLiteral("AttentionLinesView: %1 weights for %2 x %3 tokens")
                   .arg(weights.size())
                   .arg(left.size())
                   .arg(right.size());
    return false;
  }
  m_left = left;
  m_right = right;
  m_weights = weights;
  m_max = 0;
  for (float w : weights)
    if (std::isfinite(w)) m_max = std::max(m_max, w);
  if (!(m_max > 0)) m_max = 1;
  const QFontMetricsF fm(font());
  m_labelW = 20;
  for (const QStringList* list : {&m_left, &m_right})
    for (const QString& t : *list)
      m_labelW = std::max(m_labelW, std::min(kMaxLabel, fm.horizontalAdvance(shown(t))));
  m_hoverSide = m_hoverIndex = -1;
  updateGeometry();
  update();
  return true;
}

void AttentionLinesView::setColor(const QColor& color) {
  m_color = color;
  update();
}

void AttentionLinesView::setTitle(const QString& title) {
  m_title = title;
  updateGeometry();
  update();
}

double AttentionLinesView::rowHeight() const {
  return QFontMetricsF(font()).height() + 6;
}
double AttentionLinesView::top() const {
  return kMargin + (m_title.isEmpty() ? 0 : QFontMetricsF(font()).height() + 10);
}
double AttentionLinesView::columnWidth() const {
  return m_labelW + 2 * kPad;
}

QSize AttentionLinesView::sizeHint() const {
  const int n = int(std::max(m_left.size(), m_right.size()));
  return QSize(int(2 * kMargin + 2 * columnWidth() + 2 * kGapMin),
               int(top() + n * rowHeight() + kMargin));
}

QRectF AttentionLinesView::tokenRect(Side side, int index) const {
  const double w = columnWidth();
  const double x = side == Left ? kMargin : width() - kMargin - w;
  return QRectF(x, top() + index * rowHeight(), w, rowHeight());
}

double AttentionLinesView::weightOf(int i, int j) const {
  const float w = m_weights[qsizetype(i) * m_right.size() + j];
  return std::isfinite(w) ? std::clamp(double(w) / m_max, 0.0, 1.0) : 0.0;
}

double AttentionLinesView::lineOpacity(int i, int j) const {
  if (i < 0 || j < 0 || i >= m_left.size() || j >= m_right.size()) return 0;
  if (m_hoverSide == Left && m_hoverIndex != i) return 0;
  if (m_hoverSide == Right && m_hoverIndex != j) return 0;
  const double o = weightOf(i, j);
  return o < kMinOpacity ? 0 : o;
}

QPointF AttentionLinesView::lineMidpoint(int i, int j) const {
  const QRectF a = tokenRect(Left, i), b = tokenRect(Right, j);
  return (QPointF(a.right() + 2, a.center().y()) + QPointF(b.left() - 2, b.center().y())) / 2;
}

void AttentionLinesView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  const QFontMetricsF fm(font());
  if (!m_title.isEmpty()) {
    QFont f = font();
    f.setBold(true);
    p.setFont(f);
    p.setPen(QColor(0x20, 0x20, 0x20));
    p.drawText(QRectF(0, kMargin, width(), fm.height()), Qt::AlignHCenter, m_title);
    p.setFont(font());
  }
  struct Line {
    double o;
    int i, j;
  };
  QVector<Line> lines;
  for (int i = 0; i < m_left.size(); ++i)
    for (int j = 0; j < m_right.size(); ++j)
      if (const double o = lineOpacity(i, j); o > 0) lines.append({o, i, j});
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.o < b.o; });
  for (const Line& l : lines) {
    QColor c = m_color;
    c.setAlphaF(float(0.08 + 0.92 * l.o));
    p.setPen(QPen(c, 0.8 + 2.2 * l.o, Qt::SolidLine, Qt::RoundCap));
    const QRectF a = tokenRect(Left, l.i), b = tokenRect(Right, l.j);
    p.drawLine(QPointF(a.right() + 2, a.center().y()), QPointF(b.left() - 2, b.center().y()));
  }
  // Token boxes: the hovered token solid, the other column tinted by its weight.
  for (int side = Left; side <= Right; ++side) {
    const QStringList& tokens = side == Left ? m_left : m_right;
    for (int k = 0; k < tokens.size(); ++k) {
      const QRectF r = tokenRect(Side(side), k).adjusted(0, 1, 0, -1);
      double tint = 0;
      if (m_hoverSide == side && m_hoverIndex == k)
        tint = 0.35;
      else if (m_hoverSide == Left && side == Right)
        tint = 0.6 * weightOf(m_hoverIndex, k);
      else if (m_hoverSide == Right && side == Left)
        tint = 0.6 * weightOf(k, m_hoverIndex);
      if (tint > 0) {
        QColor c = m_color;
        c.setAlphaF(float(tint));
        p.setPen(Qt::NoPen);
        p.setBrush(c);
        p.drawRoundedRect(r, 3, 3);
      }
      p.setPen(QColor(0x20, 0x20, 0x20));
      const QString text = fm.elidedText(shown(tokens[k]), Qt::ElideRight, m_labelW);
      p.drawText(r.adjusted(kPad, 0, -kPad, 0),
                 (side == Left ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter, text);
    }
  }
}

AttentionLinesView::Hit AttentionLinesView::tokenAt(QPointF pos) const {
  for (int side = Left; side <= Right; ++side) {
    const int n = int(side == Left ? m_left.size() : m_right.size());
    const QRectF first = tokenRect(Side(side), 0);
    if (pos.x() < first.left() || pos.x() > first.right() || pos.y() < first.top()) continue;
    const int k = int((pos.y() - first.top()) / rowHeight());
    if (k < n) return {side, k};
  }
  return {};
}

void AttentionLinesView::setHover(Hit hit) {
  if (hit.side == m_hoverSide && hit.index == m_hoverIndex) return;
  m_hoverSide = hit.side;
  m_hoverIndex = hit.index;
  update();
  if (hit.side < 0)
    emit hoverLeft();
  else
    emit tokenHovered(hit.side, hit.index);
}

void AttentionLinesView::mouseMoveEvent(QMouseEvent* e) {
  setHover(tokenAt(e->position()));
}

void AttentionLinesView::mouseReleaseEvent(QMouseEvent* e) {
  const Hit hit = tokenAt(e->position());
  if (e->button() == Qt::LeftButton && hit.side >= 0) emit tokenClicked(hit.side, hit.index);
}

void AttentionLinesView::leaveEvent(QEvent*) {
  setHover({});
}
