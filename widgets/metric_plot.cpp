// MetricPlot implementation. Layout: one QCPAxisRect per panel stacked in a
// column (left margins aligned by a margin group), a legend inset in each panel
// (only the top one used when names recur across panels), a tracer + text item
// for the hover read-out. Smoothing and log axes rebuild the graphs from the raw
// series kept in m_series, so toggling them never loses data.
#include "widgets/metric_plot.h"

#include <QCheckBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QHash>
#include <QLabel>
#include <QMouseEvent>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

namespace {

// Tableau 10: distinct on light and dark backgrounds.
const QColor kColors[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),
                          QColor(214, 39, 40),  QColor(148, 103, 189), QColor(140, 86, 75),
                          QColor(227, 119, 194), QColor(127, 127, 127), QColor(188, 189, 34),
                          QColor(23, 190, 207)};

QString formatValue(double v) { return QString::number(v, 'g', 6); }

}  // namespace

MetricPlot::MetricPlot(QWidget* parent) : QWidget(parent) {
  m_plot = new QCustomPlot(this);
  m_plot->setAutoAddPlottableToLegend(false);
  m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  m_plot->setMinimumSize(320, 220);

  m_smoothSlider = new QSlider(Qt::Horizontal, this);
  m_smoothSlider->setRange(0, 99);
  m_smoothSlider->setToolTip(tr("Exponential moving average weight"));
  m_smoothSlider->setMaximumWidth(180);
  m_smoothLabel = new QLabel(QStringLiteral("0.00"), this);
  m_smoothLabel->setMinimumWidth(32);
  m_logXBox = new QCheckBox(tr("Log x"), this);
  m_logYBox = new QCheckBox(tr("Log y"), this);
  auto* reset = new QToolButton(this);
  reset->setText(tr("Reset view"));
  reset->setToolTip(tr("Fit all curves (or double-click the plot)"));

  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Smoothing"), this));
  controls->addWidget(m_smoothSlider);
  controls->addWidget(m_smoothLabel);
  controls->addSpacing(12);
  controls->addWidget(m_logXBox);
  controls->addWidget(m_logYBox);
  controls->addStretch(1);
  controls->addWidget(reset);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(m_plot, 1);

  connect(m_smoothSlider, &QSlider::valueChanged, this,
          [this](int v) { setSmoothing(v / 100.0); });
  connect(m_logXBox, &QCheckBox::toggled, this, &MetricPlot::setLogX);
  connect(m_logYBox, &QCheckBox::toggled, this, &MetricPlot::setLogY);
  auto resetView = [this] {
    m_userView = false;
    rescale();
    replotWithLegends();
  };
  connect(reset, &QToolButton::clicked, this, resetView);
  connect(m_plot, &QCustomPlot::mouseDoubleClick, this, resetView);
  connect(m_plot, &QCustomPlot::mousePress, this, [this] { m_userView = true; });
  connect(m_plot, &QCustomPlot::mouseWheel, this, [this] { m_userView = true; });
  connect(m_plot, &QCustomPlot::mouseMove, this, &MetricPlot::onMouseMove);
  m_plot->installEventFilter(this);  // hide the read-out when the mouse leaves

  m_emptyText = tr("Select runs and metrics to plot");
  rebuildPanels();
  rebuildGraphs();
}

void MetricPlot::setSeries(const QList<PlotSeries>& series) {
  m_series = series;
  QStringList panels;
  for (const auto& s : m_series)
    if (!panels.contains(s.panel)) panels.append(s.panel);
  if (panels != m_panels || m_rects.isEmpty()) {
    m_panels = panels;
    m_userView = false;
    rebuildPanels();
  }
  rebuildGraphs();
}

void MetricPlot::setXLabel(const QString& label) {
  m_xLabel = label;
  for (auto* rect : m_rects) rect->axis(QCPAxis::atBottom)->setLabel(label);
  m_plot->replot();
}

