// Painted with QPainter in the palette's colours so it follows the light/dark theme; at
// most 30 category bars are drawn (the rest are summed into "… N more").
#include "ui/finetune/bar_chart.h"

#include <QPainter>
#include <algorithm>

namespace {
constexpr int kMaxBars = 30;
QColor barColor(const QPalette& pal) { return pal.color(QPalette::Highlight); }
}  // namespace

BarChart::BarChart(Kind kind, QWidget* parent) : QWidget(parent), m_kind(kind) {
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void BarChart::setTitle(const QString& title) {
  m_title = title;
  update();
}

void BarChart::setBars(const QStringList& labels, const QVector<double>& values, const QString& caption) {
  m_labels = labels;
  m_values = values;
  m_caption = caption;
  if (m_kind == Kind::kCategories && m_values.size() > kMaxBars) {
    double rest = 0;
    for (int i = kMaxBars - 1; i < m_values.size(); ++i) rest += m_values[i];
    const int more = int(m_values.size()) - (kMaxBars - 1);
    m_values.resize(kMaxBars - 1);
    m_labels = m_labels.mid(0, kMaxBars - 1);
    m_values << rest;
    m_labels << tr("… %1 more").arg(more);
  }
  updateGeometry();
  update();
}

QSize BarChart::sizeHint() const {
  const int line = fontMetrics().height();
  if (m_kind == Kind::kCategories) return {320, line * (2 + int(std::max<qsizetype>(m_values.size(), 3))) + 8};
  return {320, 170};
}

QSize BarChart::minimumSizeHint() const { return {160, m_kind == Kind::kCategories ? sizeHint().height() : 120}; }

void BarChart::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  const int line = fontMetrics().height();
  QRect area = rect().adjusted(4, 2, -4, -2);
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  p.setPen(palette().color(QPalette::WindowText));
  p.drawText(area.left(), area.top() + fontMetrics().ascent(), m_title);
  p.setFont(font());
  if (!m_caption.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(QRect(area.left(), area.top(), area.width(), line), Qt::AlignRight | Qt::AlignVCenter, m_caption);
  }
  area.setTop(area.top() + line + 4);
  if (m_values.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(area, Qt::AlignCenter, tr("no data"));
    return;
  }
  if (m_kind == Kind::kCategories) paintCategories(p, area);
  else paintHistogram(p, area);
}

void BarChart::paintCategories(QPainter& p, const QRect& area) {
  const QFontMetrics fm = fontMetrics();
  const int line = fm.height();
  int labelW = 0;
  for (const QString& l : m_labels) labelW = std::max(labelW, fm.horizontalAdvance(l));
  labelW = std::min(labelW + 8, area.width() / 2);
  const double maxV = *std::max_element(m_values.begin(), m_values.end());
  const int countW = fm.horizontalAdvance(QString::number(qint64(maxV))) + 8;
  const int barArea = std::max(10, area.width() - labelW - countW);
  for (int i = 0; i < m_values.size(); ++i) {
    const int y = area.top() + i * line;
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRect(area.left(), y, labelW - 6, line), Qt::AlignRight | Qt::AlignVCenter,
               fm.elidedText(m_labels.value(i), Qt::ElideMiddle, labelW - 6));
    const int w = maxV > 0 ? int(barArea * m_values[i] / maxV) : 0;
    p.fillRect(QRect(area.left() + labelW, y + 2, std::max(w, 1), line - 4), barColor(palette()));
    p.drawText(QRect(area.left() + labelW + w + 4, y, countW, line), Qt::AlignLeft | Qt::AlignVCenter,
               QString::number(qint64(m_values[i])));
  }
}

void BarChart::paintHistogram(QPainter& p, const QRect& area) {
  const QFontMetrics fm = fontMetrics();
  const QRect plot = area.adjusted(0, 0, 0, -fm.height() - 2);
  const double maxV = *std::max_element(m_values.begin(), m_values.end());
  const double w = double(plot.width()) / m_values.size();
  for (int i = 0; i < m_values.size(); ++i) {
    const int h = maxV > 0 ? int(plot.height() * m_values[i] / maxV) : 0;
    QRectF bar(plot.left() + i * w + 1, plot.bottom() - h, std::max(1.0, w - 2), h);
    p.fillRect(bar, barColor(palette()));
  }
  p.setPen(palette().color(QPalette::Mid));
  p.drawLine(plot.bottomLeft(), plot.bottomRight());
  p.setPen(palette().color(QPalette::WindowText));
  // First, middle and last bin edges under the axis.
  for (int i : {0, int(m_values.size()) / 2, int(m_values.size()) - 1}) {
    const QString t = m_labels.value(i);
    const int x = int(plot.left() + i * w);
    p.drawText(QRect(x, plot.bottom() + 2, int(std::max(w, 40.0)), fm.height()), Qt::AlignLeft, t);
  }
}
