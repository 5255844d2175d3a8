// TokenView: incremental flow layout (append lays out only the new chips, a width change
// relays out everything once), painting of the visible rows only, and the hover popup.
#include "widgets/token_view.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QTimer>
#include <algorithm>

#include "widgets/token_alternatives_popup.h"

namespace {
constexpr double kMargin = 10;  // around the flow
constexpr double kChipPad = 3;  // inside a chip, left and right
constexpr double kGap = 2;      // between chips on a line
constexpr double kLineGap = 5;  // between lines
constexpr double kChipRadius = 3;
}  // namespace

TokenView::TokenView(QWidget* parent) : QAbstractScrollArea(parent) {
  viewport()->setMouseTracking(true);
  viewport()->setAutoFillBackground(true);
  viewport()->setBackgroundRole(QPalette::Base);
  setFocusPolicy(Qt::StrongFocus);
  setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  m_popup = new TokenAlternativesPopup(viewport());
  m_popup->hide();
  m_hideTimer = new QTimer(this);
  m_hideTimer->setSingleShot(true);
  m_hideTimer->setInterval(250);
  connect(m_hideTimer, &QTimer::timeout, this, &TokenView::maybeHidePopup);
  connect(m_popup, &TokenAlternativesPopup::alternativeClicked, this, [this](int alt) {
    const int token = m_hovered;
    if (token >= 0) emit alternativeChosen(token, alt);
  });
  connect(m_popup, &TokenAlternativesPopup::mouseLeft, m_hideTimer, qOverload<>(&QTimer::start));
}

QString TokenView::displayText(const QString& text) {
  QString s = text;
  s.replace(QLatin1Char(' '), QChar(0x00B7));
  s.replace(QLatin1Char('\t'), QChar(0x2192));
  s.replace(QLatin1String("\r\n"), QString(QChar(0x21B5)));
  s.replace(QLatin1Char('\n'), QChar(0x21B5));
  s.replace(QLatin1Char('\r'), QChar(0x21B5));
  return s;
}

QColor TokenView::chipColor(double probability) const {
  // RdBu reversed maps high to red: 1 - p puts unlikely tokens in red, likely ones in blue.
  const QColor c = QColor::fromRgb(m_scale.at(1.0 - std::clamp(probability, 0.0, 1.0)));
  const QColor base = palette().color(QPalette::Base);
  const double a = 0.6;
  return QColor::fromRgbF(a * c.redF() + (1 - a) * base.redF(),
                          a * c.greenF() + (1 - a) * base.greenF(),
                          a * c.blueF() + (1 - a) * base.blueF());
}

double TokenView::lineHeight() const { return fontMetrics().height() + 4; }

void TokenView::append(const QVector<TokenItem>& items) {
  if (items.isEmpty()) return;
  QScrollBar* bar = verticalScrollBar();
  const bool atBottom = bar->value() >= bar->maximum() - 2;
  const int from = count();
  m_items += items;
  for (const auto& it : items) m_generated += it.prompt ? 0 : 1;
  layoutFrom(from);
  updateScrollRange();
  if (atBottom) bar->setValue(bar->maximum());
  // Only the rows the new chips occupy need painting.
  const QRectF first = m_rects[from];
  viewport()->update(QRect(0, int(first.top()) - bar->value() - 1, viewport()->width(),
                           int(m_contentHeight - first.top()) + 2));
}

void TokenView::clear() { truncate(0); }

void TokenView::truncate(int n) {
  n = std::clamp(n, 0, count());
  if (m_hovered >= n) setHoveredIndex(-1);
  for (int i = n; i < count(); ++i) m_generated -= m_items[i].prompt ? 0 : 1;
  m_items.resize(n);
  m_rects.resize(n);
  m_breakAfter.resize(n);
  m_contentHeight = n ? m_rects.back().bottom() + kMargin : 0;
  updateScrollRange();
  viewport()->update();
}

