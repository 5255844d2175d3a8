// AttentionModelGrid: thumbnails are rebuilt per capture (layers x heads rarely exceeds a few
// hundred widgets); the colour mapping of each is a few thousand pooled cells.
#include "ui/attention/attention_model_grid.h"

#include <QGridLayout>
#include <QLabel>
#include <algorithm>

#include "widgets/heatmap_thumbnail.h"

AttentionModelGrid::AttentionModelGrid(QWidget* parent) : QScrollArea(parent) {
  auto* canvas = new QWidget;
  canvas->setAutoFillBackground(true);
  QPalette pal = canvas->palette();
  pal.setColor(QPalette::Window, Qt::white);
  canvas->setPalette(pal);
  m_grid = new QGridLayout(canvas);
  m_grid->setSpacing(2);
  m_grid->setContentsMargins(8, 8, 8, 8);
  // The canvas takes exactly the grid's size; the scroll area scrolls it when it is larger.
  m_grid->setSizeConstraint(QLayout::SetFixedSize);
  setWidget(canvas);
  setWidgetResizable(false);
  setAlignment(Qt::AlignLeft | Qt::AlignTop);
}

void AttentionModelGrid::setResult(const AttentionResultPtr& r) {
  qDeleteAll(m_cells);
  qDeleteAll(m_labels);
  m_cells.clear();
  m_labels.clear();
  m_rows = r ? r->layers() : 0;
  m_cols = r ? r->heads() : 0;
  if (!r) return relayout();
  // Fit the thumbnails to the width available (the zoom buttons change it afterwards).
  const int byWidth = (viewport()->width() - 90 - 16) / std::max(1, m_cols) - 2;
  const int byHeight = (viewport()->height() - 54 - 16) / std::max(1, m_rows) - 2;
  m_thumbPx = std::clamp(std::min(byWidth, byHeight), 56, 180);
  auto label = [this](const QString& text, Qt::Alignment align) {
    auto* l = new QLabel(text);
    l->setAlignment(align);
    QFont f = l->font();
    f.setBold(true);
    l->setFont(f);
    l->setStyleSheet(QStringLiteral("color: #404040"));
    m_labels.append(l);
    return l;
  };
  auto* hint = label(tr("Query rows × key columns, colour 0 → %1 (shared by all heads)%2. Click a "
                        "head to open it.")
                         .arg(r->maxWeight, 0, 'g', 3)
                         .arg(r->capture.causal ? tr("; grey = causal mask") : QString()),
                     Qt::AlignLeft | Qt::AlignVCenter);
  QFont plain = hint->font();
  plain.setBold(false);
  hint->setFont(plain);
  m_grid->addWidget(hint, 0, 0, 1, m_cols + 1);
  for (int h = 0; h < m_cols; ++h)
    m_grid->addWidget(label(tr("Head %1").arg(r->capture.heads[size_t(h)]), Qt::AlignCenter), 1,
                      h + 1);
  for (int l = 0; l < m_rows; ++l) {
    m_grid->addWidget(
        label(tr("Layer %1").arg(r->capture.layers[size_t(l)]), Qt::AlignRight | Qt::AlignVCenter),
        l + 2, 0);
    for (int h = 0; h < m_cols; ++h) {
      auto* t = new HeatmapThumbnail;
      t->setCells(r->thumbs[l * m_cols + h], ColorScaleKind::Viridis, 0, r->maxWeight);
      t->setToolTip(tr("Layer %1, head %2: click to open")
                        .arg(r->capture.layers[size_t(l)])
                        .arg(r->capture.heads[size_t(h)]));
      connect(t, &HeatmapThumbnail::clicked, this, [this, l, h] { emit headClicked(l, h); });
      m_grid->addWidget(t, l + 2, h + 1);
      m_cells.append(t);
    }
  }
  relayout();
}

HeatmapThumbnail* AttentionModelGrid::thumbnail(int l, int h) const {
  if (l < 0 || h < 0 || l >= m_rows || h >= m_cols) return nullptr;
  return m_cells[l * m_cols + h];
}

void AttentionModelGrid::setSelected(int l, int h) {
  for (int i = 0; i < m_cells.size(); ++i) m_cells[i]->setSelected(i == l * m_cols + h);
}

void AttentionModelGrid::setThumbnailSize(int px) {
  m_thumbPx = std::clamp(px, 24, 400);
  relayout();
}

void AttentionModelGrid::relayout() {
  for (auto* t : m_cells) t->setFixedSize(m_thumbPx, m_thumbPx);
  // Children added to a visible parent are shown only later (queued); the layout must count
  // them now, so that the canvas size and an export right after a capture are right.
  for (auto* w : m_labels) w->show();
  for (auto* t : m_cells) t->show();
  m_grid->activate();
  widget()->adjustSize();
}