void MetricPlot::setEmptyText(const QString& text) {
  m_emptyText = text;
  if (m_emptyLabel) m_emptyLabel->setText(text);
  m_plot->replot();
}

void MetricPlot::setSmoothing(double weight) {
  weight = std::clamp(weight, 0.0, 0.99);
  if (weight == m_smoothing) return;
  m_smoothing = weight;
  const QSignalBlocker block(m_smoothSlider);
  m_smoothSlider->setValue(int(std::lround(weight * 100)));
  m_smoothLabel->setText(QString::number(weight, 'f', 2));
  rebuildGraphs();
  emit smoothingChanged(weight);
}

void MetricPlot::setLogX(bool on) {
  if (on == m_logX) return;
  m_logX = on;
  const QSignalBlocker block(m_logXBox);
  m_logXBox->setChecked(on);
  m_userView = false;
  rebuildGraphs();
  emit logAxesChanged(m_logX, m_logY);
}

void MetricPlot::setLogY(bool on) {
  if (on == m_logY) return;
  m_logY = on;
  const QSignalBlocker block(m_logYBox);
  m_logYBox->setChecked(on);
  m_userView = false;
  rebuildGraphs();
  emit logAxesChanged(m_logX, m_logY);
}

int MetricPlot::legendItemCount() const {
  int n = 0;
  for (auto* legend : m_legends) n += legend->itemCount();
  return n;
}
Qt::Alignment MetricPlot::legendCorner(int panel) const {
  return panel >= 0 && panel < m_rects.size() ? m_rects[panel]->insetLayout()->insetAlignment(0) : Qt::Alignment();
}
int MetricPlot::legendItemCount(int panel) const {
  return panel >= 0 && panel < m_legends.size() ? m_legends[panel]->itemCount() : 0;
}

QVector<double> MetricPlot::plottedValues(int series) const {
  QVector<double> out;
  if (series < 0 || series >= m_graphs.size()) return out;
  for (auto it = m_graphs[series]->data()->constBegin(); it != m_graphs[series]->data()->constEnd(); ++it)
    out.append(it->value);
  return out;
}

QString MetricPlot::hoverText() const {
  return m_hoverLabel && m_hoverLabel->visible() ? m_hoverLabel->text() : QString();
}

QVector<double> MetricPlot::emaSmooth(const QVector<double>& y, double weight) {
  if (weight <= 0) return y;
  QVector<double> out(y.size());
  double last = 0, debias = 1;
  for (int i = 0; i < y.size(); ++i) {
    // Non-finite points pass through untouched rather than poisoning the average.
    if (!std::isfinite(y[i])) {
      out[i] = y[i];
      continue;
    }
    last = last * weight + (1 - weight) * y[i];
    debias *= weight;
    out[i] = last / (1 - debias);
  }
  return out;
}

bool MetricPlot::eventFilter(QObject* watched, QEvent* event) {
  if (watched == m_plot && event->type() == QEvent::Leave && m_tracer && m_tracer->visible()) {
    m_tracer->setVisible(false);
    m_hoverLabel->setVisible(false);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
  }
  return QWidget::eventFilter(watched, event);
}

void MetricPlot::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    applyTheme();
    m_plot->replot();
  }
}