void TokenView::layoutFrom(int from) {
  m_rects.resize(count());
  m_breakAfter.resize(count());
  const double right = std::max(kMargin + 40, viewport()->width() - kMargin);
  const double lh = lineHeight();
  double x = kMargin, y = kMargin;
  if (from > 0) {
    const QRectF prev = m_rects[from - 1];
    x = prev.right() + kGap;
    y = prev.top();
  }
  const QFontMetricsF fm(font());
  for (int i = from; i < count(); ++i) {
    const QString& t = m_items[i].text;
    const double w = std::max(8.0, fm.horizontalAdvance(displayText(t)) + 2 * kChipPad);
    if ((i > 0 && m_breakAfter[i - 1]) || (x + w > right && x > kMargin)) {
      x = kMargin;
      y += lh + kLineGap;
    }
    m_rects[i] = QRectF(x, y, w, lh);
    m_breakAfter[i] = t.endsWith(QLatin1Char('\n')) || t.endsWith(QLatin1Char('\r'));
    x += w + kGap;
  }
  m_contentHeight = count() ? m_rects.back().bottom() + kMargin : 0;
  m_layoutWidth = viewport()->width();
}

void TokenView::updateScrollRange() {
  QScrollBar* bar = verticalScrollBar();
  bar->setPageStep(viewport()->height());
  bar->setSingleStep(int(lineHeight()));
  bar->setRange(0, std::max(0, int(std::ceil(m_contentHeight)) - viewport()->height()));
}

QRect TokenView::tokenRect(int i) const {
  if (i < 0 || i >= count()) return {};
  return m_rects[i].translated(0, -verticalScrollBar()->value()).toAlignedRect();
}

int TokenView::tokenAt(const QPoint& pos) const {
  const QPointF p(pos.x(), pos.y() + verticalScrollBar()->value());
  // Rows are in flow order: the first chip whose bottom is below p is on p's row or later.
  auto it = std::lower_bound(m_rects.begin(), m_rects.end(), p.y(),
                             [](const QRectF& r, double y) { return r.bottom() < y; });
  for (; it != m_rects.end() && it->top() <= p.y(); ++it)
    if (it->contains(p)) return int(it - m_rects.begin());
  return -1;
}

void TokenView::paintEvent(QPaintEvent* event) {
  QPainter p(viewport());
  p.setRenderHint(QPainter::Antialiasing);
  const double off = verticalScrollBar()->value();
  const QRectF dirty = QRectF(event->rect()).translated(0, off);
  const QPalette& pal = palette();
  auto it = std::lower_bound(m_rects.begin(), m_rects.end(), dirty.top(),
                             [](const QRectF& r, double y) { return r.bottom() < y; });
  p.translate(0, -off);
  for (; it != m_rects.end() && it->top() <= dirty.bottom(); ++it) {
    const int i = int(it - m_rects.begin());
    const TokenItem& t = m_items[i];
    const QRectF r = it->adjusted(0, 1, 0, -1);
    QColor bg = t.prompt ? pal.color(QPalette::AlternateBase) : chipColor(t.probability);
    p.setPen(Qt::NoPen);
    p.setBrush(bg);
    p.drawRoundedRect(r, kChipRadius, kChipRadius);
    if (i == m_hovered) {
      p.setPen(QPen(pal.color(QPalette::Highlight), 2));
      p.setBrush(Qt::NoBrush);
      p.drawRoundedRect(r, kChipRadius, kChipRadius);
    }
    QColor fg = t.prompt ? pal.color(QPalette::Text) : QColor(ColorScale::contrastText(bg.rgb()));
    if (t.prompt) fg.setAlphaF(0.7);
    p.setPen(fg);
    p.drawText(r.adjusted(kChipPad, 0, -kChipPad, 0), Qt::AlignLeft | Qt::AlignVCenter,
               displayText(t.text));
  }
  if (m_items.isEmpty()) {
    QColor dim = pal.color(QPalette::Text);
    dim.setAlphaF(0.5);
    p.setPen(dim);
    p.drawText(viewport()->rect().adjusted(12, 12, -12, -12), Qt::AlignLeft | Qt::AlignTop,
               tr("Generated tokens appear here, coloured by probability "
                  "(blue likely, red unlikely). Hover a token to see its alternatives."));
  }
}

