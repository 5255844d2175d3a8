// AttentionRolloutPanel: attention rollout (Abnar & Zuidema) of a capture through a chosen
// layer, as a token x input-token heatmap.
#pragma once
#include <QWidget>

#include "ui/attention/attention_result.h"

class HeatmapView;
class QComboBox;

class AttentionRolloutPanel : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionRolloutPanel(QWidget* parent = nullptr);
  void setResult(const AttentionResultPtr& result);
  void showAfterLayer(int layerSlice);
  HeatmapView* heatmap() const { return m_heatmap; }
  QComboBox* layerBox() const { return m_layerBox; }

 private:
  AttentionResultPtr m_result;
  QComboBox* m_layerBox = nullptr;
  HeatmapView* m_heatmap = nullptr;
};