void MetricPlot::rebuildPanels() {
  for (auto* g : m_graphs + m_rawGraphs) {
    for (auto* legend : m_legends) g->removeFromLegend(legend);
    m_plot->removeGraph(g);
  }
  m_graphs.clear();
  m_rawGraphs.clear();
  m_plot->clearItems();
  m_tracer = nullptr;
  m_hoverLabel = nullptr;
  m_emptyLabel = nullptr;
  m_plot->plotLayout()->clear();  // deletes the old axis rects and the legend insets in them
  m_legends.clear();
  m_rects.clear();

  const int n = std::max<int>(1, m_panels.size());
  auto* margins = new QCPMarginGroup(m_plot);
  for (int i = 0; i < n; ++i) {
    auto* rect = new QCPAxisRect(m_plot);
    m_plot->plotLayout()->addElement(i, 0, rect);
    rect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    rect->axis(QCPAxis::atBottom)->setLabel(m_xLabel);
    rect->axis(QCPAxis::atLeft)->setLabel(i < m_panels.size() ? m_panels[i] : QString());
    m_rects.append(rect);
    auto* legend = new QCPLegend;
    rect->insetLayout()->addElement(legend, Qt::AlignTop | Qt::AlignRight);
    legend->setLayer(QStringLiteral("legend"));
    m_legends.append(legend);
  }

  m_tracer = new QCPItemTracer(m_plot);
  m_tracer->setStyle(QCPItemTracer::tsCircle);
  m_tracer->setSize(9);
  m_tracer->setVisible(false);
  m_hoverLabel = new QCPItemText(m_plot);
  m_hoverLabel->position->setType(QCPItemPosition::ptAbsolute);
  m_hoverLabel->position->setParentAnchor(m_tracer->position);
  m_hoverLabel->setClipToAxisRect(false);
  m_hoverLabel->setTextAlignment(Qt::AlignLeft);
  m_hoverLabel->setPadding(QMargins(6, 4, 6, 4));
  m_hoverLabel->setVisible(false);
  m_emptyLabel = new QCPItemText(m_plot);
  m_emptyLabel->position->setType(QCPItemPosition::ptAxisRectRatio);
  m_emptyLabel->position->setAxisRect(m_rects[0]);
  m_emptyLabel->position->setCoords(0.5, 0.5);
  m_emptyLabel->setClipToAxisRect(false);
  m_emptyLabel->setText(m_emptyText);
  applyTheme();
}

void MetricPlot::rebuildGraphs() {
  for (auto* g : m_graphs + m_rawGraphs) {
    for (auto* legend : m_legends) g->removeFromLegend(legend);
    m_plot->removeGraph(g);
  }
  m_graphs.clear();
  m_rawGraphs.clear();
  m_tracer->setGraph(nullptr);
  m_tracer->setVisible(false);
  m_hoverLabel->setVisible(false);

  // Names that recur across panels (runs compared on several metrics) get one legend, in
  // the top panel; otherwise each panel lists its own curves, so no legend names a curve
  // drawn elsewhere.
  QHash<QString, QString> panelOf;
  bool namesSpanPanels = false;
  for (const auto& s : m_series) {
    auto it = panelOf.find(s.name);
    if (it == panelOf.end()) panelOf.insert(s.name, s.panel);
    else if (*it != s.panel) namesSpanPanels = true;
  }
  QStringList inLegend;
  for (const auto& s : m_series) {
    const int panel = std::max<int>(0, m_panels.indexOf(s.panel));
    QCPAxisRect* rect = m_rects[panel];
    QCPLegend* legend = m_legends[namesSpanPanels ? 0 : panel];
    const QColor color = s.color.isValid() ? s.color : colorFor(s.name);
    const QVector<double> smooth = emaSmooth(s.y, m_smoothing);
    QVector<double> x, y, raw;
    for (int i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.y[i]) || (m_logX && s.x[i] <= 0) || (m_logY && smooth[i] <= 0)) continue;
      x.append(s.x[i]);
      y.append(smooth[i]);
      raw.append(s.y[i]);
    }
    if (m_smoothing > 0) {  // the raw curve stays visible, faint, behind the smoothed one
      auto* g = m_plot->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
      QColor faint = color;
      faint.setAlpha(60);
      g->setPen(QPen(faint, 1));
      g->setData(x, raw, true);
      g->setName(s.name);
      m_rawGraphs.append(g);
    }
    auto* g = m_plot->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    g->setPen(QPen(color, 2));
    g->setName(s.name);
    g->setData(x, y, true);
    if (!inLegend.contains(s.name)) {  // one entry per run, whatever the number of panels
      g->addToLegend(legend);
      inLegend.append(s.name);
    }
    m_graphs.append(g);
  }
  for (auto* rect : m_rects) {
    for (auto type : {QCPAxis::atBottom, QCPAxis::atLeft}) {
      const bool log = type == QCPAxis::atBottom ? m_logX : m_logY;
      QCPAxis* axis = rect->axis(type);
      axis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
      if (log)
        axis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
      else
        axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
  }
  for (auto* legend : m_legends) legend->setVisible(legend->itemCount() > 0);
  m_emptyLabel->setVisible(m_series.isEmpty());
  if (!m_userView) rescale();
  replotWithLegends();
}

