// AttentionHeadPanel: selectors drive one HeatmapData and one line view; the heatmap renders
// large inputs on a pool thread itself, and the hover read-out repeats the exact weight.
#include "ui/attention/attention_head_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <functional>
#include <vector>

#include "widgets/attention_lines_view.h"
#include "widgets/heatmap_view.h"

AttentionHeadPanel::AttentionHeadPanel(QWidget* parent) : QWidget(parent) {
  auto* bar = new QHBoxLayout;
  m_layerBox = new QComboBox;
  m_headBox = new QComboBox;
  m_average = new QCheckBox(tr("Average over heads"));
  m_hover = new QLabel(tr("Hover a cell to read its weight"));
  m_hover->setStyleSheet(QStringLiteral("color: #505050"));
  m_hover->setTextFormat(Qt::PlainText);
  bar->addWidget(new QLabel(tr("Layer")));
  bar->addWidget(m_layerBox);
  bar->addSpacing(8);
  bar->addWidget(new QLabel(tr("Head")));
  bar->addWidget(m_headBox);
  bar->addSpacing(8);
  bar->addWidget(m_average);
  bar->addStretch(1);
  bar->addWidget(m_hover);

  m_heatmap = new HeatmapView;
  m_heatmap->setMinimumSize(320, 320);
  m_lines = new AttentionLinesView;
  m_linesScroll = new QScrollArea;
  m_linesScroll->setWidget(m_lines);
  m_linesScroll->setWidgetResizable(true);
  m_linesScroll->setMinimumWidth(260);
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(m_heatmap);
  split->addWidget(m_linesScroll);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(bar);
  layout->addWidget(split, 1);

  connect(m_layerBox, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (!m_updating && i >= 0) showHead(i, m_head);
  });
  connect(m_headBox, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (!m_updating && i >= 0) showHead(m_layer, i);
  });
  connect(m_average, &QCheckBox::toggled, this, [this](bool on) {
    if (!m_updating) setAverage(on);
  });
  connect(m_heatmap, &HeatmapView::hovered, this, [this](int row, int col, double v) {
    if (!m_result) return;
    const bool masked = m_result->mask[row * m_result->tokenCount() + col];
    m_hover->setText(tr("query %1 “%2” → key %3 “%4”: %5")
                         .arg(row)
                         .arg(m_result->tokens[row])
                         .arg(col)
                         .arg(m_result->tokens[col])
                         .arg(masked ? tr("masked") : QString::asprintf("%.6g", v)));
  });
}

void AttentionHeadPanel::setResult(const AttentionResultPtr& r) {
  m_result = r;
  m_updating = true;
  m_layerBox->clear();
  m_headBox->clear();
  if (r) {
    for (int64_t l : r->capture.layers) m_layerBox->addItem(QString::number(l));
    for (int64_t h : r->capture.heads) m_headBox->addItem(QString::number(h));
  }
  m_updating = false;
  m_layer = 0;
  m_head = m_average->isChecked() ? -1 : 0;
  refresh();
}

void AttentionHeadPanel::showHead(int layerSlice, int headSlice) {
  if (!m_result) return;
  m_layer = std::clamp(layerSlice, 0, m_result->layers() - 1);
  m_head = headSlice < 0 ? -1 : std::clamp(headSlice, 0, m_result->heads() - 1);
  refresh();
}

void AttentionHeadPanel::setAverage(bool average) {
  if (!m_result) return;
  showHead(m_layer, average ? -1 : std::max(0, m_headBox->currentIndex()));
}

void AttentionHeadPanel::refresh() {
  m_updating = true;
  m_layerBox->setCurrentIndex(m_result ? m_layer : -1);
  if (m_head >= 0) m_headBox->setCurrentIndex(m_head);
  m_headBox->setEnabled(m_head >= 0);
  m_average->setChecked(m_head < 0);
  m_updating = false;
  if (!m_result) return;
  const auto& c = m_result->capture;
  HeatmapData d;
  d.rows = d.cols = m_result->tokenCount();
  d.values = m_result->headValues(m_layer, m_head);
  d.rowLabels = d.colLabels = m_result->tokens;
  d.mask = m_result->mask;
  const QString which = m_head < 0 ? tr("average of %1 heads").arg(c.n_head())
                                   : tr("head %1").arg(c.heads[size_t(m_head)]);
  d.title = tr("Layer %1, %2%3")
                .arg(c.layers[size_t(m_layer)])
                .arg(which)
                .arg(c.causal ? tr("  (causal: grey = future, not attended)") : QString());
  d.rowAxisTitle = tr("Query");
  d.colAxisTitle = tr("Key");
  float hi = 0;
  for (qsizetype i = 0; i < d.values.size(); ++i)
    if (!d.mask[i]) hi = std::max(hi, d.values[i]);
  m_heatmap->setValueRange(0, hi > 0 ? hi : 1);
  m_heatmap->setData(d);
  // Lines stay readable (and cheap to paint) only for a few dozen tokens: beyond that each
  // query keeps its strongest keys, as bertviz users end up filtering by hand.
  const int T = d.rows;
  const bool topOnly = T > kAllLinesTokens;
  QVector<float> lineWeights = d.values;
  for (int q = 0; q < T; ++q) {
    float* row = lineWeights.data() + qsizetype(q) * T;
    const quint8* mrow = d.mask.constData() + qsizetype(q) * T;
    for (int k = 0; k < T; ++k)
      if (mrow[k]) row[k] = 0;
    if (!topOnly) continue;
    std::vector<float> sorted(row, row + T);
    std::nth_element(sorted.begin(), sorted.begin() + (kTopKeys - 1), sorted.end(),
                     std::greater<float>());
    const float cut = sorted[kTopKeys - 1];
    for (int k = 0; k < T; ++k)
      if (row[k] < cut) row[k] = 0;
  }
  m_lines->setTitle(d.title.section(QStringLiteral("  ("), 0, 0) +
                    (topOnly ? tr(" — strongest %1 keys per query").arg(kTopKeys) : QString()));
  m_lines->setData(m_result->tokens, m_result->tokens, lineWeights);
  emit headShown(m_layer, m_head);
}
