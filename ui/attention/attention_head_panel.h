// AttentionHeadPanel: the head view: layer and head selectors (or the average over heads), a
// large HeatmapView of query x key weights (tokens on both axes, causal future and padding
// hatched as masked, hover read-out) beside the bertviz-style AttentionLinesView.
#pragma once
#include <QWidget>

#include "ui/attention/attention_result.h"

class AttentionLinesView;
class HeatmapView;
class QCheckBox;
class QComboBox;
class QLabel;
class QScrollArea;

class AttentionHeadPanel : public QWidget {
  Q_OBJECT
 public:
  // Above this many tokens the line view shows only the kTopKeys strongest keys per query.
  static constexpr int kAllLinesTokens = 48;
  static constexpr int kTopKeys = 3;

  explicit AttentionHeadPanel(QWidget* parent = nullptr);

  void setResult(const AttentionResultPtr& result);
  // Slices of the capture (not model indices); head -1 = average over heads.
  void showHead(int layerSlice, int headSlice);
  void setAverage(bool average);
  int layerSlice() const { return m_layer; }
  int headSlice() const { return m_head; }
  bool isAverage() const { return m_head < 0; }

  HeatmapView* heatmap() const { return m_heatmap; }
  AttentionLinesView* lines() const { return m_lines; }
  QComboBox* layerBox() const { return m_layerBox; }
  QComboBox* headBox() const { return m_headBox; }
  QCheckBox* averageBox() const { return m_average; }

 signals:
  void headShown(int layerSlice, int headSlice);

 private:
  void refresh();

  AttentionResultPtr m_result;
  int m_layer = 0, m_head = 0;
  bool m_updating = false;
  QComboBox* m_layerBox = nullptr;
  QComboBox* m_headBox = nullptr;
  QCheckBox* m_average = nullptr;
  QLabel* m_hover = nullptr;
  HeatmapView* m_heatmap = nullptr;
  AttentionLinesView* m_lines = nullptr;
  QScrollArea* m_linesScroll = nullptr;
};