void MetricPlot::replotWithLegends() {
  m_plot->replot();  // lays out the panels: placeLegends() maps data to pixels
  if (placeLegends()) m_plot->replot();
}

// Each legend goes to the corner of its panel where it hides the fewest curve points
// (points of each segment sampled, so a sparse validation curve counts where it runs);
// top right first on ties.
bool MetricPlot::placeLegends() {
  bool moved = false;
  for (int i = 0; i < m_rects.size(); ++i) {
    QCPLegend* legend = m_legends[i];
    if (!legend->visible()) continue;
    const QRect area = m_rects[i]->rect();
    const QSize size = legend->minimumOuterSizeHint() + QSize(12, 12);  // the inset margins
    QList<QPointF> points;
    for (auto* g : m_graphs) {
      if (g->keyAxis()->axisRect() != m_rects[i]) continue;
      QPointF prev;
      bool first = true;
      for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) {
        const QPointF at(g->keyAxis()->coordToPixel(it->key), g->valueAxis()->coordToPixel(it->value));
        if (!first)
          for (int k = 1; k < 8; ++k) points.append(prev + (at - prev) * (k / 8.0));
        points.append(at);
        prev = at;
        first = false;
      }
    }
    const Qt::Alignment corners[] = {Qt::AlignTop | Qt::AlignRight, Qt::AlignTop | Qt::AlignLeft,
                                     Qt::AlignBottom | Qt::AlignRight, Qt::AlignBottom | Qt::AlignLeft};
    Qt::Alignment best = corners[0];
    qsizetype fewest = -1;
    for (Qt::Alignment c : corners) {
      const QPoint origin((c & Qt::AlignRight) ? area.right() - size.width() : area.left(),
                          (c & Qt::AlignBottom) ? area.bottom() - size.height() : area.top());
      const QRectF box(origin, size);
      const qsizetype hidden = std::count_if(points.begin(), points.end(), [&](const QPointF& p) { return box.contains(p); });
      if (fewest < 0 || hidden < fewest) fewest = hidden, best = c;
    }
    if (m_rects[i]->insetLayout()->insetAlignment(0) != best) {
      m_rects[i]->insetLayout()->setInsetAlignment(0, best);
      moved = true;
    }
  }
  return moved;
}

void MetricPlot::rescale() {
  for (auto* rect : m_rects) {
    QCPAxis* x = rect->axis(QCPAxis::atBottom);
    QCPAxis* y = rect->axis(QCPAxis::atLeft);
    if (x->graphs().isEmpty()) continue;
    x->rescale(true);
    y->rescale(true);
    if (!m_logY) {  // a little air above and below the curves
      // From the data: for a flat curve (an accuracy stuck at 0) QCustomPlot keeps the old
      // range's size, so the padding would grow with every update.
      QCPRange r;
      bool any = false;
      for (auto* g : x->graphs()) {
        bool found = false;
        const QCPRange gr = g->getValueRange(found);
        if (found) r = any ? QCPRange(std::min(r.lower, gr.lower), std::max(r.upper, gr.upper)) : gr, any = true;
      }
      if (!any) continue;
      const double scale = std::max(1.0, std::abs(r.center()));
      const double pad = r.size() > 1e-9 * scale ? r.size() * 0.05 : 0.05 * scale;
      y->setRange(r.lower - pad, r.upper + pad);
    }
  }
}

