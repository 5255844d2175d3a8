// AttentionRolloutPanel: plain HeatmapData from the engine's rollout after each layer.
#include "ui/attention/attention_rollout_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include "widgets/heatmap_view.h"

AttentionRolloutPanel::AttentionRolloutPanel(QWidget* parent) : QWidget(parent) {
  m_layerBox = new QComboBox;
  m_heatmap = new HeatmapView;
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Rollout through layer")));
  bar->addWidget(m_layerBox);
  auto* note =
      new QLabel(tr("Abnar & Zuidema: the head average plus the identity, multiplied "
                    "layer by layer; row = token, column = input token it draws from"));
  note->setStyleSheet(QStringLiteral("color: #505050"));
  note->setWordWrap(true);
  bar->addWidget(note, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(bar);
  layout->addWidget(m_heatmap, 1);
  connect(m_layerBox, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (i >= 0) showAfterLayer(i);
  });
}

void AttentionRolloutPanel::setResult(const AttentionResultPtr& r) {
  m_result = r;
  const QSignalBlocker block(m_layerBox);
  m_layerBox->clear();
  if (!r) return;
  for (int64_t l : r->capture.layers) m_layerBox->addItem(QString::number(l));
  m_layerBox->setCurrentIndex(r->layers() - 1);
  showAfterLayer(r->layers() - 1);
}

void AttentionRolloutPanel::showAfterLayer(int l) {
  if (!m_result || l < 0 || l >= m_result->layers()) return;
  const auto& roll = m_result->capture.rollout;
  const int T = m_result->tokenCount();
  HeatmapData d;
  d.rows = d.cols = T;
  const float* v = roll.values.data() + qsizetype(l) * T * T;
  d.values = QVector<float>(v, v + qsizetype(T) * T);
  d.rowLabels = d.colLabels = m_result->tokens;
  // Rollout mixes through the identity, so only padding is structurally empty.
  d.mask.fill(0, T * T);
  for (int q = 0; q < T; ++q)
    for (int k = 0; k < T; ++k)
      if (!m_result->capture.key_valid[size_t(k)] || (m_result->capture.causal && k > q))
        d.mask[q * T + k] = 1;
  d.title = tr("Attention rollout through layer %1").arg(m_result->capture.layers[size_t(l)]);
  d.rowAxisTitle = tr("Token");
  d.colAxisTitle = tr("Input token");
  m_heatmap->setData(d);
  if (m_layerBox->currentIndex() != l) {
    const QSignalBlocker block(m_layerBox);
    m_layerBox->setCurrentIndex(l);
  }
}
