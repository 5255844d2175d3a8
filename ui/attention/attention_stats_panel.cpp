// AttentionStatsPanel: plain HeatmapData built from the engine's per-head metrics.
#include "ui/attention/attention_stats_panel.h"

#include <QGridLayout>
#include <QLabel>
#include <algorithm>

#include "widgets/heatmap_view.h"

AttentionStatsPanel::AttentionStatsPanel(QWidget* parent) : QWidget(parent) {
  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  for (auto*& v : m_views) {
    v = new HeatmapView;
    v->setColorScale(ColorScaleKind::Blues);
    v->setMinimumSize(220, 160);
  }
  m_note = new QLabel(
      tr("Per head, averaged over real query tokens. Entropy (nats): low = focused "
         "on few keys. Distance: how far back/forward a head looks. Special share: "
         "weight on special tokens ([CLS], [SEP], <|endoftext|>), often a \"no-op\" sink."));
  m_note->setWordWrap(true);
  m_note->setStyleSheet(QStringLiteral("color: #505050"));
  grid->addWidget(m_note, 0, 0, 1, 3);
  for (int i = 0; i < 3; ++i) grid->addWidget(m_views[i], 1, i);
  grid->setRowStretch(1, 1);
}

void AttentionStatsPanel::setResult(const AttentionResultPtr& r) {
  m_result = r;
  if (!r) return;
  const auto& c = r->capture;
  const lw::HeadMetric* metrics[3] = {&c.entropy, &c.distance, &c.special_share};
  const QString titles[3] = {tr("Entropy (nats)"), tr("Average distance (tokens)"),
                             tr("Share on special tokens")};
  QStringList rows, cols;
  for (int64_t l : c.layers) rows << tr("L%1").arg(l);
  for (int64_t h : c.heads) cols << tr("H%1").arg(h);
  for (int i = 0; i < 3; ++i) {
    HeatmapData d;
    d.rows = r->layers();
    d.cols = r->heads();
    d.rowLabels = rows;
    d.colLabels = cols;
    for (double v : metrics[i]->values) {
      d.values << float(v);
      d.annotations << QString::number(v, 'f', v >= 10 ? 1 : 2);
    }
    d.title = titles[i];
    // Ranges from zero (a head at 0 is meaningful); shares are probabilities.
    double hi = 0;
    for (double v : metrics[i]->values) hi = std::max(hi, v);
    m_views[i]->setValueRange(0, i == 2 ? 1.0 : (hi > 0 ? hi : 1.0));
    d.rowAxisTitle = tr("Layer");
    d.colAxisTitle = tr("Head");
    m_views[i]->setData(d);
  }
}

QString AttentionStatsPanel::csv() const {
  QString out = QStringLiteral("layer,head,entropy_nats,distance_tokens,special_share\n");
  if (!m_result) return out;
  const auto& c = m_result->capture;
  for (int l = 0; l < m_result->layers(); ++l)
    for (int h = 0; h < m_result->heads(); ++h)
      out += QStringLiteral("%1,%2,%3,%4,%5\n")
                 .arg(c.layers[size_t(l)])
                 .arg(c.heads[size_t(h)])
                 .arg(QString::asprintf("%.9g", c.entropy.at(l, h)))
                 .arg(QString::asprintf("%.9g", c.distance.at(l, h)))
                 .arg(QString::asprintf("%.9g", c.special_share.at(l, h)));
  return out;
}
