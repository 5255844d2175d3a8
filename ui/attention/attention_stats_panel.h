// AttentionStatsPanel: per-head statistics of a capture (entropy, average distance, share on
// special tokens) as small layers x heads heatmaps with the numbers written in the cells.
#pragma once
#include <QWidget>

#include "ui/attention/attention_result.h"

class HeatmapView;
class QLabel;

class AttentionStatsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionStatsPanel(QWidget* parent = nullptr);
  void setResult(const AttentionResultPtr& result);
  HeatmapView* entropy() const { return m_views[0]; }
  HeatmapView* distance() const { return m_views[1]; }
  HeatmapView* specialShare() const { return m_views[2]; }
  // layer,head,entropy_nats,distance_tokens,special_share
  QString csv() const;

 private:
  AttentionResultPtr m_result;
  HeatmapView* m_views[3] = {};
  QLabel* m_note = nullptr;
};