void MetricPlot::applyTheme() {
  const QPalette pal = palette();
  const QColor bg = pal.color(QPalette::Base);
  const QColor fg = pal.color(QPalette::Text);
  QColor grid = fg;
  grid.setAlpha(35);
  QColor subtle = fg;
  subtle.setAlpha(140);
  m_plot->setBackground(bg);
  for (auto* rect : m_rects) {
    for (auto* axis : rect->axes()) {
      axis->setBasePen(QPen(subtle));
      axis->setTickPen(QPen(subtle));
      axis->setSubTickPen(QPen(subtle));
      axis->setLabelColor(fg);
      axis->setTickLabelColor(fg);
      axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
      axis->grid()->setZeroLinePen(Qt::NoPen);
    }
  }
  QColor panel = bg;
  panel.setAlpha(225);
  for (auto* legend : m_legends) {
    legend->setBrush(panel);
    legend->setBorderPen(QPen(subtle));
    legend->setTextColor(fg);
  }
  if (m_hoverLabel) {
    m_hoverLabel->setBrush(panel);
    m_hoverLabel->setPen(QPen(subtle));
    m_hoverLabel->setColor(fg);
  }
  if (m_tracer) m_tracer->setPen(QPen(fg, 1.5));
  if (m_emptyLabel) m_emptyLabel->setColor(subtle);
}

QColor MetricPlot::colorFor(const QString& name) {
  int i = m_colorNames.indexOf(name);
  if (i < 0) {
    m_colorNames.append(name);
    i = m_colorNames.size() - 1;
  }
  return kColors[i % int(std::size(kColors))];
}

QCPAxisRect* MetricPlot::rectAt(const QPointF& pos) const {
  for (auto* rect : m_rects)
    if (rect->rect().contains(pos.toPoint())) return rect;
  return nullptr;
}

void MetricPlot::onMouseMove(QMouseEvent* event) {
  const QPointF pos = event->position();
  QCPAxisRect* rect = rectAt(pos);
  int best = -1;
  double bestKey = 0, bestValue = 0, bestDy = 1e300;
  for (int i = 0; rect && i < m_graphs.size(); ++i) {
    QCPGraph* g = m_graphs[i];
    if (g->keyAxis()->axisRect() != rect || g->data()->isEmpty()) continue;
    const double key = g->keyAxis()->pixelToCoord(pos.x());
    auto it = g->data()->findBegin(key, false);
    if (it == g->data()->constEnd()) --it;
    if (it != g->data()->constBegin()) {  // the nearer of the two neighbours in x
      auto prev = it - 1;
      if (std::abs(prev->key - key) < std::abs(it->key - key)) it = prev;
    }
    const double dy = std::abs(g->valueAxis()->coordToPixel(it->value) - pos.y());
    if (dy < bestDy) {
      best = i;
      bestDy = dy;
      bestKey = it->key;
      bestValue = it->value;
    }
  }
  if (best < 0) {
    if (m_tracer->visible()) {
      m_tracer->setVisible(false);
      m_hoverLabel->setVisible(false);
      m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
    return;
  }
  const PlotSeries& s = m_series[best];
  QString text = QStringLiteral("%1\n%2  %3 %4: %5")
                     .arg(s.name, s.panel, m_xLabel, formatValue(bestKey), formatValue(bestValue));
  const auto at = std::lower_bound(s.x.begin(), s.x.end(), bestKey);
  if (m_smoothing > 0 && at != s.x.end() && *at == bestKey)
    text += QStringLiteral("  (raw %1)").arg(formatValue(s.y[int(at - s.x.begin())]));
  m_tracer->setGraph(m_graphs[best]);
  m_tracer->setGraphKey(bestKey);
  m_tracer->setVisible(true);
  const bool leftSide = pos.x() > rect->center().x();  // keep the label inside the plot
  m_hoverLabel->setPositionAlignment((leftSide ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignBottom);
  m_hoverLabel->position->setCoords(leftSide ? -10 : 10, -8);
  m_hoverLabel->setText(text);
  m_hoverLabel->setVisible(true);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
  emit pointHovered(s.name, s.panel, bestKey, bestValue);
}