void TokenView::resizeEvent(QResizeEvent* event) {
  QAbstractScrollArea::resizeEvent(event);
  if (viewport()->width() != m_layoutWidth) layoutFrom(0);
  updateScrollRange();
  placePopup();
}

void TokenView::changeEvent(QEvent* event) {
  QAbstractScrollArea::changeEvent(event);
  if (event->type() == QEvent::FontChange) {
    layoutFrom(0);
    updateScrollRange();
    viewport()->update();
  }
}

void TokenView::setHoveredIndex(int i) {
  if (i < -1 || i >= count()) i = -1;
  if (i >= 0 && m_items[i].prompt) i = -1;
  m_hideTimer->stop();
  if (i == m_hovered) return;
  const int old = m_hovered;
  m_hovered = i;
  if (old >= 0) viewport()->update(tokenRect(old).adjusted(-3, -3, 3, 3));
  if (i >= 0) {
    viewport()->update(tokenRect(i).adjusted(-3, -3, 3, 3));
    const TokenItem& t = m_items[i];
    m_popup->setContent(t.text, t.probability, t.alternatives);
    placePopup();
    m_popup->show();
    m_popup->raise();
  } else {
    m_popup->hide();
  }
  emit tokenHovered(i);
}

void TokenView::placePopup() {
  if (m_hovered < 0) return;
  const QRect chip = tokenRect(m_hovered);
  const QSize s = m_popup->sizeHint();
  const QRect vp = viewport()->rect();
  int x = std::clamp(chip.left(), vp.left() + 2, std::max(vp.left() + 2, vp.right() - s.width() - 2));
  int y = chip.bottom() + 4;
  if (y + s.height() > vp.bottom() && chip.top() - 4 - s.height() >= vp.top())
    y = chip.top() - 4 - s.height();
  m_popup->setGeometry(x, y, s.width(), s.height());
}

bool TokenView::popupVisible() const { return m_popup->isVisible() && m_hovered >= 0; }

QVector<TokenAlternative> TokenView::shownAlternatives() const {
  return popupVisible() ? m_popup->alternatives() : QVector<TokenAlternative>{};
}

QRect TokenView::alternativeRect(int alt) const {
  const QRect r = m_popup->rowRect(alt);
  return r.isEmpty() || !popupVisible() ? QRect() : r.translated(m_popup->pos());
}

void TokenView::maybeHidePopup() {
  if (m_popup->underMouse()) return;
  const QPoint pos = viewport()->mapFromGlobal(QCursor::pos());
  if (m_hovered >= 0 && tokenRect(m_hovered).contains(pos)) return;
  setHoveredIndex(-1);
}

void TokenView::mouseMoveEvent(QMouseEvent* event) {
  const int i = tokenAt(event->position().toPoint());
  if (i >= 0 && !m_items[i].prompt) {
    setHoveredIndex(i);
  } else if (m_hovered >= 0 && !m_popup->geometry().adjusted(-6, -6, 6, 6).contains(event->position().toPoint())) {
    m_hideTimer->start();
  }
  QAbstractScrollArea::mouseMoveEvent(event);
}

void TokenView::mousePressEvent(QMouseEvent* event) {
  const int i = tokenAt(event->position().toPoint());
  setHoveredIndex(i);
  QAbstractScrollArea::mousePressEvent(event);
}

void TokenView::leaveEvent(QEvent* event) {
  if (m_hovered >= 0) m_hideTimer->start();
  QAbstractScrollArea::leaveEvent(event);
}

void TokenView::keyPressEvent(QKeyEvent* event) {
  if (event->key() == Qt::Key_Escape && m_hovered >= 0) {
    setHoveredIndex(-1);
    return;
  }
  QAbstractScrollArea::keyPressEvent(event);
}

void TokenView::scrollContentsBy(int, int) {
  placePopup();
  viewport()->update();
}
